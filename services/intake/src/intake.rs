//! Accepting a lead: store it (with its qualification verdict) before anything else, then try
//! to route it. A lead that was stored is never lost: if routing fails, the retry loop routes
//! it later.

use leadpool_domain::qualification::{QualificationRules, Verdict};
use leadpool_domain::{Clock, Error, LeadId, LeadState, NewLead};
use leadpool_proto::v1;
use leadpool_server::convert;
use leadpool_store::{InsertedLead, NewLeadRow, Store};

use crate::router::Router;

pub struct Intake {
    pub store: Store,
    pub router: Router,
    pub rules: QualificationRules,
}

pub struct Accepted {
    pub lead: v1::Lead,
    pub created: bool,
}

impl Intake {
    pub async fn accept(
        &self,
        lead: NewLead,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, Error> {
        let fingerprint = lead.fingerprint();
        let (state, rejection_reason) = match self.rules.qualify(&lead) {
            Verdict::Qualified => (LeadState::Received, None),
            Verdict::Rejected { reason } => (LeadState::Rejected, Some(reason)),
        };
        let row = NewLeadRow {
            id: LeadId::new(),
            lead,
            request_hash: fingerprint.to_vec(),
            state,
            rejection_reason,
        };
        let (stored, created) = match self.store.insert_lead(&row, actor, clock.now()).await? {
            InsertedLead::Created(lead) => (lead, true),
            InsertedLead::Existing { lead, request_hash } if request_hash == fingerprint => {
                (lead, false)
            }
            InsertedLead::Existing { lead, .. } => {
                return Err(Error::AlreadyExists {
                    name: lead.lead_id().name(),
                    message: format!(
                        "idempotency key `{}` was already used for a different lead ({}); use a new key for a new lead",
                        row.lead.idempotency_key,
                        lead.lead_id().name()
                    ),
                });
            }
        };
        if created {
            tracing::info!(lead = %stored.id, state = %stored.state, score = stored.score, "lead accepted");
        }
        // A retry of a lead that is still waiting gets another routing attempt too.
        let lead = if stored.state == LeadState::Received {
            self.router
                .route(stored.lead_id())
                .await
                .unwrap_or_else(|| convert::lead(&stored))
        } else {
            convert::lead(&stored)
        };
        Ok(Accepted { lead, created })
    }
}
