//! Availability set through the API (routing writes it; routing, claim and the scheduler read
//! it to pass over reps who are away).

use chrono::{DateTime, Utc};
use leadpool_domain::{AvailabilitySetting, AwayStatus, Error, RepId};

use crate::Store;
use crate::error::{db_error, is_foreign_key_violation};
use crate::rows::stored_rep;

struct SettingRow {
    rep_id: String,
    status: String,
    away_from: DateTime<Utc>,
    away_until: Option<DateTime<Utc>>,
    note: String,
    set_by: String,
    set_at: DateTime<Utc>,
}

impl TryFrom<SettingRow> for AvailabilitySetting {
    type Error = Error;

    fn try_from(row: SettingRow) -> Result<Self, Error> {
        Ok(AvailabilitySetting {
            rep: stored_rep(&row.rep_id)?,
            status: AwayStatus::parse(&row.status).ok_or_else(|| {
                Error::internal(format!("stored availability `{}` is unknown", row.status))
            })?,
            from: row.away_from,
            until: row.away_until,
            note: row.note,
            set_by: row.set_by,
            set_at: row.set_at,
        })
    }
}

/// Every rep's setting (one row per rep at most: the table stays small).
pub(crate) async fn settings<'e>(
    executor: impl sqlx::PgExecutor<'e>,
) -> Result<Vec<AvailabilitySetting>, Error> {
    sqlx::query_as!(
        SettingRow,
        "SELECT rep_id, status, away_from, away_until, note, set_by, set_at \
         FROM rep_availability ORDER BY rep_id"
    )
    .fetch_all(executor)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

impl Store {
    /// Every rep's setting.
    pub async fn availability_settings(&self) -> Result<Vec<AvailabilitySetting>, Error> {
        settings(&self.pool).await
    }

    /// Replaces `setting.rep`'s setting.
    pub async fn set_availability(&self, setting: &AvailabilitySetting) -> Result<(), Error> {
        sqlx::query!(
            "INSERT INTO rep_availability (rep_id, status, away_from, away_until, note, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (rep_id) DO UPDATE SET status = EXCLUDED.status, \
               away_from = EXCLUDED.away_from, away_until = EXCLUDED.away_until, \
               note = EXCLUDED.note, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at",
            setting.rep.as_str(),
            setting.status.as_str(),
            setting.from,
            setting.until,
            setting.note,
            setting.set_by,
            setting.set_at
        )
        .execute(&self.pool)
        .await
        .map_err(|err| {
            if is_foreign_key_violation(&err) {
                Error::not_found("rep", setting.rep.name())
            } else {
                db_error(err)
            }
        })?;
        Ok(())
    }

    /// Clears `rep`'s setting: she is available unless the policy says she is absent.
    pub async fn clear_availability(&self, rep: &RepId) -> Result<(), Error> {
        sqlx::query!(
            "DELETE FROM rep_availability WHERE rep_id = $1",
            rep.as_str()
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
