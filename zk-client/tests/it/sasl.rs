//! SASL DIGEST-MD5 against a real ZooKeeper 3.8 configured for it: a JAAS
//! `Server` section with `DigestLoginModule` users, and the `sasl` auth
//! provider so that ACLs can name `sasl:<user>`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use zk_client::{Acl, Client, CreateMode, CreateOptions, Error, Id, Perms, SessionState};
use zk_proto::{
    decode_request, encode_record_frame, encode_reply, ConnectResponse, ErrorCode, ReplyHeader,
    Request, Response, SaslResponse, DEFAULT_MAX_FRAME,
};
use zk_server_sim::real::RealEnsemble;

use crate::support::{bounded, ensemble};

/// A directory of the test's own, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zk-client-it-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A standalone server that knows `bob` / `bobsecret` and `alice` / `alicesecret`.
fn sasl_server(dir: &Scratch) -> RealEnsemble {
    let jaas = dir.path().join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_bob=\"bobsecret\"\n  user_alice=\"alicesecret\";\n};\n",
    )
    .unwrap();
    RealEnsemble::builder()
        .nodes(1)
        .tick_time(Duration::from_millis(500))
        .system_property(
            "java.security.auth.login.config",
            jaas.display().to_string(),
        )
        .cfg_line("authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider")
        .start()
        .expect("start a ZooKeeper with SASL (run .ci/install-deps.sh)")
}

async fn login(cs: &str, user: &str, password: &str) -> Result<Client, Error> {
    bounded(
        "SASL connect",
        Client::builder(cs)
            .session_timeout(Duration::from_secs(10))
            .sasl_digest_md5(user, password)
            .connect(),
    )
    .await
}

fn is_sasl(ids: &[zk_client::ClientInfo], user: &str) -> bool {
    ids.iter()
        .any(|i| i.auth_scheme == "sasl" && i.user == user)
}

#[tokio::test]
async fn sasl_digest_md5_login_acl_wrong_password_and_reconnect() {
    // Starts a JVM: not at the same time as the short-timeout tests.
    let _quiet = crate::support::exclusive().await;
    let dir = Scratch::new("sasl");
    let mut server = sasl_server(&dir);
    let cs = server.connect_string();

    let bob = login(&cs, "bob", "bobsecret").await.unwrap();
    assert_eq!(bob.state(), SessionState::Connected);
    assert!(is_sasl(&bob.who_am_i().await.unwrap(), "bob"));

    // A node only sasl:bob may touch.
    let only_bob = vec![Acl {
        perms: Perms::ALL,
        id: Id {
            scheme: "sasl".into(),
            id: "bob".into(),
        },
    }];
    bob.create(
        "/bob",
        b"bob's",
        &CreateOptions::new(CreateMode::Persistent).with_acl(only_bob.clone()),
    )
    .await
    .unwrap();
    assert_eq!(bob.get_acl("/bob").await.unwrap().0, only_bob);
    bob.set_data("/bob", b"still bob's", None).await.unwrap();

    let anonymous = Client::connect(cs.clone()).await.unwrap();
    assert_eq!(anonymous.get_data("/bob").await.unwrap_err(), Error::NoAuth);
    let alice = login(&cs, "alice", "alicesecret").await.unwrap();
    assert!(is_sasl(&alice.who_am_i().await.unwrap(), "alice"));
    assert_eq!(
        alice.set_data("/bob", b"alice's", None).await.unwrap_err(),
        Error::NoAuth
    );

    // A wrong password, and a user the server does not know: AuthFailed, at once.
    for (user, password) in [("bob", "wrong"), ("mallory", "mallorysecret")] {
        let began = Instant::now();
        let err = login(&cs, user, password).await.unwrap_err();
        println!("{user} / {password}: {err}");
        assert_eq!(err, Error::AuthFailed, "{user}");
        assert!(err.is_terminal());
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "{:?}",
            began.elapsed()
        );
    }

    // A crash and restart: bob's session resumes and authenticates again,
    // so the ACL still lets him in.
    let session = bob.session_id();
    let mut states = bob.state_stream();
    server.kill(0).unwrap();
    server.restart(0).unwrap();
    crate::support::wait_reconnect(&mut states, "reconnect with SASL").await;
    assert_eq!(bob.session_id(), session);
    assert!(is_sasl(&bob.who_am_i().await.unwrap(), "bob"));
    assert_eq!(
        bob.get_data("/bob").await.unwrap().0.as_ref(),
        b"still bob's"
    );
    bob.close().await.unwrap();
}

