//! The gRPC surface of the intake service.

use std::sync::Arc;

use leadpool_auth::Role;
use leadpool_domain::{AuditAction, Clock, LeadId};
use leadpool_proto::v1::{self, intake_service_server::IntakeService};
use leadpool_server::audit::audit_entry;
use leadpool_server::{caller, require_role, to_status};
use leadpool_store::AuditLog;
use tonic::{Request, Response, Status, Streaming};

use crate::intake::{Intake, lead_input};

pub struct IntakeApi {
    intake: Intake,
    audit: AuditLog,
    clock: Arc<dyn Clock>,
}

impl IntakeApi {
    pub fn new(intake: Intake, audit: AuditLog, clock: Arc<dyn Clock>) -> Self {
        Self {
            intake,
            audit,
            clock,
        }
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
        let accepted = self
            .intake
            .accept(
                lead_input(request.into_inner()),
                &identity.actor(),
                self.clock.as_ref(),
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(v1::SubmitLeadResponse {
            lead: Some(accepted.lead),
            created: accepted.created,
            duplicate_of: accepted.duplicate_of.map(|d| d.name()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn erase_lead(
        &self,
        request: Request<v1::EraseLeadRequest>,
    ) -> Result<Response<v1::EraseLeadResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin], "erase leads")?;
            let id = LeadId::from_name(&request.get_ref().name, "name")?;
            let (lead, erased) = self
                .intake
                .erase(id, &identity.actor(), self.clock.as_ref())
                .await?;
            if erased {
                let detail = serde_json::json!({});
                let entry = audit_entry(
                    &request,
                    &identity,
                    AuditAction::LeadErase,
                    id.name(),
                    detail,
                );
                self.audit.record(&entry).await?;
            }
            Ok(v1::EraseLeadResponse {
                lead: Some(lead),
                erased,
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    #[tracing::instrument(skip_all)]
    async fn import_leads(
        &self,
        request: Request<Streaming<v1::ImportLeadsRequest>>,
    ) -> Result<Response<v1::ImportLeadsResponse>, Status> {
        let identity = caller(&request).map_err(to_status)?;
        let summary = self
            .intake
            .import(request.into_inner(), &identity.actor(), self.clock.as_ref())
            .await
            .map_err(to_status)?;
        Ok(Response::new(summary))
    }
}
