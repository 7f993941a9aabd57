//! Storing submitted leads: one submission or a chunk of a bulk import, the same way.
//!
//! In one transaction per batch: take advisory locks on every idempotency key and duplicate
//! key involved (so concurrent submissions of the same lead serialise), find earlier
//! submissions of the same keys and existing leads the new ones duplicate, then insert the new
//! leads and record the merges — each with its history rows. The answer for every submission
//! says what happened to it.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, LeadState, NewLead};
use leadpool_policy::{DuplicateAction, Duplicates};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;
use crate::records::LeadRecord;

/// A validated, qualified submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub lead: NewLead,
    /// SHA-256 of the submitted lead ([`NewLead::fingerprint`]).
    pub fingerprint: [u8; 32],
    /// `Some(reason)` when qualification refused it.
    pub rejection: Option<String>,
}

/// What happened to one submission.
#[derive(Debug, Clone)]
pub enum Ingested {
    /// A new lead: `received` (qualified, waiting for routing) or `rejected`.
    Created(LeadRecord),
    /// The key was submitted before with the same lead: that answer again. `merged` when that
    /// first submission was folded into `lead` as a duplicate.
    Repeated { lead: LeadRecord, merged: bool },
    /// The key was submitted before with a different lead.
    KeyReused { existing: LeadId },
    /// Folded into the existing lead it duplicates (merge policy).
    Merged(LeadRecord),
    /// Kept as a rejected lead naming the lead it duplicates (reject policy).
    DuplicateRejected { lead: LeadRecord, original: LeadId },
}

/// Namespace of the advisory locks guarding intake (the second key is a hash bucket).
const INTAKE_LOCKS: i32 = 0x1ead;
const LOCK_BUCKETS: u64 = 4096;

fn lock_bucket(key: &str) -> i32 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i32::try_from(u64::from_be_bytes(first) % LOCK_BUCKETS).unwrap_or(0)
}

fn email_key(lead: &NewLead, rules: &Duplicates) -> Option<String> {
    (rules.by_email && !lead.email.is_empty()).then(|| lead.email.clone())
}

fn company_key(lead: &NewLead, rules: &Duplicates) -> Option<(String, String)> {
    (rules.by_company && !lead.company_domain.is_empty() && !lead.company.is_empty())
        .then(|| (lead.company_domain.clone(), lead.company.to_lowercase()))
}

/// The plan for one submission, decided in memory once the database was consulted.
enum Plan {
    Create {
        id: LeadId,
        state: LeadState,
        reason: Option<String>,
        duplicate_of: Option<LeadId>,
    },
    Repeat {
        id: LeadId,
        merged: bool,
    },
    KeyReused(LeadId),
    Merge(LeadId),
}

struct Earlier {
    id: LeadId,
    fingerprint: Vec<u8>,
    merged: bool,
}

