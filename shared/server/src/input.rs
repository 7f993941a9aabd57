//! One check at the proto → domain boundary for every request: before a handler runs, the
//! request message is decoded against its descriptor and every string and time value in it —
//! at any depth, in lists and maps — is held to the same rules:
//!
//! - text holds no control characters but tab, line feed and carriage return (Postgres refuses
//!   NUL, and no name, reason or note needs the others), and is at most [`TEXT_LIMIT`]
//!   characters ([`DOCUMENT_LIMIT`] for a policy document);
//! - a `Timestamp` lies in years 1–9999 with valid nanos; a `Duration` in ±10,000 years with
//!   nanos of its own sign;
//! - the bytes are a well-formed message of the method's input type.
//!
//! A request that breaks any of them is answered `INVALID_ARGUMENT` with a field violation per
//! problem (the field's path, e.g. `leads[3].contact.email`), and the handler never sees it.
//! Client-streaming calls (ImportLeads) check each message in their handler instead, so one bad
//! row is rejected without failing the others.

use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::future::{BoxFuture, FutureExt as _};
use http_body_util::{BodyExt as _, Full, Limited};
use leadpool_domain::{Error, FieldViolation};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, MapKey, MessageDescriptor, ReflectMessage,
    Value,
};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::error::to_status;

/// The longest text any field takes, in characters.
pub const TEXT_LIMIT: usize = 4096;
/// The longest policy document, in characters.
pub const DOCUMENT_LIMIT: usize = 1 << 20;
/// Fields that carry a whole document.
const DOCUMENTS: [&str; 1] = ["leadpool.v1.ApplyPolicyRequest.document"];
/// At most this many violations are reported for one request.
const MAX_VIOLATIONS: usize = 20;

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
pub(crate) const MIN_SECONDS: i64 = -62_135_596_800;
pub(crate) const MAX_SECONDS: i64 = 253_402_300_799;
/// 10,000 years, the protobuf Duration's range.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

static DESCRIPTORS: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(leadpool_proto::FILE_DESCRIPTOR_SET).ok());

/// Every problem in `message`, with field paths, at most [`MAX_VIOLATIONS`].
pub fn violations(message: &DynamicMessage) -> Vec<FieldViolation> {
    let mut out = Vec::new();
    walk(message, "", &mut out);
    out.truncate(MAX_VIOLATIONS);
    out
}

/// Checks a request of the API method `path` (`/leadpool.v1.ClaimService/ClaimNext`) given as
/// its encoded message; `None` for an unknown method.
pub fn check_request(path: &str, message: &[u8]) -> Option<Result<(), Vec<FieldViolation>>> {
    let input = input_of(path)?.0;
    Some(decode_and_check(&input, message))
}

fn decode_and_check(input: &MessageDescriptor, message: &[u8]) -> Result<(), Vec<FieldViolation>> {
    let message = DynamicMessage::decode(input.clone(), message).map_err(|err| {
        vec![FieldViolation::new(
            "",
            format!("is not a valid {} message: {err}", input.full_name()),
        )]
    })?;
    let found = violations(&message);
    if found.is_empty() { Ok(()) } else { Err(found) }
}

/// The input type of a Leadpool API method, and whether the client streams it.
fn input_of(path: &str) -> Option<(MessageDescriptor, bool)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    if !service.starts_with("leadpool.") {
        return None;
    }
    let service = DESCRIPTORS.as_ref()?.get_service_by_name(service)?;
    let method = service.methods().find(|m| m.name() == method)?;
    Some((method.input(), method.is_client_streaming()))
}

fn walk(message: &DynamicMessage, path: &str, out: &mut Vec<FieldViolation>) {
    match message.descriptor().full_name() {
        "google.protobuf.Timestamp" => return check_timestamp(message, path, out),
        "google.protobuf.Duration" => return check_duration(message, path, out),
        _ => {}
    }
    for (field, value) in message.fields() {
        let at = if path.is_empty() {
            field.name().to_owned()
        } else {
            format!("{path}.{}", field.name())
        };
        check_value(&field, value, &at, out);
    }
}

