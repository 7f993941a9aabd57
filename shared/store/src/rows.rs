//! Rows as Postgres returns them, turned into domain values in one place, and the two macros
//! every statement returning leads goes through:
//!
//! * [`lead_rows!`] runs `WITH <ctes> SELECT <lead columns> FROM out JOIN lead_contacts`: the
//!   statement's last CTE, `out`, yields the leads' state rows (`leads`: read, inserted or
//!   changed), and their contact data comes from `lead_contacts`, which no change of state
//!   touches.
//! * [`transition!`] changes leads and appends one `lead_events` row per changed lead **in the
//!   same statement**: the change is the `out` CTE, returning the lead's columns plus
//!   `old_state`; the macro adds the history insert. Every state change of a lead goes
//!   through it, so the history cannot disagree with the lead.
//!
//! Both expand to `sqlx::query_as!`, so the SQL is checked against the schema at compile time
//! (offline, from `.sqlx/`; see `scripts/sqlx.sh`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{
    AssignedBy, Error, EventKind, Lead, LeadEvent, LeadId, LeadState, Outcome, PoolId, PoolSummary,
    RepId,
};
use sqlx::types::Json;
use uuid::Uuid;

/// `WITH <ctes> SELECT <every lead column> FROM out JOIN lead_contacts [ORDER BY <order>]`, as
/// a checked query returning [`LeadRow`]s. The ctes are string literals, concatenated; the last
/// one must be `out`, yielding `leads` rows. The priority is the one the lead ranks at: an
/// available lead's aging place is derived from its pool's `pool_aging` row (migration 0019).
macro_rules! lead_rows {
    ([$($cte:literal)+] $(order by $order:literal)? $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::rows::LeadRow,
            "WITH " $(+ $cte)+ + " SELECT id AS \"id!\", state AS \"state!\", email AS \"email!\", \
             contact_name AS \"contact_name!\", company AS \"company!\", \
             company_domain AS \"company_domain!\", country AS \"country!\", phone AS \"phone!\", \
             score AS \"score!\", \
             pool_priority(a, out.state, out.pooled_at, out.priority) AS \"priority!\", \
             source AS \"source!\", \
             region AS \"region!\", product AS \"product!\", industry AS \"industry!\", \
             language AS \"language!\", \
             attributes AS \"attributes!: crate::rows::Attributes\", \
             out.pool_id AS \"pool_id?\", owner_rep_id AS \"owner_rep_id?\", \
             rejection_reason AS \"rejection_reason?\", received_at AS \"received_at!\", \
             pooled_at AS \"pooled_at?\", claimed_at AS \"claimed_at?\", \
             contact_due_at AS \"contact_due_at?\", contacted_at AS \"contacted_at?\", \
             outcome AS \"outcome?\", deal_size_minor AS \"deal_size_minor!\", \
             duplicate_of AS \"duplicate_of?\", previous_lead AS \"previous_lead?\", \
             assigned_by AS \"assigned_by?\", \
             rejectable AS \"rejectable!\", erased_at AS \"erased_at?\" \
             FROM out JOIN lead_contacts USING (id) \
             LEFT JOIN pool_aging a ON a.pool_id = out.pool_id" $(+ " ORDER BY " + $order)?
            $(, $arg)*
        )
    };
}

