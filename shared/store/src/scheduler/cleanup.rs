//! S5: the weekly cleanup's proposed policy change, kept for review.

use chrono::{DateTime, Utc};
use leadpool_domain::Error;
use leadpool_policy::Proposal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use super::JobTx;
use crate::Store;
use crate::error::db_error;

/// A stored proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRecord {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub policy_version: i64,
    /// YAML.
    pub document: String,
    pub merges: Vec<MergeRecord>,
    pub kept: Vec<KeptRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeRecord {
    pub pool: String,
    pub into: String,
    pub new_leads: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRecord {
    pub pool: String,
    pub why: String,
}

impl JobTx {
    /// Keeps `proposal`, made from policy version `policy_version`.
    pub async fn record_proposal(
        &mut self,
        proposal: &Proposal,
        policy_version: i64,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let merges: Vec<MergeRecord> = proposal
            .merges
            .iter()
            .map(|m| MergeRecord {
                pool: m.pool.as_str().to_owned(),
                into: m.into.as_str().to_owned(),
                new_leads: m.new_leads,
            })
            .collect();
        let kept: Vec<KeptRecord> = proposal
            .kept
            .iter()
            .map(|(pool, why)| KeptRecord {
                pool: pool.as_str().to_owned(),
                why: why.clone(),
            })
            .collect();
        sqlx::query!(
            "INSERT INTO cleanup_proposals (created_at, policy_version, document, merges, kept) \
             VALUES ($1, $2, $3, $4, $5)",
            now,
            policy_version,
            proposal.document.to_yaml(),
            Json(merges) as _,
            Json(kept) as _
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

impl Store {
    /// The latest proposal, if the weekly cleanup ever made one.
    pub async fn latest_proposal(&self) -> Result<Option<ProposalRecord>, Error> {
        let row = sqlx::query!(
            r#"SELECT id, created_at, policy_version, document,
                 merges AS "merges: Json<Vec<MergeRecord>>", kept AS "kept: Json<Vec<KeptRecord>>"
               FROM cleanup_proposals ORDER BY id DESC LIMIT 1"#
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(row.map(|row| ProposalRecord {
            id: row.id,
            created_at: row.created_at,
            policy_version: row.policy_version,
            document: row.document,
            merges: row.merges.0,
            kept: row.kept.0,
        }))
    }
}
