//! Rows as read from Postgres.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{LeadId, LeadState};
use sqlx::types::Json;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRecord {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub state: LeadState,
    pub email: String,
    pub contact_name: String,
    pub company: String,
    pub company_domain: String,
    pub country: String,
    pub phone: String,
    pub score: i32,
    pub priority: i32,
    pub source: String,
    pub region: String,
    pub product: String,
    pub industry: String,
    pub attributes: Json<BTreeMap<String, String>>,
    pub pool_id: Option<String>,
    pub owner_rep_id: Option<String>,
    pub rejection_reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub pooled_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub contact_due_at: Option<DateTime<Utc>>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub deal_size_minor: i64,
    /// For a duplicate kept as rejected: the lead it duplicates.
    pub duplicate_of: Option<Uuid>,
}

impl LeadRecord {
    pub fn lead_id(&self) -> LeadId {
        LeadId(self.id)
    }

    /// What routing and assignment rules look at.
    pub fn facts(&self) -> leadpool_policy::LeadFacts {
        leadpool_policy::LeadFacts {
            id: self.id,
            score: self.score,
            region: self.region.clone(),
            country: self.country.clone(),
            product: self.product.clone(),
            industry: self.industry.clone(),
            source: self.source.clone(),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoolRecord {
    pub id: String,
    pub display_name: String,
    pub kind: String,
    pub contact_sla_seconds: i32,
    pub min_score: Option<i32>,
    /// Removed from the policy; its leads stay.
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    /// Leads available right now.
    pub available_leads: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RepRecord {
    pub id: String,
    pub display_name: String,
    pub team: String,
    pub role: String,
    pub active: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: i64,
    pub lead_id: Uuid,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub reason: String,
    pub pool_id: Option<String>,
    pub rep_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}
