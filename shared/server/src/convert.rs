//! Domain values to API messages, and API values to domain values.

use chrono::{DateTime, Utc};
use leadpool_domain::{
    AssignedBy, AvailabilitySetting, AwayNow, AwayStatus, FieldViolation, Lead, LeadEvent,
    LeadState, Outcome, PoolSummary,
};
use leadpool_proto::v1;
use prost_types::Timestamp;

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn optional_timestamp(at: Option<DateTime<Utc>>) -> Option<Timestamp> {
    at.map(timestamp)
}

/// Reads a timestamp field; `field` names it in the error. Only the protobuf range (years
/// 1–9999) is a time.
pub fn from_timestamp(ts: &Timestamp, field: &str) -> Result<DateTime<Utc>, FieldViolation> {
    use crate::input::{MAX_SECONDS, MIN_SECONDS};
    u32::try_from(ts.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000 && (MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds))
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| {
            FieldViolation::new(field, "is not a time between 0001-01-01 and 9999-12-31")
        })
}

pub fn lead_state(state: LeadState) -> v1::LeadState {
    match state {
        LeadState::Received => v1::LeadState::Received,
        LeadState::Rejected => v1::LeadState::Rejected,
        LeadState::Scheduled => v1::LeadState::Scheduled,
        LeadState::Available => v1::LeadState::Available,
        LeadState::Claimed => v1::LeadState::Claimed,
        LeadState::Assigned => v1::LeadState::Assigned,
        LeadState::Contacted => v1::LeadState::Contacted,
        LeadState::Closed => v1::LeadState::Closed,
        LeadState::Escalated => v1::LeadState::Escalated,
        LeadState::Nurture => v1::LeadState::Nurture,
        LeadState::Archived => v1::LeadState::Archived,
    }
}

fn outcome(outcome: Option<Outcome>) -> v1::Outcome {
    match outcome {
        Some(Outcome::Opportunity) => v1::Outcome::Opportunity,
        Some(Outcome::Customer) => v1::Outcome::Customer,
        Some(Outcome::Lost) => v1::Outcome::Lost,
        None => v1::Outcome::Unspecified,
    }
}

/// A resource name, or empty for none.
fn name_or_empty(name: Option<String>) -> String {
    name.unwrap_or_default()
}

pub fn lead(record: &Lead) -> v1::Lead {
    v1::Lead {
        name: record.id.name(),
        state: lead_state(record.state).into(),
        contact: Some(v1::Contact {
            email: record.email.clone(),
            name: record.contact_name.clone(),
            company: record.company.clone(),
            company_domain: record.company_domain.clone(),
            country: record.country.clone(),
            phone: record.phone.clone(),
        }),
        score: record.score,
        priority: record.priority,
        source: record.source.clone(),
        region: record.region.clone(),
        product: record.product.clone(),
        industry: record.industry.clone(),
        language: record.language.clone(),
        attributes: record.attributes.clone().into_iter().collect(),
        pool: name_or_empty(record.pool.as_ref().map(|p| p.name())),
        owner: name_or_empty(record.owner.as_ref().map(|r| r.name())),
        rejection_reason: record.rejection_reason.clone().unwrap_or_default(),
        receive_time: Some(timestamp(record.received_at)),
        pool_entry_time: optional_timestamp(record.pooled_at),
        claim_time: optional_timestamp(record.claimed_at),
        contact_due_time: optional_timestamp(record.contact_due_at),
        contact_time: optional_timestamp(record.contacted_at),
        outcome: outcome(record.outcome).into(),
        deal_size_minor: record.deal_size_minor,
        duplicate_of: name_or_empty(record.duplicate_of.map(|d| d.name())),
        previous_lead: name_or_empty(record.previous_lead.map(|d| d.name())),
        assignment: match record.assigned_by {
            None => v1::AssignmentKind::Unspecified,
            Some(AssignedBy::Auto) => v1::AssignmentKind::Auto,
            Some(AssignedBy::Forced) => v1::AssignmentKind::Forced,
            Some(AssignedBy::Manual) => v1::AssignmentKind::Manual,
            Some(AssignedBy::Overflow) => v1::AssignmentKind::Overflow,
        }
        .into(),
        rejectable: record.rejectable && record.state.is_held(),
        erase_time: optional_timestamp(record.erased_at),
    }
}

pub fn pool_kind(kind: &str) -> v1::PoolKind {
    match kind {
        "open" => v1::PoolKind::Open,
        "segmented" => v1::PoolKind::Segmented,
        "tiered" => v1::PoolKind::Tiered,
        "timed" => v1::PoolKind::Timed,
        _ => v1::PoolKind::Unspecified,
    }
}

