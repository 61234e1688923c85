//! TLS against real ZooKeeper 3.8 servers with a `secureClientPort`
//! (Netty), with certificates made here: a test CA signs the server's
//! certificate (SANs `localhost` and `127.0.0.1`) and a client certificate;
//! another CA plays the wrong one. The server reads PEM key and trust stores.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use zk_client::{Client, CreateOptions, Error, SessionState, TlsConfig};
use zk_server_sim::real::RealEnsemble;

use crate::sasl::Scratch;
use crate::support::bounded;

/// A CA, a server certificate and a client certificate it signed, and an
/// unrelated CA, as PEM files in a scratch directory.
pub struct Pki {
    pub dir: Scratch,
    /// The CA's certificate.
    pub ca: PathBuf,
    /// Another CA, which signed nothing the server shows.
    pub wrong_ca: PathBuf,
    /// The server's key store: its private key, then its certificate.
    pub server_keystore: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn ca(name: &str) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(
    cn: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &(Certificate, KeyPair),
) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    (cert, key)
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = Scratch::new(name);
        let good = ca("zk-rs test CA");
        let wrong = ca("zk-rs wrong CA");
        let server = leaf(
            "zookeeper-server",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &good,
        );
        let client = leaf(
            "zk-rs-client",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &good,
        );
        let write = |file: &str, text: String| {
            let path = dir.path().join(file);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", good.0.pem()),
            wrong_ca: write("wrong-ca.pem", wrong.0.pem()),
            server_keystore: write(
                "server.pem",
                format!("{}{}", server.1.serialize_pem(), server.0.pem()),
            ),
            client_cert: write("client.pem", client.0.pem()),
            client_key: write("client.key", client.1.serialize_pem()),
            dir,
        }
    }
}

/// A standalone server with a secureClientPort using `pki`, asking for
/// client certificates as `client_auth` says (`none`, `want`, `need`); the
/// `x509` auth provider gives certificate holders an `x509:` id. SASL
/// DIGEST-MD5 knows `bob` / `bobsecret`. `extra` lines go at the end of
/// `zoo.cfg`.
fn secure_server(pki: &Pki, client_auth: &str, extra: &[&str]) -> RealEnsemble {
    let store = |p: &Path| p.display().to_string();
    let jaas = pki.dir.path().join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_bob=\"bobsecret\";\n};\n",
    )
    .unwrap();
    RealEnsemble::builder()
        .system_property("java.security.auth.login.config", store(&jaas))
        .nodes(1)
        .tick_time(Duration::from_millis(500))
        .secure_client_port(true)
        .cfg_lines([
            format!("ssl.keyStore.location={}", store(&pki.server_keystore)),
            "ssl.keyStore.type=PEM".to_owned(),
            format!("ssl.trustStore.location={}", store(&pki.ca)),
            "ssl.trustStore.type=PEM".to_owned(),
            format!("ssl.clientAuth={client_auth}"),
            "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider"
                .to_owned(),
            "authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
                .to_owned(),
        ])
        .cfg_lines(extra.iter().copied())
        .start()
        .expect("start a ZooKeeper with a secureClientPort (run .ci/install-deps.sh)")
}

fn tls(ca: &Path) -> TlsConfig {
    TlsConfig::new().ca_pem_file(ca).unwrap()
}

async fn connect(cs: &str, tls: TlsConfig) -> Result<Client, Error> {
    bounded(
        "TLS connect",
        Client::builder(cs)
            .session_timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(10))
            .tls(tls)
            .connect(),
    )
    .await
}

