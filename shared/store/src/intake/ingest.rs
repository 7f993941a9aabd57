//! Storing a batch of submissions — one submission or a chunk of a bulk import, the same way —
//! in one transaction: lock every key involved, read what the plan needs, carry the plan out.
//! What to do with each submission is decided by `leadpool_policy::duplicates::plan`; this
//! module only reads and writes.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId, LeadState};
use leadpool_policy::duplicates::IN_PLAY;
use leadpool_policy::duplicates::{Earlier, KnownLead, Plan, Submission};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::db_error;
use crate::rows::{self, Attributes};
use crate::{Placement, Store};

/// What happened to one submission.
#[derive(Debug, Clone)]
pub enum Stored {
    /// A new lead: `received` (qualified, waiting for routing) or `rejected`.
    Created(Lead),
    /// The key was submitted before with the same lead: that answer again. `merged` when that
    /// first submission was folded into `lead` as a duplicate.
    Repeated { lead: Lead, merged: bool },
    /// The key was submitted before with a different lead.
    KeyReused { existing: LeadId },
    /// Folded into the existing lead it duplicates (merge policy).
    Merged(Lead),
    /// Kept as a rejected lead naming the lead it duplicates (reject policy).
    DuplicateRejected { lead: Lead, original: LeadId },
}

/// Namespace of the advisory locks guarding intake (the second key names the guarded key).
const INTAKE_LOCKS: i32 = 0x1ead;

