//! `leadpool.v1.EventService`: requests checked and turned into calls on [`Events`], answers
//! into protos.

use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use leadpool_auth::{Identity, Role};
use leadpool_domain::events::{check_webhook_url, event_types, is_event_type};
use leadpool_domain::validation::Violations;
use leadpool_domain::{AuditAction, Error, EventCursor, FieldViolation, PoolId};
use leadpool_proto::v1::{self, event_service_server::EventService};
use leadpool_server::audit::audit_entry;
use leadpool_server::{CancellationToken, caller, convert, paging, require_role, to_status};
use leadpool_store::{AuditLog, DeliveryRecord, EventFilter, StreamEvent, Subscription};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Events, Wanted, event_id};

/// Events a WatchEvents stream reads at a time.
const WATCH_PAGE: i64 = 500;
/// A team id, a description: at most this long.
const MAX_TEAM_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 1024;

pub struct EventApi {
    events: Events,
    audit: AuditLog,
    shutdown: CancellationToken,
}

impl EventApi {
    pub fn new(events: Events, audit: AuditLog, shutdown: CancellationToken) -> Self {
        Self {
            events,
            audit,
            shutdown,
        }
    }

    /// The cursor and the filter of a read, or every violation in its fields.
    async fn read_request(
        &self,
        identity: &Identity,
        after: &str,
        types: &[String],
        pool: &str,
        team: &str,
        v: &mut Violations,
    ) -> Result<(EventCursor, EventFilter), Error> {
        let after = v.check(parse_cursor(after, "after"));
        check_types(v, types);
        let pool = optional_pool(v, pool);
        if team.chars().count() > MAX_TEAM_CHARS || team.chars().any(char::is_control) {
            v.add(
                "team",
                format!(
                    "is not a team id (at most {MAX_TEAM_CHARS} characters, no control characters)"
                ),
            );
        }
        let (Some(after), true) = (after, v.is_empty()) else {
            return Err(Error::InvalidArgument(std::mem::take(v).into_vec()));
        };
        let wanted = Wanted { types, pool, team };
        let filter = self.events.filter(identity, &wanted).await?;
        Ok((after, filter))
    }
}

/// Each of `types` must be an event type, and there cannot be more of them than types.
fn check_types(v: &mut Violations, types: &[String]) {
    let known = event_types().count();
    if types.len() > known {
        v.add(
            "types",
            format!("lists {} types; there are {known}", types.len()),
        );
        return;
    }
    for (i, t) in types.iter().enumerate() {
        if !is_event_type(t) {
            let all: Vec<&str> = event_types().collect();
            v.add(
                format!("types[{i}]"),
                format!("is not an event type; the types are: {}", all.join(", ")),
            );
        }
    }
}

/// An optional `pools/{pool}` filter.
fn optional_pool(v: &mut Violations, pool: &str) -> Option<PoolId> {
    if pool.is_empty() {
        None
    } else {
        v.check(PoolId::from_name(pool, "pool"))
    }
}

fn parse_cursor(token: &str, field: &str) -> Result<EventCursor, FieldViolation> {
    EventCursor::parse(token).ok_or_else(|| {
        FieldViolation::new(
            field,
            "is not a cursor this service gave out; use an event's `cursor` or a `next_cursor`, \
             or leave it empty for the start of the stream",
        )
    })
}

/// A page of deliveries goes on after the last one listed: its event and subscription.
fn delivery_token(last: &DeliveryRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}/{}", last.cursor, last.subscription))
}

fn parse_delivery_token(token: &str) -> Result<(EventCursor, Uuid), FieldViolation> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (cursor, subscription) = text.split_once('/')?;
            Some((
                EventCursor::parse(cursor)?,
                Uuid::parse_str(subscription).ok()?,
            ))
        })
        .ok_or_else(|| {
            FieldViolation::new("page_token", "is not a page token of ListWebhookDeliveries")
        })
}

