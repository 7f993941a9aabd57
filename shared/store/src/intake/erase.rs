//! Erasure (GDPR Art. 17): a lead's personal data goes from everywhere Leadpool keeps it — the
//! lead's contact, attributes and idempotency key, the free text in its history, the records of
//! submissions merged into it, malformed import rows with the same email or phone. The skeleton
//! stays (state, pool, times, outcome, deal size), so metrics still add up, and the erasure
//! itself is in the history (who, when), without the data. Redis holds no lead data (claim
//! logs hold claim times only), so there is nothing to erase there.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId};

use crate::Store;
use crate::error::db_error;

/// What the history keeps of free text that may have been personal.
pub const ERASED: &str = "[erased]";

impl Store {
    /// Erases `id`'s personal data; `false` with the tombstone when it was erased before.
    pub async fn erase_lead(
        &self,
        id: LeadId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(Lead, bool), Error> {
        let mut tx = self.begin().await?;
        let target = sqlx::query!(
            "SELECT email, phone, erased_at FROM lead_contacts WHERE id = $1 FOR UPDATE",
            id.0
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found("lead", id.name()))?;
        if target.erased_at.is_some() {
            drop(tx);
            return Ok((self.get_lead(id).await?, false));
        }
        sqlx::query!(
            "UPDATE rejected_rows SET row_data = '{}', reason = $3 \
             WHERE ($1 <> '' AND lower(row_data->>'email') = $1) \
                OR ($2 <> '' AND row_data->>'phone' = $2)",
            target.email,
            target.phone,
            ERASED
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query!("DELETE FROM lead_merges WHERE lead_id = $1", id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query!(
            "UPDATE lead_events SET reason = $2 WHERE lead_id = $1 AND reason <> ''",
            id.0,
            ERASED
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query!(
            "UPDATE lead_contacts SET email = '', contact_name = '', company = '', \
               company_domain = '', phone = '', attributes = '{}', \
               idempotency_key = 'erased:' || id, request_hash = '\\x'::bytea, \
               erased_at = $2, erased_by = $3 \
             WHERE id = $1",
            id.0,
            now,
            actor
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let erased = transition!(
            "UPDATE leads SET \
               rejection_reason = CASE WHEN rejection_reason IS NULL THEN NULL ELSE $3 END, \
               updated_at = $2 \
             WHERE id = $1 RETURNING *, state AS old_state",
            "'lead.erased', $4, '', pool_id, NULL, $2, false",
            id.0,
            now,
            ERASED,
            actor
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok((Lead::try_from(erased)?, true))
    }
}
