//! Bulk import: rows arrive in a client stream and are stored in chunks, a transaction each, with
//! the same rules as single submissions (qualification, duplicates, idempotency), then routed in
//! bulk.
//! The summary counts every row exactly once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures_util::stream::FuturesOrdered;
use leadpool_domain::{Clock, Error, LeadId, LeadState, NewLead};
use leadpool_policy::duplicates::{Plan, Submission};
use leadpool_proto::v1;
use leadpool_store::{CurrentPolicy, RejectedRow};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt;

use super::{Intake, lead_input, placed, submission};

/// Rows stored per transaction.
pub const CHUNK_ROWS: usize = 500;
/// Chunks of one import in Postgres at once (see `Intake::store_chunks`): while one waits for
/// its statements, another keeps a second core busy.
const CHUNKS_IN_FLIGHT: usize = 2;
/// Row-level issues returned in the summary; the counts always cover every row.
pub const MAX_ISSUES: usize = 1000;
const MAX_IMPORT_ID_LEN: usize = 64;

#[derive(Default)]
pub struct Summary {
    pub response: v1::ImportLeadsResponse,
}

impl Summary {
    /// Records a rejected or duplicate row: counted under `category`, listed with `reason`.
    fn issue(
        &mut self,
        row: i64,
        kind: v1::import_issue::Kind,
        category: &str,
        reason: String,
        lead: Option<LeadId>,
    ) {
        match kind {
            v1::import_issue::Kind::Duplicate => self.response.duplicates += 1,
            _ => self.response.rejected += 1,
        }
        *self
            .response
            .reasons
            .entry(category.to_owned())
            .or_insert(0) += 1;
        if self.response.issues.len() < MAX_ISSUES {
            self.response.issues.push(v1::ImportIssue {
                row_number: row,
                kind: kind.into(),
                reason,
                lead: lead.map(|l| l.name()).unwrap_or_default(),
            });
        }
    }
}