fn check_value(field: &FieldDescriptor, value: &Value, path: &str, out: &mut Vec<FieldViolation>) {
    if out.len() >= MAX_VIOLATIONS {
        return;
    }
    match value {
        Value::String(text) => check_text(field, text, path, out),
        Value::Message(message) => walk(message, path, out),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                check_value(field, item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Map(entries) => {
            for (key, item) in entries {
                let key = match key {
                    MapKey::String(key) => {
                        check_text(field, key, &format!("{path} (a key)"), out);
                        leadpool_domain::validation::excerpt(key, 32)
                    }
                    other => format!("{other:?}"),
                };
                check_value(field, item, &format!("{path}[{key}]"), out);
            }
        }
        _ => {}
    }
}

fn check_text(field: &FieldDescriptor, text: &str, path: &str, out: &mut Vec<FieldViolation>) {
    let limit = if DOCUMENTS.contains(&field.full_name()) {
        DOCUMENT_LIMIT
    } else {
        TEXT_LIMIT
    };
    if let Some(problem) = leadpool_domain::validation::control_character(text) {
        out.push(FieldViolation::new(path, problem));
    }
    // Counting stops just past the limit, so a huge value costs no more than a long one.
    if text.chars().take(limit + 1).count() > limit {
        out.push(FieldViolation::new(
            path,
            format!("is longer than {limit} characters"),
        ));
    }
}

fn int(message: &DynamicMessage, name: &str) -> i64 {
    match message.get_field_by_name(name).as_deref() {
        Some(Value::I64(v)) => *v,
        Some(Value::I32(v)) => i64::from(*v),
        _ => 0,
    }
}

fn check_timestamp(message: &DynamicMessage, path: &str, out: &mut Vec<FieldViolation>) {
    let (seconds, nanos) = (int(message, "seconds"), int(message, "nanos"));
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
        out.push(FieldViolation::new(
            path,
            "is not a time between 0001-01-01 and 9999-12-31 (seconds since 1970, nanos 0–999,999,999)",
        ));
    }
}

fn check_duration(message: &DynamicMessage, path: &str, out: &mut Vec<FieldViolation>) {
    let (seconds, nanos) = (int(message, "seconds"), int(message, "nanos"));
    let same_sign = seconds == 0 || nanos == 0 || (seconds > 0) == (nanos > 0);
    let in_range = (-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&seconds)
        && (-999_999_999..=999_999_999).contains(&nanos);
    if !in_range || !same_sign {
        out.push(FieldViolation::new(
            path,
            "is not a duration within ±10,000 years (nanos below one second, of the seconds' sign)",
        ));
    }
}

/// The layer that runs [`check_request`] on every unary and server-streaming call.
#[derive(Debug, Clone)]
pub struct InputCheckLayer {
    /// The largest request accepted, in bytes.
    max_message: usize,
}

impl InputCheckLayer {
    pub fn new(max_message: usize) -> Self {
        Self { max_message }
    }
}

impl<S> Layer<S> for InputCheckLayer {
    type Service = InputCheck<S>;
    fn layer(&self, inner: S) -> Self::Service {
        InputCheck {
            inner,
            max_message: self.max_message,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InputCheck<S> {
    inner: S,
    max_message: usize,
}

impl<S> Service<http::Request<Body>> for InputCheck<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let input = match input_of(request.uri().path()) {
            Some((input, false)) => input,
            // Other services, and client streams (checked per message by their handlers).
            _ => return self.inner.call(request).boxed(),
        };
        // The ready service goes with this call; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let max_message = self.max_message;
        async move {
            let (parts, body) = request.into_parts();
            let bytes = match Limited::new(body, max_message + 5).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err) => return Ok(refuse(too_large_or_broken(&*err, max_message))),
            };
            if let Err(violations) = check_frame(&input, bytes.clone()) {
                return Ok(refuse(Error::InvalidArgument(violations)));
            }
            let request = http::Request::from_parts(parts, Body::new(Full::new(bytes)));
            inner.call(request).await
        }
        .boxed()
    }
}

/// A gRPC request body: one length-prefixed message. Compressed messages are left to the
/// server, which refuses them (no compression is enabled).
fn check_frame(input: &MessageDescriptor, mut body: Bytes) -> Result<(), Vec<FieldViolation>> {
    let malformed = || {
        vec![FieldViolation::new(
            "",
            "is not a length-prefixed gRPC message",
        )]
    };
    if body.len() < 5 {
        return Err(malformed());
    }
    let compressed = body.get_u8() == 1;
    let length = body.get_u32() as usize;
    if length != body.len() {
        return Err(malformed());
    }
    if compressed {
        return Ok(());
    }
    decode_and_check(input, &body)
}

