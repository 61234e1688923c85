//! Typed config on the simulator: initial value, changes, a value that does
//! not parse (the last good one stays), deletion, and a reconnect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use serde::Deserialize;
use zk_client::{Client, CreateOptions};
use zk_recipes::config::{ConfigChanges, ConfigEvent, TypedConfig};
use zk_server_sim::Ensemble;

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Settings {
    workers: u32,
    name: String,
}

async fn next<T>(changes: &mut ConfigChanges<T>) -> ConfigEvent<T> {
    tokio::time::timeout(Duration::from_secs(20), changes.recv())
        .await
        .expect("a change in time")
        .expect("the config is live")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_config_parses_keeps_last_good_and_reports_errors() {
    let ens = Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let c = Client::connect(ens.addr(0).to_string()).await.unwrap();
    c.create("/app", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create(
        "/app/settings",
        br#"{"workers":4,"name":"a"}"#,
        &CreateOptions::default(),
    )
    .await
    .unwrap();
    let reader = Client::connect(ens.addr(1).to_string()).await.unwrap();
    let config: TypedConfig<Settings> = TypedConfig::start(&reader, "/app/settings");
    let mut changes = config.changes();
    config.initialized().await.unwrap();
    let want_a = Settings {
        workers: 4,
        name: "a".into(),
    };
    assert_eq!(config.current().as_deref(), Some(&want_a));
    assert!(matches!(next(&mut changes).await, ConfigEvent::Value(v) if *v == want_a));

    c.set_data(
        "/app/settings",
        br#"{"workers":8,"name":"b","extra":1}"#,
        None,
    )
    .await
    .unwrap();
    let want_b = Settings {
        workers: 8,
        name: "b".into(),
    };
    assert!(matches!(next(&mut changes).await, ConfigEvent::Value(v) if *v == want_b));

    // Not a Settings: reported, and the last good value stays.
    c.set_data("/app/settings", br#"{"workers":"many"}"#, None)
        .await
        .unwrap();
    match next(&mut changes).await {
        ConfigEvent::Invalid(reason) => assert!(
            reason.contains("workers") || reason.contains("invalid"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(config.current().as_deref(), Some(&want_b));
    assert!(config.last_error().is_some());

    // A change made while the reader is disconnected is seen after the reconnect.
    ens.drop_client_connections(1);
    c.set_data("/app/settings", br#"{"workers":1,"name":"c"}"#, None)
        .await
        .unwrap();
    let want_c = Settings {
        workers: 1,
        name: "c".into(),
    };
    assert!(matches!(next(&mut changes).await, ConfigEvent::Value(v) if *v == want_c));
    assert_eq!(config.last_error(), None);

    c.delete("/app/settings", None).await.unwrap();
    assert!(matches!(next(&mut changes).await, ConfigEvent::Missing));
    assert_eq!(config.current().as_deref(), Some(&want_c));
}

/// `initialized()` resolves only once `current()` holds the first value
/// (it used to announce readiness before parsing, so `current()` could still
/// be `None` right after `initialized()`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_holds_the_value_once_initialized_returns() {
    let ens = Ensemble::builder().nodes(1).build().await.unwrap();
    let c = Client::connect(ens.addr(0).to_string()).await.unwrap();
    c.create(
        "/cfg",
        br#"{"workers":3,"name":"a"}"#,
        CreateOptions::persistent(),
    )
    .await
    .unwrap();
    for round in 0..50 {
        let config = TypedConfig::<Settings>::start(&c, "/cfg");
        config.initialized().await.unwrap();
        let current = config.current();
        assert_eq!(
            current.as_deref(),
            Some(&Settings {
                workers: 3,
                name: "a".to_owned()
            }),
            "round {round}"
        );
    }
}
