//! The history a simulation (X8) replays: the leads that arrived in a window as submitted, the
//! leads waiting in pools when it starts, every claim made in it and how it ended, and what
//! actually happened per pool. Read-only; interpreted by `leadpool-simulation`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, NewLead, Outcome};
use leadpool_policy::LeadFacts;
use leadpool_simulation::{Actual, Arrival, ClaimRecord, Waiting};

use crate::Store;
use crate::error::db_error;
use crate::rows::{stored_pool, stored_rep};

/// The history kinds that put a lead into a pool, starting its time there.
const ENTERING: [&str; 4] = [
    "lead.routed",
    "lead.moved",
    "lead.pool_released",
    "lead.drained",
];

impl Store {
    /// Every lead received in `[from, to)` (at most `limit`, the first), as submitted, in
    /// arrival order — rejected ones too: a candidate may qualify them.
    pub async fn arrivals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Arrival>, Error> {
        let rows = sqlx::query!(
            "SELECT l.id, l.received_at, c.idempotency_key, c.email, c.contact_name, c.company, \
               c.company_domain, l.country, c.phone, l.score, l.source, l.region, l.product, \
               l.industry, l.language, c.attributes \
             FROM leads l JOIN lead_contacts c USING (id) \
             WHERE l.received_at >= $1 AND l.received_at < $2 \
             ORDER BY l.received_at, l.id LIMIT $3",
            from,
            to,
            limit
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| Arrival {
                id: r.id,
                at: r.received_at,
                lead: NewLead {
                    idempotency_key: r.idempotency_key,
                    email: r.email,
                    contact_name: r.contact_name,
                    company: r.company,
                    company_domain: r.company_domain,
                    country: r.country,
                    phone: r.phone,
                    score: r.score,
                    source: r.source,
                    region: r.region,
                    product: r.product,
                    industry: r.industry,
                    language: r.language,
                    attributes: serde_json::from_value::<BTreeMap<String, String>>(r.attributes)
                        .unwrap_or_default(),
                },
            })
            .collect())
    }

    /// The leads available or escalated in a pool at `at`, by their history: each with its
    /// pool and when it entered it. Only leads received before `at` that are waiting now or
    /// changed since (every change of a lead sets `updated_at`, with its history row) can have
    /// been waiting then; the others' history is not read, so the cost follows the pools'
    /// depth and what happened since `at`, not the whole history.
    pub async fn waiting_at(&self, at: DateTime<Utc>) -> Result<Vec<Waiting>, Error> {
        let rows = sqlx::query!(
            r#"SELECT l.id, last.to_state, last.pool_id AS "pool!", l.score, l.region, l.country,
                 l.product, l.industry, l.source, l.language,
                 (SELECT max(e.occurred_at) FROM lead_events e WHERE e.lead_id = l.id
                    AND e.occurred_at < $1 AND e.kind = ANY($2)) AS entered
               FROM leads l
               CROSS JOIN LATERAL (SELECT e.to_state, e.pool_id FROM lead_events e
                 WHERE e.lead_id = l.id AND e.occurred_at < $1
                 ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) last
               WHERE l.received_at < $1
                 AND (l.state IN ('available', 'escalated') OR l.updated_at >= $1)
                 AND last.to_state IN ('available', 'escalated') AND last.pool_id IS NOT NULL"#,
            at,
            &ENTERING.map(str::to_owned)[..]
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(Waiting {
                    facts: LeadFacts {
                        id: r.id,
                        score: r.score,
                        region: r.region,
                        country: r.country,
                        product: r.product,
                        industry: r.industry,
                        source: r.source,
                        language: r.language,
                    },
                    pool: stored_pool(&r.pool)?,
                    entered: r.entered.unwrap_or(at),
                    escalated: r.to_state == "escalated",
                })
            })
            .collect()
    }

    /// Every claim made in `[from, to)`, and how the claimant's hold ended: when she
    /// contacted it, whether she released it, its outcome.
    pub async fn claim_records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClaimRecord>, Error> {
        let rows = sqlx::query!(
            r#"SELECT c.rep_id AS "rep!", c.pool_id AS "pool!", c.occurred_at,
                 contact.occurred_at AS "contacted_at?", ending.kind AS "ending?"
               FROM lead_events c
               LEFT JOIN LATERAL (SELECT e.id, e.kind FROM lead_events e
                 WHERE e.lead_id = c.lead_id AND e.id > c.id AND e.kind IN ('lead.released',
                   'lead.sla_expired', 'lead.returned', 'lead.reassigned', 'lead.opportunity',
                   'lead.won', 'lead.lost')
                 ORDER BY e.id LIMIT 1) ending ON true
               LEFT JOIN LATERAL (SELECT e.occurred_at FROM lead_events e
                 WHERE e.lead_id = c.lead_id AND e.id > c.id AND e.kind = 'lead.contacted'
                   AND (ending.id IS NULL OR e.id < ending.id)
                 ORDER BY e.id LIMIT 1) contact ON true
               WHERE c.kind = 'lead.claimed' AND c.occurred_at >= $1 AND c.occurred_at < $2
                 AND c.rep_id IS NOT NULL AND c.pool_id IS NOT NULL
               ORDER BY c.id"#,
            from,
            to
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(ClaimRecord {
                    rep: stored_rep(&r.rep)?,
                    pool: stored_pool(&r.pool)?,
                    at: r.occurred_at,
                    contacted_after: r.contacted_at.map(|c| c - r.occurred_at),
                    released: r.ending.as_deref() == Some("lead.released"),
                    outcome: match r.ending.as_deref() {
                        Some("lead.opportunity") => Some(Outcome::Opportunity),
                        Some("lead.won") => Some(Outcome::Customer),
                        Some("lead.lost") => Some(Outcome::Lost),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    /// What happened per pool in `[from, to)`: claims, contact-SLA expiries, escalations, and
    /// the median time from entering the pool to a claim.
    pub async fn actual_by_pool(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Actual>, Error> {
        let counts = sqlx::query!(
            r#"SELECT pool_id AS "pool!",
                 count(*) FILTER (WHERE kind = 'lead.claimed') AS "claims!",
                 count(*) FILTER (WHERE kind = 'lead.sla_expired') AS "expired!",
                 count(*) FILTER (WHERE kind = 'lead.escalated') AS "escalated!"
               FROM lead_events WHERE occurred_at >= $1 AND occurred_at < $2
                 AND pool_id IS NOT NULL
                 AND kind IN ('lead.claimed', 'lead.sla_expired', 'lead.escalated')
               GROUP BY pool_id ORDER BY pool_id"#,
            from,
            to
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_error)?;
        let medians: HashMap<String, f64> = sqlx::query!(
            r#"SELECT c.pool_id AS "pool!", percentile_disc(0.5) WITHIN GROUP
                 (ORDER BY extract(epoch FROM c.occurred_at - entry.at)::float8) AS "seconds!"
               FROM lead_events c CROSS JOIN LATERAL (SELECT max(e.occurred_at) AS at
                 FROM lead_events e WHERE e.lead_id = c.lead_id AND e.id < c.id
                   AND e.kind = ANY($3)) entry
               WHERE c.kind = 'lead.claimed' AND c.occurred_at >= $1 AND c.occurred_at < $2
                 AND c.pool_id IS NOT NULL AND entry.at IS NOT NULL
               GROUP BY c.pool_id"#,
            from,
            to,
            &ENTERING.map(str::to_owned)[..]
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|r| (r.pool, r.seconds))
        .collect();
        counts
            .into_iter()
            .map(|r| {
                Ok(Actual {
                    median_to_claim: medians
                        .get(&r.pool)
                        .map(|s| chrono::Duration::milliseconds((s * 1000.0) as i64)),
                    pool: stored_pool(&r.pool)?,
                    claims: r.claims,
                    contact_sla_expired: r.expired,
                    escalated: r.escalated,
                })
            })
            .collect()
    }
}
