//! Reps.

use leadpool_domain::{Error, RepId};

use crate::Store;
use crate::error::db_error;
use crate::records::RepRecord;

const SELECT_REP: &str = "SELECT id, display_name, team, role, active FROM reps";

impl Store {
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
