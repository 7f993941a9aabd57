//! Issue 13: the event stream and webhooks. The stream resumes from a cursor across a restart
//! and never skips a late commit; webhooks reach a real HTTP receiver that verifies every
//! signature, survive the delivering process dying mid-batch, back off while the receiver
//! refuses, turn into dead letters after the retry period and replay; contact deadlines are
//! warned of before they pass; callers see only what they oversee; bad input is refused.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::Clock;
use leadpool_e2e::receiver::{Mode, WebhookReceiver};
use leadpool_e2e::{
    Cluster, TestEnv, admin, apply_policy, assert_invalid, channel, code_of, rep, submit,
    submit_segmented,
};
use leadpool_proto::v1;
use leadpool_proto::v1::event_service_client::EventServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_server::RunningService;
use leadpool_testing::{authed, token};
use tonic::Code;
use tonic::transport::Channel;

use crate::jobs::run_job;
use crate::rules::claim_lead;

const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
teams: [{ id: west, managers: [max] }, { id: east }]
reps:
  - { id: ann, team: west, role: sdr }
  - { id: ben, team: west, role: sdr }
  - { id: cat, team: east, role: sdr }
  - { id: max, team: west, role: manager }
pools:
  - { id: west-leads, type: open, contactSla: 1h, contactWarning: 15m, access: [{ name: west, teams: [west] }] }
  - { id: east-leads, type: open, access: [{ name: east, teams: [east] }] }
routing:
  rules:
    - { name: east, match: { regions: [east] }, pool: east-leads }
  default: { pool: west-leads }
";

/// How long background work (epochs and deliveries every 50 ms) may take to show.
const WAIT: Duration = Duration::from_secs(30);

fn manager() -> String {
    token("reps/max", &[leadpool_auth::Role::Manager])
}

async fn events_client(service: &RunningService) -> EventServiceClient<Channel> {
    EventServiceClient::new(channel(service.addr).await)
}