impl Store {
    pub async fn ingest(
        &self,
        batch: &[Submission],
        rules: &Duplicates,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Ingested>, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;

        let mut buckets = BTreeSet::new();
        for sub in batch {
            buckets.insert(lock_bucket(&format!("key:{}", sub.lead.idempotency_key)));
            if let Some(email) = email_key(&sub.lead, rules) {
                buckets.insert(lock_bucket(&format!("email:{email}")));
            }
            if let Some((domain, company)) = company_key(&sub.lead, rules) {
                buckets.insert(lock_bucket(&format!("company:{domain}|{company}")));
            }
        }
        let buckets: Vec<i32> = buckets.into_iter().collect();
        // Locks in ascending order, so two batches can never wait on each other in a cycle.
        sqlx::query("SELECT count(pg_advisory_xact_lock($1, b)) FROM (SELECT b FROM unnest($2::int[]) AS b ORDER BY b) AS sorted")
            .bind(INTAKE_LOCKS)
            .bind(&buckets)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;

        let keys: Vec<&str> = batch
            .iter()
            .map(|s| s.lead.idempotency_key.as_str())
            .collect();
        let earlier: Vec<(String, Uuid, Vec<u8>, bool)> = sqlx::query_as(
            "SELECT idempotency_key, id, request_hash, false FROM leads WHERE idempotency_key = ANY($1) \
             UNION ALL SELECT idempotency_key, lead_id, request_hash, true FROM lead_merges WHERE idempotency_key = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut earlier: HashMap<String, Earlier> = earlier
            .into_iter()
            .map(|(key, id, fingerprint, merged)| {
                (
                    key,
                    Earlier {
                        id: LeadId(id),
                        fingerprint,
                        merged,
                    },
                )
            })
            .collect();

        let emails: Vec<String> = batch
            .iter()
            .filter_map(|s| email_key(&s.lead, rules))
            .collect();
        let (domains, companies): (Vec<String>, Vec<String>) = batch
            .iter()
            .filter_map(|s| company_key(&s.lead, rules))
            .unzip();
        // Two index-friendly lookups (each matching its partial index) rather than one OR.
        let live: Vec<(Uuid, String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, email, company_domain, lower(company), received_at FROM leads \
             WHERE email = ANY($1) AND email <> '' AND state NOT IN ('rejected', 'archived') \
             UNION \
             SELECT l.id, l.email, l.company_domain, lower(l.company), l.received_at \
             FROM leads l JOIN unnest($2::text[], $3::text[]) AS t(d, c) \
               ON l.company_domain = t.d AND lower(l.company) = t.c \
             WHERE l.company_domain <> '' AND l.company <> '' AND l.state NOT IN ('rejected', 'archived') \
             ORDER BY received_at, id",
        )
        .bind(&emails)
        .bind(&domains)
        .bind(&companies)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut by_email: HashMap<String, LeadId> = HashMap::new();
        let mut by_company: HashMap<(String, String), LeadId> = HashMap::new();
        for (id, email, domain, company, _) in live {
            if rules.by_email && !email.is_empty() {
                by_email.entry(email).or_insert(LeadId(id));
            }
            if rules.by_company && !domain.is_empty() && !company.is_empty() {
                by_company.entry((domain, company)).or_insert(LeadId(id));
            }
        }

        let mut plans = Vec::with_capacity(batch.len());
        for sub in batch {
            let key = &sub.lead.idempotency_key;
            if let Some(earlier) = earlier.get(key) {
                plans.push(if earlier.fingerprint == sub.fingerprint {
                    Plan::Repeat {
                        id: earlier.id,
                        merged: earlier.merged,
                    }
                } else {
                    Plan::KeyReused(earlier.id)
                });
                continue;
            }
            let email = email_key(&sub.lead, rules);
            let company = company_key(&sub.lead, rules);
            let duplicate = email
                .as_ref()
                .and_then(|e| by_email.get(e).map(|id| (*id, "the same email")))
                .or_else(|| {
                    company
                        .as_ref()
                        .and_then(|c| by_company.get(c).map(|id| (*id, "the same company")))
                });
            let id = LeadId::new();
            let plan = match (duplicate, rules.action) {
                (Some((original, _)), DuplicateAction::Merge) => Plan::Merge(original),
                (Some((original, why)), DuplicateAction::Reject) => Plan::Create {
                    id,
                    state: LeadState::Rejected,
                    reason: Some(format!("duplicate of {} ({why})", original.name())),
                    duplicate_of: Some(original),
                },
                (None, _) => {
                    let state = if sub.rejection.is_some() {
                        LeadState::Rejected
                    } else {
                        LeadState::Received
                    };
                    if state == LeadState::Received {
                        // Later submissions in this batch duplicate this one.
                        if let Some(email) = email {
                            by_email.insert(email, id);
                        }
                        if let Some(company) = company {
                            by_company.insert(company, id);
                        }
                    }
                    Plan::Create {
                        id,
                        state,
                        reason: sub.rejection.clone(),
                        duplicate_of: None,
                    }
                }
            };
            // A key repeated within the batch answers like its first occurrence.
            let (id_for_key, merged) = match &plan {
                Plan::Create { id, .. } => (*id, false),
                Plan::Merge(into) => (*into, true),
                Plan::Repeat { id, merged } => (*id, *merged),
                Plan::KeyReused(id) => (*id, false),
            };
            earlier.insert(
                key.clone(),
                Earlier {
                    id: id_for_key,
                    fingerprint: sub.fingerprint.to_vec(),
                    merged,
                },
            );
            plans.push(plan);
        }

        let created = insert_leads(&mut tx, batch, &plans, actor, now).await?;
        merge_leads(&mut tx, batch, &plans, actor, now).await?;
        let referenced: Vec<Uuid> = plans
            .iter()
            .filter_map(|plan| match plan {
                Plan::Repeat { id, .. } | Plan::Merge(id) => Some(id.0),
                _ => None,
            })
            .collect();
        let records: HashMap<Uuid, LeadRecord> =
            sqlx::query_as::<_, LeadRecord>("SELECT * FROM leads WHERE id = ANY($1)")
                .bind(&referenced)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?
                .into_iter()
                .map(|lead| (lead.id, lead))
                .chain(created.into_iter().map(|lead| (lead.id, lead)))
                .collect();
        tx.commit().await.map_err(db_error)?;

        let record = |id: LeadId| {
            records
                .get(&id.0)
                .cloned()
                .ok_or_else(|| Error::internal(format!("ingested lead {id} was not read back")))
        };
        plans
            .into_iter()
            .map(|plan| {
                Ok(match plan {
                    Plan::Create {
                        id,
                        duplicate_of: Some(original),
                        ..
                    } => Ingested::DuplicateRejected {
                        lead: record(id)?,
                        original,
                    },
                    Plan::Create { id, .. } => Ingested::Created(record(id)?),
                    Plan::Repeat { id, merged } => Ingested::Repeated {
                        lead: record(id)?,
                        merged,
                    },
                    Plan::KeyReused(existing) => Ingested::KeyReused { existing },
                    Plan::Merge(id) => Ingested::Merged(record(id)?),
                })
            })
            .collect()
    }
}

async fn insert_leads(
    tx: &mut sqlx::PgConnection,
    batch: &[Submission],
    plans: &[Plan],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LeadRecord>, Error> {
    let mut rows = Columns::default();
    for (sub, plan) in batch.iter().zip(plans) {
        if let Plan::Create {
            id,
            state,
            reason,
            duplicate_of,
        } = plan
        {
            rows.push(*id, sub, *state, reason.clone(), *duplicate_of);
        }
    }
    if rows.ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as::<_, LeadRecord>(
        "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::uuid[], \
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[], \
           $15::text[], $16::text[], $17::text[], $18::jsonb[]) \
           AS t(id, key, hash, state, reason, duplicate_of, email, contact_name, company, company_domain, country, \
                phone, score, source, region, product, industry, attributes)), \
         inserted AS (INSERT INTO leads (id, idempotency_key, request_hash, state, rejection_reason, duplicate_of, \
           email, contact_name, company, company_domain, country, phone, score, priority, source, region, product, \
           industry, attributes, received_at, updated_at) \
           SELECT id, key, hash, state, reason, duplicate_of, email, contact_name, company, company_domain, country, \
             phone, score, score, source, region, product, industry, attributes, $19, $19 FROM input \
           RETURNING *), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, occurred_at) \
           SELECT id, NULL, state, $20, COALESCE(rejection_reason, ''), $19 FROM inserted) \
         SELECT * FROM inserted",
    )
    .bind(&rows.ids)
    .bind(&rows.keys)
    .bind(&rows.hashes)
    .bind(&rows.states)
    .bind(&rows.reasons)
    .bind(&rows.duplicate_of)
    .bind(&rows.emails)
    .bind(&rows.names)
    .bind(&rows.companies)
    .bind(&rows.domains)
    .bind(&rows.countries)
    .bind(&rows.phones)
    .bind(&rows.scores)
    .bind(&rows.sources)
    .bind(&rows.regions)
    .bind(&rows.products)
    .bind(&rows.industries)
    .bind(&rows.attributes)
    .bind(now)
    .bind(actor)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)
}

/// Records merged submissions and folds what they add into the leads they duplicate: empty
/// contact fields are filled, attributes the lead lacks are added. The lead's state, score and
/// owner do not change.
async fn merge_leads(
    tx: &mut sqlx::PgConnection,
    batch: &[Submission],
    plans: &[Plan],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut rows = Columns::default();
    for (sub, plan) in batch.iter().zip(plans) {
        if let Plan::Merge(into) = plan {
            rows.push(*into, sub, LeadState::Received, None, None);
        }
    }
    if rows.ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[], \
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[]) \
           AS t(lead_id, key, hash, contact_name, company, company_domain, country, phone, source, region, product, \
                industry, attributes)), \
         merged AS (INSERT INTO lead_merges (idempotency_key, request_hash, lead_id, merged_at) \
           SELECT key, hash, lead_id, $14 FROM input), \
         updated AS (UPDATE leads l SET \
             contact_name = CASE WHEN l.contact_name = '' THEN i.contact_name ELSE l.contact_name END, \
             company = CASE WHEN l.company = '' THEN i.company ELSE l.company END, \
             company_domain = CASE WHEN l.company_domain = '' THEN i.company_domain ELSE l.company_domain END, \
             country = CASE WHEN l.country = '' THEN i.country ELSE l.country END, \
             phone = CASE WHEN l.phone = '' THEN i.phone ELSE l.phone END, \
             region = CASE WHEN l.region = '' THEN i.region ELSE l.region END, \
             product = CASE WHEN l.product = '' THEN i.product ELSE l.product END, \
             industry = CASE WHEN l.industry = '' THEN i.industry ELSE l.industry END, \
             attributes = i.attributes || l.attributes, updated_at = $14 \
           FROM input i WHERE l.id = i.lead_id RETURNING l.id) \
         INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT i.lead_id, l.state, l.state, $15, 'merged duplicate submission ' || i.key, l.pool_id, NULL, $14 \
         FROM input i JOIN leads l ON l.id = i.lead_id",
    )
    .bind(&rows.ids)
    .bind(&rows.keys)
    .bind(&rows.hashes)
    .bind(&rows.names)
    .bind(&rows.companies)
    .bind(&rows.domains)
    .bind(&rows.countries)
    .bind(&rows.phones)
    .bind(&rows.sources)
    .bind(&rows.regions)
    .bind(&rows.products)
    .bind(&rows.industries)
    .bind(&rows.attributes)
    .bind(now)
    .bind(actor)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
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
    attributes: Vec<Json<std::collections::BTreeMap<String, String>>>,
}

impl Columns {
    fn push(
        &mut self,
        id: LeadId,
        sub: &Submission,
        state: LeadState,
        reason: Option<String>,
        duplicate_of: Option<LeadId>,
    ) {
        let lead = &sub.lead;
        self.ids.push(id.0);
        self.keys.push(lead.idempotency_key.clone());
        self.hashes.push(sub.fingerprint.to_vec());
        self.states.push(state.as_str());
        self.reasons.push(reason);
        self.duplicate_of.push(duplicate_of.map(|d| d.0));
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
        self.attributes.push(Json(lead.attributes.clone()));
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

impl Store {
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
        let reasons: Vec<&str> = rows.iter().map(|r| r.reason.as_str()).collect();
        let data: Vec<&serde_json::Value> = rows.iter().map(|r| &r.data).collect();
        sqlx::query(
            "INSERT INTO rejected_rows (import_id, row_number, reason, row_data, received_at) \
             SELECT $1, n, r, d, $5 FROM unnest($2::bigint[], $3::text[], $4::jsonb[]) AS t(n, r, d) \
             ON CONFLICT (import_id, row_number) DO NOTHING",
        )
        .bind(import_id)
        .bind(&numbers)
        .bind(&reasons)
        .bind(&data)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
