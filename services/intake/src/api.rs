//! The gRPC surface of the intake service.

use std::sync::Arc;

use leadpool_domain::lead::LeadInput;
use leadpool_domain::{Clock, NewLead};
use leadpool_proto::v1::{self, intake_service_server::IntakeService};
use leadpool_server::{caller, to_status};
use tonic::{Request, Response, Status};

use crate::intake::Intake;

pub struct IntakeApi {
    intake: Intake,
    clock: Arc<dyn Clock>,
}

impl IntakeApi {
    pub fn new(intake: Intake, clock: Arc<dyn Clock>) -> Self {
        Self { intake, clock }
    }
}

fn lead_input(req: v1::SubmitLeadRequest) -> LeadInput {
    let contact = req.contact.unwrap_or_default();
    LeadInput {
        idempotency_key: req.idempotency_key,
        email: contact.email,
        contact_name: contact.name,
        company: contact.company,
        company_domain: contact.company_domain,
        country: contact.country,
        phone: contact.phone,
        score: req.score,
        source: req.source,
        region: req.region,
        product: req.product,
        industry: req.industry,
        attributes: req.attributes.into_iter().collect(),
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(idempotency_key = %request.get_ref().idempotency_key))]
    async fn submit_lead(
        &self,
        request: Request<v1::SubmitLeadRequest>,
    ) -> Result<Response<v1::SubmitLeadResponse>, Status> {
        let identity = caller(&request).map_err(to_status)?;
        let lead =
            NewLead::parse(lead_input(request.into_inner())).map_err(|v| to_status(v.into()))?;
        let accepted = self
            .intake
            .accept(lead, &identity.actor(), self.clock.as_ref())
            .await
            .map_err(to_status)?;
        Ok(Response::new(v1::SubmitLeadResponse {
            lead: Some(accepted.lead),
            created: accepted.created,
        }))
    }
}
