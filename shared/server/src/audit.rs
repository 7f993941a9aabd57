//! What the audit log records of a call: the caller, her roles and where the call came from.

use leadpool_auth::Identity;
use leadpool_domain::validation::excerpt;
use leadpool_domain::{AuditAction, AuditEntry};

/// The audit entry for `action` on `target`, made by the caller of `request`.
pub fn audit_entry<T>(
    request: &tonic::Request<T>,
    identity: &Identity,
    action: AuditAction,
    target: impl Into<String>,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        actor: identity.actor(),
        roles: identity
            .roles
            .iter()
            .map(|r| format!("{r:?}").to_lowercase())
            .collect(),
        origin: origin(request),
        action,
        target: target.into(),
        detail,
    }
}

/// The peer address, and what a proxy in front said in `x-forwarded-for` (quoted short: the
/// caller controls it).
fn origin<T>(request: &tonic::Request<T>) -> String {
    let peer = request
        .remote_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
    match request
        .metadata()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(forwarded) => format!("{peer} (forwarded for {})", excerpt(forwarded, 100)),
        None => peer,
    }
}