/// The ids every event of the stream must have: one per committed lead history row and
/// service event, read straight from the tables.
async fn committed_event_ids(env: &TestEnv) -> BTreeSet<String> {
    let pool = env.db.store().pool().clone();
    let leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM lead_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    let services: Vec<i64> = sqlx::query_scalar("SELECT id FROM service_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    leads
        .iter()
        .chain(&services)
        .map(|id| format!("evt_{id}"))
        .collect()
}

/// The number in `evt_{n}`: the row's id, in the order rows were inserted.
fn row_id(event_id: &str) -> i64 {
    event_id
        .strip_prefix("evt_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(i64::MAX)
}

/// Calls `check` every 20 ms until it finds something, for effects of background work.
async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `stream` into `got` until `done` holds.
async fn read_until(
    stream: &mut tonic::Streaming<v1::Event>,
    got: &mut Vec<v1::Event>,
    what: &str,
    done: impl Fn(&[v1::Event]) -> bool,
) {
    let read = tokio::time::timeout(WAIT, async {
        while !done(got) {
            let event = stream
                .message()
                .await
                .unwrap()
                .expect("the stream stays open");
            got.push(event);
        }
    })
    .await;
    assert!(read.is_ok(), "timed out reading until {what}");
}

async fn watch(
    events: &mut EventServiceClient<Channel>,
    who: &str,
    after: &str,
) -> tonic::Streaming<v1::Event> {
    events
        .watch_events(authed(
            who,
            v1::WatchEventsRequest {
                after: after.to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_after_a_restart_and_never_skips_a_late_commit() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let intake = env
        .start_intake(env.intake_config(&routing.endpoint()))
        .await;
    let scheduler = env.start_scheduler(env.scheduler_config()).await;
    apply_policy(
        &mut RoutingServiceClient::new(channel(routing.addr).await),
        POLICY,
    )
    .await;
    let first = submit(
        &mut IntakeServiceClient::new(channel(intake.addr).await),
        "first",
        50,
    )
    .await;

    // One writer's transaction takes its row id now and stays open while 32 others commit.
    let mut late = env.db.store().pool().begin().await.unwrap();
    let late_row: i64 = sqlx::query_scalar(
        "INSERT INTO lead_events \
           (lead_id, from_state, to_state, kind, actor, reason, pool_id, occurred_at) \
         SELECT id, state, state, 'lead.prioritized', 'services/late-writer', 'late', pool_id, $2 \
         FROM leads WHERE id = $1 RETURNING id",
    )
    .bind(uuid::Uuid::parse_str(first.name.trim_start_matches("leads/")).unwrap())
    .bind(env.clock.now())
    .fetch_one(&mut *late)
    .await
    .unwrap();
    let late_id = format!("evt_{late_row}");

    let writers: Vec<_> = (0..32)
        .map(|w| {
            let addr = intake.addr;
            tokio::spawn(async move {
                let mut intake = IntakeServiceClient::new(channel(addr).await);
                for n in 0..4 {
                    submit(&mut intake, &format!("writer-{w}-{n}"), 50).await;
                }
            })
        })
        .collect();

    // A watcher reads part of the stream, then the scheduler serving it restarts.
    let mut got = Vec::new();
    let mut stream = watch(&mut events_client(&scheduler).await, &admin(), "").await;
    read_until(&mut stream, &mut got, "40 events", |got| got.len() >= 40).await;
    drop(stream);
    scheduler.stop().await.unwrap();
    let scheduler = env.start_scheduler(env.scheduler_config()).await;
    for writer in writers {
        writer.await.unwrap();
    }

    // From its last cursor it gets everything committed, then the late row once it commits.
    let cursor = got.last().unwrap().cursor.clone();
    let mut stream = watch(&mut events_client(&scheduler).await, &admin(), &cursor).await;
    let committed = committed_event_ids(&env).await;
    assert!(
        !committed.contains(&late_id),
        "not visible before its commit"
    );
    read_until(&mut stream, &mut got, "every committed event", |got| {
        got.len() >= committed.len()
    })
    .await;
    late.commit().await.unwrap();
    read_until(&mut stream, &mut got, "the late commit", |got| {
        got.iter().any(|e| e.id == late_id)
    })
    .await;

    let received: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    let unique: BTreeSet<String> = received.iter().map(|id| (*id).to_owned()).collect();
    assert_eq!(unique.len(), received.len(), "no event twice on one cursor");
    assert_eq!(unique, committed_event_ids(&env).await, "none skipped");
    let late_at = received.iter().position(|id| *id == late_id).unwrap();
    assert!(
        received[..late_at].iter().any(|id| row_id(id) > late_row),
        "the late row committed after later rows and still arrived"
    );
    // Any event's cursor resumes right after it.
    let mut resumed = events_client(&scheduler).await;
    for pair in got.windows(2).step_by(37) {
        let page = listed(
            &mut resumed,
            &admin(),
            v1::ListEventsRequest {
                after: pair[0].cursor.clone(),
                page_size: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page[0].id, pair[1].id);
    }
    for service in [intake, routing, scheduler] {
        service.stop().await.unwrap();
    }
}

async fn subscribe(
    events: &mut EventServiceClient<Channel>,
    receiver: &WebhookReceiver,
    types: &[&str],
) -> String {
    let created = events
        .create_webhook_subscription(authed(
            &admin(),
            v1::CreateWebhookSubscriptionRequest {
                url: receiver.url(),
                types: types.iter().map(|t| (*t).to_owned()).collect(),
                pool: String::new(),
                description: "the test receiver".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(created.secret.starts_with("whsec_"));
    receiver.set_secret(&created.secret);
    created.subscription.unwrap().name
}

async fn deliveries(
    events: &mut EventServiceClient<Channel>,
    subscription: &str,
    state: &str,
) -> Vec<v1::WebhookDelivery> {
    events
        .list_webhook_deliveries(authed(
            &admin(),
            v1::ListWebhookDeliveriesRequest {
                subscription: subscription.to_owned(),
                state: state.to_owned(),
                page_size: 100,
                page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

/// Routing and intake over `POLICY`, a scheduler, and a receiver it delivers `types` to (every
/// type when empty), subscribed before the policy is applied.
struct Delivering {
    env: TestEnv,
    routing: RunningService,
    intake: RunningService,
    scheduler: RunningService,
    receiver: WebhookReceiver,
}

impl Delivering {
    async fn start(
        types: &[&str],
        configure: impl FnOnce(&mut leadpool_scheduler::Config),
    ) -> Self {
        let env = TestEnv::new().await;
        let routing = env.start_routing(env.routing_config()).await;
        let intake = env
            .start_intake(env.intake_config(&routing.endpoint()))
            .await;
        let mut config = env.scheduler_config();
        configure(&mut config);
        let scheduler = env.start_scheduler(config).await;
        let receiver = WebhookReceiver::start().await;
        subscribe(&mut events_client(&scheduler).await, &receiver, types).await;
        apply_policy(
            &mut RoutingServiceClient::new(channel(routing.addr).await),
            POLICY,
        )
        .await;
        Self {
            env,
            routing,
            intake,
            scheduler,
            receiver,
        }
    }
}

/// Waits until at least `count` deliveries of lead events were attempted.
async fn until_attempted(env: &TestEnv, count: i64) {
    let store = env.db.store();
    leadpool_e2e::eventually(WAIT, "deliveries are attempted", || async {
        let attempted: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE lead_id IS NOT NULL AND attempts > 0",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        attempted >= count
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_survive_the_deliverer_dying_mid_batch_and_keep_each_leads_order() {
    // Subscribed before anything happens: every event of the test is for it.
    let Delivering {
        env,
        routing,
        intake,
        scheduler,
        receiver,
    } = Delivering::start(&[], |_| {}).await;
    let claim = env.start_claim(env.claim_config()).await;
    // Five requests go through; the sixth hangs: the process dies in the middle of its batch.
    receiver.set_mode(Mode::HoldAfter(5));
    let mut intake_client = IntakeServiceClient::new(channel(intake.addr).await);
    let mut claims = leadpool_proto::v1::claim_service_client::ClaimServiceClient::new(
        channel(claim.addr).await,
    );
    for n in 0..12 {
        let lead = submit(&mut intake_client, &format!("hook-{n}"), 50).await;
        if n % 3 == 0 {
            claims
                .claim_lead(authed(
                    &rep("ann"),
                    v1::ClaimLeadRequest { name: lead.name },
                ))
                .await
                .unwrap();
        }
    }
    receiver
        .wait_until(WAIT, "a request hangs", |r| r.held() >= 1)
        .await;
    scheduler.stop().await.unwrap();
    let before_restart = receiver.accepted().len();
    receiver.set_mode(Mode::Accept);
    receiver.release();

    let scheduler = env.start_scheduler(env.scheduler_config()).await;
    // The dead process's lease on what it took runs out.
    env.clock.advance(chrono::Duration::seconds(31));
    let expected = committed_event_ids(&env).await;
    assert!(before_restart < expected.len(), "killed mid-way");
    receiver
        .wait_until(WAIT, "every event is delivered", |r| {
            let ids: BTreeSet<String> = r.accepted().into_iter().map(|e| e.id).collect();
            expected.is_subset(&ids)
        })
        .await;
    assert_eq!(receiver.bad_signatures(), 0);
    // Nothing arrived that is not an event (a lead routed late by intake's retry loop under
    // load commits after `expected` was read: it is in the stream too).
    let committed = committed_event_ids(&env).await;
    assert!(
        receiver
            .accepted()
            .iter()
            .all(|e| committed.contains(&e.id)),
        "only committed events are delivered"
    );

    // Per lead, first arrivals follow the order of the lead's history.
    let mut per_lead: HashMap<String, Vec<i64>> = HashMap::new();
    let mut seen = BTreeSet::new();
    for event in receiver.accepted() {
        if seen.insert(event.id.clone()) && event.subject.starts_with("leads/") {
            per_lead
                .entry(event.subject)
                .or_default()
                .push(row_id(&event.id));
        }
    }
    assert_eq!(per_lead.len(), 12);
    for (lead, rows) in per_lead {
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "{lead}: {rows:?}");
    }
    for service in [intake, routing, claim, scheduler] {
        service.stop().await.unwrap();
    }
}

/// A scheduler told to stop while it takes a batch of deliveries does not keep the batch under
/// its lease (and every later event of those leads behind it) until the lease ends: it hands
/// the batch back, due at once; and once it has stopped, it takes nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_stopping_as_it_takes_deliveries_hands_them_back() {
    let Delivering {
        env,
        routing,
        intake,
        scheduler,
        receiver,
    } = Delivering::start(&[], |_| {}).await;

    // The lead's first event is refused once: it waits for its retry, on a clock that stands.
    receiver.set_mode(Mode::Refuse);
    let lead = submit(
        &mut IntakeServiceClient::new(channel(intake.addr).await),
        "handed-back",
        50,
    )
    .await;
    let lead_id = lead.name.trim_start_matches("leads/").to_owned();
    until_attempted(&env, 1).await;
    let pool = env.db.store().pool().clone();
    // The deliverer's next round is held before it takes anything, and the retry comes due. A
    // round reads the stream (its head, then its events) before it takes due deliveries, and
    // the taking reads nothing of the epochs: a round already taking when the lock comes ends
    // (with the retry not yet due, it takes nothing), and the next one is held at its start.
    // (A lock on the subscriptions, which the taking reads too, could hold the taking itself,
    // with a time read before the retry came due.)
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE event_epochs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    leadpool_e2e::eventually(WAIT, "the deliverer waits for the lock", || async {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' \
             AND (query ILIKE '%max(epoch)%' OR query ILIKE '%FROM event_stream%')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        held > 0
    })
    .await;
    env.clock.advance(chrono::Duration::hours(1));
    receiver.set_mode(Mode::Accept);
    // Told to stop while held; then its round goes on and takes the lead's first event.
    let stopped = scheduler.stop();
    lock.commit().await.unwrap();
    stopped.await.unwrap();

    let deliveries: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT state, next_attempt_at FROM webhook_deliveries WHERE lead_id = $1::uuid",
    )
    .bind(&lead_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    // Its first event was taken and handed back — before the scheduler stopped — due now; its
    // later ones wait behind it, due since they were made. None is leased into the future.
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    for (state, due) in &deliveries {
        assert_eq!(state, "pending", "not sent");
        assert!(*due <= env.clock.now(), "due at once, not leased: {due}");
    }
    let handed_back = deliveries
        .iter()
        .filter(|(_, due)| *due == env.clock.now())
        .count();
    assert_eq!(handed_back, 1, "{deliveries:?}");
    assert!(receiver.accepted().iter().all(|e| e.subject != lead.name));
    for service in [intake, routing] {
        service.stop().await.unwrap();
    }
}

/// A scheduler stopping in the middle of a batch records the requests that went through (not
/// sent again), hands back those it had not started (due at once), and leaves only the request
/// under way to its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_stopping_mid_batch_records_what_it_sent_and_hands_back_the_rest() {
    // One request at a time: which were sent, under way and not started follows from the order.
    let Delivering {
        env,
        routing,
        intake,
        scheduler,
        receiver,
    } = Delivering::start(&["lead.received"], |config| {
        config.events.delivery_concurrency = 1;
    })
    .await;
    // Five deliveries refused once each wait for their retry, on a clock that stands ...
    receiver.set_mode(Mode::Refuse);
    let mut intake_client = IntakeServiceClient::new(channel(intake.addr).await);
    for n in 0..5 {
        submit(&mut intake_client, &format!("mid-batch-{n}"), 50).await;
    }
    until_attempted(&env, 5).await;
    let pool = env.db.store().pool().clone();
    // ... then come due together, as one batch: two go through, the third hangs.
    receiver.set_mode(Mode::HoldAfter(2));
    env.clock.advance(chrono::Duration::hours(1));
    receiver
        .wait_until(WAIT, "the third request hangs", |r| r.held() >= 1)
        .await;
    scheduler.stop().await.unwrap();

    let now = env.clock.now();
    let deliveries: Vec<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT state, next_attempt_at FROM webhook_deliveries")
            .fetch_all(&pool)
            .await
            .unwrap();
    let count = |state: &str, due: fn(DateTime<Utc>, DateTime<Utc>) -> bool| {
        deliveries
            .iter()
            .filter(|(s, at)| s == state && due(*at, now))
            .count()
    };
    assert_eq!(receiver.accepted().len(), 2);
    assert_eq!(count("delivered", |_, _| true), 2, "{deliveries:?}");
    assert_eq!(
        count("pending", |at, now| at == now),
        2,
        "handed back: {deliveries:?}"
    );
    assert_eq!(
        count("pending", |at, now| at > now),
        1,
        "under way: {deliveries:?}"
    );
    receiver.release();
    for service in [intake, routing] {
        service.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_hanging_endpoint_holds_up_only_itself() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let (hanging, healthy) = (
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
    );
    let mut events = cluster.events().await;
    subscribe(&mut events, &hanging, &["lead.received"]).await;
    subscribe(&mut events, &healthy, &["lead.received"]).await;
    hanging.set_mode(Mode::HoldAfter(0));
    let mut intake = cluster.intake().await;
    let mut submitted = BTreeSet::new();
    for n in 0..20 {
        submitted.insert(submit(&mut intake, &format!("busy-{n}"), 50).await.name);
    }
    healthy
        .wait_until(WAIT, "the healthy endpoint has every event", |r| {
            r.accepted()
                .iter()
                .map(|e| e.subject.clone())
                .collect::<BTreeSet<_>>()
                == submitted
        })
        .await;
    assert!(hanging.held() >= 1, "the other endpoint hangs meanwhile");
    assert!(hanging.accepted().is_empty());
    hanging.release();
    cluster.stop().await;
}

/// Issue 19.2: a delete stops every delivery not yet under way — those queued, and those a
/// worker already took under its lease and holds back behind the requests in flight — on
/// another replica than the one answering the delete. What was under way finishes and is
/// listed as cancelled; nothing more reaches the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_subscription_sends_nothing_it_had_not_started() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let intake = env
        .start_intake(env.intake_config(&routing.endpoint()))
        .await;
    // The deliverer, and a second replica that only answers calls.
    let deliverer = env.start_scheduler(env.scheduler_config()).await;
    let mut answering = env.scheduler_config();
    answering.events.enabled = false;
    let answering = env.start_scheduler(answering).await;
    apply_policy(
        &mut RoutingServiceClient::new(channel(routing.addr).await),
        POLICY,
    )
    .await;
    let endpoint = WebhookReceiver::start().await;
    let mut events = events_client(&answering).await;
    let subscription = subscribe(&mut events, &endpoint, &["lead.received"]).await;
    endpoint.set_mode(Mode::HoldAfter(0));

    // One import: 20 events in one transaction, one epoch, one batch taken at once.
    const LEADS: usize = 20;
    let concurrency = env.scheduler_config().events.delivery_concurrency;
    let rows = (0..LEADS)
        .map(|n| v1::ImportRow {
            row_number: n as i64 + 1,
            lead: Some(v1::SubmitLeadRequest {
                idempotency_key: format!("held-{n}"),
                contact: Some(v1::Contact {
                    email: format!("held{n}@example.com"),
                    ..Default::default()
                }),
                score: 50,
                ..Default::default()
            }),
        })
        .collect();
    IntakeServiceClient::new(channel(intake.addr).await)
        .import_leads(authed(
            &admin(),
            tokio_stream::iter([v1::ImportLeadsRequest {
                import_id: "held".into(),
                rows,
            }]),
        ))
        .await
        .unwrap();
    endpoint
        .wait_until(WAIT, "a full round of requests is held", |r| {
            r.held() == concurrency
        })
        .await;
    let leased = deliveries(&mut events, &subscription, "pending").await;
    assert_eq!(leased.len(), LEADS, "all taken, {concurrency} under way");

    events
        .delete_webhook_subscription(authed(
            &admin(),
            v1::DeleteWebhookSubscriptionRequest {
                name: subscription.clone(),
            },
        ))
        .await
        .unwrap();
    // From now on the endpoint would accept anything that still came.
    endpoint.set_mode(Mode::Accept);
    endpoint.release();

    // The batch ends: the requests under way are recorded, the rest were never attempted.
    let listed = poll("the held requests are recorded", || {
        let mut events = events.clone();
        let subscription = subscription.clone();
        async move {
            let listed = deliveries(&mut events, &subscription, "").await;
            let attempted: i32 = listed.iter().map(|d| d.attempts).sum();
            (attempted == concurrency as i32).then_some(listed)
        }
    })
    .await;
    assert_eq!(listed.len(), LEADS);
    assert!(
        listed.iter().all(|d| d.state == "cancelled"),
        "{:?}",
        listed.iter().map(|d| &d.state).collect::<Vec<_>>()
    );
    assert_eq!(
        listed.iter().filter(|d| d.attempts == 0).count(),
        LEADS - concurrency,
        "never attempted"
    );
    assert_eq!(
        endpoint.held(),
        concurrency,
        "only what was under way was sent"
    );
    assert!(
        endpoint.accepted().is_empty(),
        "nothing was sent after the delete"
    );
    assert_eq!(
        deliveries(&mut events, &subscription, "cancelled")
            .await
            .len(),
        LEADS
    );
    for service in [intake, routing, deliverer, answering] {
        service.stop().await.unwrap();
    }
}

/// The delivery of the only event `subscription` wants, once it has been attempted `attempts`
/// times.
async fn after_attempts(
    events: &mut EventServiceClient<Channel>,
    subscription: &str,
    attempts: i32,
) -> v1::WebhookDelivery {
    let delivery = poll(&format!("attempt {attempts}"), || {
        let mut events = events.clone();
        async move {
            deliveries(&mut events, subscription, "")
                .await
                .into_iter()
                .find(|d| d.attempts >= attempts)
        }
    })
    .await;
    assert_eq!(delivery.attempts, attempts, "no attempt before it was due");
    delivery
}

fn time_of(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap()).unwrap()
}

#[tokio::test]
async fn a_refusing_receiver_gets_growing_gaps_then_dead_letters_that_replay() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let receiver = WebhookReceiver::start().await;
    let mut events = cluster.events().await;
    let subscription = subscribe(&mut events, &receiver, &["lead.received"]).await;
    receiver.set_mode(Mode::Refuse);
    let mut intake = cluster.intake().await;
    submit(&mut intake, "refused", 50).await;

    // 2s doubling per attempt, each times a jitter of 0.5–1.5.
    for attempt in 1..=5 {
        let delivery = after_attempts(&mut events, &subscription, attempt).await;
        assert_eq!(delivery.state, "pending");
        assert_eq!(delivery.last_status, 503);
        let next = time_of(delivery.next_attempt_time.as_ref().unwrap());
        let gap = (next - cluster.env.clock.now()).as_seconds_f64();
        let base = 2.0 * 2f64.powi(attempt - 1);
        assert!(
            (0.5 * base..=1.5 * base).contains(&gap),
            "attempt {attempt}: next in {gap}s, not {base}s ±50%"
        );
        cluster.env.clock.set(next);
    }
    assert_eq!(receiver.refused(), 5);
    receiver.set_mode(Mode::Accept);
    let delivered = after_attempts(&mut events, &subscription, 6).await;
    assert_eq!(delivered.state, "delivered");
    assert_eq!(receiver.accepted().len(), 1);

    // Past the 24h retry period a failing delivery is a dead letter.
    receiver.set_mode(Mode::Refuse);
    let lead = submit(&mut intake, "dead", 50).await;
    let pending = |d: &v1::WebhookDelivery| d.state == "pending" && d.attempts == 1;
    leadpool_e2e::eventually(WAIT, "the first refusal", || {
        let mut events = events.clone();
        let subscription = subscription.clone();
        async move {
            deliveries(&mut events, &subscription, "")
                .await
                .iter()
                .any(pending)
        }
    })
    .await;
    cluster
        .env
        .clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    leadpool_e2e::eventually(WAIT, "a dead letter", || {
        let mut events = events.clone();
        let subscription = subscription.clone();
        async move { deliveries(&mut events, &subscription, "dead").await.len() == 1 }
    })
    .await;
    receiver.set_mode(Mode::Accept);
    let replayed = events
        .replay_webhook_deliveries(authed(
            &admin(),
            v1::ReplayWebhookDeliveriesRequest {
                subscription: subscription.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.replayed, 1);
    receiver
        .wait_until(WAIT, "the replayed letter arrives", |r| {
            r.accepted().len() == 2
        })
        .await;
    assert_eq!(receiver.accepted()[1].subject, lead.name);
    assert_eq!(receiver.bad_signatures(), 0);
    cluster.stop().await;
}

#[tokio::test]
async fn a_contact_deadline_about_to_pass_is_delivered_before_it_does() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let receiver = WebhookReceiver::start().await;
    subscribe(
        &mut cluster.events().await,
        &receiver,
        &["lead.contact_due_soon"],
    )
    .await;
    let lead = submit(&mut cluster.intake().await, "due", 50).await;
    let claimed = claim_lead(&cluster, "ann", &lead.name).await;
    let deadline = time_of(claimed.contact_due_time.as_ref().unwrap());
    let t0 = cluster.env.clock.now();
    assert_eq!(deadline, t0 + chrono::Duration::hours(1));

    // 15 minutes' warning: nothing at 40 minutes, the warning at 46, and only once.
    let warn = |minutes| t0 + chrono::Duration::minutes(minutes);
    cluster.env.clock.set(warn(40));
    assert_eq!(
        run_job(&cluster, "contact-warnings", warn(40))
            .await
            .affected,
        0
    );
    cluster.env.clock.set(warn(46));
    assert_eq!(
        run_job(&cluster, "contact-warnings", warn(46))
            .await
            .affected,
        1
    );
    assert_eq!(
        run_job(&cluster, "contact-warnings", warn(50))
            .await
            .affected,
        0
    );
    receiver
        .wait_until(WAIT, "the warning arrives", |r| !r.accepted().is_empty())
        .await;
    let warning = &receiver.accepted()[0];
    assert_eq!(warning.event_type, "lead.contact_due_soon");
    assert_eq!(warning.subject, lead.name);
    assert_eq!(warning.data["rep"], "reps/ann");
    assert!(
        warning.timestamp < deadline.timestamp(),
        "sent before the deadline"
    );
    cluster.stop().await;
}

async fn listed(
    events: &mut EventServiceClient<Channel>,
    who: &str,
    request: v1::ListEventsRequest,
) -> Result<Vec<v1::Event>, tonic::Status> {
    events
        .list_events(authed(who, request))
        .await
        .map(|r| r.into_inner().events)
}

/// Every event up to now, once the stream shows them all.
async fn everything(cluster: &Cluster) -> Vec<v1::Event> {
    let expected = committed_event_ids(&cluster.env).await.len();
    let events = cluster.events().await;
    poll("every event is in the stream", || {
        let mut events = events.clone();
        async move {
            let all = listed(
                &mut events,
                &admin(),
                v1::ListEventsRequest {
                    page_size: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            (all.len() == expected).then_some(all)
        }
    })
    .await
}

#[tokio::test]
async fn reps_see_their_own_leads_managers_their_teams_and_filters_narrow() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut intake = cluster.intake().await;
    let west = submit_segmented(&mut intake, "w", 50, "west", "web").await;
    let west_2 = submit_segmented(&mut intake, "w2", 50, "west", "web").await;
    let east = submit_segmented(&mut intake, "e", 50, "east", "web").await;
    claim_lead(&cluster, "ann", &west.name).await;
    claim_lead(&cluster, "ben", &west_2.name).await;
    claim_lead(&cluster, "cat", &east.name).await;
    let all = everything(&cluster).await;
    let mut events = cluster.events().await;
    let subjects = |events: &[v1::Event]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| (e.r#type.clone(), e.subject.clone()))
            .collect()
    };

    let ann = listed(&mut events, &rep("ann"), v1::ListEventsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        subjects(&ann),
        [("lead.claimed".to_owned(), west.name.clone())],
        "ann sees her own lead's events only"
    );
    // Watching a pool she may browse, she also sees leads entering and leaving its available
    // leads — ben's claim too — but not another team's pool.
    let ann_pool = |pool: &str| v1::ListEventsRequest {
        pool: format!("pools/{pool}"),
        ..Default::default()
    };
    let west_pool = listed(&mut events, &rep("ann"), ann_pool("west-leads"))
        .await
        .unwrap();
    let moves: BTreeSet<(String, String)> = subjects(&west_pool).into_iter().collect();
    let expected: BTreeSet<(String, String)> = [&west, &west_2]
        .into_iter()
        .flat_map(|lead| {
            [
                ("lead.routed".to_owned(), lead.name.clone()),
                ("lead.claimed".to_owned(), lead.name.clone()),
            ]
        })
        .collect();
    assert_eq!(moves, expected);
    assert!(
        listed(&mut events, &rep("ann"), ann_pool("east-leads"))
            .await
            .unwrap()
            .is_empty(),
        "not a pool she may browse"
    );
    let refused = listed(
        &mut events,
        &rep("ann"),
        v1::ListEventsRequest {
            team: "west".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code_of(&refused), Code::PermissionDenied);

    let max = listed(&mut events, &manager(), v1::ListEventsRequest::default())
        .await
        .unwrap();
    let max_leads: BTreeSet<&str> = max.iter().map(|e| e.subject.as_str()).collect();
    assert!(max_leads.contains(west.name.as_str()) && max_leads.contains(west_2.name.as_str()));
    assert!(!max_leads.contains(east.name.as_str()), "not her team's");
    let refused = listed(
        &mut events,
        &manager(),
        v1::ListEventsRequest {
            team: "east".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(code_of(&refused), Code::PermissionDenied);

    // Admins see everything, including the policy apply; filters narrow it.
    assert!(all.iter().any(|e| e.r#type == "policy.applied"));
    let claims = listed(
        &mut events,
        &admin(),
        v1::ListEventsRequest {
            types: vec!["lead.claimed".into()],
            pool: "pools/east-leads".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        subjects(&claims),
        [("lead.claimed".to_owned(), east.name.clone())]
    );
    let east_team = listed(
        &mut events,
        &admin(),
        v1::ListEventsRequest {
            team: "east".into(),
            types: vec!["lead.claimed".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(subjects(&east_team), subjects(&claims));
    // Pages resume from their cursor.
    let first = listed(
        &mut events,
        &admin(),
        v1::ListEventsRequest {
            page_size: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rest = listed(
        &mut events,
        &admin(),
        v1::ListEventsRequest {
            after: first[2].cursor.clone(),
            page_size: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let paged: Vec<String> = first.iter().chain(&rest).map(|e| e.id.clone()).collect();
    let whole: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    assert_eq!(paged, whole);
    cluster.stop().await;
}

#[tokio::test]
async fn bad_filters_cursors_and_urls_are_refused_and_secrets_never_shown_again() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut events = cluster.events().await;
    assert_invalid(
        events
            .list_events(authed(
                &admin(),
                v1::ListEventsRequest {
                    types: vec!["lead.claimed".into(), "lead.teleported".into()],
                    after: "not-a-cursor".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["after", "types[1]"],
    );
    let too_many: Vec<String> = (0..100).map(|_| "lead.claimed".to_owned()).collect();
    let watched = events
        .watch_events(authed(
            &admin(),
            v1::WatchEventsRequest {
                types: too_many.clone(),
                ..Default::default()
            },
        ))
        .await;
    assert_invalid(watched, &["types"]);
    for url in [
        "http://crm.example.com/hook",
        "ftp://crm.example.com/hook",
        "crm.example.com",
    ] {
        let created = events
            .create_webhook_subscription(authed(
                &admin(),
                v1::CreateWebhookSubscriptionRequest {
                    url: url.into(),
                    ..Default::default()
                },
            ))
            .await;
        assert_invalid(created, &["url"]);
    }
    let refused = events
        .create_webhook_subscription(authed(
            &manager(),
            v1::CreateWebhookSubscriptionRequest {
                url: "https://crm.example.com/hook".into(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(code_of(&refused), Code::PermissionDenied);
    let created = events
        .create_webhook_subscription(authed(
            &admin(),
            v1::CreateWebhookSubscriptionRequest {
                url: "https://crm.example.com/hook".into(),
                types: vec!["lead.claimed".into()],
                pool: "pools/west-leads".into(),
                description: "CRM".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let listed = events
        .list_webhook_subscriptions(authed(&admin(), v1::ListWebhookSubscriptionsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.subscriptions,
        [created.subscription.clone().unwrap()]
    );
    assert!(!format!("{listed:?}").contains(&created.secret));
    let audit = cluster
        .routing()
        .await
        .list_audit_records(authed(&admin(), v1::ListAuditRecordsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(audit.records.iter().any(|r| r.action == "webhook.create"));
    assert!(!format!("{audit:?}").contains(&created.secret));

    let name = created.subscription.unwrap().name;
    for request in [
        v1::ReplayWebhookDeliveriesRequest {
            subscription: "webhooks/nope".into(),
        },
        v1::ReplayWebhookDeliveriesRequest {
            subscription: String::new(),
        },
    ] {
        let replayed = events
            .replay_webhook_deliveries(authed(&admin(), request))
            .await;
        assert_invalid(replayed, &["subscription"]);
    }
    events
        .delete_webhook_subscription(authed(
            &admin(),
            v1::DeleteWebhookSubscriptionRequest { name: name.clone() },
        ))
        .await
        .unwrap();
    let again = events
        .delete_webhook_subscription(authed(
            &admin(),
            v1::DeleteWebhookSubscriptionRequest { name: name.clone() },
        ))
        .await;
    assert_eq!(code_of(&again), Code::NotFound);
    let replayed = events
        .replay_webhook_deliveries(authed(
            &admin(),
            v1::ReplayWebhookDeliveriesRequest { subscription: name },
        ))
        .await;
    assert_eq!(code_of(&replayed), Code::NotFound);
    cluster.stop().await;
}

#[tokio::test]
async fn a_webhook_request_continues_the_trace_of_the_claim_that_caused_it() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")));
    // A current-thread runtime runs every service task on this thread, under this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let receiver = WebhookReceiver::start().await;
    subscribe(&mut cluster.events().await, &receiver, &["lead.claimed"]).await;
    let lead = submit(&mut cluster.intake().await, "traced", 50).await;
    claim_lead(&cluster, "ann", &lead.name).await;
    receiver
        .wait_until(WAIT, "the claim arrives", |r| !r.accepted().is_empty())
        .await;
    provider.force_flush().unwrap();
    // The call's span, or its handler's (tests running beside this one on other threads may
    // leave tracing's per-callsite cache without the outer one).
    let claim_span = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .find(|span| ["leadpool.v1.ClaimService/ClaimLead", "claim_lead"].contains(&&*span.name))
        .expect("the claim's span");
    let traceparent = receiver.accepted()[0]
        .traceparent
        .clone()
        .expect("traceparent sent");
    // 00-{trace id}-{span id}-{flags}
    let trace_id = traceparent.split('-').nth(1).unwrap().to_owned();
    assert_eq!(trace_id, claim_span.span_context.trace_id().to_string());
    cluster.stop().await;
}
