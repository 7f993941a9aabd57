//! Verifying keys from the company's identity provider (Keycloak, Okta, Entra ID, Auth0): a
//! JWKS document, read from a URL or a file, each key chosen by the token's `kid`. Keys rotate
//! without a restart: the set is read again on a schedule, and at once (at most every
//! `jwks_refetch_after`) when a token names a key the set does not have yet.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::token::TokenError;

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    Url(String),
    File(PathBuf),
    /// OpenID Connect discovery from the issuer: `jwks_uri` of its configuration document,
    /// looked up again at every read (a provider may move its keys).
    Discovery(String),
}

/// The identity provider's current keys, by `kid`.
pub struct Jwks {
    source: JwksSource,
    /// Signing algorithms the deployment accepts; keys for others are ignored.
    allowed: Vec<Algorithm>,
    keys: RwLock<HashMap<String, (DecodingKey, Algorithm)>>,
    /// When the set was last read (or tried), so unknown `kid`s cannot make us hammer the IdP.
    last_read: tokio::sync::Mutex<Option<Instant>>,
    refetch_after: Duration,
    client: reqwest::Client,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("source", &self.source)
            .field("keys", &self.kids())
            .finish_non_exhaustive()
    }
}

impl Jwks {
    pub fn new(
        source: JwksSource,
        allowed: Vec<Algorithm>,
        refetch_after: Duration,
    ) -> Result<Self, TokenError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| TokenError::Key(format!("auth.jwks_url: {e}")))?;
        Ok(Self {
            source,
            allowed,
            keys: RwLock::new(HashMap::new()),
            last_read: tokio::sync::Mutex::new(None),
            refetch_after,
            client,
        })
    }

    /// The key with id `kid`, if the set read last has it.
    pub fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// The key ids known now, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        kids.sort();
        kids
    }

    /// For a token naming an unknown key: reads the set again unless it was read less than
    /// `refetch_after` ago. A read in flight is waited for, so the caller may look again.
    pub async fn refresh_if_due(&self) {
        let mut last = self.last_read.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.refetch_after) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.read().await {
            tracing::warn!(error = %err, "the identity provider's keys could not be read");
        }
    }

    /// Reads the set now (the schedule).
    pub async fn refresh(&self) -> Result<usize, TokenError> {
        let mut last = self.last_read.lock().await;
        *last = Some(Instant::now());
        self.read().await
    }

    /// A document from the provider, over https (or http on localhost, for development).
    async fn fetch(&self, url: &str, what: &str) -> Result<Vec<u8>, TokenError> {
        let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|prefix| url.starts_with(prefix));
        if !url.starts_with("https://") && !local {
            return Err(TokenError::Key(format!("{what} {url}: must be https")));
        }
        Ok(self
            .client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| TokenError::Key(format!("{what} {url}: {e}")))?
            .bytes()
            .await
            .map_err(|e| TokenError::Key(format!("{what} {url}: {e}")))?
            .to_vec())
    }

    async fn read(&self) -> Result<usize, TokenError> {
        let document = match &self.source {
            JwksSource::Url(url) => self.fetch(url, "auth.jwks_url").await?,
            JwksSource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| TokenError::Key(format!("auth.jwks_file {}: {e}", path.display())))?,
            JwksSource::Discovery(issuer) => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let configuration: serde_json::Value = serde_json::from_slice(
                    &self.fetch(&url, "auth.discovery").await?,
                )
                .map_err(|e| TokenError::Key(format!("auth.discovery {url}: not JSON: {e}")))?;
                let jwks_uri = configuration["jwks_uri"]
                    .as_str()
                    .ok_or_else(|| TokenError::Key(format!("auth.discovery {url}: no jwks_uri")))?;
                self.fetch(jwks_uri, "the provider's jwks_uri").await?
            }
        };
        let set: JwkSet = serde_json::from_slice(&document)
            .map_err(|e| TokenError::Key(format!("the key set is not a JWKS document: {e}")))?;
        let keys: HashMap<String, (DecodingKey, Algorithm)> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let alg = match (jwk.common.key_algorithm, &jwk.algorithm) {
                    (Some(named), _) => Algorithm::try_from(named).ok()?,
                    (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (None, AlgorithmParameters::EllipticCurve(ec))
                        if ec.curve == EllipticCurve::P256 =>
                    {
                        Algorithm::ES256
                    }
                    (None, _) => return None,
                };
                if !self.allowed.contains(&alg) {
                    return None;
                }
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, (key, alg)))
            })
            .collect();
        let count = keys.len();
        tracing::info!(keys = count, "identity provider keys read");
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        Ok(count)
    }

    /// Reads the set every `every` until the process ends (the first token reads it first).
    pub fn refresh_every(self: &Arc<Self>, every: Duration) {
        let jwks = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticker.tick().await;
                let Some(jwks) = jwks.upgrade() else { return };
                if let Err(err) = jwks.refresh().await {
                    tracing::warn!(error = %err, "the identity provider's keys could not be read; keeping the last ones");
                }
            }
        });
    }
}
