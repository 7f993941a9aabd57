//! Hostile input, generated from the API itself: for every method of every Leadpool service
//! (read from the descriptors, so a new RPC is covered the day it is added), a request with
//! plausible values (guessed from the field names: a real lead, pool and rep), then for each
//! field of it, one level down too, each hostile value that field can take — NUL and other
//! control characters, a 100,000-character text, times and durations outside the protobuf
//! range, extreme numbers, unknown enum values — sent as an admin and as the rep who holds the
//! lead. Each must be answered with a code the caller can act on (never INTERNAL or UNKNOWN;
//! INVALID_ARGUMENT for bad text and times), in a status small enough for stock clients, with
//! nothing written when it was refused; afterwards every service still answers SERVING.

use bytes::{Buf, BufMut, Bytes};
use leadpool_auth::Role;
use leadpool_e2e::{Cluster, apply_policy};
use leadpool_testing::{authed, token};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    ReflectMessage, Value,
};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Sends encoded messages and hands back the answer's bytes, whatever the method.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        *self
    }
    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostile {
    Nul,
    Escape,
    LongText,
    FarTime,
    HugeDuration,
    ExtremeNumber,
    UnknownEnum,
}

/// The hostile values a field of this kind can take.
fn hostile_values(field: &FieldDescriptor) -> Vec<(Hostile, Value)> {
    let values = match field.kind() {
        Kind::String => vec![
            (
                Hostile::Nul,
                Value::String("pools/all-leads\0; DROP TABLE leads".into()),
            ),
            (
                Hostile::Escape,
                Value::String("\u{1b}[2J\u{7f}\u{85}".into()),
            ),
            (Hostile::LongText, Value::String("é".repeat(100_000))),
        ],
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => vec![
            (Hostile::ExtremeNumber, Value::I32(i32::MIN)),
            (Hostile::ExtremeNumber, Value::I32(i32::MAX)),
        ],
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => vec![
            (Hostile::ExtremeNumber, Value::I64(i64::MIN)),
            (Hostile::ExtremeNumber, Value::I64(i64::MAX)),
        ],
        Kind::Uint32 | Kind::Fixed32 => vec![(Hostile::ExtremeNumber, Value::U32(u32::MAX))],
        Kind::Uint64 | Kind::Fixed64 => vec![(Hostile::ExtremeNumber, Value::U64(u64::MAX))],
        Kind::Double => vec![(Hostile::ExtremeNumber, Value::F64(f64::NAN))],
        Kind::Float => vec![(Hostile::ExtremeNumber, Value::F32(f32::INFINITY))],
        Kind::Enum(_) => vec![(Hostile::UnknownEnum, Value::EnumNumber(9_999))],
        Kind::Message(m) if m.full_name() == "google.protobuf.Timestamp" => {
            let mut far = DynamicMessage::new(m);
            far.set_field_by_name("seconds", Value::I64(i64::MAX));
            vec![(Hostile::FarTime, Value::Message(far))]
        }
        Kind::Message(m) if m.full_name() == "google.protobuf.Duration" => {
            let mut huge = DynamicMessage::new(m);
            huge.set_field_by_name("seconds", Value::I64(i64::MIN));
            huge.set_field_by_name("nanos", Value::I32(999_999_999));
            vec![(Hostile::HugeDuration, Value::Message(huge))]
        }
        _ => Vec::new(),
    };
    values
        .into_iter()
        .map(|(h, v)| {
            (
                h,
                if field.is_list() {
                    Value::List(vec![v])
                } else {
                    v
                },
            )
        })
        .collect()
}

/// What a well-formed request would carry in a string field, guessed from its name, so each
/// hostile value meets the code behind an otherwise valid request.
fn plausible(method: &MethodDescriptor, field: &FieldDescriptor, lead: &str) -> Option<String> {
    let name = field.name();
    let of_method = method.name();
    Some(match name {
        "name" | "lead" | "parent" if of_method.contains("Job") => "jobs/aging".to_owned(),
        "name" | "parent" if of_method.contains("Pool") => "pools/all-leads".to_owned(),
        "name" if of_method.contains("Rep") => "reps/alice".to_owned(),
        "name" | "lead" => lead.to_owned(),
        "pool" | "into" | "fallback_pool" => "pools/all-leads".to_owned(),
        "rep" | "to_rep" | "from_rep" | "owner" | "from" | "to" => "reps/alice".to_owned(),
        "pool_id" => "west".to_owned(),
        "document" => leadpool_e2e::example("p1-open-pool"),
        "email" => "ada@example.com".to_owned(),
        "idempotency_key" | "import_id" => "fuzz-1".to_owned(),
        "time_zone" => "UTC".to_owned(),
        _ if field.kind() == Kind::String => "because".to_owned(),
        _ => return None,
    })
}

/// A request for `method` with plausible values in its string fields (two levels deep).
fn baseline(
    method: &MethodDescriptor,
    descriptor: &MessageDescriptor,
    lead: &str,
    depth: usize,
) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        if field.is_map() || field.containing_oneof().is_some() {
            continue;
        }
        match field.kind() {
            Kind::String => {
                if let Some(text) = plausible(method, &field, lead) {
                    let value = Value::String(text);
                    message.set_field(
                        &field,
                        if field.is_list() {
                            Value::List(vec![value])
                        } else {
                            value
                        },
                    );
                }
            }
            Kind::Message(inner) if depth > 0 && !inner.full_name().starts_with("google.") => {
                let nested = Value::Message(baseline(method, &inner, lead, depth - 1));
                message.set_field(
                    &field,
                    if field.is_list() {
                        Value::List(vec![nested])
                    } else {
                        nested
                    },
                );
            }
            _ => {}
        }
    }
    message
}

