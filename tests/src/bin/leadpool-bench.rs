//! Throughput of the two hot paths, each against the raw database ceiling in the same run:
//!
//! * import: leads through `ImportLeads` (validation, duplicates, idempotency, history, bulk
//!   routing) vs. the same rows bulk-inserted straight into `leads` + `lead_events`;
//! * claims: many reps claiming through two claim-service instances (policy, Redis limits,
//!   per-rep lock, claim, history) vs. the bare claim statement on as many connections.
//!
//! Run with `make bench` (release build). Uses its own throwaway databases and Redis prefix.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // a report on stdout

use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;
use leadpool_auth::Role;
use leadpool_config::PolicyConfig;
use leadpool_e2e::{TestEnv, apply_policy, channel, lead_request, rep};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{TestDatabase, authed, token};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const ROWS: usize = 50_000;
const BATCH: usize = 1_000;
const CLAIMERS: usize = 32;

#[tokio::main]
async fn main() {
    let env = TestEnv::new().await;
    let raw = TestDatabase::new().await;
    // Tests see a new policy at once; a deployment checks for one every second (the default).
    let production = PolicyConfig::default();
    let mut routing_config = env.routing_config();
    routing_config.policy = production.clone();
    let routing = env.start_routing(routing_config).await;
    let mut intake_config = env.intake_config(&routing.endpoint());
    intake_config.policy = production.clone();
    let intake = env.start_intake(intake_config).await;
    let mut claim_config = env.claim_config();
    claim_config.policy = production;
    let claims = [
        env.start_claim(claim_config.clone()).await,
        env.start_claim(claim_config).await,
    ];
    apply_policy(
        &mut RoutingServiceClient::new(channel(routing.addr).await),
        &policy(),
    )
    .await;

    // As many connections as the two claim instances have between them.
    let raw_pool = PgPoolOptions::new()
        .max_connections(CLAIMERS as u32)
        .connect(&raw.url())
        .await
        .expect("connect to the raw database");
    let import = measure_import(&intake).await;
    let import_ceiling = raw_insert(&raw_pool).await;
    let channels = [channel(claims[0].addr).await, channel(claims[1].addr).await];
    let (claims_made, claim_time, mut latencies) = measure_claims(&channels).await;
    let claim_ceiling = raw_claims(&raw_pool).await;

    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!("| path | Leadpool | raw Postgres ceiling | share |");
    println!("|---|---|---|---|");
    row(
        "import (leads/s)",
        ROWS as f64 / import.as_secs_f64(),
        ROWS as f64 / import_ceiling.as_secs_f64(),
    );
    row(
        &format!("claims, {CLAIMERS} reps (claims/s)"),
        claims_made as f64 / claim_time.as_secs_f64(),
        ROWS as f64 / claim_ceiling.as_secs_f64(),
    );
    println!(
        "\nclaim latency through gRPC: p50 {:?}, p99 {:?}, max {:?} ({claims_made} claims)",
        percentile(0.5),
        percentile(0.99),
        latencies.last().unwrap()
    );
    println!(
        "\nListLeads prefix search over {} leads, through gRPC (admin, by priority, 50 a page):",
        SEARCH_LEADS + ROWS
    );
    println!("| search | leads matching | p50 | max |");
    println!("|---|---|---|---|");
    for (term, matching, mut latencies) in measure_search(&env, &channels[0]).await {
        latencies.sort();
        println!(
            "| `{term}` | {matching} | {:.1} ms | {:.1} ms |",
            latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
            latencies.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    for service in claims.into_iter().chain([intake, routing]) {
        service.stop().await.unwrap();
    }
}

/// Leads seeded for the search measurement (besides the imported ones).
const SEARCH_LEADS: usize = 1_000_000;

/// Seeds a million leads in every state (straight into the table: a benchmark, not a test),
/// then times admins' prefix searches through ListLeads: for each search, how many leads match
/// and the time of each of its runs.
async fn measure_search(
    env: &TestEnv,
    channel: &tonic::transport::Channel,
) -> Vec<(&'static str, i64, Vec<Duration>)> {
    let db = env.db.store();
    sqlx::query(
        "WITH first AS (SELECT ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances', \
             'Katherine','John','Mary','Linus','Margaret','Dennis','Ken','Bjarne','Guido','James', \
             'Anita','Radia','Adele','Hedy','Tim','Vint','Bob','Ivan','Niklaus','Tony','Leslie', \
             'Shafi','Silvio','Whitfield','Martin','Judea','Yoshua','Geoffrey','Yann','Jeff', \
             'Sanjay','Sophie','Ruth'] AS names), \
         last AS (SELECT ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen', \
             'Johnson','McCarthy','Shaw','Torvalds','Hamilton','Ritchie','Thompson','Stroustrup', \
             'van Rossum','Gosling','Borg','Perlman','Goldberg','Lamarr','Berners-Lee','Cerf', \
             'Kahn','Sutherland','Wirth','Hoare','Lamport','Goldwasser','Micali','Diffie', \
             'Hellman','Pearl','Bengio','Hinton','LeCun','Dean','Ghemawat','Wilson','Teitelbaum', \
             'Sammet','Clarke','Emerson','Sifakis','Rivest','Adleman','Kay','Engelbart','Backus', \
             'Naur','Milner','Scott','Rabin','Cook','Karp','Hartmanis','Stearns','Tarjan','Floyd', \
             'Minsky'] AS names) \
         INSERT INTO leads (id, idempotency_key, request_hash, state, email, contact_name, company, \
           company_domain, score, priority, source, pool_id, owner_rep_id, received_at, pooled_at, \
           claimed_at, contact_due_at, outcome, updated_at) \
         SELECT gen_random_uuid(), 'search-' || n, '\\x00', s.state, \
           'user' || n || '@co' || (n % 50000) || '.example', \
           first.names[1 + n % 40] || ' ' || last.names[1 + (n / 40) % 60], \
           'Company ' || (n % 20000), 'co' || (n % 50000) || '.example', 20 + n % 80, 20 + n % 80, \
           'web', 'inbound', CASE WHEN s.state IN ('claimed', 'closed') THEN 'rep-0' END, \
           now() - (n % 1000) * interval '1 minute', now(), \
           CASE WHEN s.state = 'claimed' THEN now() END, \
           CASE WHEN s.state = 'claimed' THEN now() + interval '2 hours' END, \
           CASE WHEN s.state = 'closed' THEN 'lost' END, now() \
         FROM first, last, generate_series(1, $1) AS n, \
           LATERAL (SELECT (ARRAY['available','escalated','claimed','closed','archived'])[1 + n % 5] AS state) s",
    )
    .bind(SEARCH_LEADS as i32)
    .execute(db.pool())
    .await
    .expect("seed the search leads");
    sqlx::query("ANALYZE leads")
        .execute(db.pool())
        .await
        .unwrap();
    let mut client = ClaimServiceClient::new(channel.clone());
    let admin = token("users/bench", &[Role::Admin]);
    let terms = [
        "user123456",
        "user99",
        "co4242",
        "company 1999",
        "grace hopper",
        "linus",
        "ad",
    ];
    let mut results = Vec::new();
    for term in terms {
        let (matching,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM leads WHERE lower(email) LIKE $1 || '%' \
             OR lower(contact_name) LIKE $1 || '%' OR lower(company) LIKE $1 || '%' \
             OR company_domain LIKE $1 || '%'",
        )
        .bind(term)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let mut latencies = Vec::new();
        for _ in 0..15 {
            let sent = Instant::now();
            client
                .list_leads(authed(
                    &admin,
                    v1::ListLeadsRequest {
                        search: term.to_owned(),
                        page_size: 50,
                        ..Default::default()
                    },
                ))
                .await
                .expect("search");
            latencies.push(sent.elapsed());
        }
        results.push((term, matching, latencies));
    }
    results
}

fn score(n: usize) -> i32 {
    20 + (n % 80) as i32
}

fn row(label: &str, leadpool: f64, ceiling: f64) {
    println!(
        "| {label} | {leadpool:.0} | {ceiling:.0} | {:.0}% |",
        100.0 * leadpool / ceiling
    );
}

fn policy() -> String {
    let reps: Vec<String> = (0..CLAIMERS)
        .map(|i| format!("{{ id: rep-{i}, role: sdr }}"))
        .collect();
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{}]\nlimits: {{ perDay: 100000 }}\n\
         pools: [{{ id: inbound, type: open }}]\nrouting: {{ default: {{ pool: inbound }} }}\n",
        reps.join(", ")
    )
}

