//! The audit log: appended by every administrative action, read by admins (`leadpoolctl
//! audit`). The table refuses changes and deletions (migration 0011).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadpool_domain::{AuditAction, AuditEntry, AuditRecord, Clock, Error};
use sqlx::types::Json;

use crate::Store;
use crate::error::db_error;

/// Which records to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub target: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Records older than this id (the page before).
    pub before_id: Option<i64>,
}

/// What the services hold to record actions: the store and the service's clock.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl AuditLog {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Appends `entry`, stamped now. The action has already happened: if the log cannot be
    /// written, the caller hears so (UNAVAILABLE or INTERNAL) and the log says so too.
    pub async fn record(&self, entry: &AuditEntry) -> Result<(), Error> {
        let id = self.store.append_audit(entry, self.clock.now()).await?;
        tracing::info!(
            audit = id,
            actor = entry.actor,
            action = entry.action.as_str(),
            target = entry.target,
            "administrative action"
        );
        Ok(())
    }

    pub async fn list(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditRecord>, Error> {
        self.store.audit_records(filter, limit).await
    }
}

impl Store {
    pub async fn append_audit(&self, entry: &AuditEntry, at: DateTime<Utc>) -> Result<i64, Error> {
        sqlx::query_scalar!(
            "INSERT INTO audit_log (at, actor, roles, origin, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            at,
            entry.actor,
            &entry.roles,
            entry.origin,
            entry.action.as_str(),
            entry.target,
            Json(&entry.detail) as _
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    pub async fn audit_records(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, Error> {
        let rows = sqlx::query!(
            r#"SELECT id, at, actor, roles, origin, action, target,
                 detail AS "detail: Json<serde_json::Value>"
               FROM audit_log
               WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
                 AND ($3::text IS NULL OR target = $3)
                 AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
                 AND ($6::bigint IS NULL OR id < $6)
               ORDER BY id DESC LIMIT $7"#,
            filter.actor,
            filter.action.map(AuditAction::as_str),
            filter.target,
            filter.since,
            filter.until,
            filter.before_id,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|row| {
                let action = AuditAction::parse(&row.action).ok_or_else(|| {
                    Error::internal(format!("audit record {} has an unknown action", row.id))
                })?;
                Ok(AuditRecord {
                    id: row.id,
                    at: row.at,
                    entry: AuditEntry {
                        actor: row.actor,
                        roles: row.roles,
                        origin: row.origin,
                        action,
                        target: row.target,
                        detail: row.detail.0,
                    },
                })
            })
            .collect()
    }
}
