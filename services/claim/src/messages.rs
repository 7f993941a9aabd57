//! The claim core's answers as API messages.

use leadpool_domain::PoolId;
use leadpool_proto::{Duration as ProtoDuration, v1};
use leadpool_server::convert::{self, lead_state, timestamp};

use crate::claims::{LimitUse, OpenLead, PoolStanding, RepStatus};

pub fn rep_status(status: RepStatus) -> v1::GetRepStatusResponse {
    let now = status.as_of;
    v1::GetRepStatusResponse {
        rep: status.rep.name(),
        as_of_time: Some(timestamp(now)),
        limits: status
            .limits
            .iter()
            .map(|limit| limit_usage(limit, now))
            .collect(),
        cooldown: status.cooldown.map(|c| v1::CooldownStatus {
            after_claims: to_i32(c.after_claims),
            pause: ProtoDuration::try_from(c.pause).ok(),
            claims_in_run: to_i32(c.claims_in_run),
            end_time: c.ends_at.map(timestamp),
        }),
        pools: status.pools.into_iter().map(pool_status).collect(),
        acceptance: status.acceptance.map(|a| v1::AcceptanceStatus {
            accepted: to_i32(a.accepted),
            decided: to_i32(a.decided),
            minimum_percent: to_i32(a.minimum_percent),
            window: a.window.and_then(|w| ProtoDuration::try_from(w).ok()),
            below_minimum: a.below_minimum,
            consequence: a.consequence.name().to_owned(),
        }),
        open_leads: status.open_leads.iter().map(open_lead).collect(),
        policy_version: status.policy_version,
        limits_from_history: status.limits_from_history,
        availability: Some(convert::availability(
            status.away.as_ref(),
            status.availability.as_ref(),
        )),
    }
}

fn limit_usage(limit: &LimitUse, now: chrono::DateTime<chrono::Utc>) -> v1::LimitUsage {
    v1::LimitUsage {
        limit: limit.limit.as_str().to_owned(),
        description: limit.description.clone(),
        pool: limit.pool.as_ref().map(PoolId::name).unwrap_or_default(),
        max: to_i32(limit.max),
        used: to_i32(limit.used),
        remaining: to_i32(limit.max.saturating_sub(limit.used)),
        reset_time: limit.frees_at.filter(|at| *at > now).map(timestamp),
        window: limit.window.and_then(|w| ProtoDuration::try_from(w).ok()),
    }
}

fn pool_status(pool: PoolStanding) -> v1::RepPoolStatus {
    v1::RepPoolStatus {
        pool: pool.pool.name(),
        claimable: pool.reasons.is_empty(),
        reasons: pool.reasons,
        ratio: pool.ratio.map(|ratio| v1::RatioStatus {
            required: to_i32(ratio.required),
            from_pools: ratio.from_pools.iter().map(PoolId::name).collect(),
            made: i32::try_from(ratio.progress.worked).unwrap_or(i32::MAX),
            satisfied: ratio.satisfied(),
            pending: i32::try_from(ratio.progress.pending).unwrap_or(i32::MAX),
            min_hold: ratio
                .min_hold
                .to_std()
                .ok()
                .and_then(|d| ProtoDuration::try_from(d).ok()),
        }),
        rotation: pool.rotation.map(|rotation| v1::RotationStatus {
            holder: rotation.holder.name(),
            window_end_time: Some(timestamp(rotation.window_end)),
            next_window_start_time: rotation.her_next_window.map(timestamp),
        }),
    }
}

fn open_lead(lead: &OpenLead) -> v1::OpenLead {
    v1::OpenLead {
        lead: lead.lead.name(),
        state: lead_state(lead.state).into(),
        pool: lead.pool.as_ref().map(PoolId::name).unwrap_or_default(),
        contact_due_time: lead.contact_due.map(timestamp),
        warning_time: lead.warning_at.map(timestamp),
        due_soon: lead.due_soon,
    }
}

fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