async fn measure_import(intake: &leadpool_server::RunningService) -> Duration {
    let messages: Vec<v1::ImportLeadsRequest> = (0..ROWS)
        .collect::<Vec<_>>()
        .chunks(BATCH)
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
    let mut client = IntakeServiceClient::new(channel(intake.addr).await);
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
    started.elapsed()
}

/// The same rows inserted in 1000-row statements, with their history, and nothing else.
async fn raw_insert(pool: &PgPool) -> Duration {
    sqlx::query(
        "INSERT INTO pools (id, display_name, kind, created_at, updated_at) \
         VALUES ('inbound', 'inbound', 'open', now(), now())",
    )
    .execute(pool)
    .await
    .unwrap();
    let started = Instant::now();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(BATCH) {
        let keys: Vec<String> = chunk.iter().map(|n| format!("bench-{n}")).collect();
        let scores: Vec<i32> = chunk.iter().map(|n| score(*n)).collect();
        sqlx::query(
            "WITH input AS (SELECT * FROM unnest($1::text[], $2::int[]) AS t(key, score)), \
             inserted AS (INSERT INTO leads (id, idempotency_key, request_hash, state, email, \
               contact_name, company, score, priority, source, pool_id, received_at, pooled_at, updated_at) \
               SELECT gen_random_uuid(), key, '\\x00', 'available', key || '@example.com', 'Ada', \
               'Company ' || key, score, score, 'demo-request', 'inbound', $3, $3, $3 FROM input \
               RETURNING id) \
             INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, occurred_at) \
             SELECT id, NULL, 'available', 'lead.routed', 'bench', 'inbound', $3 FROM inserted",
        )
        .bind(&keys)
        .bind(&scores)
        .bind(Utc::now())
        .execute(pool)
        .await
        .unwrap();
    }
    started.elapsed()
}

