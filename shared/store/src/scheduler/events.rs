//! The scheduler's part in the event stream: contact deadlines about to pass, and pool alerts
//! starting and stopping, as events.

use chrono::{DateTime, Utc};
use leadpool_domain::events::{POOL_ALERT_FIRED, POOL_ALERT_RESOLVED};
use leadpool_domain::{Error, PoolId};

use super::JobTx;
use crate::error::db_error;

/// An alert as the alert-events job compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    pub name: String,
    pub kind: String,
    pub summary: String,
    pub pool: Option<String>,
}

impl AlertState {
    /// The alert `name` (`pools/west/alerts/aging` or a rep's), of its pool if it has one.
    pub fn new(name: String, kind: String, summary: String) -> Self {
        Self {
            pool: pool_of(&name),
            name,
            kind,
            summary,
        }
    }
}

/// From which deadline on a pool's held leads are due soon now: `contactWarning` ahead on
/// the clock that set the deadline (contact SLA for claimed leads, acceptance for assigned).
#[derive(Debug, Clone)]
pub struct WarnBy {
    pub pool: PoolId,
    pub claimed_due_by: DateTime<Utc>,
    pub assigned_due_by: DateTime<Utc>,
}

impl JobTx {
    /// C5: a `lead.contact_due_soon` history row for every claimed or assigned lead of the
    /// `pools` whose deadline is within that pool's warning at `now` and not yet passed — once
    /// per claim (a claim's warning is not repeated).
    pub async fn warn_contact_due(
        &mut self,
        pools: &[WarnBy],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        let ids: Vec<&str> = pools.iter().map(|w| w.pool.as_str()).collect();
        let claimed: Vec<DateTime<Utc>> = pools.iter().map(|w| w.claimed_due_by).collect();
        let assigned: Vec<DateTime<Utc>> = pools.iter().map(|w| w.assigned_due_by).collect();
        let warned = sqlx::query!(
            "INSERT INTO lead_events \
               (lead_id, from_state, to_state, kind, actor, reason, pool_id, rep_id, occurred_at) \
             SELECT l.id, l.state, l.state, 'lead.contact_due_soon', $3, \
               'contact due by ' || to_char(l.contact_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
               l.pool_id, l.owner_rep_id, $4 \
             FROM leads l JOIN unnest($1::text[], $2::timestamptz[], $5::timestamptz[]) \
               AS w (pool_id, claimed_by, assigned_by) ON w.pool_id = l.pool_id \
             WHERE l.state IN ('claimed', 'assigned') AND l.contact_due_at > $4 \
               AND l.contact_due_at <= CASE l.state WHEN 'claimed' THEN w.claimed_by \
                 ELSE w.assigned_by END \
               AND NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = l.id \
                 AND e.kind = 'lead.contact_due_soon' AND e.occurred_at >= l.claimed_at)",
            &ids as &[&str],
            &claimed,
            actor,
            now,
            &assigned
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(warned.rows_affected() as i64)
    }

    /// The alerts firing as the last run saw them.
    pub async fn alert_states(&mut self) -> Result<Vec<AlertState>, Error> {
        let rows =
            sqlx::query!("SELECT name, kind, summary, pool_id FROM alert_states ORDER BY name")
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| AlertState {
                name: r.name,
                kind: r.kind,
                summary: r.summary,
                pool: r.pool_id,
            })
            .collect())
    }

    /// Records alerts that started (`fired`) or stopped (`resolved`) as events, and the
    /// firing set for the next run. Returns how many events it wrote.
    pub async fn record_alert_changes(
        &mut self,
        fired: &[AlertState],
        resolved: &[AlertState],
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        let changes = [(POOL_ALERT_FIRED, fired), (POOL_ALERT_RESOLVED, resolved)];
        for (event_type, alerts) in changes {
            for alert in alerts {
                let data = serde_json::json!({
                    "alert": alert.name, "kind": alert.kind, "summary": alert.summary,
                    "pool": alert.pool.as_ref().map(|p| format!("pools/{p}")),
                });
                sqlx::query!(
                    "INSERT INTO service_events (type, subject, pool_id, data, occurred_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                    event_type,
                    alert.name,
                    alert.pool,
                    data,
                    now
                )
                .execute(&mut *self.tx)
                .await
                .map_err(db_error)?;
            }
        }
        let resolved: Vec<&str> = resolved.iter().map(|a| a.name.as_str()).collect();
        sqlx::query!(
            "DELETE FROM alert_states WHERE name = ANY ($1)",
            &resolved as &[&str]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        for alert in fired {
            sqlx::query!(
                "INSERT INTO alert_states (name, kind, summary, pool_id, since) \
                 VALUES ($1, $2, $3, $4, $5)",
                alert.name,
                alert.kind,
                alert.summary,
                alert.pool,
                now
            )
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        }
        Ok((fired.len() + resolved.len()) as i64)
    }
}

/// `pools/west/alerts/aging` → `west`.
fn pool_of(alert: &str) -> Option<String> {
    alert
        .strip_prefix("pools/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned)
}
