//! Data for the measurements, written straight into the tables (a benchmark, not a test: the
//! point is a million leads in seconds). Pools and reps come from the policy, applied through
//! routing as an ops team would.

use std::sync::OnceLock;

use leadpool_e2e::{apply_policy, channel};
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::TestDatabase;

use crate::stack::Stack;

/// Reps claiming at once: `BENCH_REPS`, 64 unless set; read once, so the policy, the seed and
/// every run agree.
pub fn reps() -> usize {
    static REPS: OnceLock<usize> = OnceLock::new();
    *REPS.get_or_init(|| {
        std::env::var("BENCH_REPS").map_or(64, |n| n.parse().expect("BENCH_REPS: a number"))
    })
}

/// Leads in the claims database: the hot pool's available ones, then seven other pools'.
///
/// The hot pool outlasts every claims run on a machine five times this one (10,000 claims/s,
/// 25,000 leads/s in batches), none of which gives leads back: Leadpool's database loses 30 s
/// of ClaimNext (300,000), 15 s of batches (375,000) and 15 s of the open loop at half the
/// rate (75,000); the copy for the bare single claims 4 × 10 s (400,000), the copy for the
/// bare batches 4 × 5 s (500,000); the minimal table, seeded as large, 4 × 10 s.
pub const HOT_LEADS: i64 = 800_000;
pub const OTHER_LEADS: i64 = 200_000;

/// The claims policy: the reps, of one team with rolling limits and an open-lead cap (all
/// checked on every claim, none reached in the run), one hot pool and seven others.
pub fn claims_policy() -> String {
    let reps: Vec<String> = (0..reps())
        .map(|i| format!("{{ id: rep-{i}, team: bench, role: sdr }}"))
        .collect();
    let pools: Vec<String> = std::iter::once("{ id: hot, type: open, contactSla: 2h }".to_owned())
        .chain((1..=7).map(|i| format!("{{ id: cold-{i}, type: open }}")))
        .collect();
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         teams: [{{ id: bench, limits: {{ perDay: 1000000, perHour: 1000000, activeLeads: 1000000 }} }}]\n\
         reps: [{}]\npools: [{}]\nrouting: {{ default: {{ pool: hot }} }}\n",
        reps.join(", "),
        pools.join(", ")
    )
}

/// Applies `policy` to `db` through a routing process of its own.
pub async fn apply(db: &TestDatabase, policy: &str) {
    let stack = Stack::start(db, &["routing"], &[]).await;
    let routing = stack.one("routing");
    apply_policy(
        &mut RoutingServiceClient::new(channel(routing.addr).await),
        policy,
    )
    .await;
}

/// A million leads: `HOT_LEADS` available in the hot pool by priority and age, the rest spread
/// over the other pools in every state; names, emails and companies to search.
pub async fn claims_leads(db: &TestDatabase) {
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
             'Minsky'] AS names), \
         shaped AS MATERIALIZED (SELECT gen_random_uuid() AS id, n, \
             CASE WHEN n <= $1 THEN 'hot' ELSE 'cold-' || (1 + n % 7) END AS pool, \
             CASE WHEN n <= $1 THEN 'available' \
               ELSE (ARRAY['available','escalated','claimed','closed','archived'])[1 + n % 5] END AS state \
           FROM generate_series(1, $1 + $2) AS n), \
         contacts AS (INSERT INTO lead_contacts (id, idempotency_key, request_hash, email, \
             contact_name, company, company_domain) \
           SELECT id, 'seed-' || n, '\\x00', \
             'user' || n || '@co' || (n % 50000) || '.example', \
             first.names[1 + n % 40] || ' ' || last.names[1 + (n / 40) % 60], \
             'Company ' || (n % 20000), 'co' || (n % 50000) || '.example' \
           FROM first, last, shaped) \
         INSERT INTO leads (id, state, score, priority, source, pool_id, owner_rep_id, \
           received_at, pooled_at, claimed_at, contact_due_at, outcome, updated_at) \
         SELECT s.id, s.state, 20 + n % 80, 20 + n % 80, \
           'web', s.pool, CASE WHEN s.state IN ('claimed', 'closed') THEN 'rep-' || (n % $3) END, \
           now() - (n % 1000) * interval '1 minute', now() - (n % 1000) * interval '1 minute', \
           CASE WHEN s.state IN ('claimed', 'closed') THEN now() END, \
           CASE WHEN s.state = 'claimed' THEN now() + interval '2 hours' END, \
           CASE WHEN s.state = 'closed' THEN 'lost' END, now() \
         FROM shaped s",
    )
    .bind(HOT_LEADS)
    .bind(OTHER_LEADS)
    .bind(i64::try_from(reps()).unwrap())
    .execute(db.store().pool())
    .await
    .expect("seed the claims leads");
    settle(db).await;
}

/// Every lead's intake history (received, then routed to its pool), as a deployment's leads
/// have: the claims that read the history (a reclaim embargo) are then planned on its
/// statistics, not on those of an empty table, once the run's [`settle`] has analyzed it.
pub async fn intake_history(db: &TestDatabase) {
    sqlx::query(
        "INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, occurred_at) \
         SELECT id, step.from_state, step.to_state, step.kind, 'services/bench', \
           CASE WHEN step.to_state = 'available' THEN pool_id END, received_at \
         FROM leads, (VALUES (NULL, 'received', 'lead.received'), \
           ('received', 'available', 'lead.routed')) AS step (from_state, to_state, kind) \
         ORDER BY leads.id, step.to_state DESC",
    )
    .execute(db.store().pool())
    .await
    .expect("seed the intake history");
}

/// Brings the database to the same state before each timed run: vacuumed and analyzed, so a
/// claim run starts without the dead index entries of the leads the runs before it claimed,
/// and checkpointed, so no checkpoint begun by what came before (a seed, the copies of a
/// million leads, each written to the WAL whole) falls into the run and makes it write every
/// page it touches to the WAL again part-way through (`wal`).
pub async fn settle(db: &TestDatabase) {
    // Two calls: several statements in one run as one transaction, which VACUUM refuses.
    for statement in ["VACUUM ANALYZE", "CHECKPOINT"] {
        sqlx::raw_sql(statement)
            .execute(db.store().pool())
            .await
            .expect(statement);
    }
}
