//! Reps.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, RepId};

use crate::Store;
use crate::error::db_error;
use crate::records::RepRecord;

const SELECT_REP: &str = "SELECT id, display_name, team, role, active, daily_claim_limit FROM reps";

impl Store {
    /// Creates the rep or replaces her settings.
    pub async fn upsert_rep(
        &self,
        rep: &RepRecord,
        now: DateTime<Utc>,
    ) -> Result<RepRecord, Error> {
        sqlx::query(
            "INSERT INTO reps (id, display_name, team, role, active, daily_claim_limit, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, team = EXCLUDED.team, \
             role = EXCLUDED.role, active = EXCLUDED.active, daily_claim_limit = EXCLUDED.daily_claim_limit, \
             updated_at = EXCLUDED.updated_at",
        )
        .bind(&rep.id)
        .bind(&rep.display_name)
        .bind(&rep.team)
        .bind(&rep.role)
        .bind(rep.active)
        .bind(rep.daily_claim_limit)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rep.clone())
    }

    pub async fn get_rep(&self, id: &RepId) -> Result<RepRecord, Error> {
        sqlx::query_as::<_, RepRecord>(&format!("{SELECT_REP} WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("rep", id.name()))
    }

    pub async fn list_reps(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RepRecord>, Error> {
        sqlx::query_as::<_, RepRecord>(&format!(
            "{SELECT_REP} WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}
