//! SASL DIGEST-MD5 against a real ZooKeeper 3.8 configured for it: a JAAS
//! `Server` section with `DigestLoginModule` users, and the `sasl` auth
//! provider so that ACLs can name `sasl:<user>`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use zk_client::{Acl, Client, CreateMode, CreateOptions, Error, Id, Perms, SessionState};
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
    bounded("reconnect with SASL", async {
        use futures::StreamExt;
        let mut saw_disconnect = false;
        while let Some(state) = states.next().await {
            match state {
                SessionState::Disconnected => saw_disconnect = true,
                SessionState::Connected if saw_disconnect => break,
                SessionState::Connected => {}
                other => panic!("unexpected state {other}"),
            }
        }
    })
    .await;
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
