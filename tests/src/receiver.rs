//! A webhook receiver for tests: a real HTTP server on a free port that verifies every request's
//! Standard Webhooks signature on its own (HMAC-SHA256 over `id.timestamp.body`, not the
//! scheduler's code) and keeps what it accepted. It can refuse (503) or hold requests open, to
//! play a failing or hanging endpoint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{Notify, watch};

/// One request the receiver accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`: the event's id.
    pub id: String,
    /// `webhook-timestamp`: when it was sent, by the sender's clock.
    pub timestamp: i64,
    pub event_type: String,
    pub subject: String,
    pub data: serde_json::Value,
    pub traceparent: Option<String>,
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// 503 to everything.
    Refuse,
    /// Accepts this many more, then holds every further request open until `release`.
    HoldAfter(usize),
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    mode: Option<Mode>,
    accepted: Vec<Received>,
    refused: usize,
    held: usize,
    bad_signatures: usize,
}

pub struct WebhookReceiver {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    release: Arc<Notify>,
    changed: watch::Receiver<usize>,
    stop: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    release: Arc<Notify>,
    changed: Arc<watch::Sender<usize>>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let release = Arc::new(Notify::new());
        let (changed_tx, changed) = watch::channel(0);
        let shared = Shared {
            inner: inner.clone(),
            release: release.clone(),
            changed: Arc::new(changed_tx),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared);
        let stop = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            inner,
            release,
            changed,
            stop,
        }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The subscription's secret, to verify signatures with.
    pub fn set_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secret = Some(secret.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = Some(mode);
    }

    /// Lets every held request go (it is answered 503: its sender may be gone).
    pub fn release(&self) {
        self.release.notify_waiters();
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.inner.lock().unwrap().accepted.clone()
    }

    pub fn refused(&self) -> usize {
        self.inner.lock().unwrap().refused
    }

    pub fn held(&self) -> usize {
        self.inner.lock().unwrap().held
    }

    pub fn bad_signatures(&self) -> usize {
        self.inner.lock().unwrap().bad_signatures
    }

    /// Waits until `condition` holds of the receiver, checked after every request it sees.
    pub async fn wait_until(
        &self,
        timeout: std::time::Duration,
        what: &str,
        condition: impl Fn(&Self) -> bool,
    ) {
        let mut changed = self.changed.clone();
        let waited = tokio::time::timeout(timeout, async {
            while !condition(self) {
                changed.changed().await.unwrap();
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting until {what}");
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop.abort();
    }
}

/// The Standard Webhooks signature of `id.timestamp.body` under `secret` (`whsec_` + base64).
fn sign(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = decide(&shared, &headers, &body);
    let status = match answer {
        Some(status) => status,
        None => {
            shared.release.notified().await;
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    shared.changed.send_modify(|n| *n += 1);
    status
}

/// The answer to a request, or `None` to hold it.
fn decide(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Option<StatusCode> {
    let mut inner = shared.inner.lock().unwrap();
    let (id, timestamp) = (
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp"),
    );
    // The header may list several signatures (key rotation); one must match.
    let expected = inner
        .secret
        .as_deref()
        .map(|secret| sign(secret, &id, &timestamp, body));
    let signed = header(headers, "webhook-signature")
        .split(' ')
        .any(|given| Some(given) == expected.as_deref());
    if !signed {
        inner.bad_signatures += 1;
        shared.changed.send_modify(|n| *n += 1);
        return Some(StatusCode::UNAUTHORIZED);
    }
    match inner.mode.unwrap_or(Mode::Accept) {
        Mode::Refuse => {
            inner.refused += 1;
            return Some(StatusCode::SERVICE_UNAVAILABLE);
        }
        Mode::HoldAfter(0) => {
            inner.held += 1;
            shared.changed.send_modify(|n| *n += 1);
            return None;
        }
        Mode::HoldAfter(n) => inner.mode = Some(Mode::HoldAfter(n - 1)),
        Mode::Accept => {}
    }
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
    inner.accepted.push(Received {
        id,
        timestamp: timestamp.parse().unwrap(),
        event_type: text("type"),
        subject: text("subject"),
        data: event["data"].clone(),
        traceparent: headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    Some(StatusCode::NO_CONTENT)
}