pub fn pool(record: &PoolSummary) -> v1::Pool {
    v1::Pool {
        name: record.id.name(),
        display_name: record.display_name.clone(),
        kind: pool_kind(&record.kind).into(),
        contact_sla: Some(prost_types::Duration {
            seconds: i64::from(record.contact_sla_seconds),
            nanos: 0,
        }),
        available_leads: record.available_leads,
        create_time: Some(timestamp(record.created_at)),
        min_score: record.min_score.unwrap_or(0),
    }
}

fn availability_status(status: AwayStatus) -> v1::AvailabilityStatus {
    match status {
        AwayStatus::OutOfOffice => v1::AvailabilityStatus::OutOfOffice,
        AwayStatus::Busy => v1::AvailabilityStatus::Busy,
    }
}

/// A rep's availability now (`away`: why she is away, if she is) and what the API set.
pub fn availability(
    away: Option<&AwayNow>,
    setting: Option<&AvailabilitySetting>,
) -> v1::RepAvailability {
    let setting = setting.map(|s| v1::AvailabilitySetting {
        status: availability_status(s.status).into(),
        from_time: Some(timestamp(s.from)),
        until_time: s.until.map(timestamp),
        note: s.note.clone(),
        set_by: s.set_by.clone(),
        set_time: Some(timestamp(s.set_at)),
    });
    match away {
        Some(away) => v1::RepAvailability {
            status: availability_status(away.status).into(),
            until_time: away.until.map(timestamp),
            note: away.note.clone(),
            source: if away.from_policy { "policy" } else { "api" }.to_owned(),
            setting,
        },
        None => v1::RepAvailability {
            status: v1::AvailabilityStatus::Available.into(),
            setting,
            ..Default::default()
        },
    }
}

pub fn event(record: &LeadEvent) -> v1::LeadEvent {
    v1::LeadEvent {
        lead: record.lead.name(),
        from_state: record
            .from
            .map_or(v1::LeadState::Unspecified, lead_state)
            .into(),
        to_state: lead_state(record.to).into(),
        actor: record.actor.clone(),
        reason: record.reason.clone(),
        pool: name_or_empty(record.pool.as_ref().map(|p| p.name())),
        owner: name_or_empty(record.rep.as_ref().map(|r| r.name())),
        occur_time: Some(timestamp(record.at)),
        kind: record.kind.as_str().to_owned(),
    }
}

/// A rep's performance tier and the rating behind it (A3).
pub fn performance(view: &leadpool_domain::PerformanceView) -> v1::RepPerformance {
    v1::RepPerformance {
        tier: view.tier.clone(),
        source: view.source.as_str().to_owned(),
        rating: view.rating.as_ref().map(|r| v1::RepRating {
            tier: r.tier.clone(),
            figure: r.figure,
            claims: r.claims,
            basis: r.basis.clone(),
            compute_time: Some(timestamp(r.computed_at)),
        }),
    }
}

/// One change a policy document makes to another.
pub fn policy_change(change: &leadpool_policy::Change) -> v1::PolicyChange {
    use leadpool_policy::ChangeKind;
    v1::PolicyChange {
        kind: match change.kind {
            ChangeKind::Added => v1::policy_change::Kind::Added,
            ChangeKind::Removed => v1::policy_change::Kind::Removed,
            ChangeKind::Changed => v1::policy_change::Kind::Changed,
        }
        .into(),
        path: change.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_bad_ones_are_refused() {
        let at = DateTime::from_timestamp(1_767_000_000, 123_000_000).unwrap();
        assert_eq!(from_timestamp(&timestamp(at), "as_of").unwrap(), at);
        let bad = Timestamp {
            seconds: 0,
            nanos: -5,
        };
        assert_eq!(from_timestamp(&bad, "as_of").unwrap_err().field, "as_of");
    }

    proptest::proptest! {
        /// Any pair of numbers is a time in years 1–9999 that round-trips, or a field violation;
        /// never a panic.
        #[test]
        fn any_timestamp_is_a_time_or_a_field_violation(seconds: i64, nanos: i32) {
            let ts = Timestamp { seconds, nanos };
            match from_timestamp(&ts, "at") {
                Ok(at) => {
                    proptest::prop_assert!((1..=9999).contains(&chrono::Datelike::year(&at)));
                    proptest::prop_assert_eq!(timestamp(at), ts);
                }
                Err(violation) => proptest::prop_assert_eq!(violation.field, "at"),
            }
        }
    }
}
