//! Page sizes and opaque page tokens (AIP-158). A token is base64 JSON that names what it pages
//! through, so a token from one listing is refused by another instead of paging wrongly.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leadpool_domain::FieldViolation;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The page size to use: 0 means `default`; above `max` is lowered to `max`; negative is an error.
pub fn page_size(requested: i32, default: i64, max: i64) -> Result<i64, FieldViolation> {
    match requested {
        n if n < 0 => Err(FieldViolation::new(
            "page_size",
            format!("{n} is negative; use 0 for the default or 1 to {max}"),
        )),
        0 => Ok(default),
        n => Ok(i64::from(n).min(max)),
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    /// What the token pages through, e.g. `pools/west:priority`.
    scope: String,
    position: T,
}

/// A scope for a listing whose filters are `filters` (e.g. the request with its page fields
/// cleared, encoded): a token is good only for the same filters.
pub fn filtered_scope(listing: &str, filters: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(filters);
    format!("{listing}:{}", hex::encode(&digest[..12]))
}

pub fn encode<T: Serialize>(scope: &str, position: T) -> String {
    let json = serde_json::to_vec(&Envelope {
        scope: scope.to_owned(),
        position,
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Reads a page token; `None` for the first page.
pub fn decode<T: DeserializeOwned>(token: &str, scope: &str) -> Result<Option<T>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        FieldViolation::new(
            "page_token",
            "is not a token from a previous response to this same request; start again without it",
        )
    };
    let json = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let envelope: Envelope<T> = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if envelope.scope != scope {
        return Err(invalid());
    }
    Ok(Some(envelope.position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_within_their_scope_only() {
        let token = encode("pools/west:priority", 42_i64);
        assert_eq!(
            decode::<i64>(&token, "pools/west:priority").unwrap(),
            Some(42)
        );
        assert!(decode::<i64>(&token, "pools/east:priority").is_err());
        assert!(decode::<i64>("garbage!", "pools/west:priority").is_err());
        assert_eq!(decode::<i64>("", "anything").unwrap(), None);
    }

    #[test]
    fn filtered_scopes_differ_with_their_filters() {
        assert_eq!(
            filtered_scope("leads", b"state=escalated"),
            filtered_scope("leads", b"state=escalated")
        );
        assert_ne!(
            filtered_scope("leads", b"state=escalated"),
            filtered_scope("leads", b"state=available")
        );
    }

    #[test]
    fn page_sizes_default_cap_and_refuse_negatives() {
        assert_eq!(page_size(0, 50, 500).unwrap(), 50);
        assert_eq!(page_size(10_000, 50, 500).unwrap(), 500);
        assert_eq!(page_size(7, 50, 500).unwrap(), 7);
        assert_eq!(page_size(-1, 50, 500).unwrap_err().field, "page_size");
    }
}