fn subscription_id(name: &str, field: &str) -> Result<Uuid, FieldViolation> {
    name.strip_prefix("webhooks/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| FieldViolation::new(field, "is not a subscription name: webhooks/{uuid}"))
}

fn event_message(event: &StreamEvent, source: &str) -> v1::Event {
    v1::Event {
        id: event_id(event),
        source: source.to_owned(),
        r#type: event.event_type.clone(),
        time: Some(convert::timestamp(event.time)),
        subject: event.subject.clone(),
        data: event.data.to_string(),
        spec_version: "1.0".to_owned(),
        data_content_type: "application/json".to_owned(),
        cursor: event.cursor.to_string(),
        trace_parent: event.traceparent.clone().unwrap_or_default(),
    }
}

fn subscription_message(s: &Subscription) -> v1::WebhookSubscription {
    v1::WebhookSubscription {
        name: format!("webhooks/{}", s.id),
        url: s.url.clone(),
        types: s.types.clone(),
        pool: s
            .pool
            .as_ref()
            .map(|p| format!("pools/{p}"))
            .unwrap_or_default(),
        description: s.description.clone(),
        created_by: s.created_by.clone(),
        create_time: Some(convert::timestamp(s.created_at)),
    }
}

fn delivery_message(d: &DeliveryRecord) -> v1::WebhookDelivery {
    v1::WebhookDelivery {
        subscription: format!("webhooks/{}", d.subscription),
        event_cursor: d.cursor.to_string(),
        state: d.state.clone(),
        attempts: d.attempts,
        next_attempt_time: (d.state == "pending").then(|| convert::timestamp(d.next_attempt_at)),
        last_error: d.last_error.clone(),
        last_status: d.last_status.unwrap_or(0),
        deliver_time: d.delivered_at.map(convert::timestamp),
        event_id: format!("evt_{}", d.cursor.id),
        event_type: d.event_type.clone(),
        event_subject: d.subject.clone(),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<v1::Event, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for EventApi {
    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        request: Request<v1::WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let identity = caller(&request).map_err(to_status)?;
        let req = request.get_ref();
        let mut v = Violations::new();
        if req.from_now && !req.after.is_empty() {
            v.add(
                "from_now",
                "cannot be combined with `after`: choose where to start",
            );
        }
        let (mut after, filter) = self
            .read_request(
                &identity, &req.after, &req.types, &req.pool, &req.team, &mut v,
            )
            .await
            .map_err(to_status)?;
        if req.from_now {
            after = self.events.head().await.map_err(to_status)?;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_PAGE as usize);
        let (events, shutdown) = (self.events.clone(), self.shutdown.clone());
        let mut reader = events.reader();
        tokio::spawn(async move {
            loop {
                let page = match events.page(after, &filter, WATCH_PAGE).await {
                    Ok(page) => page,
                    Err(err) => {
                        let _ = tx.send(Err(to_status(err))).await;
                        return;
                    }
                };
                let caught_up = (page.events.len() as i64) < WATCH_PAGE;
                for event in &page.events {
                    if tx
                        .send(Ok(event_message(event, events.source())))
                        .await
                        .is_err()
                    {
                        return; // the client went away
                    }
                }
                after = page.next;
                if caught_up {
                    tokio::select! {
                        () = tx.closed() => return,
                        woke = reader.wait_past(after.epoch, &shutdown) => if !woke { return },
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn list_events(
        &self,
        request: Request<v1::ListEventsRequest>,
    ) -> Result<Response<v1::ListEventsResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let limit = v.check(paging::page_size(req.page_size, 100, 1000));
            let (after, filter) = self
                .read_request(
                    &identity, &req.after, &req.types, &req.pool, &req.team, &mut v,
                )
                .await?;
            let page = self
                .events
                .page(after, &filter, limit.unwrap_or_default())
                .await?;
            Ok(v1::ListEventsResponse {
                events: page
                    .events
                    .iter()
                    .map(|e| event_message(e, self.events.source()))
                    .collect(),
                next_cursor: page.next.to_string(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn create_webhook_subscription(
        &self,
        request: Request<v1::CreateWebhookSubscriptionRequest>,
    ) -> Result<Response<v1::CreateWebhookSubscriptionResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin], "manage webhooks")?;
            let req = request.get_ref();
            let mut v = Violations::new();
            if let Err(why) = check_webhook_url(&req.url) {
                v.add("url", why);
            }
            check_types(&mut v, &req.types);
            let pool = optional_pool(&mut v, &req.pool);
            if req.description.chars().count() > MAX_DESCRIPTION_CHARS {
                v.add(
                    "description",
                    format!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
                );
            }
            if !v.is_empty() {
                return Err(Error::InvalidArgument(v.into_vec()));
            }
            let (subscription, secret) = self
                .events
                .subscribe(
                    req.url.clone(),
                    req.types.clone(),
                    pool.map(|p| p.as_str().to_owned()),
                    req.description.clone(),
                    identity.actor(),
                )
                .await?;
            let name = format!("webhooks/{}", subscription.id);
            // The secret is never recorded, logged or shown again.
            let detail = serde_json::json!({
                "url": subscription.url, "types": subscription.types, "pool": req.pool,
            });
            let entry = audit_entry(
                &request,
                &identity,
                AuditAction::WebhookCreate,
                name,
                detail,
            );
            self.audit.record(&entry).await?;
            Ok(v1::CreateWebhookSubscriptionResponse {
                subscription: Some(subscription_message(&subscription)),
                secret,
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_webhook_subscriptions(
        &self,
        request: Request<v1::ListWebhookSubscriptionsRequest>,
    ) -> Result<Response<v1::ListWebhookSubscriptionsResponse>, Status> {
        let result = async {
            require_role(&caller(&request)?, &[Role::Admin], "manage webhooks")?;
            let subscriptions = self.events.subscriptions().await?;
            Ok(v1::ListWebhookSubscriptionsResponse {
                subscriptions: subscriptions.iter().map(subscription_message).collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn delete_webhook_subscription(
        &self,
        request: Request<v1::DeleteWebhookSubscriptionRequest>,
    ) -> Result<Response<v1::DeleteWebhookSubscriptionResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin], "manage webhooks")?;
            let name = &request.get_ref().name;
            let id = subscription_id(name, "name").map_err(|v| Error::InvalidArgument(vec![v]))?;
            self.events.unsubscribe(id, name).await?;
            let entry = audit_entry(
                &request,
                &identity,
                AuditAction::WebhookDelete,
                name.clone(),
                serde_json::json!({}),
            );
            self.audit.record(&entry).await?;
            Ok(v1::DeleteWebhookSubscriptionResponse {})
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<v1::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<v1::ListWebhookDeliveriesResponse>, Status> {
        let result = async {
            require_role(&caller(&request)?, &[Role::Admin], "manage webhooks")?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let subscription = if req.subscription.is_empty() {
                None
            } else {
                v.check(subscription_id(&req.subscription, "subscription"))
            };
            const STATES: [&str; 4] = ["pending", "delivered", "dead", "cancelled"];
            if !req.state.is_empty() && !STATES.contains(&req.state.as_str()) {
                v.add(
                    "state",
                    "is not one of: pending, delivered, dead, cancelled",
                );
            }
            let limit = v.check(paging::page_size(req.page_size, 100, 1000));
            let before = if req.page_token.is_empty() {
                None
            } else {
                v.check(parse_delivery_token(&req.page_token))
            };
            let (Some(limit), true) = (limit, v.is_empty()) else {
                return Err(Error::InvalidArgument(v.into_vec()));
            };
            let state = (!req.state.is_empty()).then_some(req.state.as_str());
            let deliveries = self
                .events
                .deliveries(subscription, state, before, limit)
                .await?;
            let next_page_token = match deliveries.last() {
                Some(last) if deliveries.len() as i64 == limit => delivery_token(last),
                _ => String::new(),
            };
            Ok(v1::ListWebhookDeliveriesResponse {
                deliveries: deliveries.iter().map(delivery_message).collect(),
                next_page_token,
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn replay_webhook_deliveries(
        &self,
        request: Request<v1::ReplayWebhookDeliveriesRequest>,
    ) -> Result<Response<v1::ReplayWebhookDeliveriesResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin], "manage webhooks")?;
            let name = &request.get_ref().subscription;
            let id = subscription_id(name, "subscription")
                .map_err(|v| Error::InvalidArgument(vec![v]))?;
            let replayed = self.events.replay(id, name).await?;
            let entry = audit_entry(
                &request,
                &identity,
                AuditAction::WebhookReplay,
                name.clone(),
                serde_json::json!({ "replayed": replayed }),
            );
            self.audit.record(&entry).await?;
            Ok(v1::ReplayWebhookDeliveriesResponse { replayed })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }
}
