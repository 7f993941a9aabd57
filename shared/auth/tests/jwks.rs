//! Tokens from an identity provider: keys read from a JWKS document served over real HTTP,
//! chosen by `kid`, RS256 and ES256; a token naming an unknown key makes the set be read again
//! (at most once per interval); a rotation on the provider's side arrives on the schedule
//! without a restart; tokens not valid yet are refused.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leadpool_auth::{AuthLayer, Claims, Identity, Role, TokenVerifier};
use leadpool_config::AuthConfig;
use rand_core::OsRng;
use tower::{Layer, ServiceExt};

/// A signing key and its public half as a JWK with `kid`.
struct Key {
    kid: String,
    alg: Algorithm,
    signing: EncodingKey,
    public: Jwk,
}

fn rsa_key(kid: &str) -> Key {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
    let pem = private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    key(
        kid,
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
}

fn ec_key(kid: &str) -> Key {
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::random(&mut OsRng);
    let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    key(
        kid,
        Algorithm::ES256,
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    )
}

fn key(kid: &str, alg: Algorithm, signing: EncodingKey) -> Key {
    let mut public = Jwk::from_encoding_key(&signing, alg).unwrap();
    public.common.key_id = Some(kid.to_owned());
    Key {
        kid: kid.to_owned(),
        alg,
        signing,
        public,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(key: &Key, nbf: Option<u64>) -> String {
    #[derive(serde::Serialize)]
    struct WithNbf<'a> {
        #[serde(flatten)]
        claims: &'a Claims,
        #[serde(skip_serializing_if = "Option::is_none")]
        nbf: Option<u64>,
    }
    let claims = Claims {
        sub: "users/ops".into(),
        iss: "https://idp.example.com".into(),
        aud: "leadpool".into(),
        exp: now() + 600,
        iat: now(),
        roles: [Role::Admin].into(),
        team: None,
    };
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(
        &header,
        &WithNbf {
            claims: &claims,
            nbf,
        },
        &key.signing,
    )
    .unwrap()
}

/// A JWKS endpoint on a free port: what it serves can change mid-run; it counts requests.
struct Provider {
    url: String,
    keys: Arc<RwLock<Vec<Jwk>>>,
    reads: Arc<AtomicUsize>,
}

async fn provider(keys: Vec<Jwk>) -> Provider {
    let keys = Arc::new(RwLock::new(keys));
    let reads = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (keys.clone(), reads.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (served, counted) = (served.clone(), counted.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let set = JwkSet {
                    keys: served.read().unwrap().clone(),
                };
                serde_json::to_string(&set).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider { url, keys, reads }
}

fn config(url: &str, refetch_after: Duration, refresh: Duration) -> AuthConfig {
    AuthConfig {
        issuer: "https://idp.example.com".into(),
        algorithms: vec!["RS256".into(), "ES256".into()],
        jwks_url: Some(url.to_owned()),
        jwks_refetch_after: refetch_after,
        jwks_refresh: refresh,
        ..AuthConfig::default()
    }
}

/// The auth layer around a service that answers with the caller's subject.
async fn call(layer: &AuthLayer, token: &str) -> Result<String, String> {
    let service = layer.layer(tower::service_fn(|request: http::Request<()>| async move {
        let who = request
            .extensions()
            .get::<Identity>()
            .map(Identity::actor)
            .unwrap_or_default();
        Ok::<_, Infallible>(http::Response::new(who))
    }));
    let request = http::Request::builder()
        .uri("/leadpool.v1.ClaimService/GetRepStatus")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    match tonic::Status::from_header_map(response.headers()) {
        Some(status) if status.code() != tonic::Code::Ok => Err(status.message().to_owned()),
        _ => Ok(response.into_body()),
    }
}

#[tokio::test]
async fn tokens_verify_with_the_key_their_kid_names_read_on_first_use() {
    let (rsa, ec) = (rsa_key("rsa-1"), ec_key("ec-1"));
    let idp = provider(vec![rsa.public.clone(), ec.public.clone()]).await;
    let layer = AuthLayer::new(
        TokenVerifier::from_config(&config(
            &idp.url,
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        ))
        .unwrap(),
    );
    assert_eq!(
        call(&layer, &token(&rsa, None)).await,
        Ok("users/ops".into()),
        "RS256"
    );
    assert_eq!(
        call(&layer, &token(&ec, None)).await,
        Ok("users/ops".into()),
        "ES256"
    );
    assert_eq!(
        idp.reads.load(Ordering::SeqCst),
        1,
        "read once, on the first token"
    );

    // A token not valid for another hour is refused.
    let early = call(&layer, &token(&rsa, Some(now() + 3600)))
        .await
        .unwrap_err();
    assert!(early.contains("not valid yet"), "{early}");
    // A key of the provider's, used with an algorithm it is not for, is refused.
    let mut confused = rsa_key("ec-1");
    confused.alg = Algorithm::RS256;
    let refused = call(&layer, &token(&confused, None)).await.unwrap_err();
    assert!(refused.contains("algorithm"), "{refused}");
}

#[tokio::test]
async fn unknown_keys_read_the_set_at_most_once_per_interval() {
    let (old, new) = (rsa_key("2026-11"), ec_key("2026-12"));
    let idp = provider(vec![old.public.clone()]).await;
    let hour = Duration::from_secs(3600);
    let layer = AuthLayer::new(TokenVerifier::from_config(&config(&idp.url, hour, hour)).unwrap());
    assert!(call(&layer, &token(&old, None)).await.is_ok());
    assert_eq!(idp.reads.load(Ordering::SeqCst), 1);
    // Twenty tokens naming a key the set lacks, within the interval: no more reads.
    *idp.keys.write().unwrap() = vec![new.public.clone()];
    for _ in 0..20 {
        let refused = call(&layer, &token(&new, None)).await.unwrap_err();
        assert!(refused.contains("does not list"), "{refused}");
    }
    assert_eq!(idp.reads.load(Ordering::SeqCst), 1, "rate-limited");
}

#[tokio::test]
async fn a_rotation_arrives_on_schedule_without_a_restart() {
    let (old, new) = (rsa_key("2026-11"), ec_key("2026-12"));
    let idp = provider(vec![old.public.clone()]).await;
    let verifier = TokenVerifier::from_config(&config(
        &idp.url,
        Duration::from_secs(3600),
        Duration::from_millis(50),
    ))
    .unwrap();
    let jwks = verifier.jwks().unwrap().clone();
    let layer = AuthLayer::new(verifier);
    assert!(call(&layer, &token(&old, None)).await.is_ok());
    *idp.keys.write().unwrap() = vec![new.public.clone()];
    // The schedule (every 50 ms here) reads the rotated set.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while jwks.kids() != ["2026-12"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rotated key never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        call(&layer, &token(&new, None)).await.is_ok(),
        "the new key verifies"
    );
    let gone = call(&layer, &token(&old, None)).await.unwrap_err();
    assert!(
        gone.contains("does not list"),
        "the retired key is refused: {gone}"
    );
}