/// Every rep claims the next lead until the pool is empty: (claims, time, latencies).
async fn measure_claims(
    channels: &[tonic::transport::Channel; 2],
) -> (usize, Duration, Vec<Duration>) {
    let started = Instant::now();
    let claimers = (0..CLAIMERS).map(|i| {
        let mut client = ClaimServiceClient::new(channels[i % 2].clone());
        tokio::spawn(async move {
            let token = rep(&format!("rep-{i}"));
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                let result = client
                    .claim_next(authed(
                        &token,
                        v1::ClaimNextRequest {
                            pool: "pools/inbound".into(),
                        },
                    ))
                    .await;
                match result {
                    Ok(_) => latencies.push(sent.elapsed()),
                    Err(status) if status.code() == tonic::Code::FailedPrecondition => break,
                    Err(status) => panic!("claim failed: {status:?}"),
                }
            }
            latencies
        })
    });
    let latencies: Vec<Duration> = join_all(claimers)
        .await
        .into_iter()
        .flat_map(|joined| joined.unwrap())
        .collect();
    (latencies.len(), started.elapsed(), latencies)
}

/// The bare claim statement (pick, update, history) on as many connections as claimers.
async fn raw_claims(pool: &PgPool) -> Duration {
    sqlx::query(
        "INSERT INTO reps (id, display_name, role, created_at, updated_at) \
         SELECT 'rep-' || i, 'rep', 'sdr', now(), now() FROM generate_series(0, $1 - 1) AS i",
    )
    .bind(CLAIMERS as i32)
    .execute(pool)
    .await
    .unwrap();
    let started = Instant::now();
    let claimers = (0..CLAIMERS).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let claimed: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "WITH picked AS (SELECT id FROM leads WHERE pool_id = 'inbound' AND state = 'available' \
                     ORDER BY priority DESC, pooled_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
                     changed AS (UPDATE leads l SET state = 'claimed', owner_rep_id = $1, claimed_at = $2, \
                       contact_due_at = $2 + interval '2 hours', updated_at = $2 FROM picked \
                       WHERE l.id = picked.id RETURNING l.id, l.pool_id), \
                     event AS (INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, rep_id, occurred_at) \
                       SELECT id, 'available', 'claimed', 'lead.claimed', $1, pool_id, $1, $2 FROM changed) \
                     SELECT id FROM changed",
                )
                .bind(format!("rep-{i}"))
                .bind(Utc::now())
                .fetch_optional(&pool)
                .await
                .unwrap();
                if claimed.is_none() {
                    break;
                }
            }
        })
    });
    join_all(claimers).await;
    started.elapsed()
}
