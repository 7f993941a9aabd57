//! The epoch marker: closes an epoch holding every event committed since the last one.

use leadpool_domain::Error;

use crate::Store;
use crate::error::db_error;

impl Store {
    /// Closes the next epoch if any event committed since the last one closed, and returns
    /// its number. One marker at a time (the table lock): the snapshot is taken after it, so
    /// each epoch's snapshot is later than the one before.
    pub async fn close_epoch(&self) -> Result<Option<i64>, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query!("LOCK TABLE event_epochs IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        // A new statement, so a new snapshot: taken after the lock. An event is new if its
        // transaction started at or after the last snapshot's xmax, or was running then. Each
        // test is its own probe of the `xid` indexes (the range; one look-up per transaction
        // that was running, the LIMIT keeping it a look-up): as one condition joined by OR,
        // Postgres scanned every event ever written, ten times a second. Planned anew each
        // time (not a prepared statement): a plan kept from when the history was empty scans
        // it whole, and it grows by every claim until autovacuum's next ANALYZE of it.
        let closed = sqlx::query_scalar!(
            r#"INSERT INTO event_epochs (epoch, snapshot, after_xmax, after_xip, until_xmax)
               SELECT last.epoch + 1, now.s, pg_snapshot_xmax(last.snapshot),
                 ARRAY(SELECT pg_snapshot_xip(last.snapshot)), pg_snapshot_xmax(now.s)
               FROM (SELECT epoch, snapshot FROM event_epochs ORDER BY epoch DESC LIMIT 1) last,
                 pg_current_snapshot() AS now (s)
               WHERE EXISTS (SELECT 1 FROM event_rows r
                   WHERE r.xid >= pg_snapshot_xmax(last.snapshot) AND r.xid < pg_snapshot_xmax(now.s)
                     AND pg_visible_in_snapshot(r.xid, now.s))
                 OR EXISTS (SELECT 1 FROM pg_snapshot_xip(last.snapshot) AS running (xid),
                   LATERAL (SELECT 1 FROM event_rows r WHERE r.xid = running.xid
                     AND pg_visible_in_snapshot(r.xid, now.s) LIMIT 1) committed)
               RETURNING epoch"#
        )
        .persistent(false)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(closed)
    }

    /// The latest closed epoch: readers read up to it.
    pub async fn event_head(&self) -> Result<i64, Error> {
        sqlx::query_scalar!(r#"SELECT max(epoch) AS "epoch!" FROM event_epochs"#)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }
}
