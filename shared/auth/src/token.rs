//! Issuing and verifying tokens.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use leadpool_config::AuthConfig;
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, Role};
use crate::jwks::{Jwks, JwksSource};
use crate::mapping::{ClaimMapping, RepLookup};

/// The claims Leadpool reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    #[serde(default)]
    pub roles: BTreeSet<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not accepted")]
    Issuer,
    #[error("the token's audience does not include this service")]
    Audience,
    #[error("the token's signing algorithm is not allowed")]
    Algorithm,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    #[error("the token's `{0}` claim does not name a rep")]
    BadClaim(String),
    #[error("the token has no roles; a token must grant at least one")]
    NoRoles,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is signed with key `{0}`, which the identity provider does not list")]
    UnknownKey(String),
    #[error("key configuration: {0}")]
    Key(String),
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        match err.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::Issuer,
            ErrorKind::InvalidAudience => Self::Audience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Self::Algorithm,
            ErrorKind::InvalidSignature => Self::Signature,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            _ => Self::Malformed,
        }
    }
}

/// Verifies tokens against the configured keys and rules.
#[derive(Clone)]
pub struct TokenVerifier {
    /// One per accepted algorithm: a validation may only name algorithms of its key's family.
    validations: Vec<(Algorithm, Validation)>,
    hmac_key: Option<DecodingKey>,
    public_key: Option<DecodingKey>,
    /// The identity provider's keys, by `kid`.
    jwks: Option<Arc<Jwks>>,
    jwks_refresh: Duration,
    /// How the identity provider's tokens name people and roles.
    mapping: ClaimMapping,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field(
                "algorithms",
                &self.validations.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn from_config(config: &AuthConfig) -> Result<Self, TokenError> {
        let algorithms = config
            .algorithms
            .iter()
            .map(|name| {
                Algorithm::from_str(name).map_err(|_| {
                    TokenError::Key(format!("auth.algorithms: unknown algorithm `{name}`"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() {
            return Err(TokenError::Key("auth.algorithms is empty".into()));
        }
        let validations = algorithms
            .iter()
            .map(|alg| {
                let mut validation = Validation::new(*alg);
                validation.set_issuer(&[&config.issuer]);
                validation.set_audience(&[&config.audience]);
                // `sub` is required of Leadpool's own tokens; a provider's names the person in
                // the claim the mapping says.
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
                validation.leeway = config.leeway.as_secs();
                // A token not valid yet is refused like an expired one.
                validation.validate_nbf = true;
                (*alg, validation)
            })
            .collect();
        let hmac_key = config
            .hs256_secret
            .as_ref()
            .map(|secret| DecodingKey::from_secret(secret.expose().as_bytes()));
        let public_key = match &config.public_key_file {
            Some(path) => Some(load_public_key(path, &algorithms)?),
            None => None,
        };
        let source = match (&config.jwks_url, &config.jwks_file) {
            _ if config.discovery => Some(JwksSource::Discovery(config.issuer.clone())),
            (Some(url), _) => Some(JwksSource::Url(url.clone())),
            (None, Some(path)) => Some(JwksSource::File(path.clone())),
            (None, None) => None,
        };
        let jwks = source
            .map(|source| Jwks::new(source, algorithms.clone(), config.jwks_refetch_after))
            .transpose()?
            .map(Arc::new);
        Ok(Self {
            validations,
            hmac_key,
            public_key,
            jwks,
            jwks_refresh: config.jwks_refresh,
            mapping: ClaimMapping::from_config(&config.claims),
        })
    }

    /// The identity provider's key set, if tokens are verified against one.
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    /// Starts reading the key set on its schedule (call once, inside the runtime).
    pub fn start_key_refresh(&self) {
        if let Some(jwks) = &self.jwks {
            jwks.refresh_every(self.jwks_refresh);
        }
    }

    /// Verifies `token` with the keys known now; [`TokenError::UnknownKey`] when it names a key
    /// the identity provider's set does not have (yet). A person the provider names by email or
    /// login is `users/{value}` here; [`Self::verify_mapped`] also says which rep to look for.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        self.verify_mapped(token).map(|(identity, _)| identity)
    }

    /// [`Self::verify`], and the rep to look for when the provider names the person by email or
    /// login.
    pub fn verify_mapped(&self, token: &str) -> Result<(Identity, Option<RepLookup>), TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let Some((_, validation)) = self.validations.iter().find(|(a, _)| *a == header.alg) else {
            return Err(TokenError::Algorithm);
        };
        let from_jwks;
        let key = match (&header.kid, &self.jwks) {
            _ if is_hmac(header.alg) => self.hmac_key.as_ref(),
            (Some(kid), Some(jwks)) => {
                let (key, alg) = jwks
                    .key(kid)
                    .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
                // The key says which algorithm it signs with; a token claiming another is refused.
                if alg != header.alg {
                    return Err(TokenError::Algorithm);
                }
                from_jwks = key;
                Some(&from_jwks)
            }
            _ => self.public_key.as_ref(),
        }
        .ok_or(TokenError::Algorithm)?;
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token, key, validation,
        )?
        .claims;
        // Tokens signed with the shared secret are Leadpool's own; the others the provider's.
        if is_hmac(header.alg) {
            ClaimMapping::native().read(&claims)
        } else {
            self.mapping.read(&claims)
        }
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn load_public_key(path: &PathBuf, algorithms: &[Algorithm]) -> Result<DecodingKey, TokenError> {
    let pem = std::fs::read(path)
        .map_err(|e| TokenError::Key(format!("auth.public_key_file {}: {e}", path.display())))?;
    let alg = algorithms
        .iter()
        .copied()
        .find(|a| !is_hmac(*a))
        .ok_or_else(|| {
            TokenError::Key(
                "auth.public_key_file is set but no public-key algorithm is allowed".into(),
            )
        })?;
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    };
    key.map_err(|e| TokenError::Key(format!("auth.public_key_file {}: {e}", path.display())))
}

/// Mints HS256 tokens: development tokens, tests, and a service's own identity when the
/// deployment uses a shared secret.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    pub fn from_config(config: &AuthConfig) -> Option<Self> {
        config.hs256_secret.as_ref().map(|secret| Self {
            key: EncodingKey::from_secret(secret.expose().as_bytes()),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    pub fn claims(&self, sub: &str, roles: &[Role], ttl: Duration) -> Claims {
        let now = unix_now();
        Claims {
            sub: sub.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            iat: now,
            roles: roles.iter().copied().collect(),
            team: None,
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
            .map_err(|e| TokenError::Key(e.to_string()))
    }

    pub fn mint(&self, sub: &str, roles: &[Role], ttl: Duration) -> Result<String, TokenError> {
        self.sign(&self.claims(sub, roles, ttl))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How a service authenticates its own calls to other services.
pub enum ServiceCredentials {
    /// Reads the token from a mounted secret file, re-reading it when the cached copy is old.
    File {
        path: PathBuf,
        cached: Mutex<Option<(String, SystemTime)>>,
    },
    /// Mints its own short-lived token with the shared secret.
    Minted {
        issuer: TokenIssuer,
        subject: String,
        cached: Mutex<Option<(String, u64)>>,
    },
}

const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(3600);
const REFRESH_BEFORE_EXPIRY: u64 = 300;
const FILE_REREAD_AFTER: Duration = Duration::from_secs(60);

impl ServiceCredentials {
    /// Credentials for service `name` (e.g. "intake"), as `services/{name}` with the service role.
    pub fn from_config(config: &AuthConfig, name: &str) -> Result<Self, TokenError> {
        if let Some(path) = &config.service_token_file {
            return Ok(Self::File {
                path: path.clone(),
                cached: Mutex::new(None),
            });
        }
        let issuer = TokenIssuer::from_config(config).ok_or_else(|| {
            TokenError::Key(
                "set auth.service_token_file or auth.hs256_secret so this service can call others"
                    .into(),
            )
        })?;
        Ok(Self::Minted {
            issuer,
            subject: format!("services/{name}"),
            cached: Mutex::new(None),
        })
    }

    /// The bearer token to send now.
    pub fn token(&self) -> Result<String, TokenError> {
        match self {
            Self::File { path, cached } => {
                let mut cached = cached
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some((token, read_at)) = cached.as_ref()
                    && read_at.elapsed().is_ok_and(|age| age < FILE_REREAD_AFTER)
                {
                    return Ok(token.clone());
                }
                let token = std::fs::read_to_string(path)
                    .map_err(|e| {
                        TokenError::Key(format!("auth.service_token_file {}: {e}", path.display()))
                    })?
                    .trim()
                    .to_owned();
                *cached = Some((token.clone(), SystemTime::now()));
                Ok(token)
            }
            Self::Minted {
                issuer,
                subject,
                cached,
            } => {
                let mut cached = cached
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some((token, exp)) = cached.as_ref()
                    && unix_now() + REFRESH_BEFORE_EXPIRY < *exp
                {
                    return Ok(token.clone());
                }
                let claims = issuer.claims(subject, &[Role::Service], SERVICE_TOKEN_TTL);
                let token = issuer.sign(&claims)?;
                *cached = Some((token.clone(), claims.exp));
                Ok(token)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadpool_config::Secret;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig {
            hs256_secret: Some(Secret::new(SECRET)),
            ..AuthConfig::default()
        }
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::from_config(&config()).unwrap()
    }

    #[test]
    fn a_valid_rep_token_yields_her_identity() {
        let verifier = TokenVerifier::from_config(&config()).unwrap();
        let token = issuer()
            .mint("reps/alice", &[Role::Rep], Duration::from_secs(60))
            .unwrap();
        let identity = verifier.verify(&token).unwrap();
        assert_eq!(identity.rep().unwrap().as_str(), "alice");
        assert!(identity.has_role(Role::Rep));
    }

    #[test]
    fn expired_wrong_issuer_audience_and_signature_are_refused() {
        let verifier = TokenVerifier::from_config(&config()).unwrap();
        let mut expired = issuer().claims("reps/alice", &[Role::Rep], Duration::ZERO);
        expired.exp -= 3600;
        assert_eq!(
            verifier.verify(&issuer().sign(&expired).unwrap()),
            Err(TokenError::Expired)
        );

        let mut other_issuer = issuer().claims("reps/alice", &[Role::Rep], Duration::from_secs(60));
        other_issuer.iss = "somebody-else".into();
        assert_eq!(
            verifier.verify(&issuer().sign(&other_issuer).unwrap()),
            Err(TokenError::Issuer)
        );

        let mut other_audience =
            issuer().claims("reps/alice", &[Role::Rep], Duration::from_secs(60));
        other_audience.aud = "another-system".into();
        assert_eq!(
            verifier.verify(&issuer().sign(&other_audience).unwrap()),
            Err(TokenError::Audience)
        );

        let forger = TokenIssuer::from_config(&AuthConfig {
            hs256_secret: Some(Secret::new("a-completely-different-secret-value!")),
            ..AuthConfig::default()
        })
        .unwrap();
        let forged = forger
            .mint("reps/alice", &[Role::Admin], Duration::from_secs(60))
            .unwrap();
        assert_eq!(verifier.verify(&forged), Err(TokenError::Signature));
    }

    #[test]
    fn algorithms_outside_the_allowlist_are_refused() {
        let verifier = TokenVerifier::from_config(&config()).unwrap();
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &issuer().claims("reps/alice", &[Role::Rep], Duration::from_secs(60)),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(verifier.verify(&hs512), Err(TokenError::Algorithm));
        // An unsigned token ("alg": "none") never verifies.
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJyZXBzL2FsaWNlIn0.";
        assert!(verifier.verify(unsigned).is_err());
    }

    #[test]
    fn a_token_without_roles_is_refused() {
        let verifier = TokenVerifier::from_config(&config()).unwrap();
        let token = issuer()
            .mint("reps/alice", &[], Duration::from_secs(60))
            .unwrap();
        assert_eq!(verifier.verify(&token), Err(TokenError::NoRoles));
    }

    #[test]
    fn minted_service_credentials_are_cached_and_valid() {
        let credentials = ServiceCredentials::from_config(&config(), "intake").unwrap();
        let first = credentials.token().unwrap();
        assert_eq!(credentials.token().unwrap(), first);
        let identity = TokenVerifier::from_config(&config())
            .unwrap()
            .verify(&first)
            .unwrap();
        assert_eq!(identity.actor(), "services/intake");
        assert!(identity.has_role(Role::Service));
    }
}
