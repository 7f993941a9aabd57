//! What a webhook request carries: the event as a CloudEvent (JSON, structured mode) and its
//! Standard Webhooks signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use leadpool_store::StreamEvent;
use sha2::Sha256;
use uuid::Uuid;

/// The event's stable id, in the stream and in webhooks (`webhook-id`).
pub fn event_id(event: &StreamEvent) -> String {
    format!("evt_{}", event.id)
}

/// The CloudEvent for `event` from `source`; a traced change carries its `traceparent`
/// (the CloudEvents distributed-tracing extension).
pub fn cloud_event(event: &StreamEvent, source: &str) -> serde_json::Value {
    let mut body = serde_json::json!({
        "specversion": "1.0",
        "id": event_id(event),
        "source": source,
        "type": event.event_type,
        "subject": event.subject,
        "time": event.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "datacontenttype": "application/json",
        "data": event.data,
    });
    if let Some(traceparent) = &event.traceparent {
        body["traceparent"] = traceparent.clone().into();
    }
    body
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// keyed with the secret's bytes (`whsec_` and their base64). `None` for a secret that is not
/// of that form (none this service made).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: Vec<u8> = [Uuid::new_v4(), Uuid::new_v4()]
        .iter()
        .flat_map(|u| *u.as_bytes())
        .collect();
    format!("whsec_{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        assert_eq!(
            signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            )
            .as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(signature("not-a-secret", "id", 1, b"{}"), None);
    }

    #[test]
    fn secrets_are_random_and_sign() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_"));
        assert!(signature(&a, "id", 1, b"{}").is_some());
    }
}
