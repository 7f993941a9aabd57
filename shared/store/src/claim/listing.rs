//! ListLeads: leads in any state, filtered, searched by a case-insensitive prefix of email,
//! contact name, company or company domain (index range scans: `~>=~`/`~<~` match the
//! text_pattern_ops indexes in any plan), paged along one of three orders.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadState, PoolId, RepId};
use uuid::Uuid;

use super::LeadOrder;
use crate::Store;
use crate::error::db_error;
use crate::rows;

/// Which leads a listing returns.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Any of these; every state when empty.
    pub states: Vec<LeadState>,
    pub pool: Option<PoolId>,
    pub owner: Option<RepId>,
    pub received_after: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
    /// A lower-case prefix.
    pub search: Option<String>,
    /// Only leads in these pools or held by these reps; `None`: every lead.
    pub scope: Option<(Vec<PoolId>, Vec<RepId>)>,
}

/// Where the previous page of a listing ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListCursor {
    /// The last lead's priority or score (unused for age).
    pub key: i32,
    pub received_at: DateTime<Utc>,
    pub id: Uuid,
}

impl ListCursor {
    pub fn after(lead: &Lead, order: LeadOrder) -> Self {
        Self {
            key: match order {
                LeadOrder::Priority => lead.priority,
                LeadOrder::Score => lead.score,
                LeadOrder::Age => 0,
            },
            received_at: lead.received_at,
            id: lead.id.0,
        }
    }
}

/// The smallest string greater than every string starting with `prefix`, in byte order: its
/// last character incremented (characters at the top of Unicode carried over).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=0x0010_FFFF).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl Store {
    /// One page of the leads `filter` selects, in `order`, after `cursor`.
    pub async fn list_leads(
        &self,
        filter: &LeadFilter,
        order: LeadOrder,
        cursor: Option<&ListCursor>,
        limit: i64,
    ) -> Result<Vec<Lead>, Error> {
        let states: Option<Vec<&str>> =
            (!filter.states.is_empty()).then(|| filter.states.iter().map(|s| s.as_str()).collect());
        let search_end = filter
            .search
            .as_deref()
            .map(|s| prefix_end(s).unwrap_or_default());
        let everything = filter.scope.is_none();
        let (scope_pools, scope_reps): (Vec<&str>, Vec<&str>) = match &filter.scope {
            Some((pools, reps)) => (
                pools.iter().map(PoolId::as_str).collect(),
                reps.iter().map(RepId::as_str).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let (key, received_at, id) = (
            cursor.map(|c| c.key),
            cursor.map(|c| c.received_at),
            cursor.map(|c| c.id),
        );
        // A search is its own statement, and its matches are gathered first (an array the
        // leads' primary key looks up): behind `$6 IS NULL OR …`, or as a join whose size a
        // generic plan cannot know, the planner scans every lead (80–130 ms on a million for
        // one match; 0.3 ms this way, and time growing with the matches: 55 ms for 11,000).
        macro_rules! listing {
            ($search:literal, $after:literal, $order:literal) => {
                lead_rows!(
                    [
                        "out AS (SELECT leads.*, \
                           pool_priority(a, leads.state, leads.pooled_at, leads.priority) AS rank \
                         FROM leads LEFT JOIN pool_aging a ON a.pool_id = leads.pool_id \
                         WHERE ($1::text[] IS NULL OR state = ANY($1)) \
                         AND ($2::text IS NULL OR leads.pool_id = $2) \
                         AND ($3::text IS NULL OR owner_rep_id = $3) \
                         AND ($4::timestamptz IS NULL OR received_at >= $4) \
                         AND ($5::timestamptz IS NULL OR received_at < $5) \
                         AND " $search " \
                         AND ($8 OR leads.pool_id = ANY($9) OR owner_rep_id = ANY($10)) AND "
                        $after " ORDER BY " $order " LIMIT $14)"
                    ]
                    order by $order,
                    states.as_deref() as Option<&[&str]>,
                    filter.pool.as_ref().map(PoolId::as_str),
                    filter.owner.as_ref().map(RepId::as_str),
                    filter.received_after,
                    filter.received_before,
                    filter.search.as_deref(),
                    search_end.as_deref(),
                    everything,
                    &scope_pools as &[&str],
                    &scope_reps as &[&str],
                    key,
                    received_at,
                    id,
                    limit
                )
                .fetch_all(&self.pool)
                .await
            };
        }
        macro_rules! ordered {
            ($after:literal, $order:literal) => {
                if filter.search.is_some() {
                    listing!(
                        "id = ANY(ARRAY(SELECT id FROM lead_contacts WHERE \
                           (email <> '' AND lower(email) ~>=~ $6 AND lower(email) ~<~ $7) \
                           OR (contact_name <> '' AND lower(contact_name) ~>=~ $6 \
                             AND lower(contact_name) ~<~ $7) \
                           OR (company <> '' AND lower(company) ~>=~ $6 AND lower(company) ~<~ $7) \
                           OR (company_domain <> '' AND company_domain ~>=~ $6 \
                             AND company_domain ~<~ $7)))",
                        $after,
                        $order
                    )
                } else {
                    listing!("$6::text IS NULL AND $7::text IS NULL", $after, $order)
                }
            };
        }
        let rows = match order {
            // The rank an available lead's aging place gives it (`Lead.priority`).
            LeadOrder::Priority => ordered!(
                "($11::int IS NULL \
                 OR pool_priority(a, leads.state, leads.pooled_at, leads.priority) < $11 \
                 OR (pool_priority(a, leads.state, leads.pooled_at, leads.priority) = $11 \
                   AND (received_at, id) > ($12, $13)))",
                "rank DESC, received_at, id"
            ),
            LeadOrder::Score => ordered!(
                "($11::int IS NULL OR score < $11 \
                 OR (score = $11 AND (received_at, id) > ($12, $13)))",
                "score DESC, received_at, id"
            ),
            LeadOrder::Age => ordered!(
                "($11::int IS NULL OR (received_at, id) > ($12, $13))",
                "received_at, id"
            ),
        };
        rows::leads(rows.map_err(db_error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_where_its_last_character_increments() {
        assert_eq!(prefix_end("ada").as_deref(), Some("adb"));
        assert_eq!(prefix_end("z").as_deref(), Some("{"));
        assert_eq!(prefix_end("é").as_deref(), Some("ê"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        // Every string with the prefix sorts below the end, byte by byte.
        let end = prefix_end("ada").unwrap();
        for name in ["ada", "ada lovelace", "ada\u{10FFFF}"] {
            assert!(name.as_bytes() < end.as_bytes());
        }
    }
}
