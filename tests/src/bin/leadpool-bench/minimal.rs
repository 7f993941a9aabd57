//! The claim on a minimal table: only what a claim reads and writes (pool, state, priority,
//! age, owner) under the one partial index it needs, and a four-column history, in a throwaway
//! database of its own seeded like the hot pool. What the same claim costs without Leadpool's
//! schema around it (wider rows, more indexes, triggers) tells the schema's share of the gap
//! to the bare statement apart from the service's.

use leadpool_testing::TestDatabase;
use sqlx::PgPool;

use crate::seed::{HOT_LEADS, settle};

/// A database of its own with the minimal tables and `HOT_LEADS` available leads in pool
/// `hot`, priorities and ages spread as the claims seed spreads them; dropped with the value.
pub async fn database() -> TestDatabase {
    let db = TestDatabase::new().await;
    sqlx::raw_sql(
        "CREATE TABLE minimal_leads (id uuid PRIMARY KEY, pool text NOT NULL, \
           state text NOT NULL, priority int NOT NULL, created_at timestamptz NOT NULL, \
           owner text); \
         CREATE INDEX minimal_leads_available ON minimal_leads \
           (pool, priority DESC, created_at, id) WHERE state = 'available'; \
         CREATE TABLE minimal_events (id bigserial PRIMARY KEY, lead_id uuid NOT NULL, \
           rep text NOT NULL, occurred_at timestamptz NOT NULL);",
    )
    .execute(db.store().pool())
    .await
    .expect("create the minimal tables");
    sqlx::query(
        "INSERT INTO minimal_leads (id, pool, state, priority, created_at) \
         SELECT gen_random_uuid(), 'hot', 'available', 20 + n % 80, \
           now() - (n % 1000) * interval '1 minute' \
         FROM generate_series(1, $1) AS n",
    )
    .bind(HOT_LEADS)
    .execute(db.store().pool())
    .await
    .expect("seed the minimal table");
    settle(&db).await;
    db
}

/// The same claim as `claims::bare_claim` on the minimal tables, the count written in as there
/// (`claims::claim_picked`).
pub async fn claim(pool: PgPool, rep: String, count: i64) -> usize {
    sqlx::query_scalar::<_, i64>(&format!(
        "WITH picked AS (SELECT id FROM minimal_leads WHERE pool = 'hot' AND state = 'available' \
           ORDER BY priority DESC, created_at, id LIMIT {count} FOR UPDATE SKIP LOCKED), \
         changed AS (UPDATE minimal_leads l SET state = 'claimed', owner = $1 FROM picked \
           WHERE l.id = picked.id RETURNING l.id), \
         event AS (INSERT INTO minimal_events (lead_id, rep, occurred_at) \
           SELECT id, $1, $2 FROM changed) \
         SELECT count(*) FROM changed"
    ))
    .bind(rep)
    .bind(chrono::Utc::now())
    .fetch_one(&pool)
    .await
    .map_or(0, |n| usize::try_from(n).unwrap_or(0))
}
