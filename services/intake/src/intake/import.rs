//! Bulk import: rows arrive in a client stream and are stored a chunk at a time with the same
//! rules as single submissions (qualification, duplicates, idempotency), then routed in bulk.
//! The summary counts every row exactly once.

use std::collections::BTreeMap;

use leadpool_domain::{Clock, Error, LeadId, LeadState, NewLead};
use leadpool_proto::v1;
use leadpool_store::{RejectedRow, Stored};
use tokio_stream::StreamExt;

use super::{Intake, lead_input, submission};

/// Rows stored per transaction.
pub const CHUNK_ROWS: usize = 500;
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
    pub async fn import<S>(
        &self,
        mut rows: S,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<v1::ImportLeadsResponse, Error>
    where
        S: tokio_stream::Stream<Item = Result<v1::ImportLeadsRequest, tonic::Status>> + Unpin,
    {
        let mut import_id: Option<String> = None;
        let mut summary = Summary::default();
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
                self.import_chunk(&id, chunk, &mut summary, actor, clock)
                    .await?;
            }
        }
        let Some(id) = import_id else {
            return Err(Error::invalid("import_id", "the import sent no messages"));
        };
        if !pending.is_empty() {
            self.import_chunk(&id, pending, &mut summary, actor, clock)
                .await?;
        }
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

    async fn import_chunk(
        &self,
        import_id: &str,
        rows: Vec<v1::ImportRow>,
        summary: &mut Summary,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<(), Error> {
        let current = self.policy.current().await?;
        let now = clock.now();
        let mut subs = Vec::with_capacity(rows.len());
        // Per submission: its row number and, if qualification refused it, the rule.
        let mut rows_of = Vec::with_capacity(rows.len());
        let mut malformed = Vec::new();
        for row in rows {
            summary.response.rows += 1;
            let raw = row.lead.unwrap_or_default();
            let mut input = lead_input(raw.clone());
            if input.idempotency_key.trim().is_empty() {
                input.idempotency_key = format!("{import_id}:{}", row.row_number);
            }
            match NewLead::parse(input) {
                Ok(lead) => {
                    let (sub, rule) = submission(lead, &current.policy);
                    subs.push(sub);
                    rows_of.push((row.row_number, rule));
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
                    summary.issue(
                        row.row_number,
                        v1::import_issue::Kind::Rejected,
                        &category,
                        reason.clone(),
                        None,
                    );
                    malformed.push(RejectedRow {
                        row_number: row.row_number,
                        reason,
                        data: row_json(&raw),
                    });
                }
            }
        }
        self.store
            .record_rejected_rows(import_id, &malformed, now)
            .await?;
        let outcomes = self
            .store_submissions(&subs, &current.policy, actor, now)
            .await?;
        let mut waiting = Vec::new();
        for ((row, rule), outcome) in rows_of.into_iter().zip(outcomes) {
            use v1::import_issue::Kind::{Duplicate, Rejected};
            match outcome {
                Stored::Created(lead) if lead.state != LeadState::Rejected => {
                    summary.response.accepted += 1;
                    if lead.state == LeadState::Received {
                        waiting.push(lead.id);
                    }
                }
                Stored::Created(lead) => {
                    let reason = lead.rejection_reason.clone().unwrap_or_default();
                    summary.issue(
                        row,
                        Rejected,
                        rule.unwrap_or("rejected"),
                        reason,
                        Some(lead.id),
                    );
                }
                Stored::Repeated { .. } => summary.response.already_imported += 1,
                Stored::KeyReused { existing } => {
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
                Stored::Merged(lead) => {
                    let reason = format!("duplicate of {}, merged into it", lead.id.name());
                    summary.issue(row, Duplicate, "duplicate-merged", reason, Some(lead.id));
                }
                Stored::DuplicateRejected { lead, .. } => {
                    let reason = lead.rejection_reason.clone().unwrap_or_default();
                    summary.issue(row, Duplicate, "duplicate-rejected", reason, Some(lead.id));
                }
            }
        }
        // Leads the policy pushes to reps wait for routing (its turn order); its failures leave
        // them to the retry loop, and the import still counts them.
        self.router.route_many(&waiting).await;
        Ok(())
    }
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