fn too_large_or_broken(err: &(dyn std::error::Error + Send + Sync + 'static), max: usize) -> Error {
    if err.is::<http_body_util::LengthLimitError>() {
        Error::InvalidArgument(vec![FieldViolation::new(
            "",
            format!("the request is larger than {max} bytes"),
        )])
    } else {
        Error::Unavailable {
            dependency: "the request body",
            message: err.to_string(),
        }
    }
}

fn refuse(err: Error) -> http::Response<Body> {
    to_status(err).into_http()
}

#[cfg(test)]
mod tests {
    use leadpool_proto::v1;
    use prost::Message;

    use super::*;

    fn fields(path: &str, request: &impl Message) -> Vec<(String, String)> {
        match check_request(path, &request.encode_to_vec()) {
            Some(Err(violations)) => violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect(),
            Some(Ok(())) => Vec::new(),
            None => panic!("{path} is not a Leadpool method"),
        }
    }

    fn paths(path: &str, request: &impl Message) -> Vec<String> {
        fields(path, request).into_iter().map(|(f, _)| f).collect()
    }

    const SUBMIT: &str = "/leadpool.v1.IntakeService/SubmitLead";

    #[test]
    fn control_characters_are_refused_at_any_depth_with_their_path() {
        let mut request = leadpool_testing_lead();
        request.contact.as_mut().unwrap().email = "ada\0@example.com".into();
        request
            .attributes
            .insert("utm".into(), "a\u{1b}[31m".into());
        request.source = "web\tform\nline".into();
        let found = fields(SUBMIT, &request);
        assert_eq!(
            found.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            ["contact.email", "attributes[utm]"]
        );
        assert!(
            found[0].1.contains("U+0000 at character 4"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn text_is_capped_but_a_policy_document_may_be_long() {
        let mut request = leadpool_testing_lead();
        request.idempotency_key = "k".repeat(TEXT_LIMIT + 1);
        assert_eq!(paths(SUBMIT, &request), ["idempotency_key"]);
        request.idempotency_key = "k".repeat(TEXT_LIMIT);
        assert!(paths(SUBMIT, &request).is_empty());
        let policy = v1::ApplyPolicyRequest {
            document: "#".repeat(100_000),
            ..Default::default()
        };
        assert!(paths("/leadpool.v1.RoutingService/ApplyPolicy", &policy).is_empty());
    }

    #[test]
    fn times_must_be_representable() {
        let run = |seconds, nanos| v1::RunJobRequest {
            name: "jobs/aging".into(),
            as_of: Some(prost_types::Timestamp { seconds, nanos }),
        };
        let job = "/leadpool.v1.SchedulerService/RunJob";
        assert_eq!(paths(job, &run(i64::MAX, 0)), ["as_of"]);
        assert_eq!(paths(job, &run(MIN_SECONDS - 1, 0)), ["as_of"]);
        assert_eq!(paths(job, &run(0, -1)), ["as_of"]);
        assert!(paths(job, &run(MAX_SECONDS, 999_999_999)).is_empty());
        let pool = |seconds, nanos| v1::CreatePoolRequest {
            pool_id: "west".into(),
            contact_sla: Some(prost_types::Duration { seconds, nanos }),
            ..Default::default()
        };
        let create = "/leadpool.v1.RoutingService/CreatePool";
        assert_eq!(paths(create, &pool(i64::MAX, 0)), ["contact_sla"]);
        assert_eq!(paths(create, &pool(1, -5)), ["contact_sla"], "mixed signs");
        assert_eq!(paths(create, &pool(i64::MIN, 0)), ["contact_sla"]);
        assert!(paths(create, &pool(3600, 0)).is_empty());
    }

    #[test]
    fn bytes_that_are_no_message_are_invalid_and_other_services_are_not_ours() {
        let broken = check_request(SUBMIT, &[0xff, 0xff, 0xff])
            .unwrap()
            .unwrap_err();
        assert!(
            broken[0]
                .description
                .starts_with("is not a valid leadpool.v1.SubmitLeadRequest")
        );
        assert!(check_request("/grpc.health.v1.Health/Check", &[]).is_none());
        assert!(check_request("/leadpool.v1.IntakeService/Nothing", &[]).is_none());
    }

    proptest::proptest! {
        /// Whatever bytes arrive for whatever method: an answer, never a panic.
        #[test]
        fn any_bytes_for_any_method_are_checked_without_panicking(
            method in proptest::sample::select(methods()),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        ) {
            proptest::prop_assert!(check_request(&method, &bytes).is_some());
        }

        /// A lead with any text in it passes only with no control character and no overlong
        /// field, and then NewLead reads it without hitting either.
        #[test]
        fn text_passes_only_when_it_holds_no_control_character(
            name in "\\PC{0,20}|.{0,20}",
            source in proptest::string::string_regex("[\\x00-\\x7f]{0,12}").unwrap(),
        ) {
            let mut request = leadpool_testing_lead();
            request.contact.as_mut().unwrap().name = name.clone();
            request.source = source.clone();
            let passed = paths(SUBMIT, &request).is_empty();
            let clean = |t: &str| !t.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
            proptest::prop_assert_eq!(passed, clean(&name) && clean(&source));
        }
    }

    /// Every Leadpool API method's path.
    fn methods() -> Vec<String> {
        let pool = DESCRIPTORS.as_ref().unwrap();
        pool.services()
            .filter(|s| s.full_name().starts_with("leadpool."))
            .flat_map(|s| {
                s.methods()
                    .map(|m| format!("/{}/{}", s.full_name(), m.name()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn leadpool_testing_lead() -> v1::SubmitLeadRequest {
        v1::SubmitLeadRequest {
            idempotency_key: "k1".into(),
            contact: Some(v1::Contact {
                email: "ada@example.com".into(),
                ..Default::default()
            }),
            score: 50,
            ..Default::default()
        }
    }
}