/// `base` with one field (at any depth the baseline filled, or any top-level one) made hostile,
/// for each field and each hostile value it can take.
fn mutations(base: &DynamicMessage) -> Vec<(String, Hostile, DynamicMessage)> {
    let mut out = Vec::new();
    for field in base.descriptor().fields() {
        if field.is_map() {
            continue;
        }
        for (hostile, value) in hostile_values(&field) {
            let mut mutated = base.clone();
            mutated.set_field(&field, value);
            out.push((field.name().to_owned(), hostile, mutated));
        }
        if let (true, Value::Message(nested)) =
            (base.has_field(&field), base.get_field(&field).as_ref())
        {
            for (path, hostile, inner) in mutations(nested) {
                let mut mutated = base.clone();
                mutated.set_field(&field, Value::Message(inner));
                out.push((format!("{}.{path}", field.name()), hostile, mutated));
            }
        }
    }
    out
}

/// Rows in the tables an API call may write: unchanged across a refused call.
async fn footprint(cluster: &Cluster) -> Vec<i64> {
    let tables = [
        "leads",
        "lead_events",
        "policies",
        "rejected_rows",
        "rep_availability",
        "job_runs",
        "lead_merges",
        "assignment_counts",
        "service_events",
        "webhook_subscriptions",
        "webhook_deliveries",
    ];
    let mut counts = Vec::new();
    for table in tables {
        let count: (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(cluster.env.db.store().pool())
            .await
            .unwrap();
        counts.push(count.0);
    }
    counts
}

async fn call(
    channel: &Channel,
    method: &MethodDescriptor,
    caller: &str,
    body: Bytes,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name())
        .parse::<http::uri::PathAndQuery>()
        .unwrap();
    match (method.is_client_streaming(), method.is_server_streaming()) {
        (true, _) => {
            let stream = tokio_stream::iter(vec![body]);
            grpc.client_streaming(authed(caller, stream), path, RawCodec)
                .await
                .map(drop)
        }
        (false, true) => {
            let mut stream = grpc
                .server_streaming(authed(caller, body), path, RawCodec)
                .await?
                .into_inner();
            // A valid watch would stream on: its first answer (or refusal) is enough.
            match tokio::time::timeout(std::time::Duration::from_millis(300), stream.message())
                .await
            {
                Ok(next) => next.map(drop),
                Err(_) => Ok(()),
            }
        }
        (false, false) => grpc
            .unary(authed(caller, body), path, RawCodec)
            .await
            .map(drop),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_in_every_field_of_every_rpc_get_an_answer_the_caller_can_act_on() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &leadpool_e2e::example("p1-open-pool"),
    )
    .await;
    let descriptors = DescriptorPool::decode(leadpool_proto::FILE_DESCRIPTOR_SET).unwrap();
    let channels = [
        ("leadpool.v1.IntakeService", &cluster.intake),
        ("leadpool.v1.RoutingService", &cluster.routing),
        ("leadpool.v1.ClaimService", &cluster.claim),
        ("leadpool.v1.SchedulerService", &cluster.scheduler),
        ("leadpool.v1.EventService", &cluster.scheduler),
    ];
    // A lead alice holds, so calls on it reach the code behind the checks.
    let mut intake = cluster.intake().await;
    leadpool_e2e::submit(&mut intake, "held", 50).await;
    let lead = leadpool_e2e::claim_next(&mut cluster.claim().await, "alice", "all-leads")
        .await
        .unwrap()
        .name;
    let callers = [
        token("users/fuzz", &[Role::Admin, Role::Service, Role::Manager]),
        leadpool_e2e::rep("alice"),
    ];
    let mut calls = 0;
    for (service, running) in channels {
        let channel = leadpool_e2e::channel(running.addr).await;
        let service = descriptors.get_service_by_name(service).unwrap();
        for method in service.methods() {
            let base = baseline(&method, &method.input(), &lead, 2);
            for (path, hostile, message) in mutations(&base) {
                for caller in &callers {
                    let before = footprint(&cluster).await;
                    let body = Bytes::from(message.encode_to_vec());
                    let answer = call(&channel, &method, caller, body).await;
                    calls += 1;
                    let what = format!(
                        "{}/{} with {hostile:?} in {path}",
                        service.name(),
                        method.name()
                    );
                    if let Err(status) = &answer {
                        assert!(
                            !matches!(status.code(), Code::Internal | Code::Unknown),
                            "{what}: {status:?}"
                        );
                        assert!(
                            status.message().len() + status.details().len() < 8 * 1024,
                            "{what}: a status of {} bytes",
                            status.message().len() + status.details().len()
                        );
                        assert_eq!(
                            footprint(&cluster).await,
                            before,
                            "{what} wrote though refused"
                        );
                    }
                    // Bad text and times never reach a handler (a policy document may be long).
                    let text_refused = matches!(
                        hostile,
                        Hostile::Nul | Hostile::Escape | Hostile::FarTime | Hostile::HugeDuration
                    ) || (hostile == Hostile::LongText && path != "document");
                    if text_refused {
                        let code = answer.as_ref().err().map(tonic::Status::code);
                        assert_eq!(code, Some(Code::InvalidArgument), "{what}");
                    }
                }
            }
        }
    }
    assert!(
        calls > 400,
        "{calls} calls: every field of every method of every service"
    );
    for running in [
        &cluster.intake,
        &cluster.routing,
        &cluster.claim,
        &cluster.scheduler,
    ] {
        let mut health = tonic_health::pb::health_client::HealthClient::new(
            leadpool_e2e::channel(running.addr).await,
        );
        let status = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }
    cluster.stop().await;
}
