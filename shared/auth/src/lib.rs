//! Who is calling. Every call carries a signed bearer token (JWT); one tower layer verifies it
//! (algorithm allowlist, issuer, audience, expiry) and hands handlers an [`Identity`].
//! Handlers never parse tokens.

mod identity;
mod jwks;
mod layer;
mod mapping;
mod token;

pub use identity::{Identity, Role, Subject};
pub use jwks::{Jwks, JwksSource};
pub use layer::{AuthLayer, AuthService};
pub use mapping::{ClaimMapping, RepDirectory, RepField, RepLookup};
pub use token::{Claims, ServiceCredentials, TokenError, TokenIssuer, TokenVerifier};
