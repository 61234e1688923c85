//! The README's main job (`cargo run -p examples --bin quickstart`) holds what
//! it promises: the client survives the crash of its server in the same
//! session, its watches fire for changes made meanwhile, and closing it
//! removes its ephemeral.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use zk_client::EventType;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_survives_the_crash_of_its_server() {
    let report = examples::quickstart::run(|line| println!("{line}"))
        .await
        .unwrap();
    println!("seed {}", report.seed);
    assert_eq!(
        report.session_after, report.session_before,
        "seed {}",
        report.seed
    );
    assert_eq!(
        report.watch_events,
        vec![
            (EventType::NodeDataChanged, "/config".to_owned()),
            (EventType::NodeChildrenChanged, "/workers".to_owned()),
        ],
        "seed {}",
        report.seed
    );
    assert_eq!(report.config_after, "v2");
    assert_eq!(report.workers_after_close, vec!["w-0000000001".to_owned()]);
}
