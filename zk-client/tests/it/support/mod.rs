//! Shared fixtures: real ZooKeeper ensembles (one per kind per test binary),
//! per-test chroots, a controllable TCP proxy, and a bounded wait.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zk_client::{Client, CreateOptions, Error};
use zk_server_sim::real::{unique_chroot, RealEnsemble};

/// The default ensemble: three real ZooKeeper 3.8 servers **without**
/// extended types (so TTL creates get UNIMPLEMENTED), 500 ms ticks (session
/// timeouts negotiable from 1 s to 10 s). Started once per test binary.
pub fn ensemble() -> &'static RealEnsemble {
    static PLAIN: OnceLock<RealEnsemble> = OnceLock::new();
    PLAIN.get_or_init(|| {
        RealEnsemble::builder()
            .nodes(3)
            .tick_time(Duration::from_millis(500))
            .extended_types(false)
            .start()
            .expect("start a 3-node ZooKeeper ensemble (run .ci/install-deps.sh)")
    })
}

/// A standalone server with `zookeeper.extendedTypesEnabled=true` (TTL nodes).
pub fn ttl_server() -> &'static RealEnsemble {
    RealEnsemble::shared(1).expect("start a standalone ZooKeeper with extended types")
}

/// A test's own chroot on `ens`: creates the chroot node with a non-chrooted
/// client, then returns the chrooted connect string.
pub async fn chroot_on(ens: &RealEnsemble, name: &str) -> String {
    let path = unique_chroot(name);
    let base = Client::connect(ens.connect_string())
        .await
        .expect("connect without chroot");
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        match base.create(&prefix, b"", &CreateOptions::default()).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => panic!("create chroot {prefix}: {e}"),
        }
    }
    base.close().await.expect("close setup client");
    ens.connect_string_with_chroot(&path)
}

/// A connected client in a fresh chroot of the default ensemble.
pub async fn client(name: &str) -> Client {
    let cs = chroot_on(ensemble(), name).await;
    Client::builder(cs)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect")
}

/// Awaits `f`, failing the test (rather than hanging it) after 60 s. This is
/// a hang guard, not a timing assertion.
pub async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still waiting after 60 s"),
    }
}

/// A TCP proxy in front of one server, whose connections the test can cut
/// and whose listener can refuse (accept-and-close) new ones.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    refusing: Arc<AtomicBool>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0u64);
        let refusing = Arc::new(AtomicBool::new(false));
        let cut_tx = cut.clone();
        let refuse = refusing.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    return;
                };
                if refuse.load(Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let mut cut_rx = cut_tx.subscribe();
                cut_rx.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            cut,
            refusing,
        }
    }

    /// Drops every current connection.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// While refusing, new connections are closed at once.
    pub fn refuse(&self, on: bool) {
        self.refusing.store(on, Ordering::SeqCst);
    }
}
