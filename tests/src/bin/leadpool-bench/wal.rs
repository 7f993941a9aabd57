//! What a run wrote to the WAL and whether a checkpoint began within it, and the server
//! settings the figures depend on. After a checkpoint begins, the first change to each page
//! writes the whole page to the WAL again, so a run a checkpoint falls into writes more and
//! waits longer on WAL flushes than one without (in one ClaimNext run, where a checkpoint
//! begun by the database copies made before it started 15 s in, the WAL went from 4.6 to
//! 8 MB/s and the claims by 5-s window from 16,740 to 11,978).

use sqlx::PgPool;

/// The WAL position and the checkpoints begun so far, server-wide.
pub struct Mark {
    wal_bytes: i64,
    checkpoints: i64,
}

pub async fn mark(pool: &PgPool) -> Mark {
    let (wal_bytes, checkpoints): (i64, i64) = sqlx::query_as(
        "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, \
           checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter",
    )
    .fetch_one(pool)
    .await
    .expect("read the WAL position");
    Mark {
        wal_bytes,
        checkpoints,
    }
}

impl Mark {
    /// MB of WAL written and checkpoints begun since this mark.
    pub async fn since(&self, pool: &PgPool) -> (f64, i64) {
        let now = mark(pool).await;
        (
            (now.wal_bytes - self.wal_bytes) as f64 / 1e6,
            now.checkpoints - self.checkpoints,
        )
    }
}

/// The server settings the bench's figures depend on, as one line.
pub async fn settings(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT string_agg(name || ' ' || current_setting(name), ', ' ORDER BY name) \
         FROM pg_settings WHERE name IN ('autovacuum', 'autovacuum_naptime', \
           'checkpoint_timeout', 'max_wal_size', 'shared_buffers', 'synchronous_commit')",
    )
    .fetch_one(pool)
    .await
    .expect("read the server settings")
}
