//! Issue 20.2: people sign in with the company's identity provider. Its keys are found by
//! OpenID Connect discovery from the issuer URL; its tokens name people by email and group them
//! its own way, and `auth.claims` maps both: an email matched to a rep of the policy is that
//! rep on every service, someone who is no rep is `users/{email}`, and a token without the
//! mapped claim, or with no group that maps to a role, is refused. Leadpool's own tokens (the
//! services' and the development sign-in's) keep working beside them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leadpool_auth::{Role, TokenIssuer};
use leadpool_config::{AuthConfig, ClaimMappingConfig, SubjectMatch};
use leadpool_e2e::{TestEnv, channel};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{TEST_SECRET, authed};
use serde_json::{Value, json};

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    reps:\n  - { id: ann, role: sdr, email: Ann@Example.com }\n  - { id: max, role: manager, email: max@example.com }\n\
    pools: [{ id: inbound, type: open }]\nrouting: { default: { pool: inbound } }\n";

/// A provider on a free port: its OpenID configuration names where its keys are.
struct Provider {
    issuer: String,
    signing: EncodingKey,
    kid: String,
    discovered: Arc<AtomicUsize>,
}

async fn provider() -> Provider {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let pem = private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let signing = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut public = Jwk::from_encoding_key(&signing, Algorithm::RS256).unwrap();
    public.common.key_id = Some("key-1".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/realms/sales", listener.local_addr().unwrap());
    let discovered = Arc::new(AtomicUsize::new(0));
    let (jwks_uri, counted) = (
        format!("{issuer}/protocol/openid-connect/certs"),
        discovered.clone(),
    );
    let configuration = json!({ "issuer": issuer, "jwks_uri": jwks_uri });
    let set = serde_json::to_string(&JwkSet { keys: vec![public] }).unwrap();
    let app = axum::Router::new()
        .route(
            "/realms/sales/.well-known/openid-configuration",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let configuration = configuration.to_string();
                async move { configuration }
            }),
        )
        .route(
            "/realms/sales/protocol/openid-connect/certs",
            axum::routing::get(move || {
                let set = set.clone();
                async move { set }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider {
        issuer,
        signing,
        kid: "key-1".into(),
        discovered,
    }
}

impl Provider {
    /// An access token as the provider issues it: its own subject id, the person's email and
    /// groups (Keycloak's `realm_access.roles`).
    fn token(&self, claims: Value) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut body = json!({
            "iss": self.issuer,
            "aud": ["leadpool", "account"],
            "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "exp": now + 600,
            "iat": now,
        });
        body.as_object_mut()
            .unwrap()
            .extend(claims.as_object().unwrap().clone());
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &body, &self.signing).unwrap()
    }

    fn auth(&self) -> AuthConfig {
        AuthConfig {
            issuer: self.issuer.clone(),
            algorithms: vec!["HS256".into(), "RS256".into()],
            hs256_secret: Some(leadpool_config::Secret::new(TEST_SECRET)),
            discovery: true,
            claims: ClaimMappingConfig {
                subject: "email".into(),
                matching: SubjectMatch::Email,
                roles: "realm_access.roles".into(),
                role_map: BTreeMap::from([
                    ("sales".into(), "rep".into()),
                    ("Sales-Managers".into(), "manager".into()),
                    ("leadpool-admins".into(), "admin".into()),
                ]),
                ..ClaimMappingConfig::default()
            },
            ..AuthConfig::default()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_identity_provider_are_mapped_to_reps_and_roles() {
    let idp = provider().await;
    let env = TestEnv::new().await;
    let mut routing_config = env.routing_config();
    routing_config.auth = idp.auth();
    let routing = env.start_routing(routing_config).await;
    let mut claim_config = env.claim_config();
    claim_config.auth = idp.auth();
    let claim = env.start_claim(claim_config).await;
    let mut routing_client = RoutingServiceClient::new(channel(routing.addr).await);
    let mut claims = ClaimServiceClient::new(channel(claim.addr).await);

    // Leadpool's own tokens (signed with the shared secret) keep Leadpool's claims.
    let own = TokenIssuer::from_config(&idp.auth())
        .unwrap()
        .mint(
            "users/setup",
            &[Role::Admin],
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    routing_client
        .apply_policy(authed(
            &own,
            v1::ApplyPolicyRequest {
                document: POLICY.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    // ann, by the email the policy gives her (case aside), with the group mapped to `rep`.
    let ann = idp.token(json!({
        "email": "ann@example.COM",
        "realm_access": { "roles": ["offline_access", "sales"] }
    }));
    let status = claims
        .get_rep_status(authed(&ann, v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.rep, "reps/ann");
    assert!(
        idp.discovered.load(Ordering::SeqCst) >= 1,
        "keys found by discovery"
    );

    // Someone who is no rep is users/{email}, with the roles her groups map to.
    let ops = idp.token(json!({
        "email": "ops@example.com",
        "realm_access": { "roles": ["leadpool-admins"] }
    }));
    let applied = routing_client
        .apply_policy(authed(
            &ops,
            v1::ApplyPolicyRequest {
                document: POLICY.replace(
                    "{ id: inbound, type: open }",
                    "{ id: inbound, type: open, name: Inbound }",
                ),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(applied.policy.unwrap().applied_by, "users/ops@example.com");
    // A rep's groups do not make her an admin.
    let denied = routing_client
        .apply_policy(authed(
            &ann,
            v1::ApplyPolicyRequest {
                document: POLICY.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    // GetCaller says who each of them is to Leadpool, as a front end needs to know.
    let max = idp.token(json!({
        "email": "max@example.com",
        "realm_access": { "roles": ["sales", "Sales-Managers"] }
    }));
    let who = |token: String| {
        let mut routing_client = routing_client.clone();
        async move {
            routing_client
                .get_caller(authed(&token, v1::GetCallerRequest {}))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let as_max = who(max).await;
    assert_eq!(
        (as_max.subject.as_str(), as_max.roles.as_slice()),
        (
            "reps/max",
            ["rep".to_owned(), "manager".to_owned()].as_slice()
        )
    );
    assert_eq!(as_max.rep.unwrap().name, "reps/max");
    assert!(!as_max.oversees_everything);
    let as_ops = who(ops).await;
    assert_eq!(
        (as_ops.subject.as_str(), as_ops.rep.is_none()),
        ("users/ops@example.com", true)
    );
    assert_eq!(as_ops.roles, ["admin"]);
    assert!(as_ops.oversees_everything);

    // Without the mapped claim, or with no group that maps to a role: refused.
    let nameless = idp.token(json!({ "realm_access": { "roles": ["sales"] } }));
    let refused = claims
        .get_rep_status(authed(&nameless, v1::GetRepStatusRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(
        refused.message().contains("`email`"),
        "{}",
        refused.message()
    );
    let roleless = idp.token(json!({
        "email": "ann@example.com",
        "realm_access": { "roles": ["everyone"] }
    }));
    let refused = claims
        .get_rep_status(authed(&roleless, v1::GetRepStatusRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    routing.stop().await.unwrap();
    claim.stop().await.unwrap();
}
