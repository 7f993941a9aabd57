//! Transport security: routing serves TLS; intake calls it with mutual TLS; routing takes
//! service-token calls only from intake's certificate; a renewed certificate is served from the
//! next handshake on, without a restart. Certificates are generated here (rcgen).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use leadpool_auth::Role;
use leadpool_config::{ClientTlsConfig, ServerTlsConfig};
use leadpool_e2e::{TestEnv, admin, lead_request};
use leadpool_proto::v1;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{authed, token};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use tonic::Code;

/// A CA and the files of the certificates it signs, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca, ca_key }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Writes `{name}.pem` and `{name}.key` for a certificate valid for `names` (and
    /// 127.0.0.1); returns the certificate's DER.
    fn issue(&self, name: &str, names: &[&str]) -> Vec<u8> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        // Written aside and renamed, as a secret mount updates: never half a file.
        for (suffix, pem) in [("pem", cert.pem()), ("key", key.serialize_pem())] {
            let staged = self.dir.path().join(format!("{name}.{suffix}.new"));
            std::fs::write(&staged, pem).unwrap();
            std::fs::rename(&staged, self.path(name, suffix)).unwrap();
        }
        cert.der().to_vec()
    }

    fn path(&self, name: &str, suffix: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.{suffix}"))
    }

    fn client(&self, name: Option<&str>) -> ClientTlsConfig {
        ClientTlsConfig {
            ca_file: self.ca_file(),
            cert_file: name.map(|n| self.path(n, "pem")),
            key_file: name.map(|n| self.path(n, "key")),
            server_name: Some("routing".to_owned()),
            reload_interval: Duration::from_millis(100),
        }
    }
}

/// The certificate a fresh handshake with `addr` presents.
async fn served_certificate(addr: SocketAddr, ca: &Path) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::try_from("routing").unwrap(),
            stream,
        )
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

use rustls_pki_types::pem::PemObject;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_talk_mutual_tls_only_intake_routes_as_a_service_and_certificates_renew_live() {
    let pki = Pki::new();
    let first = pki.issue("routing", &["routing", "localhost"]);
    pki.issue("intake", &["intake"]);
    pki.issue("claim", &["claim"]);
    let env = TestEnv::new().await;
    let mut config = env.routing_config();
    config.server.tls = Some(ServerTlsConfig {
        cert_file: pki.path("routing", "pem"),
        key_file: pki.path("routing", "key"),
        client_ca_file: Some(pki.ca_file()),
        service_peers: vec!["intake".to_owned()],
        reload_interval: Duration::from_millis(100),
    });
    let routing = env.start_routing(config).await;
    let endpoint = format!("https://127.0.0.1:{}", routing.addr.port());
    let tls_routing = |who: Option<&str>| {
        let channel =
            leadpool_server::channel(&endpoint, Duration::from_secs(5), Some(&pki.client(who)))
                .unwrap();
        RoutingServiceClient::new(channel)
    };

    // Plain HTTP/2 gets nowhere; TLS trusting the CA does.
    let mut plain = RoutingServiceClient::new(
        leadpool_server::channel(
            &format!("http://{}", routing.addr),
            Duration::from_secs(2),
            None,
        )
        .unwrap(),
    );
    assert!(
        plain
            .get_policy(authed(&admin(), v1::GetPolicyRequest::default()))
            .await
            .is_err()
    );
    leadpool_e2e::apply_policy(
        &mut tls_routing(None),
        &leadpool_e2e::example("p1-open-pool"),
    )
    .await;

    // Intake routes over mutual TLS with its own certificate.
    let mut intake_config = env.intake_config(&endpoint);
    intake_config.routing.tls = Some(pki.client(Some("intake")));
    let intake = env.start_intake(intake_config).await;
    let mut submit = IntakeServiceClient::new(leadpool_e2e::channel(intake.addr).await);
    let lead = submit
        .submit_lead(authed(
            &token("services/web-forms", &[Role::Service]),
            lead_request("over-tls", 60),
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(
        lead.state(),
        v1::LeadState::Available,
        "routed over mutual TLS"
    );

    // A service token from anywhere but intake's certificate is refused.
    let route = |name: &str| {
        authed(
            &token("services/intake", &[Role::Service]),
            v1::RouteLeadRequest {
                name: name.to_owned(),
            },
        )
    };
    for who in [None, Some("claim")] {
        let refused = tls_routing(who)
            .route_lead(route(&lead.name))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::PermissionDenied,
            "{who:?}: {refused:?}"
        );
    }
    tls_routing(Some("intake"))
        .route_lead(route(&lead.name))
        .await
        .unwrap();

    // Renewed: the next handshake presents the new certificate; no restart.
    assert_eq!(
        served_certificate(routing.addr, &pki.ca_file()).await,
        first
    );
    let renewed = pki.issue("routing", &["routing", "localhost"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while served_certificate(routing.addr, &pki.ca_file()).await != renewed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewed certificate never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    leadpool_e2e::apply_policy(
        &mut tls_routing(None),
        &leadpool_e2e::example("p1-open-pool"),
    )
    .await;
    intake.stop().await.unwrap();
    routing.stop().await.unwrap();
}
