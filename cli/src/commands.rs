//! The commands that call the API; what they print is in `output`.

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use leadpool_proto::v1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::client::Connection;
use crate::output;

pub async fn apply(
    conn: &Connection,
    file: &Path,
    dry_run: bool,
    expected_version: Option<i64>,
) -> anyhow::Result<()> {
    let document =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let request = v1::ApplyPolicyRequest {
        document,
        validate_only: dry_run,
        expected_version: expected_version.unwrap_or(0),
    };
    let response = conn
        .routing()
        .await?
        .apply_policy(conn.request(&conn.token()?, request)?)
        .await?
        .into_inner();
    output::applied(&response, dry_run);
    Ok(())
}

pub async fn get_policy(conn: &Connection, version: i64) -> anyhow::Result<()> {
    let policy = conn
        .routing()
        .await?
        .get_policy(conn.request(&conn.token()?, v1::GetPolicyRequest { version })?)
        .await?
        .into_inner()
        .policy
        .unwrap_or_default();
    println!(
        "# version {} ({}), applied by {}",
        policy.version, policy.display_name, policy.applied_by
    );
    print!("{}", policy.document);
    Ok(())
}

pub async fn list_versions(conn: &Connection) -> anyhow::Result<()> {
    let versions = conn
        .routing()
        .await?
        .list_policy_versions(conn.request(
            &conn.token()?,
            v1::ListPolicyVersionsRequest {
                page_size: 500,
                page_token: String::new(),
            },
        )?)
        .await?
        .into_inner()
        .versions;
    output::versions(&versions);
    Ok(())
}

pub async fn explain_route(
    conn: &Connection,
    lead: Option<String>,
    sketch: v1::LeadSketch,
) -> anyhow::Result<()> {
    use v1::explain_route_request::Lead;
    let lead = match lead {
        Some(name) => Lead::Name(name),
        None => Lead::Sketch(sketch),
    };
    let explained = conn
        .routing()
        .await?
        .explain_route(conn.request(&conn.token()?, v1::ExplainRouteRequest { lead: Some(lead) })?)
        .await?
        .into_inner();
    output::route(&explained);
    Ok(())
}

pub async fn explain_access(
    conn: &Connection,
    rep: &str,
    pool: &str,
    at: Option<&str>,
) -> anyhow::Result<()> {
    let at = at
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| prost_types::Timestamp {
                    seconds: t.timestamp(),
                    nanos: 0,
                })
                .with_context(|| {
                    format!(
                        "--at `{text}` is not an RFC 3339 time such as 2026-03-02T19:00:00+01:00"
                    )
                })
        })
        .transpose()?;
    let request = v1::ExplainAccessRequest {
        rep: with_collection("reps", rep),
        pool: with_collection("pools", pool),
        at,
    };
    let explained = conn
        .claim()
        .await?
        .explain_access(conn.request(&conn.token()?, request)?)
        .await?
        .into_inner();
    output::access(&explained);
    Ok(())
}

pub async fn rep_status(conn: &Connection, rep: Option<&str>) -> anyhow::Result<()> {
    let request = v1::GetRepStatusRequest {
        rep: rep.map(|r| with_collection("reps", r)).unwrap_or_default(),
        at: None,
    };
    let status = conn
        .claim()
        .await?
        .get_rep_status(conn.request(&conn.token()?, request)?)
        .await?
        .into_inner();
    output::rep_status(&status);
    Ok(())
}

pub async fn claim(conn: &Connection, target: &str, pool: Option<&str>) -> anyhow::Result<()> {
    let mut client = conn.claim().await?;
    let token = conn.token()?;
    let lead = if target == "next" {
        let pool = pool
            .context("`claim next` needs a pool: leadpoolctl claim next <pool> --as reps/<you>")?;
        client
            .claim_next(conn.request(
                &token,
                v1::ClaimNextRequest {
                    pool: with_collection("pools", pool),
                },
            )?)
            .await?
            .into_inner()
            .lead
    } else {
        client
            .claim_lead(conn.request(
                &token,
                v1::ClaimLeadRequest {
                    name: with_collection("leads", target),
                },
            )?)
            .await?
            .into_inner()
            .lead
    };
    output::claimed(&lead.unwrap_or_default());
    Ok(())
}

/// `alice` and `reps/alice` both mean `reps/alice`.
pub fn with_collection(collection: &str, id: &str) -> String {
    if id.contains('/') {
        id.to_owned()
    } else {
        format!("{collection}/{id}")
    }
}

/// Rows per streamed message.
const ROWS_PER_MESSAGE: usize = 500;

pub async fn import(
    conn: &Connection,
    file: &Path,
    import_id: Option<String>,
) -> anyhow::Result<()> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let import_id = import_id.unwrap_or_else(|| {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        format!("{name}:{size}")
    });
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot read {}", file.display()))?;
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let (sender, receiver) = mpsc::channel(4);
    let call = {
        let mut client = conn.intake().await?;
        let request = conn.request(&conn.token()?, ReceiverStream::new(receiver))?;
        tokio::spawn(async move { client.import_leads(request).await })
    };
    let mut rows = Vec::with_capacity(ROWS_PER_MESSAGE);
    let mut count = 0_i64;
    for record in reader.records() {
        let record = record.with_context(|| format!("{} is not valid CSV", file.display()))?;
        count += 1;
        let row_number = i64::try_from(record.position().map_or(0, |p| p.line())).unwrap_or(count);
        rows.push(v1::ImportRow {
            row_number,
            lead: Some(row_lead(&headers, &record)),
        });
        if rows.len() == ROWS_PER_MESSAGE {
            let message = v1::ImportLeadsRequest {
                import_id: import_id.clone(),
                rows: std::mem::take(&mut rows),
            };
            if sender.send(message).await.is_err() {
                break; // The call ended early; its error is reported below.
            }
            progress.set_position(record.position().map_or(0, |p| p.byte()));
            progress.set_message(format!("{count} rows"));
        }
    }
    if !rows.is_empty() {
        let _ = sender
            .send(v1::ImportLeadsRequest {
                import_id: import_id.clone(),
                rows,
            })
            .await;
    }
    drop(sender);
    progress.finish_with_message(format!("{count} rows sent"));
    let summary = call.await.context("the import call failed")??.into_inner();
    output::import_summary(&import_id, &summary);
    Ok(())
}

/// One CSV record as a lead; columns that are not lead fields become attributes.
fn row_lead(headers: &[String], record: &csv::StringRecord) -> v1::SubmitLeadRequest {
    let mut lead = v1::SubmitLeadRequest {
        contact: Some(v1::Contact::default()),
        ..Default::default()
    };
    let mut attributes = HashMap::new();
    for (header, value) in headers.iter().zip(record.iter()) {
        let value = value.trim().to_owned();
        let contact = lead.contact.get_or_insert_with(Default::default);
        match header.as_str() {
            "idempotency_key" => lead.idempotency_key = value,
            "email" => contact.email = value,
            "name" => contact.name = value,
            "company" => contact.company = value,
            "company_domain" => contact.company_domain = value,
            "country" => contact.country = value,
            "phone" => contact.phone = value,
            // An unreadable score is sent as -1, so the service rejects the row with its reason.
            "score" => lead.score = value.parse().unwrap_or(-1),
            "source" => lead.source = value,
            "region" => lead.region = value,
            "product" => lead.product = value,
            "industry" => lead.industry = value,
            "language" => lead.language = value,
            _ if !value.is_empty() => {
                attributes.insert(header.clone(), value);
            }
            _ => {}
        }
    }
    lead.attributes = attributes;
    lead
}
