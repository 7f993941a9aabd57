//! X2: compiling a `lifecycle` — the steps of an unclaimed lead's life in its pool, in order of
//! its age there — into the aging and refresh the scheduler's jobs run. One clock: every step
//! counts from when the lead entered its pool (a move to another pool starts it again).

use chrono::Duration;

use super::{Checker, References, compile_assign};
use crate::document::{LifecycleAction, LifecycleStepDoc};
use crate::model::{Aging, PoolMove, Refresh, Seniority};

/// What a lifecycle sets; steps it does not list are off.
pub(crate) struct Lifecycle {
    pub aging: Aging,
    pub refresh: Option<Refresh>,
}

/// Compiles `steps` found at `path`, for the pool `own_pool` (`None`: the policy-wide list,
/// checked on its own). A policy-wide list is compiled for each pool with a scratch checker, so
/// its `move` simply does not apply to the pool it moves to.
pub(crate) fn compile_lifecycle(
    c: &mut Checker,
    path: &str,
    steps: &[LifecycleStepDoc],
    own_pool: Option<&str>,
    refs: &References<'_>,
) -> Lifecycle {
    let mut aging = Aging::OFF;
    let mut refresh = Refresh::default();
    let mut previous: Option<Duration> = None;
    let mut left_at: Option<usize> = None;
    let mut seen: Vec<(LifecycleAction, usize)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let action = step.then;
        let after = c.duration(&format!("{at}.after"), &step.after);
        if let (Some(before), Some(now)) = (previous, after)
            && now < before
        {
            c.error(
                format!("{at}.after"),
                "must not be earlier than the step before it: steps are listed in order of age",
            );
        }
        previous = after.or(previous);
        if let Some(left) = left_at {
            c.error(
                at.clone(),
                format!("never reached: the step at {path}[{left}] already takes every lead out of the pool"),
            );
        }
        if let Some((_, first)) = seen.iter().find(|(a, _)| *a == action) {
            c.error(
                format!("{at}.then"),
                format!("`{}` already appears at {path}[{first}]", action.as_str()),
            );
        }
        if action == LifecycleAction::TopHalf
            && seen.iter().any(|(a, _)| *a == LifecycleAction::TopTenth)
        {
            c.error(
                format!("{at}.then"),
                "`top-half` must come before `top-tenth`",
            );
        }
        seen.push((action, i));
        if step.to.is_some() && action != LifecycleAction::Move {
            c.error(format!("{at}.to"), "only a `move` step names a pool");
        }
        if !step.seniority.is_empty() && action != LifecycleAction::Overflow {
            c.error(
                format!("{at}.seniority"),
                "only an `overflow` step takes `seniority`",
            );
        }
        if step.assign.is_some() && action != LifecycleAction::ForceAssign {
            c.error(
                format!("{at}.assign"),
                "only a `force-assign` step takes `assign`",
            );
        }
        if action.leaves_pool() {
            left_at.get_or_insert(i);
        }
        match action {
            LifecycleAction::TopHalf => aging.top_half_after = after,
            LifecycleAction::TopTenth => aging.top_tenth_after = after,
            LifecycleAction::Escalate => aging.escalate_after = after,
            LifecycleAction::ForceAssign => {
                aging.assign_after = after;
                aging.assign = step
                    .assign
                    .as_ref()
                    .and_then(|assign| compile_assign(c, &format!("{at}.assign"), assign, refs));
            }
            LifecycleAction::Overflow => {
                aging.overflow_after = after;
                aging.overflow_to = if step.seniority.is_empty() {
                    [Seniority::Junior].into()
                } else {
                    c.choices(
                        &format!("{at}.seniority"),
                        &step.seniority,
                        Seniority::from_name,
                        Seniority::NAMES,
                    )
                };
            }
            LifecycleAction::Move => {
                refresh.move_to = move_to(c, &at, step.to.as_deref(), own_pool, refs)
                    .zip(after)
                    .map(|(to, after)| PoolMove { to, after });
            }
            LifecycleAction::Nurture => refresh.nurture_after = after,
            LifecycleAction::Archive => refresh.archive_after = after,
        }
    }
    let moves_out = refresh != Refresh::default();
    Lifecycle {
        aging,
        refresh: moves_out.then_some(refresh),
    }
}

