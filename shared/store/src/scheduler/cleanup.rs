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
    pub moves: Vec<MoveRecord>,
    pub shares: Vec<ShareRecord>,
}

/// A routing value moved between segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRecord {
    pub criterion: String,
    pub value: String,
    pub from_rule: String,
    pub to_rule: String,
    pub from_pool: String,
    pub to_pool: String,
    pub leads: i64,
}

/// A segmented pool's share of the inflow, before and after the moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareRecord {
    pub pool: String,
    pub leads_before: i64,
    pub percent_before: f64,
    pub leads_after: i64,
    pub percent_after: f64,
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
        let moves: Vec<MoveRecord> = proposal
            .moves
            .iter()
            .map(|m| MoveRecord {
                criterion: m.criterion.to_owned(),
                value: m.value.clone(),
                from_rule: m.from_rule.clone(),
                to_rule: m.to_rule.clone(),
                from_pool: m.from_pool.as_str().to_owned(),
                to_pool: m.to_pool.as_str().to_owned(),
                leads: m.leads,
            })
            .collect();
        let shares: Vec<ShareRecord> = proposal
            .shares
            .iter()
            .map(|(before, after)| ShareRecord {
                pool: before.pool.as_str().to_owned(),
                leads_before: before.leads,
                percent_before: before.percent,
                leads_after: after.leads,
                percent_after: after.percent,
            })
            .collect();
        sqlx::query!(
            "INSERT INTO cleanup_proposals \
               (created_at, policy_version, document, merges, kept, moves, shares) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            now,
            policy_version,
            proposal.document.to_yaml(),
            Json(merges) as _,
            Json(kept) as _,
            Json(moves) as _,
            Json(shares) as _
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
                 merges AS "merges: Json<Vec<MergeRecord>>", kept AS "kept: Json<Vec<KeptRecord>>",
                 moves AS "moves: Json<Vec<MoveRecord>>", shares AS "shares: Json<Vec<ShareRecord>>"
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
            moves: row.moves.0,
            shares: row.shares.0,
        }))
    }
}