impl Intake {
    /// Reads the stream and parses each chunk (validation, qualification: intake's own CPU)
    /// while earlier chunks are in Postgres; a row sees every earlier row of the import it
    /// shares a key with as stored (see `store_chunks`).
    pub async fn import<S>(
        &self,
        rows: S,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<v1::ImportLeadsResponse, Error>
    where
        S: tokio_stream::Stream<Item = Result<v1::ImportLeadsRequest, tonic::Status>> + Unpin,
    {
        // One parsed chunk waits while another is stored: enough to keep both busy.
        let (parsed, to_store) = mpsc::channel(1);
        let mut summary = Summary::default();
        let (read, stored) = tokio::join!(
            self.read_chunks(rows, parsed),
            self.store_chunks(to_store, &mut summary, actor, clock)
        );
        // A failed store ends the reading too (its channel closes): its error is the cause.
        stored?;
        let id = read?;
        summary
            .response
            .issues
            .sort_by_key(|issue| issue.row_number);
        tracing::info!(
            import = id,
            rows = summary.response.rows,
            accepted = summary.response.accepted,
            rejected = summary.response.rejected,
            duplicates = summary.response.duplicates,
            "import finished"
        );
        Ok(summary.response)
    }

    /// The reading half: messages into chunks of `CHUNK_ROWS`, each parsed and handed on.
    /// Answers the import's id. What was handed on before an error is still stored.
    async fn read_chunks<S>(
        &self,
        mut rows: S,
        parsed: mpsc::Sender<Parsed>,
    ) -> Result<String, Error>
    where
        S: tokio_stream::Stream<Item = Result<v1::ImportLeadsRequest, tonic::Status>> + Unpin,
    {
        let mut import_id: Option<String> = None;
        let mut pending: Vec<v1::ImportRow> = Vec::new();
        while let Some(message) = rows.next().await {
            let message = message.map_err(|status| {
                Error::invalid(
                    "rows",
                    format!("the stream broke off: {}", status.message()),
                )
            })?;
            let id = match &import_id {
                Some(id) => id.clone(),
                None => {
                    let id = message.import_id.trim().to_owned();
                    if id.is_empty()
                        || id.len() > MAX_IMPORT_ID_LEN
                        || id.contains(char::is_control)
                    {
                        return Err(Error::invalid(
                            "import_id",
                            format!(
                                "is required in the first message: 1 to {MAX_IMPORT_ID_LEN} printable characters identifying the import"
                            ),
                        ));
                    }
                    import_id = Some(id.clone());
                    id
                }
            };
            pending.extend(message.rows);
            while pending.len() >= CHUNK_ROWS {
                let chunk: Vec<v1::ImportRow> = pending.drain(..CHUNK_ROWS).collect();
                let chunk = self.parse_chunk(&id, chunk).await?;
                hand_on(&parsed, chunk).await?;
            }
        }
        let Some(id) = import_id else {
            return Err(Error::invalid("import_id", "the import sent no messages"));
        };
        if !pending.is_empty() {
            let chunk = self.parse_chunk(&id, pending).await?;
            hand_on(&parsed, chunk).await?;
        }
        Ok(id)
    }

    /// Validates and qualifies a chunk's rows by the policy in force; nothing is written yet.
    async fn parse_chunk(
        &self,
        import_id: &str,
        rows: Vec<v1::ImportRow>,
    ) -> Result<Parsed, Error> {
        let current = self.policy.current().await?;
        let mut chunk = Parsed {
            import_id: import_id.to_owned(),
            rows: rows.len() as i64,
            subs: Vec::with_capacity(rows.len()),
            rows_of: Vec::with_capacity(rows.len()),
            malformed: Vec::new(),
            policy: current.clone(),
        };
        for row in rows {
            let raw = row.lead.unwrap_or_default();
            let mut input = lead_input(raw.clone());
            if input.idempotency_key.trim().is_empty() {
                input.idempotency_key = format!("{import_id}:{}", row.row_number);
            }
            match NewLead::parse(input) {
                Ok(lead) => {
                    let (sub, rule) = submission(lead, &current.policy);
                    chunk.subs.push(sub);
                    chunk.rows_of.push((row.row_number, rule));
                }
                Err(violations) => {
                    let reason = violations
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    let category = format!(
                        "invalid {}",
                        violations.first().map_or("row", |v| v.field.as_str())
                    );
                    chunk.malformed.push((
                        category,
                        RejectedRow {
                            row_number: row.row_number,
                            reason,
                            data: row_json(&raw),
                        },
                    ));
                }
            }
        }
        Ok(chunk)
    }

    /// The storing half: up to [`CHUNKS_IN_FLIGHT`] parsed chunks in Postgres at once, until
    /// the reading half is done. Each chunk takes its locks only once the chunk before it holds
    /// its own, so a row sharing a key (idempotency key, email, company) with a row of an
    /// earlier chunk waits until that chunk is stored and sees it, as if the chunks were stored
    /// one after another; chunks sharing no key are stored side by side. What each stored is
    /// counted in the order the chunks arrived.
    async fn store_chunks(
        &self,
        mut parsed: mpsc::Receiver<Parsed>,
        summary: &mut Summary,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<(), Error> {
        let mut in_flight = FuturesOrdered::new();
        let mut last_locked: Option<oneshot::Receiver<()>> = None;
        let mut reading = true;
        while reading || !in_flight.is_empty() {
            tokio::select! {
                chunk = parsed.recv(), if reading && in_flight.len() < CHUNKS_IN_FLIGHT => {
                    match chunk {
                        Some(chunk) => {
                            let (locked, next) = oneshot::channel();
                            let after = last_locked.replace(next);
                            in_flight.push_back(self.store_chunk(chunk, after, locked, actor, clock));
                        }
                        None => reading = false,
                    }
                }
                Some(stored) = in_flight.next(), if !in_flight.is_empty() => {
                    // An error ends the import; a later chunk may already be stored (its rows
                    // count as already imported when the import is sent again).
                    self.count_chunk(stored?, summary).await;
                }
            }
        }
        Ok(())
    }

    /// Stores one chunk in its transaction, taking its locks once the chunk before it
    /// (`after`) holds its own, and saying so (`locked`) for the chunk after it.
    async fn store_chunk(
        &self,
        chunk: Parsed,
        after: Option<oneshot::Receiver<()>>,
        locked: oneshot::Sender<()>,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<StoredChunk, Error> {
        let now = clock.now();
        let malformed: Vec<RejectedRow> =
            chunk.malformed.iter().map(|(_, row)| row.clone()).collect();
        self.store
            .record_rejected_rows(&chunk.import_id, &malformed, now)
            .await?;
        if let Some(after) = after {
            // An earlier chunk that failed before locking ends the import anyway.
            let _ = after.await;
        }
        let policy = &chunk.policy.policy;
        let tx = self.lock_submissions(&chunk.subs, policy).await?;
        let _ = locked.send(());
        let (tx, plans, placements) = self.plan_submissions(tx, &chunk.subs, policy).await?;
        tx.carry_out_in_bulk(&chunk.subs, &plans, placed(&placements), actor, now)
            .await?;
        Ok(StoredChunk {
            placed: placements.iter().map(|p| p.lead).collect(),
            plans,
            chunk,
        })
    }

    /// Counts what a stored chunk did to each of its rows (it follows from the plans: nothing
    /// is read back), then routes the leads it left waiting.
    async fn count_chunk(&self, stored: StoredChunk, summary: &mut Summary) {
        let StoredChunk {
            chunk,
            plans,
            placed,
        } = stored;
        summary.response.rows += chunk.rows;
        for (category, row) in chunk.malformed {
            summary.issue(
                row.row_number,
                v1::import_issue::Kind::Rejected,
                &category,
                row.reason,
                None,
            );
        }
        let mut waiting = Vec::new();
        for ((row, rule), plan) in chunk.rows_of.into_iter().zip(plans) {
            use v1::import_issue::Kind::{Duplicate, Rejected};
            match plan {
                Plan::Create {
                    id,
                    reason,
                    duplicate_of: Some(_),
                    ..
                } => {
                    let reason = reason.unwrap_or_default();
                    summary.issue(row, Duplicate, "duplicate-rejected", reason, Some(id));
                }
                Plan::Create {
                    id,
                    state: LeadState::Rejected,
                    reason,
                    ..
                } => {
                    let reason = reason.unwrap_or_default();
                    summary.issue(row, Rejected, rule.unwrap_or("rejected"), reason, Some(id));
                }
                Plan::Create { id, .. } => {
                    summary.response.accepted += 1;
                    if !placed.contains(&id) {
                        waiting.push(id);
                    }
                }
                Plan::Repeat { .. } => summary.response.already_imported += 1,
                Plan::KeyReused(existing) => {
                    let reason = format!(
                        "idempotency key already used for a different lead ({})",
                        existing.name()
                    );
                    summary.issue(
                        row,
                        Rejected,
                        "idempotency-key-reused",
                        reason,
                        Some(existing),
                    );
                }
                Plan::Merge(into) => {
                    let reason = format!("duplicate of {}, merged into it", into.name());
                    summary.issue(row, Duplicate, "duplicate-merged", reason, Some(into));
                }
            }
        }
        // Leads the policy pushes to reps wait for routing (its turn order, chunk by chunk);
        // its failures leave them to the retry loop, and the import still counts them.
        self.router.route_many(&waiting).await;
    }
}

/// A chunk stored: the plan of each of its submissions, and the new leads placed in a pool.
struct StoredChunk {
    chunk: Parsed,
    plans: Vec<Plan>,
    placed: HashSet<LeadId>,
}

/// A chunk parsed and waiting to be stored.
struct Parsed {
    import_id: String,
    /// Rows in the chunk, malformed ones included.
    rows: i64,
    /// The well-formed rows, qualified by `policy`.
    subs: Vec<Submission>,
    /// Per submission: its row number and, if qualification refused it, the rule.
    rows_of: Vec<(i64, Option<&'static str>)>,
    /// Rows that did not parse, each with the category it is counted under.
    malformed: Vec<(String, RejectedRow)>,
    policy: Arc<CurrentPolicy>,
}

/// Hands a parsed chunk to the storing half; fails only when storing has stopped on an error
/// (which the import answers).
async fn hand_on(to_store: &mpsc::Sender<Parsed>, chunk: Parsed) -> Result<(), Error> {
    to_store
        .send(chunk)
        .await
        .map_err(|_| Error::internal("storing the import stopped"))
}

fn row_json(lead: &v1::SubmitLeadRequest) -> serde_json::Value {
    let contact = lead.contact.clone().unwrap_or_default();
    serde_json::json!({
        "idempotency_key": lead.idempotency_key,
        "email": contact.email,
        "name": contact.name,
        "company": contact.company,
        "company_domain": contact.company_domain,
        "country": contact.country,
        "phone": contact.phone,
        "score": lead.score,
        "source": lead.source,
        "region": lead.region,
        "product": lead.product,
        "industry": lead.industry,
        "language": lead.language,
        "attributes": lead.attributes.iter().collect::<BTreeMap<_, _>>(),
    })
}