#[tokio::test]
async fn tls_verifies_the_server_and_serves_requests() {
    // Starts a JVM: not at the same time as the short-timeout tests.
    let _quiet = crate::support::exclusive().await;
    let pki = Pki::new("tls-verify");
    let server = secure_server(&pki, "want", &[]);
    let secure = server.secure_connect_string().unwrap();
    let port = server.secure_addr(0).unwrap().port();

    // The IP address of the connect string checked against the IP SAN.
    let client = connect(&secure, tls(&pki.ca)).await.unwrap();
    assert_eq!(client.state(), SessionState::Connected);
    let (path, _) = client
        .create("/tls", b"over tls", &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(
        client.get_data(&path).await.unwrap().0.as_ref(),
        b"over tls"
    );
    // No client certificate: no x509 id.
    let ids = client.who_am_i().await.unwrap();
    assert!(ids.iter().all(|i| i.auth_scheme != "x509"), "{ids:?}");
    client.close().await.unwrap();

    // A DNS name, and a server name override, each checked against the DNS SAN.
    let by_name = connect(&format!("localhost:{port}/tls"), tls(&pki.ca))
        .await
        .unwrap();
    assert!(by_name.exists("/").await.unwrap().is_some());
    by_name.close().await.unwrap();
    let overridden = connect(&secure, tls(&pki.ca).server_name("localhost"))
        .await
        .unwrap();
    overridden.close().await.unwrap();

    // A client certificate signed by the CA the server trusts: an x509 id.
    let with_cert = connect(
        &secure,
        tls(&pki.ca)
            .client_cert_pem_files(&pki.client_cert, &pki.client_key)
            .unwrap(),
    )
    .await
    .unwrap();
    let ids = with_cert.who_am_i().await.unwrap();
    assert!(
        ids.iter()
            .any(|i| i.auth_scheme == "x509" && i.user.contains("CN=zk-rs-client")),
        "{ids:?}"
    );
    with_cert.close().await.unwrap();

    // SASL over TLS.
    let bob = bounded(
        "TLS and SASL connect",
        Client::builder(secure.clone())
            .tls(tls(&pki.ca))
            .sasl_digest_md5("bob", "bobsecret")
            .connect(),
    )
    .await
    .unwrap();
    let ids = bob.who_am_i().await.unwrap();
    assert!(
        ids.iter()
            .any(|i| i.auth_scheme == "sasl" && i.user == "bob"),
        "{ids:?}"
    );
    bob.close().await.unwrap();

    // The wrong CA: a typed TLS error at once, not a timeout.
    let began = Instant::now();
    let err = connect(&secure, tls(&pki.wrong_ca)).await.unwrap_err();
    println!("wrong CA: {err}");
    match &err {
        Error::Tls {
            host,
            message,
            source,
        } => {
            // rustls's own error is kept as the source.
            let source = source.as_ref().expect("the TLS library's error");
            let io = source.get_ref().downcast_ref::<std::io::Error>().unwrap();
            assert!(io.get_ref().unwrap().is::<rustls::Error>(), "{io:?}");
            assert_eq!(host, &format!("127.0.0.1:{port}"));
            assert!(
                message.contains("certificate verification failed")
                    && message.contains("UnknownIssuer"),
                "{message}"
            );
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert!(!err.is_retriable());

    // A name the certificate does not carry.
    let err = connect(&secure, tls(&pki.ca).server_name("zk.example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { message, .. } if message.contains("not valid for name")),
        "{err:?}"
    );

    // TLS to the plain client port.
    let plain = server.connect_string();
    let err = connect(&plain, tls(&pki.ca)).await.unwrap_err();
    println!("TLS to the plain port: {err}");
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn tls13_client_certificate_required_and_reconnect() {
    // Starts a JVM: not at the same time as the short-timeout tests.
    let _quiet = crate::support::exclusive().await;
    let pki = Pki::new("tls-need");
    // TLS 1.3 only (ZooKeeper 3.8 defaults to TLS 1.2, and its default cipher
    // suites are TLS 1.2 ones).
    let mut server = secure_server(
        &pki,
        "need",
        &[
            "ssl.protocol=TLSv1.3",
            "ssl.enabledProtocols=TLSv1.3",
            "ssl.ciphersuites=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
        ],
    );
    let secure = server.secure_connect_string().unwrap();

    // Without a certificate the server refuses: in TLS 1.3 only after the
    // client's side of the handshake is done, on the first read.
    let err = connect(&secure, tls(&pki.ca)).await.unwrap_err();
    println!("no client certificate (TLS 1.3): {err}");
    assert!(
        matches!(&err, Error::Tls { message, .. } if message.contains("client certificate")),
        "{err:?}"
    );

    let client = connect(
        &secure,
        tls(&pki.ca)
            .client_cert_pem_files(&pki.client_cert, &pki.client_key)
            .unwrap(),
    )
    .await
    .unwrap();
    client
        .create("/kept", b"1", &CreateOptions::default())
        .await
        .unwrap();
    let session = client.session_id();

    // A crash and restart: the client comes back over TLS, same session.
    let mut states = client.state_stream();
    server.kill(0).unwrap();
    server.restart(0).unwrap();
    crate::support::wait_reconnect(&mut states, "reconnect over TLS").await;
    assert_eq!(client.session_id(), session);
    assert_eq!(client.get_data("/kept").await.unwrap().0.as_ref(), b"1");
    let ids = client.who_am_i().await.unwrap();
    assert!(ids.iter().any(|i| i.auth_scheme == "x509"), "{ids:?}");
    client.close().await.unwrap();
}

#[tokio::test]
async fn tls_config_errors_are_reported_before_connecting() {
    let pki = Pki::new("tls-config");
    let bad = pki.dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();

    for result in [
        TlsConfig::new().ca_pem(b"garbage").map(|_| ()),
        TlsConfig::new().ca_pem_file(&bad).map(|_| ()),
        TlsConfig::new()
            .ca_pem_file(pki.dir.path().join("missing.pem"))
            .map(|_| ()),
        TlsConfig::new()
            .client_cert_pem_files(&pki.client_cert, &bad)
            .map(|_| ()),
        TlsConfig::new()
            .client_cert_pem_files(&pki.ca, &pki.ca)
            .map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::TlsConfig(_)), "{err:?}");
    }

    // No CA at all, or a server name that is no name: refused at connect,
    // before any connection is made (nothing listens on port 1).
    for config in [TlsConfig::new(), tls(&pki.ca).server_name("not a name")] {
        let err = Client::builder("127.0.0.1:1")
            .tls(config)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TlsConfig(_)), "{err:?}");
    }
    let debug = format!(
        "{:?}",
        tls(&pki.ca)
            .client_cert_pem_files(&pki.client_cert, &pki.client_key)
            .unwrap()
    );
    assert!(!debug.contains("PRIVATE"), "{debug}");
}
