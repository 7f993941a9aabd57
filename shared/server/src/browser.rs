//! What browsers need beyond gRPC-web itself: CORS, for front ends served from another origin
//! than the API. The console, and any app served behind the same proxy or Ingress as the API,
//! needs none, so by default no cross-origin call is allowed.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The request headers a gRPC-web client sends.
const REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "traceparent",
];
/// The response headers it must read: the call's status and its details.
const RESPONSE_HEADERS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// The CORS layer allowing exactly `origins` (`https://crm.example.com`), or `None` when no
/// origin is allowed; an origin that is not a scheme and host (and port) is an error.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|origin| parse_origin(origin))
        .collect::<Result<Vec<_>, _>>()?;
    let header = |name: &&'static str| HeaderName::from_static(name);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST, Method::OPTIONS])
            .allow_headers(REQUEST_HEADERS.iter().map(header).collect::<Vec<_>>())
            .expose_headers(RESPONSE_HEADERS.iter().map(header).collect::<Vec<_>>())
            .max_age(Duration::from_secs(24 * 3600)),
    ))
}

fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ', '*']) => {
            HeaderValue::from_str(origin).map_err(|_| format!("`{origin}` is not a valid origin"))
        }
        _ => Err(format!(
            "`{origin}` is not an origin: give scheme and host (and port), e.g. https://crm.example.com"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert!(cors(&[]).unwrap().is_none());
        assert!(
            cors(&[
                "https://crm.example.com".into(),
                "http://localhost:5173".into()
            ])
            .unwrap()
            .is_some()
        );
        for bad in [
            "crm.example.com",
            "https://crm.example.com/app",
            "*",
            "https://",
            "ftp://x",
        ] {
            assert!(cors(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