/// `WITH <ctes> SELECT id FROM out`: the ids of the leads `out` yields, checked.
macro_rules! lead_ids {
    ([$($cte:literal)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query_scalar!("WITH " $(+ $cte)+ + " SELECT id AS \"id!\" FROM out" $(, $arg)*)
    };
}

/// `WITH <ctes> SELECT id, resume_at FROM out`: the ids of the leads `out` moved, each with its
/// `resume_at` (the key it was found by in an ordered scan, before the move), for a batched move
/// to resume its scan after the last lead it moved.
macro_rules! lead_ids_resuming {
    ([$($cte:literal)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            "WITH " $(+ $cte)+ + " SELECT id AS \"id!\", resume_at AS \"resume_at!\" FROM out"
            $(, $arg)*
        )
    };
}

/// A lead transition with its history row, as a checked query returning the changed leads
/// (or, with `ids:` first, only their ids: for the scheduler's bulk moves; with `resuming:`,
/// their ids and `resume_at`, which `$change` then returns too).
///
/// `$change` is the data-modifying statement (the `out` CTE): it returns `l.*` (or `*`) plus
/// `old_state` (the state before). `$event` is the rest of the history row after `lead_id,
/// from_state, to_state`, as SQL over `out`: `kind` (an `EventKind`, e.g. `'lead.claimed'`),
/// `actor, reason, pool_id, rep_id, occurred_at`, and `excused` (an assignment decision that
/// does not count against the rep's acceptance). A row's `traceparent` is the transaction's
/// (set by `Store::begin`); with `traced:` first, `$event` ends with each row's own (one
/// statement serving many calls: a group commit).
macro_rules! transition {
    (ids: $change:literal, $event:literal $(, $arg:expr)* $(,)?) => {
        transition!(@with_history lead_ids [[$change], $event, ""] [] $(, $arg)*)
    };
    (resuming: $change:literal, $event:literal $(, $arg:expr)* $(,)?) => {
        transition!(@with_history lead_ids_resuming [[$change], $event, ""] [] $(, $arg)*)
    };
    (traced: [$($change:literal)+], $event:literal; order by $order:literal $(, $arg:expr)* $(,)?) => {
        transition!(@with_history lead_rows [[$($change)+], $event, ", traceparent"] [order by $order] $(, $arg)*)
    };
    ($change:literal, $event:literal $(; order by $order:literal)? $(, $arg:expr)* $(,)?) => {
        transition!([$change], $event $(; order by $order)? $(, $arg)*)
    };
    // `$change` in pieces: for a statement written by a macro of its own (string literals
    // concatenated, as `sqlx` takes them).
    ([$($change:literal)+], $event:literal $(; order by $order:literal)? $(, $arg:expr)* $(,)?) => {
        transition!(@with_history lead_rows [[$($change)+], $event, ""] [$(order by $order)?] $(, $arg)*)
    };
    (@with_history $select:ident [[$($change:literal)+], $event:literal, $columns:literal] [$($tail:tt)*] $(, $arg:expr)*) => {
        $select!(
            [
                "out AS (" $($change)+ "), event AS (INSERT INTO lead_events \
                 (lead_id, from_state, to_state, kind, actor, reason, pool_id, rep_id, \
                  occurred_at, excused" $columns ") \
                 SELECT id, old_state, state, " $event " FROM out)"
            ]
            $($tail)*
            $(, $arg)*
        )
    };
}

/// A lead's free-form attributes, as stored (jsonb).
pub type Attributes = Json<BTreeMap<String, String>>;

/// A `leads` row.
#[derive(Debug, Clone)]
pub struct LeadRow {
    pub id: Uuid,
    pub state: String,
    pub email: String,
    pub contact_name: String,
    pub company: String,
    pub company_domain: String,
    pub country: String,
    pub phone: String,
    pub score: i32,
    pub priority: i32,
    pub source: String,
    pub region: String,
    pub product: String,
    pub industry: String,
    pub language: String,
    pub attributes: Attributes,
    pub pool_id: Option<String>,
    pub owner_rep_id: Option<String>,
    pub rejection_reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub pooled_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub contact_due_at: Option<DateTime<Utc>>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub deal_size_minor: i64,
    pub duplicate_of: Option<Uuid>,
    pub previous_lead: Option<Uuid>,
    pub assigned_by: Option<String>,
    pub rejectable: bool,
    pub erased_at: Option<DateTime<Utc>>,
}

impl TryFrom<LeadRow> for Lead {
    type Error = Error;

    fn try_from(row: LeadRow) -> Result<Self, Error> {
        Ok(Lead {
            id: LeadId(row.id),
            state: stored_state(&row.state)?,
            email: row.email,
            contact_name: row.contact_name,
            company: row.company,
            company_domain: row.company_domain,
            country: row.country,
            phone: row.phone,
            score: row.score,
            priority: row.priority,
            source: row.source,
            region: row.region,
            product: row.product,
            industry: row.industry,
            language: row.language,
            attributes: row.attributes.0,
            pool: row.pool_id.as_deref().map(stored_pool).transpose()?,
            owner: row.owner_rep_id.as_deref().map(stored_rep).transpose()?,
            rejection_reason: row.rejection_reason,
            received_at: row.received_at,
            pooled_at: row.pooled_at,
            claimed_at: row.claimed_at,
            contact_due_at: row.contact_due_at,
            contacted_at: row.contacted_at,
            outcome: row
                .outcome
                .as_deref()
                .map(|o| {
                    o.parse::<Outcome>()
                        .map_err(|_| Error::internal(format!("stored outcome `{o}` is unknown")))
                })
                .transpose()?,
            deal_size_minor: row.deal_size_minor,
            duplicate_of: row.duplicate_of.map(LeadId),
            previous_lead: row.previous_lead.map(LeadId),
            assigned_by: row
                .assigned_by
                .as_deref()
                .map(|by| {
                    by.parse::<AssignedBy>().map_err(|_| {
                        Error::internal(format!("stored assignment kind `{by}` is unknown"))
                    })
                })
                .transpose()?,
            rejectable: row.rejectable,
            erased_at: row.erased_at,
        })
    }
}

/// Leads from their rows.
pub fn leads(rows: Vec<LeadRow>) -> Result<Vec<Lead>, Error> {
    rows.into_iter().map(Lead::try_from).collect()
}

/// A lead from an optional row.
pub fn lead(row: Option<LeadRow>) -> Result<Option<Lead>, Error> {
    row.map(Lead::try_from).transpose()
}

/// A `lead_events` row.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub lead_id: Uuid,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub reason: String,
    pub pool_id: Option<String>,
    pub rep_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for LeadEvent {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Self, Error> {
        Ok(LeadEvent {
            id: row.id,
            lead: LeadId(row.lead_id),
            kind: row.kind.parse::<EventKind>().map_err(|_| {
                Error::internal(format!("stored event kind `{}` is unknown", row.kind))
            })?,
            from: row.from_state.as_deref().map(stored_state).transpose()?,
            to: stored_state(&row.to_state)?,
            actor: row.actor,
            reason: row.reason,
            pool: row.pool_id.as_deref().map(stored_pool).transpose()?,
            rep: row.rep_id.as_deref().map(stored_rep).transpose()?,
            at: row.occurred_at,
        })
    }
}

/// A `pools` row with its depth.
#[derive(Debug, Clone)]
pub struct PoolRow {
    pub id: String,
    pub display_name: String,
    pub kind: String,
    pub contact_sla_seconds: i32,
    pub min_score: Option<i32>,
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    pub available_leads: i64,
}

impl TryFrom<PoolRow> for PoolSummary {
    type Error = Error;

    fn try_from(row: PoolRow) -> Result<Self, Error> {
        Ok(PoolSummary {
            id: stored_pool(&row.id)?,
            display_name: row.display_name,
            kind: row.kind,
            contact_sla_seconds: row.contact_sla_seconds,
            min_score: row.min_score,
            retired: row.retired,
            created_at: row.created_at,
            available_leads: row.available_leads,
        })
    }
}

// What the services wrote is valid; a stored value that no longer parses is a bug to
// investigate, never the caller's fault.
pub(crate) fn stored_state(state: &str) -> Result<LeadState, Error> {
    state
        .parse()
        .map_err(|_| Error::internal(format!("stored lead state `{state}` is unknown")))
}

pub(crate) fn stored_pool(id: &str) -> Result<PoolId, Error> {
    PoolId::parse(id, "pool_id").map_err(|e| Error::internal(format!("stored pool id: {e}")))
}

pub(crate) fn stored_rep(id: &str) -> Result<RepId, Error> {
    RepId::parse(id, "rep_id").map_err(|e| Error::internal(format!("stored rep id: {e}")))
}
