//! Reads pool health from the database (M1–M6), gathers every alert (M7, S6 quotas), and keeps
//! the pool gauges of the Prometheus metrics current.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use leadpool_domain::Error;
use leadpool_policy::{Policy, Pool};
use leadpool_store::Store;
use leadpool_telemetry::metrics;

use crate::health::{
    self, Alert, AlertKind, Figures, Health, SegmentShare, Severity, TypeVelocity,
};

/// How far back each figure looks.
const VELOCITY_WINDOW: Duration = Duration::days(7);
const CONVERSION_WINDOW: Duration = Duration::days(30);

/// What the health of one pool needs from the others: each segmented pool's share of new
/// leads. Read once for however many pools are evaluated as of `as_of`.
pub async fn segment_shares(
    store: &Store,
    policy: &Policy,
    as_of: DateTime<Utc>,
) -> Result<HashMap<String, SegmentShare>, Error> {
    let arrivals = store
        .arrivals_by_pool(as_of - Duration::days(7), as_of)
        .await?;
    Ok(health::segment_shares(policy, &arrivals))
}

/// What a health report covers.
#[derive(Debug, Clone, Copy)]
pub struct HealthQuery {
    /// The end of every window.
    pub as_of: DateTime<Utc>,
    /// Claims by hour of day and weekday are counted in this time zone.
    pub time_zone: Tz,
    /// Whole days of depletion back from `as_of`: at least as many as the depletion alert
    /// needs, and at least 2.
    pub depletion_days: u32,
}

impl HealthQuery {
    /// The figures as of `as_of`, in UTC, with as many days of depletion as the alert needs.
    pub fn at(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            time_zone: Tz::UTC,
            depletion_days: 0,
        }
    }
}

/// The health of `pool` as `query` asks.
pub async fn pool_health(
    store: &Store,
    policy: &Policy,
    pool: &Pool,
    shares: &HashMap<String, SegmentShare>,
    query: HealthQuery,
) -> Result<Health, Error> {
    let HealthQuery {
        as_of, time_zone, ..
    } = query;
    let rules = &policy.health;
    let days = i64::from(rules.depletion_alert_days.max(2).max(query.depletion_days));
    let mut windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = (0..days)
        .map(|d| (as_of - Duration::days(d + 1), as_of - Duration::days(d)))
        .collect();
    windows.push((as_of - Duration::days(7), as_of));
    let mut flows = store.pool_flows(&pool.id, &windows).await?;
    let week = flows
        .pop()
        .ok_or_else(|| Error::internal("pool flows: no week row"))?;
    let figures = Figures {
        counts: store.pool_counts(&pool.id, as_of).await?,
        by_day: flows,
        week,
        timings: store
            .claim_timings(&pool.id, as_of - VELOCITY_WINDOW, as_of, time_zone.name())
            .await?,
        outcomes: store
            .pool_outcomes(&pool.id, as_of - CONVERSION_WINDOW, as_of)
            .await?,
        paused_sources: store.paused_sources(&pool.id).await?,
        segment_share: shares.get(pool.id.as_str()).copied(),
        average_depth_7d: store
            .average_depth(&pool.id, as_of - Duration::days(7), as_of)
            .await?,
    };
    Ok(health::evaluate(pool, rules, as_of, figures))
}

/// M3 rolled up: for each pool type in force (ordered by name), its pools and the velocity of
/// all their claims together against the type's target.
pub async fn type_velocity(
    store: &Store,
    policy: &Policy,
    as_of: DateTime<Utc>,
) -> Result<Vec<TypeVelocity>, Error> {
    let mut types: BTreeMap<String, Vec<&Pool>> = BTreeMap::new();
    for pool in &policy.pools {
        types.entry(pool.type_name()).or_default().push(pool);
    }
    let mut rolled_up = Vec::with_capacity(types.len());
    for (kind, pools) in types {
        let mut timings = Vec::new();
        for pool in &pools {
            timings.extend(
                store
                    .claim_timings(&pool.id, as_of - VELOCITY_WINDOW, as_of, Tz::UTC.name())
                    .await?,
            );
        }
        let target = pools[0].type_claim_target();
        rolled_up.push(TypeVelocity {
            kind,
            pools: pools.iter().map(|p| p.id.clone()).collect(),
            velocity: health::velocity(&timings, target),
        });
    }
    Ok(rolled_up)
}