/// The lock of one key: 32 bits of its SHA-256. Two batches wait on each other only when they
/// share a key (or, one pair in billions, a lock), so the chunks of an import and the
/// submissions beside it go into Postgres side by side. Each key costs a slot in Postgres'
/// lock table for the transaction's length (a 500-row chunk: up to 1,500).
fn lock_of(key: &str) -> i32 {
    let digest = Sha256::digest(key.as_bytes());
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// An open intake transaction holding the locks of its batch. Dropped without
/// [`IngestTx::carry_out`] or [`IngestTx::carry_out_in_bulk`], it rolls back.
pub struct IngestTx {
    tx: Transaction<'static, Postgres>,
}

impl Store {
    /// Opens an intake transaction and locks `keys` (see `duplicates::lock_keys`), so
    /// concurrent submissions of the same lead serialise.
    pub async fn begin_ingest(&self, keys: &BTreeSet<String>) -> Result<IngestTx, Error> {
        let mut tx = self.begin().await?;
        let locks: BTreeSet<i32> = keys.iter().map(|key| lock_of(key)).collect();
        let locks: Vec<i32> = locks.into_iter().collect();
        // Locks in ascending order, so two batches can never wait on each other in a cycle.
        sqlx::query!(
            "SELECT count(pg_advisory_xact_lock($1, b)) \
             FROM (SELECT b FROM unnest($2::int[]) AS b ORDER BY b) AS sorted",
            INTAKE_LOCKS,
            &locks
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        Ok(IngestTx { tx })
    }

    /// Keeps malformed import rows with their reasons. Re-importing records nothing twice.
    pub async fn record_rejected_rows(
        &self,
        import_id: &str,
        rows: &[RejectedRow],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let numbers: Vec<i64> = rows.iter().map(|r| r.row_number).collect();
        // A rejected row may be rejected for holding what Postgres cannot store (NUL): it is
        // kept as received, with such characters shown as U+FFFD.
        let reasons: Vec<String> = rows.iter().map(|r| storable(&r.reason)).collect();
        let data: Vec<serde_json::Value> = rows.iter().map(|r| storable_json(&r.data)).collect();
        sqlx::query!(
            "INSERT INTO rejected_rows (import_id, row_number, reason, row_data, received_at) \
             SELECT $1, n, r, d, $5 FROM unnest($2::bigint[], $3::text[], $4::jsonb[]) AS t(n, r, d) \
             ON CONFLICT (import_id, row_number) DO NOTHING",
            import_id,
            &numbers,
            &reasons,
            &data,
            now
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Qualified leads still waiting for routing, oldest first.
    pub async fn leads_waiting_for_routing(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let ids = sqlx::query_scalar!(
            "SELECT id FROM leads WHERE state = 'received' AND received_at <= $1 \
             ORDER BY received_at LIMIT $2",
            received_before,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(ids.into_iter().map(LeadId).collect())
    }
}

impl IngestTx {
    /// What earlier submissions of these idempotency keys did: the lead each created, or
    /// was merged into.
    pub async fn earlier_submissions(
        &mut self,
        keys: &[&str],
    ) -> Result<HashMap<String, Earlier>, Error> {
        let rows = sqlx::query!(
            r#"SELECT idempotency_key AS "key!", id AS "id!", request_hash AS "hash!", false AS "merged!"
                 FROM lead_contacts WHERE idempotency_key = ANY($1)
               UNION ALL SELECT idempotency_key, lead_id, request_hash, true
                 FROM lead_merges WHERE idempotency_key = ANY($1)"#,
            keys as &[&str]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.key,
                    Earlier {
                        id: LeadId(row.id),
                        fingerprint: row.hash,
                        merged: row.merged,
                    },
                )
            })
            .collect())
    }

    /// Earlier leads (not rejected) with one of `emails` or `companies` (domain, lower-cased
    /// name), oldest first, saying which are still in play.
    pub async fn known_leads(
        &mut self,
        emails: &[String],
        companies: &[(String, String)],
    ) -> Result<Vec<KnownLead>, Error> {
        let (domains, names): (Vec<String>, Vec<String>) = companies.iter().cloned().unzip();
        let in_play: Vec<&str> = IN_PLAY.iter().map(|s| s.as_str()).collect();
        // Two index-friendly lookups (each matching its partial index) rather than one OR.
        let rows = sqlx::query!(
            r#"SELECT c.id AS "id!", c.email AS "email!", c.company_domain AS "domain!",
                 lower(c.company) AS "company!", l.received_at AS "received_at!",
                 l.state = ANY($4) AS "in_play!"
               FROM lead_contacts c JOIN leads l USING (id)
               WHERE c.email = ANY($1) AND c.email <> '' AND l.state <> 'rejected'
               UNION
               SELECT c.id, c.email, c.company_domain, lower(c.company), l.received_at,
                 l.state = ANY($4)
               FROM lead_contacts c JOIN unnest($2::text[], $3::text[]) AS t(d, n)
                 ON c.company_domain = t.d AND lower(c.company) = t.n
               JOIN leads l USING (id)
               WHERE c.company_domain <> '' AND c.company <> '' AND l.state <> 'rejected'
               ORDER BY 5, 1"#,
            emails,
            &domains,
            &names,
            &in_play as &[&str]
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| KnownLead {
                id: LeadId(row.id),
                email: row.email,
                company_domain: row.domain,
                company: row.company,
                in_play: row.in_play,
            })
            .collect())
    }

    /// Writes the plan for `batch` (see [`IngestTx::carry_out_in_bulk`]), reads back every
    /// lead it names, commits, and says what happened to each submission.
    pub async fn carry_out(
        mut self,
        batch: &[Submission],
        plans: &[Plan],
        placed: Placed<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Stored>, Error> {
        self.write(batch, plans, placed, actor, now).await?;
        let named: Vec<Uuid> = plans
            .iter()
            .filter_map(|plan| match plan {
                Plan::Create { id, .. } | Plan::Repeat { id, .. } | Plan::Merge(id) => Some(id.0),
                Plan::KeyReused(_) => None,
            })
            .collect();
        let read = lead_rows!(["out AS (SELECT * FROM leads WHERE id = ANY($1))"], &named)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        self.tx.commit().await.map_err(db_error)?;
        let records: HashMap<LeadId, Lead> = rows::leads(read)?
            .into_iter()
            .map(|lead| (lead.id, lead))
            .collect();
        let record = |id: LeadId| {
            records
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::internal(format!("stored lead {id} was not read back")))
        };
        plans
            .iter()
            .map(|plan| {
                Ok(match plan {
                    Plan::Create {
                        id,
                        duplicate_of: Some(original),
                        ..
                    } => Stored::DuplicateRejected {
                        lead: record(*id)?,
                        original: *original,
                    },
                    Plan::Create { id, .. } => Stored::Created(record(*id)?),
                    Plan::Repeat { id, merged } => Stored::Repeated {
                        lead: record(*id)?,
                        merged: *merged,
                    },
                    Plan::KeyReused(existing) => Stored::KeyReused {
                        existing: *existing,
                    },
                    Plan::Merge(id) => Stored::Merged(record(*id)?),
                })
            })
            .collect()
    }

    /// Writes the plan for `batch` and commits, reading nothing back: for an import, whose
    /// summary follows from the plans and placements alone. New leads are inserted (see
    /// [`IngestTx::write`]), merges recorded, each with its history.
    pub async fn carry_out_in_bulk(
        mut self,
        batch: &[Submission],
        plans: &[Plan],
        placed: Placed<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.write(batch, plans, placed, actor, now).await?;
        self.tx.commit().await.map_err(db_error)
    }

    /// Inserts the new leads and folds the merged submissions into their leads. New leads with
    /// a placement are inserted in their pool, routed by `placed.by` (one write, two history
    /// rows); the others wait for routing as `received`.
    async fn write(
        &mut self,
        batch: &[Submission],
        plans: &[Plan],
        placed: Placed<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.insert_leads(batch, plans, placed, actor, now).await?;
        self.merge_leads(batch, plans, actor, now).await
    }

    async fn insert_leads(
        &mut self,
        batch: &[Submission],
        plans: &[Plan],
        placed: Placed<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let routed_by = placed.by;
        let placed: HashMap<LeadId, &Placement> =
            placed.placements.iter().map(|p| (p.lead, p)).collect();
        let mut rows = Columns::default();
        let (mut pools, mut flash, mut routes) = (Vec::new(), Vec::new(), Vec::new());
        for (sub, plan) in batch.iter().zip(plans) {
            if let Plan::Create {
                id,
                state,
                reason,
                duplicate_of,
                previous,
            } = plan
            {
                rows.push(*id, sub);
                rows.states.push(state.as_str());
                rows.reasons.push(reason.clone());
                rows.duplicate_of.push(duplicate_of.map(|d| d.0));
                rows.previous.push(previous.map(|p| p.0));
                let placement = placed.get(id).filter(|_| *state == LeadState::Received);
                pools.push(placement.map(|p| p.entry.pool.as_str()));
                flash.push(placement.is_some_and(|p| p.entry.flash));
                routes.push(placement.map(|p| p.entry.reason.as_str()));
            }
        }
        if rows.ids.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO lead_contacts (id, idempotency_key, request_hash, email, contact_name, \
               company, company_domain, phone, attributes) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], \
               $6::text[], $7::text[], $8::text[], $9::jsonb[])",
            &rows.ids,
            &rows.keys,
            &rows.hashes,
            &rows.emails,
            &rows.names,
            &rows.companies,
            &rows.domains,
            &rows.phones,
            &rows.attributes as &[Attributes],
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        // Each lead written once, in its final state: placed in its pool (a timed pool's
        // waiting for the release, flash leads excepted) or received; its history says it
        // was received, then routed. Nothing comes back: 1,000 whole leads read back with
        // their contacts cost an import more than a tenth of its time.
        sqlx::query!(
                "WITH input AS (SELECT t.*, p.kind AS pool_kind FROM unnest($1::uuid[], $2::text[], \
                   $3::text[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::text[], \
                   $9::text[], $10::text[], $13::uuid[], $14::text[], $15::text[], $16::bool[], \
                   $17::text[]) \
                   AS t(id, state, reason, duplicate_of, country, score, source, region, product, \
                     industry, previous, language, pool, flash, route) \
                   LEFT JOIN pools p ON p.id = t.pool), \
                 placed AS (SELECT *, CASE WHEN pool IS NULL THEN state \
                     WHEN pool_kind = 'timed' AND NOT flash THEN 'scheduled' ELSE 'available' END \
                     AS final_state FROM input), \
                 ins AS (INSERT INTO leads (id, state, rejection_reason, duplicate_of, country, \
                   score, priority, source, region, product, industry, language, previous_lead, \
                   pool_id, pooled_at, received_at, updated_at) \
                 SELECT id, final_state, reason, duplicate_of, country, score, score, source, \
                   region, product, industry, language, previous, pool, \
                   CASE WHEN final_state = 'available' THEN $11::timestamptz END, $11, $11 \
                 FROM placed RETURNING id, state, rejection_reason, previous_lead, pool_id) \
                 INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, \
                   reason, pool_id, rep_id, occurred_at, excused) \
                 SELECT ins.id, e.from_state, e.to_state, e.kind, e.actor, e.reason, e.pool_id, \
                   NULL, $11, false \
                 FROM ins JOIN input i USING (id), LATERAL (VALUES \
                   (1, NULL::text, i.state, CASE i.state WHEN 'received' THEN 'lead.received' \
                      ELSE 'lead.rejected' END, $12, \
                    COALESCE(ins.rejection_reason, \
                      'returning contact: earlier lead leads/' || ins.previous_lead, ''), NULL::text), \
                   (2, 'received', ins.state, 'lead.routed', $18, i.route, ins.pool_id)) \
                   AS e(step, from_state, to_state, kind, actor, reason, pool_id) \
                 WHERE e.step = 1 OR ins.pool_id IS NOT NULL ORDER BY ins.id, e.step",
            &rows.ids,
            &rows.states as &[&str],
            &rows.reasons as &[Option<String>],
            &rows.duplicate_of as &[Option<Uuid>],
            &rows.countries,
            &rows.scores,
            &rows.sources,
            &rows.regions,
            &rows.products,
            &rows.industries,
            now,
            actor,
            &rows.previous as &[Option<Uuid>],
            &rows.languages,
            &pools as &[Option<&str>],
            &flash,
            &routes as &[Option<&str>],
            routed_by
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Records merged submissions and folds what they add into the leads they duplicate:
    /// empty contact fields are filled, attributes the lead lacks are added, and a higher score
    /// raises the lead's score and its priority by as much. Its state and owner do not change.
    async fn merge_leads(
        &mut self,
        batch: &[Submission],
        plans: &[Plan],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut rows = Columns::default();
        for (sub, plan) in batch.iter().zip(plans) {
            if let Plan::Merge(into) = plan {
                rows.push(*into, sub);
            }
        }
        if rows.ids.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO lead_merges (idempotency_key, request_hash, lead_id, merged_at) \
             SELECT k, h, l, $4 FROM unnest($1::text[], $2::bytea[], $3::uuid[]) AS t(k, h, l)",
            &rows.keys,
            &rows.hashes,
            &rows.ids,
            now
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        sqlx::query!(
            "UPDATE lead_contacts c SET \
               contact_name = CASE WHEN c.contact_name = '' THEN i.contact_name ELSE c.contact_name END, \
               company = CASE WHEN c.company = '' THEN i.company ELSE c.company END, \
               company_domain = CASE WHEN c.company_domain = '' THEN i.company_domain \
                 ELSE c.company_domain END, \
               phone = CASE WHEN c.phone = '' THEN i.phone ELSE c.phone END, \
               attributes = i.attributes || c.attributes \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) \
               AS i(lead_id, contact_name, company, company_domain, phone, attributes) \
             WHERE c.id = i.lead_id",
            &rows.ids,
            &rows.names,
            &rows.companies,
            &rows.domains,
            &rows.phones,
            &rows.attributes as &[Attributes],
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        transition!(
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], \
               $5::text[], $6::text[], $7::text[], $10::int[], $11::text[]) \
               AS t(lead_id, key, country, source, region, product, industry, score, language)), \
             keys AS (SELECT i.lead_id, string_agg(i.key, ', ' ORDER BY i.key) AS keys, \
               max(i.score) AS score, min(l.score) AS old_score \
               FROM input i JOIN leads l ON l.id = i.lead_id GROUP BY i.lead_id) \
             UPDATE leads l SET \
               country = CASE WHEN l.country = '' THEN i.country ELSE l.country END, \
               region = CASE WHEN l.region = '' THEN i.region ELSE l.region END, \
               product = CASE WHEN l.product = '' THEN i.product ELSE l.product END, \
               industry = CASE WHEN l.industry = '' THEN i.industry ELSE l.industry END, \
               language = CASE WHEN l.language = '' THEN i.language ELSE l.language END, \
               updated_at = $8, \
               score = GREATEST(k.old_score, k.score), \
               priority = l.priority + GREATEST(k.score - k.old_score, 0) \
             FROM input i JOIN keys k USING (lead_id) WHERE l.id = i.lead_id \
             RETURNING l.*, l.state AS old_state, 'merged duplicate submission ' || k.keys \
               || CASE WHEN k.score > k.old_score THEN format(' (score %s → %s)', k.old_score, k.score) \
                 ELSE '' END AS merge_reason",
            "'lead.merged', $9, merge_reason, pool_id, NULL, $8, false",
            &rows.ids,
            &rows.keys,
            &rows.countries,
            &rows.sources,
            &rows.regions,
            &rows.products,
            &rows.industries,
            now,
            actor,
            &rows.scores,
            &rows.languages
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

/// New leads routed as they are stored: where each goes, and who routed them (the history's
/// actor of `lead.routed`).
#[derive(Clone, Copy)]
pub struct Placed<'a> {
    pub placements: &'a [Placement],
    pub by: &'a str,
}

/// A batch of leads as column arrays, for `unnest`.
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    keys: Vec<String>,
    hashes: Vec<Vec<u8>>,
    states: Vec<&'static str>,
    reasons: Vec<Option<String>>,
    duplicate_of: Vec<Option<Uuid>>,
    previous: Vec<Option<Uuid>>,
    emails: Vec<String>,
    names: Vec<String>,
    companies: Vec<String>,
    domains: Vec<String>,
    countries: Vec<String>,
    phones: Vec<String>,
    scores: Vec<i32>,
    sources: Vec<String>,
    regions: Vec<String>,
    products: Vec<String>,
    industries: Vec<String>,
    languages: Vec<String>,
    attributes: Vec<Attributes>,
}

impl Columns {
    fn push(&mut self, id: LeadId, sub: &Submission) {
        let lead = &sub.lead;
        self.ids.push(id.0);
        self.keys.push(lead.idempotency_key.clone());
        self.hashes.push(sub.fingerprint.to_vec());
        self.emails.push(lead.email.clone());
        self.names.push(lead.contact_name.clone());
        self.companies.push(lead.company.clone());
        self.domains.push(lead.company_domain.clone());
        self.countries.push(lead.country.clone());
        self.phones.push(lead.phone.clone());
        self.scores.push(lead.score);
        self.sources.push(lead.source.clone());
        self.regions.push(lead.region.clone());
        self.products.push(lead.product.clone());
        self.industries.push(lead.industry.clone());
        self.languages.push(lead.language.clone());
        self.attributes.push(Json(lead.attributes.clone()));
    }
}

/// `text` without the NUL characters Postgres refuses in text and jsonb.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

fn storable_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(storable(text)),
        Value::Array(items) => Value::Array(items.iter().map(storable_json).collect()),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (storable(k), storable_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An import row too malformed to become a lead.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub row_number: i64,
    pub reason: String,
    /// The row as received.
    pub data: serde_json::Value,
}
