//! Issue 22.3: aging derives a lead's place in its pool when the pool is read instead of
//! writing raised priorities into its leads. On the same leads the pool's order — browsed two a
//! page, listed by priority, claimed several at once, claimed one at a time, through the
//! grouped claim and through the claim alone (a reclaim embargo) — is the order the raised
//! priorities gave: every available lead at the higher of its own priority and the bar of the
//! place its age reached, ties older first. `raised_order` is that rule as the aging job
//! applied it when it wrote the raises (and as `docs/scheduler-and-health.md` states it).

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, admin, all_pages, apply_policy, claim_next, names_of, rep, submit};
use leadpool_proto::v1;
use leadpool_testing::authed;

use crate::jobs::{pool_order, run_job};

/// A lead as it entered the pool.
struct Arrival {
    name: String,
    entered: DateTime<Utc>,
    priority: i32,
}

/// The aging steps of a pool: ages from pool entry.
struct Steps {
    top_half: Option<Duration>,
    top_tenth: Duration,
}

/// The pool's order after the aging job of `now` raised its leads: each lead old enough for a
/// place raised to that place's bar where the bar is higher, the bars the median and 90th
/// percentile (`percentile_disc`) of the leads younger than the first step; without a top-half
/// step every old lead goes to the top tenth. Ties older first.
fn raised_order(leads: &[Arrival], now: DateTime<Utc>, steps: &Steps) -> Vec<String> {
    let tenth_before = now - steps.top_tenth;
    let half_before = steps.top_half.map(|age| now - age);
    let first = half_before.unwrap_or(tenth_before);
    let mut young: Vec<i32> = leads
        .iter()
        .filter(|l| l.entered > first)
        .map(|l| l.priority)
        .collect();
    young.sort_unstable();
    let percentile = |q: f64| {
        let n = young.len() as f64;
        young[((q * n).ceil() as usize).max(1) - 1]
    };
    let (p50, p90) = (percentile(0.5), percentile(0.9));
    let half_bar = if half_before.is_some() { p50 } else { p90 };
    let rank = |l: &Arrival| {
        if l.entered <= tenth_before {
            l.priority.max(p90)
        } else if l.entered <= first {
            l.priority.max(half_bar)
        } else {
            l.priority
        }
    };
    let mut ranked: Vec<&Arrival> = leads.iter().collect();
    ranked.sort_by_key(|l| (std::cmp::Reverse(rank(l)), l.entered));
    ranked.iter().map(|l| l.name.clone()).collect()
}

/// Starts a cluster with one open pool `inbound` (its `lifecycle` given, or the default), reps
/// alice and bob, and the policy-wide `limits`; `priorities` arrive 100 minutes apart, the
/// last just now, and the aging job runs. Returns the cluster, the arrivals and the order they
/// had with the raises written.
async fn aged_pool(
    lifecycle: &str,
    limits: &str,
    steps: &Steps,
    priorities: &[i32],
) -> (Cluster, Vec<String>) {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n\
             reps: [{{ id: alice, role: sdr }}, {{ id: bob, role: sdr }}]\n{limits}\n\
             pools: [{{ id: inbound, type: open {lifecycle} }}]\n\
             routing: {{ default: {{ pool: inbound }} }}\n"
        ),
    )
    .await;
    let mut intake = cluster.intake().await;
    let mut arrivals = Vec::new();
    for (i, &priority) in priorities.iter().enumerate() {
        if i > 0 {
            cluster.env.clock.advance(Duration::minutes(100));
        }
        let lead = submit(&mut intake, &format!("lead-{i}"), priority).await;
        assert_eq!(lead.priority, priority, "a new lead ranks at its score");
        arrivals.push(Arrival {
            name: lead.name,
            entered: cluster.env.clock.now(),
            priority,
        });
    }
    let now = cluster.env.clock.now() + Duration::minutes(1);
    let run = run_job(&cluster, "aging", now).await;
    assert_eq!(run.affected, 0, "no lead is old enough to escalate");
    let expected = raised_order(&arrivals, now, steps);
    (cluster, expected)
}

/// The pool emptied by a batch of three, then one claim at a time by alice and bob in turn.
async fn claimed_order(cluster: &Cluster) -> Vec<String> {
    let mut claim = cluster.claim().await;
    let batch = claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 3,
            },
        ))
        .await
        .expect("a batch of three")
        .into_inner();
    let mut names: Vec<String> = batch.leads.into_iter().map(|l| l.name).collect();
    for who in ["bob", "alice"].into_iter().cycle() {
        match claim_next(&mut claim, who, "inbound").await {
            Ok(lead) => names.push(lead.name),
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
                return names;
            }
        }
    }
    unreachable!("the cycle ends when the pool does")
}

const DEFAULT_STEPS: Steps = Steps {
    top_half: Some(Duration::hours(12)),
    top_tenth: Duration::hours(24),
};

/// Priorities with ties at every level, some equal to the bars the younger leads give.
fn mixed(count: usize) -> Vec<i32> {
    (0..count).map(|i| (i * 7 % 5) as i32 * 20 + 10).collect()
}

/// The pool's available leads as an admin lists them in priority order (ListLeads), two a page.
async fn listed_order(cluster: &Cluster) -> Vec<String> {
    let claim = cluster.claim().await;
    all_pages(|page_token| {
        let mut claim = claim.clone();
        async move {
            let page = claim
                .list_leads(authed(
                    &admin(),
                    v1::ListLeadsRequest {
                        states: vec![v1::LeadState::Available.into()],
                        pool: "pools/inbound".into(),
                        page_size: 2,
                        page_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("list the pool's leads")
                .into_inner();
            (names_of(page.leads), page.next_page_token)
        }
    })
    .await
}

async fn assert_same_order(lifecycle: &str, limits: &str, steps: &Steps, priorities: &[i32]) {
    let (cluster, expected) = aged_pool(lifecycle, limits, steps, priorities).await;
    assert_eq!(pool_order(&cluster, "inbound").await, expected, "browsed");
    // Each lead entered the pool as it arrived, so its age orders ties here too.
    assert_eq!(listed_order(&cluster).await, expected, "listed");
    assert_eq!(claimed_order(&cluster).await, expected, "claimed");
    cluster.stop().await;
}

#[tokio::test]
async fn the_derived_places_keep_the_order_the_raised_priorities_gave_to_grouped_claims() {
    assert_same_order("", "", &DEFAULT_STEPS, &mixed(26)).await;
}

#[tokio::test]
async fn the_derived_places_keep_the_order_the_raised_priorities_gave_to_a_claim_alone() {
    // A reclaim embargo keeps every claim out of the group: each picks for itself.
    assert_same_order(
        "",
        "limits: { reclaimEmbargo: 1h }",
        &DEFAULT_STEPS,
        &mixed(26),
    )
    .await;
}

#[tokio::test]
async fn equal_bars_are_one_place() {
    // The younger leads all at 50: median and 90th percentile are one bar.
    let mut priorities = vec![30, 70, 50, 10, 50, 90, 30, 50];
    priorities.extend([50; 6]);
    assert_same_order("", "", &DEFAULT_STEPS, &priorities).await;
}

#[tokio::test]
async fn without_a_top_half_step_old_leads_go_straight_to_the_top_tenth() {
    let lifecycle =
        ", lifecycle: [{ after: 24h, then: top-tenth }, { after: 48h, then: escalate }]";
    let steps = Steps {
        top_half: None,
        top_tenth: Duration::hours(24),
    };
    assert_same_order(lifecycle, "", &steps, &mixed(22)).await;
}