/// M7 as events: compares the alerts firing at `now` with the set the last run recorded and
/// writes `pool.alert.fired` / `pool.alert.resolved` events for the differences.
pub async fn record_alert_events(
    run: &mut leadpool_store::JobTx,
    store: &Store,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<i64, Error> {
    let firing: BTreeMap<String, leadpool_store::AlertState> = all_alerts(store, policy, now)
        .await?
        .into_values()
        .map(|a| {
            let state =
                leadpool_store::AlertState::new(a.name.clone(), a.kind.id().to_owned(), a.summary);
            (a.name, state)
        })
        .collect();
    let known = run.alert_states().await?;
    let fired: Vec<_> = firing
        .values()
        .filter(|a| !known.iter().any(|k| k.name == a.name))
        .cloned()
        .collect();
    let resolved: Vec<_> = known
        .into_iter()
        .filter(|k| !firing.contains_key(&k.name))
        .collect();
    run.record_alert_changes(&fired, &resolved, now).await
}

/// Every alert firing as of `as_of`, by name: each pool's, and reps below their claim quota on
/// the last recorded day.
pub async fn all_alerts(
    store: &Store,
    policy: &Policy,
    as_of: DateTime<Utc>,
) -> Result<BTreeMap<String, Alert>, Error> {
    let mut alerts = BTreeMap::new();
    let shares = segment_shares(store, policy, as_of).await?;
    for pool in &policy.pools {
        let health = pool_health(store, policy, pool, &shares, HealthQuery::at(as_of)).await?;
        for alert in health.alerts {
            alerts.insert(alert.name.clone(), alert);
        }
    }
    for short in store
        .quota_shortfalls(as_of - Duration::days(1), as_of + Duration::seconds(1))
        .await?
    {
        let name = format!("reps/{}/alerts/quota", short.rep_id);
        alerts.insert(
            name.clone(),
            Alert {
                name,
                kind: AlertKind::Quota,
                severity: Severity::Warning,
                summary: format!(
                    "reps/{} claimed {} of the {} a day on {}",
                    short.rep_id, short.claims, short.minimum, short.day
                ),
            },
        );
    }
    Ok(alerts)
}

/// Sets the pool gauges from the health of every pool as of `as_of`.
pub async fn refresh_gauges(
    store: &Store,
    policy: &Policy,
    as_of: DateTime<Utc>,
) -> Result<(), Error> {
    let mut healths = Vec::with_capacity(policy.pools.len());
    let shares = segment_shares(store, policy, as_of).await?;
    for pool in &policy.pools {
        let health = pool_health(store, policy, pool, &shares, HealthQuery::at(as_of)).await?;
        healths.push((pool, health));
    }
    // Reset and set with no await in between, so a scrape never sees half the pools, and pools
    // that left the policy disappear.
    for gauge in [
        &metrics::POOL_LEADS,
        &metrics::POOL_AGE,
        &metrics::POOL_THRESHOLD,
        &metrics::POOL_ALERTS,
    ] {
        gauge.reset();
    }
    for (pool, h) in healths {
        let id = pool.id.as_str();
        let c = &h.counts;
        for (state, n) in [
            ("available", c.available),
            ("scheduled", c.scheduled),
            ("escalated", c.escalated),
        ] {
            metrics::POOL_LEADS.with_label_values(&[id, state]).set(n);
        }
        for (bucket, n) in [
            ("0-12h", c.under_12h),
            ("12-24h", c.from_12h_to_24h),
            ("24-48h", c.over_24h - c.over_48h),
            ("48h+", c.over_48h),
        ] {
            metrics::POOL_AGE.with_label_values(&[id, bucket]).set(n);
        }
        let t = &pool.schedule.health;
        metrics::POOL_THRESHOLD
            .with_label_values(&[id, "warning"])
            .set(i64::from(t.warning));
        metrics::POOL_THRESHOLD
            .with_label_values(&[id, "critical"])
            .set(i64::from(t.critical));
        for alert in &h.alerts {
            metrics::POOL_ALERTS
                .with_label_values(&[id, alert.kind.id(), alert.severity.name()])
                .set(1);
        }
    }
    Ok(())
}

/// An alert a watcher is told about: new or changed (`resolved` false), or gone.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub alert: Alert,
    /// When this watcher first saw it firing.
    pub since: DateTime<Utc>,
    pub resolved: bool,
}

/// Brings `firing` (what a watcher has seen, with since when) up to `current`, keeping only
/// alerts whose name starts with `prefix`, and returns what the watcher must be told.
pub fn changes(
    firing: &mut BTreeMap<String, (Alert, DateTime<Utc>)>,
    current: &BTreeMap<String, Alert>,
    prefix: &str,
    now: DateTime<Utc>,
) -> Vec<AlertChange> {
    let mut out = Vec::new();
    for (name, alert) in current.iter().filter(|(n, _)| n.starts_with(prefix)) {
        if firing.get(name).is_some_and(|(seen, _)| seen == alert) {
            continue;
        }
        let since = firing.get(name).map_or(now, |(_, since)| *since);
        firing.insert(name.clone(), (alert.clone(), since));
        out.push(AlertChange {
            alert: alert.clone(),
            since,
            resolved: false,
        });
    }
    let gone: Vec<String> = firing
        .keys()
        .filter(|name| !current.contains_key(*name))
        .cloned()
        .collect();
    for name in gone {
        if let Some((alert, since)) = firing.remove(&name) {
            out.push(AlertChange {
                alert,
                since,
                resolved: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, summary: &str) -> Alert {
        Alert {
            name: name.to_owned(),
            kind: AlertKind::Capacity,
            severity: Severity::Warning,
            summary: summary.to_owned(),
        }
    }

    #[test]
    fn a_watcher_hears_of_new_changed_and_resolved_alerts_once() {
        let t0 = DateTime::from_timestamp(1_000, 0).unwrap();
        let t1 = t0 + Duration::minutes(1);
        let mut firing = BTreeMap::new();
        let mut now = BTreeMap::new();
        now.insert(
            "pools/a/alerts/capacity".to_owned(),
            alert("pools/a/alerts/capacity", "60"),
        );
        now.insert(
            "pools/b/alerts/capacity".to_owned(),
            alert("pools/b/alerts/capacity", "70"),
        );
        let first = changes(&mut firing, &now, "pools/a/", t0);
        assert_eq!(first.len(), 1, "only the watched pool");
        assert_eq!((first[0].since, first[0].resolved), (t0, false));
        assert!(
            changes(&mut firing, &now, "pools/a/", t1).is_empty(),
            "unchanged: silent"
        );
        now.insert(
            "pools/a/alerts/capacity".to_owned(),
            alert("pools/a/alerts/capacity", "80"),
        );
        let changed = changes(&mut firing, &now, "pools/a/", t1);
        assert_eq!(
            (changed[0].alert.summary.as_str(), changed[0].since),
            ("80", t0)
        );
        now.clear();
        let resolved = changes(&mut firing, &now, "pools/a/", t1);
        assert!(resolved[0].resolved);
        assert!(firing.is_empty());
    }
}
