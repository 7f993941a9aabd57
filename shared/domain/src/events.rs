//! The event stream platforms follow (issue 13): the types of its events, the cursor a client
//! keeps, and the rules of webhook delivery (which URLs, when to try again). Plain values: the
//! store reads the stream, the scheduler serves and delivers it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};

use crate::EventKind;

/// Events that are not a change of a lead.
pub const SERVICE_EVENT_TYPES: [&str; 3] = [POOL_ALERT_FIRED, POOL_ALERT_RESOLVED, POLICY_APPLIED];
/// A pool alert started (M7); subject `pools/{pool}/alerts/{kind}` (or a rep's quota alert).
pub const POOL_ALERT_FIRED: &str = "pool.alert.fired";
/// A pool alert stopped.
pub const POOL_ALERT_RESOLVED: &str = "pool.alert.resolved";
/// A policy version was applied; subject `policy`.
pub const POLICY_APPLIED: &str = "policy.applied";

/// Every event type a client may filter by: each lead history kind, then the service events.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    EventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .chain(SERVICE_EVENT_TYPES)
}

/// Whether `name` is an event type.
pub fn is_event_type(name: &str) -> bool {
    event_types().any(|t| t == name)
}

/// A position in the stream: after event `id` of epoch `epoch`. The stream is cut into epochs
/// by commit time (an epoch never gains an event once closed) and ordered by id within one, so
/// "everything after this cursor" cannot skip an event whose transaction committed late.
/// Clients see it as an opaque token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventCursor {
    pub epoch: i64,
    pub id: i64,
}

impl EventCursor {
    /// Before the first event.
    pub const START: EventCursor = EventCursor { epoch: 0, id: 0 };

    /// After every event of `epoch`.
    pub fn end_of(epoch: i64) -> Self {
        Self {
            epoch,
            id: i64::MAX,
        }
    }

    /// The token a client keeps; empty is the start of the stream.
    pub fn parse(token: &str) -> Option<Self> {
        if token.is_empty() {
            return Some(Self::START);
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        let (epoch, id) = text.strip_prefix("e")?.split_once('.')?;
        let cursor = Self {
            epoch: epoch.parse().ok()?,
            id: id.parse().ok()?,
        };
        (cursor.epoch >= 0 && cursor.id >= 0).then_some(cursor)
    }
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(format!("e{}.{}", self.epoch, self.id)))
    }
}

/// When a failing webhook delivery is tried again: exponential backoff with jitter, for a
/// limited period after its first failure; after that it is a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The delay after the first failure; it doubles with each further one…
    pub base_delay: Duration,
    /// …up to this.
    pub max_delay: Duration,
    /// How long after the first failure a delivery is still tried.
    pub period: Duration,
}

impl RetrySchedule {
    /// The next attempt after `failures` failed ones (the latest at `now`, the first at
    /// `first_failed_at`): the delay doubled per failure, capped, times a jitter between 0.5
    /// and 1.5 (`jitter` in 0..=1) so that receivers coming back are not hit all at once.
    /// `None`: the retry period would be over — a dead letter.
    pub fn next_attempt(
        &self,
        failures: u32,
        first_failed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let doublings = failures.saturating_sub(1).min(40);
        let delay = self
            .base_delay
            .checked_mul(1 << doublings.min(30))
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jittered = delay.num_milliseconds() as f64 * (0.5 + jitter.clamp(0.0, 1.0));
        let at = now + Duration::milliseconds(jittered as i64);
        (at <= first_failed_at + self.period).then_some(at)
    }
}

/// Where webhooks may go: https, or plain http to this machine for development. `Err` says why
/// not, for a field violation.
pub fn check_webhook_url(url: &str) -> Result<(), &'static str> {
    const MAX_LEN: usize = 2048;
    if url.len() > MAX_LEN {
        return Err("is longer than 2048 bytes");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("is not a URL: it needs a scheme, e.g. https://crm.example.com/hooks");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has no valid host");
    }
    let local = matches!(host, "localhost" | "127.0.0.1" | "::1");
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        _ => Err("must be an https URL (plain http only to localhost, for development)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let cursor = EventCursor { epoch: 42, id: 7 };
        assert_eq!(EventCursor::parse(&cursor.to_string()), Some(cursor));
        assert_eq!(EventCursor::parse(""), Some(EventCursor::START));
        let end = EventCursor::end_of(3);
        assert_eq!(EventCursor::parse(&end.to_string()), Some(end));
        assert!(
            end > EventCursor {
                epoch: 3,
                id: 1 << 40
            }
        );
        assert!(end < EventCursor { epoch: 4, id: 0 });
        for bad in ["not-a-cursor", "e1.2", &URL_SAFE_NO_PAD.encode("e-1.2")] {
            assert_eq!(EventCursor::parse(bad), None, "{bad}");
        }
        assert_eq!(EventCursor::parse(&URL_SAFE_NO_PAD.encode("e1")), None);
    }

    #[test]
    fn every_history_kind_and_service_event_is_a_type() {
        assert!(is_event_type("lead.claimed"));
        assert!(is_event_type("lead.contact_due_soon"));
        assert!(is_event_type(POOL_ALERT_FIRED) && is_event_type(POLICY_APPLIED));
        assert!(!is_event_type("lead.teleported"));
        assert_eq!(event_types().count(), EventKind::ALL.len() + 3);
    }

    #[test]
    fn retries_double_with_jitter_up_to_the_cap_until_the_period_ends() {
        let schedule = RetrySchedule {
            base_delay: Duration::seconds(2),
            max_delay: Duration::hours(1),
            period: Duration::hours(24),
        };
        let t0 = DateTime::from_timestamp(0, 0).unwrap();
        let at = |failures, now, jitter| schedule.next_attempt(failures, t0, now, jitter);
        assert_eq!(at(1, t0, 0.5), Some(t0 + Duration::seconds(2)));
        assert_eq!(at(2, t0, 0.5), Some(t0 + Duration::seconds(4)));
        assert_eq!(at(3, t0, 0.5), Some(t0 + Duration::seconds(8)));
        assert_eq!(
            at(3, t0, 0.0),
            Some(t0 + Duration::seconds(4)),
            "jitter ×0.5"
        );
        assert_eq!(
            at(3, t0, 1.0),
            Some(t0 + Duration::seconds(12)),
            "jitter ×1.5"
        );
        assert_eq!(at(30, t0, 0.5), Some(t0 + Duration::hours(1)), "capped");
        assert_eq!(
            at(u32::MAX, t0, 0.5),
            Some(t0 + Duration::hours(1)),
            "no overflow"
        );
        let late = t0 + Duration::hours(23) + Duration::minutes(30);
        assert_eq!(
            at(30, late, 0.5),
            None,
            "past the retry period: a dead letter"
        );
    }

    #[test]
    fn webhook_urls_are_https_or_local_http() {
        for ok in [
            "https://crm.example.com/hooks",
            "HTTPS://crm.example.com:8443/x?y=1",
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]:9000/",
        ] {
            assert_eq!(check_webhook_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://crm.example.com/hooks",
            "http://localhost.evil.com/",
            "http://127.0.0.1@evil.com/",
            "ftp://crm.example.com",
            "crm.example.com",
            "https:///path",
            "https://exa mple.com/",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
        assert!(check_webhook_url(&format!("https://x.com/{}", "a".repeat(3000))).is_err());
    }
}
