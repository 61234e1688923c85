//! Service discovery: registry, cache and providers on the simulator;
//! re-registration after expiry; Curator's ServiceDiscovery (Java) and ours
//! on the simulator and on a real ZooKeeper 3.8, both directions, payloads
//! intact.
//!
//! The interop tests need a JDK and Debian's Curator jars: outside CI their
//! absence is a skip that says so, under `CI` a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/java.rs"]
mod java;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use zk_client::Client;
use zk_recipes::discovery::{
    ClassedPayload, ProviderStrategy, ServiceCache, ServiceDiscovery, ServiceInstance,
};
use zk_recipes::Session;
use zk_server_sim::Ensemble;

async fn ensemble() -> Ensemble {
    Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

/// Waits (bounded) until `f` holds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids<P>(v: &[ServiceInstance<P>]) -> Vec<String> {
    v.iter().map(|i| i.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_cache_provide_unregister() {
    let ens = ensemble().await;
    let client = Client::connect(ens.connect_string()).await.unwrap();
    let d: ServiceDiscovery = ServiceDiscovery::new(&client, "/services");
    let cache = d.cache("web");
    cache.initialized().await.unwrap();
    assert!(cache.instances().is_empty());
    let mut all = Vec::new();
    for (k, port) in [8001u16, 8002, 8003].into_iter().enumerate() {
        let i = ServiceInstance::new("web", "10.0.0.1", port).with_id(&format!("i{k}"));
        d.register(&i).await.unwrap();
        all.push(i);
    }
    eventually("three instances cached", || cache.instances().len() == 3).await;
    assert_eq!(d.query_names().await.unwrap(), vec!["web".to_string()]);
    assert_eq!(
        ids(&d.query_instances("web").await.unwrap()),
        ["i0", "i1", "i2"]
    );
    // The nodes are ephemeral, under container parents (Curator's layout).
    let stat = client.exists("/services/web/i0").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, client.session_id());

    let provider = d.provider("web", ProviderStrategy::RoundRobin);
    provider.cache().initialized().await.unwrap();
    let picks: Vec<String> = (0..6)
        .map(|_| provider.get_instance().unwrap().id)
        .collect();
    assert_eq!(picks, ["i0", "i1", "i2", "i0", "i1", "i2"]);
    // Two errors mark an instance down (Curator's DownInstancePolicy).
    provider.note_error(&all[1]);
    assert_eq!(provider.all_instances().len(), 3);
    provider.note_error(&all[1]);
    assert_eq!(ids(&provider.all_instances()), ["i0", "i2"]);

    let sticky = d.provider("web", ProviderStrategy::Sticky);
    sticky.cache().initialized().await.unwrap();
    let first = sticky.get_instance().unwrap().id;
    assert!((0..5).all(|_| sticky.get_instance().unwrap().id == first));

    // Update and unregister.
    let mut changed = all[0].clone();
    changed.port = Some(9000);
    d.update(&changed).await.unwrap();
    eventually("update cached", || {
        cache
            .instances()
            .iter()
            .any(|i| i.id == "i0" && i.port == Some(9000))
    })
    .await;
    d.unregister(&all[2]).await.unwrap();
    eventually("unregistered", || ids(&cache.instances()) == ["i0", "i1"]).await;
}

/// After a server-side expiry the Session builds a new session and the
/// instance is registered again in it (a new ephemeral owner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_comes_back_after_session_expiry() {
    let ens = ensemble().await;
    let session = Session::builder(
        Client::builder(ens.connect_string()).session_timeout(Duration::from_millis(2000)),
    )
    .connect()
    .await
    .unwrap();
    let d: ServiceDiscovery = ServiceDiscovery::on_session(&session, "/services");
    let me = ServiceInstance::new("db", "10.0.0.2", 5432).with_id("db-1");
    d.register(&me).await.unwrap();
    let watcher = Client::connect(ens.connect_string()).await.unwrap();
    let cache: ServiceCache = ServiceCache::start(&watcher, "/services", "db");
    cache.initialized().await.unwrap();
    eventually("registered", || ids(&cache.instances()) == ["db-1"]).await;
    let old = session.client().session_id();
    let first_owner = watcher
        .exists("/services/db/db-1")
        .await
        .unwrap()
        .unwrap()
        .ephemeral_owner;
    assert_eq!(first_owner, old);

    assert!(ens.expire_session(old));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = session.client().session_id();
        if now != old {
            if let Some(stat) = watcher.exists("/services/db/db-1").await.unwrap() {
                if stat.ephemeral_owner == now {
                    break;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not registered again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("cached again", || ids(&cache.instances()) == ["db-1"]).await;
    session.close().await.unwrap();
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Details {
    description: String,
}

const JAVA_DETAILS: &str = "CuratorDiscovery$Details";

/// Curator registers "java-1", we register "rust-1": each side sees both,
/// with the other's payload (its Java class and fields) intact; when
/// Curator closes, its instance goes.
async fn interop(hosts: &str) {
    let Some(java) = java::Java::compile(&["CuratorDiscovery.java"]) else {
        return;
    };
    let mut curator = java.spawn(
        "CuratorDiscovery",
        &[hosts, "/services", "orders", "java-1", "9001", "from java"],
    );
    curator.until(|l| l == "registered").await;

    let client = Client::connect(hosts).await.unwrap();
    let d: ServiceDiscovery<ClassedPayload<Details>> = ServiceDiscovery::new(&client, "/services");
    let cache = d.cache("orders");
    cache.initialized().await.unwrap();
    let me = ServiceInstance::new("orders", "127.0.0.1", 9002)
        .with_id("rust-1")
        .with_payload(ClassedPayload {
            class: JAVA_DETAILS.to_string(),
            value: Details {
                description: "from rust".into(),
            },
        });
    d.register(&me).await.unwrap();

    // Curator sees ours, payload deserialized into its own class.
    let want = format!(
        "instances java-1|127.0.0.1:9001|{JAVA_DETAILS}|from java;rust-1|127.0.0.1:9002|{JAVA_DETAILS}|from rust"
    );
    curator.until(|l| l == want).await;

    // We see Curator's, payload intact.
    eventually("both instances cached", || cache.instances().len() == 2).await;
    let theirs = cache
        .instances()
        .into_iter()
        .find(|i| i.id == "java-1")
        .unwrap();
    assert_eq!(theirs.name, "orders");
    assert_eq!(theirs.address_port(), "127.0.0.1:9001");
    let payload = theirs.payload.unwrap();
    assert_eq!(payload.class, JAVA_DETAILS);
    assert_eq!(payload.value.description, "from java");
    assert!(theirs.enabled);

    // Curator unregisters on close; we see it go.
    curator.send("quit").await;
    curator.until(|l| l == "bye").await;
    eventually("Curator's instance gone", || {
        ids(&cache.instances()) == ["rust-1"]
    })
    .await;
    d.unregister(&me).await.unwrap();
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_service_discovery_interop_on_the_simulator() {
    let ens = ensemble().await;
    interop(&ens.connect_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_service_discovery_interop_on_real_zookeeper() {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        java::skip("ZooKeeper (Debian's zookeeper package) is not installed");
        return;
    }
    let real = zk_server_sim::real::RealEnsemble::shared_standalone().unwrap();
    let chroot = real.chroot("discovery-interop");
    let base = Client::connect(chroot.base_connect_string.as_str())
        .await
        .unwrap();
    for p in ["/it", chroot.path.as_str()] {
        match base
            .create(p, b"", &zk_client::CreateOptions::default())
            .await
        {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => panic!("{p}: {e}"),
        }
    }
    interop(&chroot.connect_string).await;
}
