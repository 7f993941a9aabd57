//! One administrative action, as the audit log keeps it: who, from where, what, to what.

use chrono::{DateTime, Utc};

/// An action to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// `users/ops`, `reps/max`, `services/crm`.
    pub actor: String,
    pub roles: Vec<String>,
    /// The caller's address as the service saw it.
    pub origin: String,
    /// `policy.apply`, `lead.assign`, … (see [`AuditAction`]).
    pub action: AuditAction,
    /// The resource acted on: `pools/west`, `leads/…`, `policy`.
    pub target: String,
    /// What was asked, as JSON: the reason, the rep, the version applied.
    pub detail: serde_json::Value,
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub entry: AuditEntry,
}

macro_rules! audit_actions {
    ($($variant:ident = $code:literal,)*) => {
        /// The administrative actions the audit log records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }

            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|a| a.as_str() == code)
            }
        }
    };
}

audit_actions! {
    PolicyApply = "policy.apply",
    PoolCreate = "pool.create",
    RepUpsert = "rep.upsert",
    RepAvailability = "rep.availability",
    LeadAssign = "lead.assign",
    LeadsReassign = "leads.reassign",
    LeadReturn = "lead.return",
    LeadErase = "lead.erase",
    JobRun = "job.run",
    WebhookCreate = "webhook.create",
    WebhookDelete = "webhook.delete",
    WebhookReplay = "webhook.replay",
}
