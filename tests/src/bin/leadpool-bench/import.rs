//! Import: `ImportLeads` through intake (validation, qualification, idempotency and duplicate
//! checks, history, routing into the pool) against a raw `COPY` of the same rows, with their
//! history, into the same tables.

use std::time::{Duration, Instant};

use leadpool_auth::Role;
use leadpool_e2e::lead_request;
use leadpool_proto::v1;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_testing::{TestDatabase, authed, token};

use crate::report::Report;
use crate::stack::Stack;

const ROWS: usize = 100_000;
const ROWS_PER_MESSAGE: usize = 1_000;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    reps: [{ id: rep-0, role: sdr }]\npools: [{ id: inbound, type: open }]\n\
    routing: { default: { pool: inbound } }\n";

fn score(n: usize) -> i32 {
    20 + i32::try_from(n % 80).unwrap()
}

pub async fn measure(report: &mut Report) {
    println!("import: {ROWS} rows through ImportLeads, then by COPY");
    let db = TestDatabase::new().await;
    crate::seed::apply(&db, POLICY).await;
    let raw = db.duplicate().await;
    let stack = Stack::start(&db, &["routing", "intake"], &[]).await;
    let through = through_intake(&stack, &db).await;
    drop(stack);
    let copied = by_copy(&raw).await;
    let per_s = |d: Duration| ROWS as f64 / d.as_secs_f64();
    report.set("import_per_s", crate::round(per_s(through)));
    report.set("import_ceiling_per_s", crate::round(per_s(copied)));
    report.row(
        "ImportLeads, 100k rows (leads/s)",
        per_s(through),
        per_s(copied),
        "",
    );
}

async fn through_intake(stack: &Stack, db: &TestDatabase) -> Duration {
    let messages: Vec<v1::ImportLeadsRequest> = (0..ROWS)
        .collect::<Vec<_>>()
        .chunks(ROWS_PER_MESSAGE)
        .map(|chunk| v1::ImportLeadsRequest {
            import_id: "bench".into(),
            rows: chunk
                .iter()
                .map(|n| v1::ImportRow {
                    row_number: *n as i64,
                    lead: Some(lead_request(&format!("bench-{n}"), score(*n))),
                })
                .collect(),
        })
        .collect();
    // No time limit: the whole import is one call.
    let mut client =
        IntakeServiceClient::new(leadpool_e2e::channel(stack.one("intake").addr).await);
    let started = Instant::now();
    let summary = client
        .import_leads(authed(
            &token("users/bench", &[Role::Admin]),
            tokio_stream::iter(messages),
        ))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(summary.accepted, ROWS as i64);
    // Done when every lead is in its pool.
    loop {
        let waiting: i64 =
            sqlx::query_scalar("SELECT count(*) FROM leads WHERE state = 'received'")
                .fetch_one(db.store().pool())
                .await
                .unwrap();
        if waiting == 0 {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same rows, with their history, by `COPY` into `lead_contacts`, `leads` and `lead_events`: what the
/// database does at the least for an import.
async fn by_copy(db: &TestDatabase) -> Duration {
    let now = chrono::Utc::now().to_rfc3339();
    let ids: Vec<uuid::Uuid> = (0..ROWS).map(|_| uuid::Uuid::now_v7()).collect();
    let mut leads = String::new();
    let mut contacts = String::new();
    let mut events = String::new();
    for (n, id) in ids.iter().enumerate() {
        let key = format!("bench-{n}");
        leads.push_str(&format!(
            "{id}\tavailable\t{}\t{}\tdemo-request\tinbound\t{now}\t{now}\t{now}\n",
            score(n),
            score(n)
        ));
        contacts.push_str(&format!(
            "{id}\t{key}\t\\\\x00\t{key}@example.com\tAda Lovelace\tCompany {key}\n"
        ));
        events.push_str(&format!(
            "{id}\t\\N\treceived\tlead.received\tusers/bench\t\t\\N\t{now}\n{id}\treceived\tavailable\tlead.routed\tservices/intake\t\tinbound\t{now}\n"
        ));
    }
    let started = Instant::now();
    let mut conn = db.store().pool().acquire().await.unwrap();
    for (statement, rows) in [
        (
            "COPY lead_contacts (id, idempotency_key, request_hash, email, contact_name, company) \
             FROM STDIN",
            &contacts,
        ),
        (
            "COPY leads (id, state, score, priority, source, pool_id, received_at, pooled_at, \
             updated_at) FROM STDIN",
            &leads,
        ),
    ] {
        let mut copy = conn.copy_in_raw(statement).await.unwrap();
        copy.send(rows.as_bytes()).await.unwrap();
        copy.finish().await.unwrap();
    }
    let mut copy = conn
        .copy_in_raw(
            "COPY lead_events (lead_id, from_state, to_state, kind, actor, reason, pool_id, \
             occurred_at) FROM STDIN",
        )
        .await
        .unwrap();
    copy.send(events.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    started.elapsed()
}