#[tokio::test]
async fn sasl_against_a_server_without_sasl_fails_with_auth_failed() {
    // The shared ensemble has no JAAS configuration.
    let err = login(&ensemble().connect_string(), "bob", "bobsecret")
        .await
        .unwrap_err();
    println!("no SASL on the server: {err}");
    assert_eq!(err, Error::AuthFailed);
}

// ----- the exchange itself, against a scripted server -----

async fn read_request(s: &mut DuplexStream) -> Option<(i32, Request)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.ok()?;
    let (header, request) = decode_request(Bytes::from(body)).unwrap();
    Some((header.xid, request))
}

async fn answer(s: &mut DuplexStream, xid: i32, err: ErrorCode, body: Response) {
    let mut buf = BytesMut::new();
    let header = ReplyHeader { xid, zxid: 0, err };
    encode_reply(&mut buf, DEFAULT_MAX_FRAME, &header, &body).unwrap();
    s.write_all(&buf).await.unwrap();
}

async fn accept_session(s: &mut DuplexStream) {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.unwrap();
    let resp = ConnectResponse {
        protocol_version: 0,
        timeout: 10_000,
        session_id: 0x5a51,
        passwd: vec![1u8; 16].into(),
        read_only: Some(false),
    };
    let mut buf = BytesMut::new();
    encode_record_frame(&mut buf, DEFAULT_MAX_FRAME, &resp).unwrap();
    s.write_all(&buf).await.unwrap();
}

fn sasl_token(request: Request) -> Vec<u8> {
    match request {
        Request::Sasl(r) => r.token.to_vec(),
        other => panic!("expected a SASL request, got {other:?}"),
    }
}