/// The pool a `move` step at `at` names; it must be another pool.
fn move_to(
    c: &mut Checker,
    at: &str,
    to: Option<&str>,
    own_pool: Option<&str>,
    refs: &References<'_>,
) -> Option<leadpool_domain::PoolId> {
    let Some(to) = to else {
        c.error(
            format!("{at}.to"),
            "a `move` step needs `to`: the pool to move to",
        );
        return None;
    };
    let to = refs.pool(c, &format!("{at}.to"), to)?;
    if Some(to.as_str()) == own_pool {
        c.error(format!("{at}.to"), "must be another pool");
        return None;
    }
    Some(to)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::model::{Aging, PoolMove, Refresh};

    fn pool(id: &str) -> leadpool_domain::PoolId {
        leadpool_domain::PoolId::parse(id, "pool").unwrap()
    }

    const PROLOGUE: &str =
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{ id: ana, role: sdr }]\n";

    fn error_paths(body: &str) -> Vec<(String, String)> {
        crate::load(&format!("{PROLOGUE}{body}"))
            .unwrap_err()
            .into_iter()
            .map(|e| (e.path, e.message))
            .collect()
    }

    #[test]
    fn a_lifecycle_compiles_to_the_steps_it_lists_and_nothing_else() {
        let policy = crate::load(&format!(
            "{PROLOGUE}
lifecycle:
  - {{ after: 12h, then: top-half }}
  - {{ after: 24h, then: top-tenth }}
  - {{ after: 48h, then: escalate }}
  - {{ after: 72h, then: force-assign, assign: {{ strategy: round-robin, reps: [ana] }} }}
  - {{ after: 96h, then: move, to: second-chance }}
pools:
  - id: inbound
    type: open
  - id: second-chance
    type: open
  - id: quiet
    type: open
    lifecycle: [{{ after: 7d, then: archive }}]
"
        ))
        .unwrap();
        let inbound = &policy.pool(&pool("inbound")).unwrap().schedule;
        assert_eq!(inbound.aging.top_half_after, Some(Duration::hours(12)));
        assert_eq!(inbound.aging.top_tenth_after, Some(Duration::hours(24)));
        assert_eq!(inbound.aging.escalate_after, Some(Duration::hours(48)));
        assert_eq!(inbound.aging.assign_after, Some(Duration::hours(72)));
        assert!(inbound.aging.assign.is_some());
        assert_eq!(
            inbound.refresh,
            Some(Refresh {
                move_to: Some(PoolMove {
                    to: pool("second-chance"),
                    after: Duration::hours(96)
                }),
                nurture_after: None,
                archive_after: None,
            })
        );
        let target = &policy.pool(&pool("second-chance")).unwrap().schedule;
        assert_eq!(
            target.refresh, None,
            "the policy's move skips its own target"
        );
        assert_eq!(target.aging.escalate_after, Some(Duration::hours(48)));
        let quiet = &policy.pool(&pool("quiet")).unwrap().schedule;
        assert_eq!(
            quiet.aging,
            Aging::OFF,
            "a pool's lifecycle replaces the policy's"
        );
        assert_eq!(
            quiet.refresh.as_ref().unwrap().archive_after,
            Some(Duration::days(7))
        );
    }

    #[test]
    fn every_lifecycle_mistake_is_reported_at_its_path() {
        let errors = error_paths(
            "
lifecycle:
  - { after: 24h, then: top-tenth }
  - { after: 12h, then: top-half, to: inbound }
  - { after: 2d, then: escalate, assign: { strategy: round-robin } }
  - { after: 3d, then: escalate }
  - { after: 4d, then: move }
  - { after: 5d, then: archive }
aging: { escalateAfter: 1d }
pools:
  - id: inbound
    type: open
    lifecycle: [{ after: soon, then: move, to: inbound }]
    refresh: { nurtureAfter: 3d }
",
        );
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "pools[0].lifecycle",
                "pools[0].lifecycle[0].after",
                "pools[0].lifecycle[0].to",
                "lifecycle",
                "lifecycle[1].after",
                "lifecycle[1].then",
                "lifecycle[1].to",
                "lifecycle[2].assign",
                "lifecycle[3].then",
                "lifecycle[4].to",
                "lifecycle[5]",
            ],
            "{errors:#?}"
        );
        assert!(
            errors[10]
                .1
                .contains("lifecycle[4] already takes every lead out")
        );
    }
}