/// The directives of a digest-response (quoted values unquoted; the
/// client's values carry no escapes here).
fn directives(token: &[u8]) -> Vec<(String, String)> {
    std::str::from_utf8(token)
        .unwrap()
        .split(',')
        .map(|d| {
            let (k, v) = d.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 2831's response-value, written out again for the server side.
fn digest(user: &str, realm: &str, pass: &str, d: &[(String, String)], a2: &str) -> String {
    let get = |k: &str| d.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let inner = Md5::digest(format!("{user}:{realm}:{pass}"));
    let mut a1 = inner.to_vec();
    a1.extend_from_slice(format!(":{}:{}", get("nonce"), get("cnonce")).as_bytes());
    let ha1 = hex(&Md5::digest(&a1));
    let ha2 = hex(&Md5::digest(a2));
    hex(&Md5::digest(format!(
        "{ha1}:{}:{}:{}:auth:{ha2}",
        get("nonce"),
        get("nc"),
        get("cnonce")
    )))
}

const CHALLENGE: &[u8] =
    b"realm=\"zk-sasl-md5\",nonce=\"n0nce+/=\",charset=utf-8,algorithm=md5-sess";

/// SASL goes first: the client's auth packets and queued requests wait for
/// it. The client checks the server's rspauth.
#[tokio::test]
async fn sasl_runs_before_auth_packets_and_requests() {
    let (client_io, mut server) = tokio::io::duplex(64 * 1024);
    let script = tokio::spawn(async move {
        accept_session(&mut server).await;
        let (xid1, first) = read_request(&mut server).await.unwrap();
        assert!(
            sasl_token(first).is_empty(),
            "DIGEST-MD5 starts with an empty token"
        );
        answer(
            &mut server,
            xid1,
            ErrorCode::Ok,
            Response::Sasl(SaslResponse {
                token: CHALLENGE.into(),
            }),
        )
        .await;
        let (xid2, second) = read_request(&mut server).await.unwrap();
        assert_ne!(xid1, xid2);
        let d = directives(&sasl_token(second));
        let get = |k: &str| d.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("username").as_deref(), Some("bob"));
        assert_eq!(get("realm").as_deref(), Some("zk-sasl-md5"));
        assert_eq!(get("digest-uri").as_deref(), Some("zookeeper/zk-sasl-md5"));
        assert_eq!(get("qop").as_deref(), Some("auth"));
        assert_eq!(get("nc").as_deref(), Some("00000001"));
        assert_eq!(get("charset").as_deref(), Some("utf-8"));
        assert_eq!(get("nonce").as_deref(), Some("n0nce+/="));
        let expected = digest(
            "bob",
            "zk-sasl-md5",
            "bobsecret",
            &d,
            "AUTHENTICATE:zookeeper/zk-sasl-md5",
        );
        assert_eq!(get("response"), Some(expected));
        let rspauth = digest(
            "bob",
            "zk-sasl-md5",
            "bobsecret",
            &d,
            ":zookeeper/zk-sasl-md5",
        );
        answer(
            &mut server,
            xid2,
            ErrorCode::Ok,
            Response::Sasl(SaslResponse {
                token: format!("rspauth={rspauth}").into_bytes().into(),
            }),
        )
        .await;
        // Only now the digest credentials.
        let (xid3, third) = read_request(&mut server).await.unwrap();
        assert_eq!(xid3, -4, "{third:?}");
        answer(&mut server, -4, ErrorCode::Ok, Response::Empty).await;
        server
    });
    let client = bounded(
        "connect with SASL",
        Client::builder("127.0.0.1:1")
            .sasl_digest_md5("bob", "bobsecret")
            .digest("app", "secret")
            .connect_raw(client_io),
    )
    .await
    .unwrap();
    assert_eq!(client.state(), SessionState::Connected);
    drop(bounded("script", script).await.unwrap());

    let builder = format!(
        "{:?}",
        Client::builder("h").sasl_digest_md5("bob", "bobsecret")
    );
    assert!(
        builder.contains("bob") && !builder.contains("bobsecret"),
        "{builder}"
    );
}

/// A server that cannot prove it knows the password is not trusted; a
/// server that refuses the login ends the session. Both: AuthFailed.
#[tokio::test]
async fn sasl_refusals_and_forged_server_proofs_are_auth_failed() {
    for refuse in [true, false] {
        let (client_io, mut server) = tokio::io::duplex(64 * 1024);
        let script = tokio::spawn(async move {
            accept_session(&mut server).await;
            let (xid1, _) = read_request(&mut server).await.unwrap();
            answer(
                &mut server,
                xid1,
                ErrorCode::Ok,
                Response::Sasl(SaslResponse {
                    token: CHALLENGE.into(),
                }),
            )
            .await;
            let (xid2, _) = read_request(&mut server).await.unwrap();
            if refuse {
                answer(&mut server, xid2, ErrorCode::AuthFailed, Response::Empty).await;
            } else {
                let forged = b"rspauth=0123456789abcdef0123456789abcdef";
                answer(
                    &mut server,
                    xid2,
                    ErrorCode::Ok,
                    Response::Sasl(SaslResponse {
                        token: forged[..].into(),
                    }),
                )
                .await;
            }
            // Nothing else comes: the client gives up.
            assert!(read_request(&mut server).await.is_none());
        });
        let err = bounded(
            "connect with SASL",
            Client::builder("127.0.0.1:1")
                .sasl_digest_md5("bob", "bobsecret")
                .connect_raw(client_io),
        )
        .await
        .unwrap_err();
        assert_eq!(err, Error::AuthFailed, "refuse={refuse}");
        bounded("script", script).await.unwrap();
    }
}
