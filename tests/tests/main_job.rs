//! The README's main job (`cargo run -p examples --bin quickstart`) holds what
//! it promises: workers elect a leader, share a lock with fencing tokens,
//! register as a service and follow a typed config; when the leader's host
//! crashes, a new leader takes over, the lock stays exclusive, the dead
//! worker's registration goes and the survivors see the new config.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_fails_over_when_the_leaders_host_crashes() {
    let report = examples::quickstart::run(|line| println!("{line}"))
        .await
        .unwrap();
    let seed = report.seed;
    println!("seed {seed}");

    // The crashed worker led first; a survivor leads after it, with a larger token.
    assert!(
        report.leaders.len() >= 2,
        "seed {seed}: {:?}",
        report.leaders
    );
    assert_eq!(report.leaders[0].0, report.crashed, "seed {seed}");
    let last = report.leaders.last().unwrap();
    assert_ne!(last.0, report.crashed, "seed {seed}: {:?}", report.leaders);
    assert!(
        report.leaders.windows(2).all(|w| w[0].1 < w[1].1),
        "seed {seed}: leader tokens must increase: {:?}",
        report.leaders
    );

    // The lock went round, never to two holders at once, tokens increasing.
    assert!(
        report.lock_tokens.len() >= 4,
        "seed {seed}: {:?}",
        report.lock_tokens
    );
    assert!(
        report.lock_tokens.windows(2).all(|w| w[0] < w[1]),
        "seed {seed}: {:?}",
        report.lock_tokens
    );
    assert_eq!(report.overlapping_holds, 0, "seed {seed}");

    // Registrations: all three before, the survivors after.
    assert_eq!(
        report.services_before,
        vec!["w0", "w1", "w2"],
        "seed {seed}"
    );
    let mut survivors: Vec<String> = ["w0", "w1", "w2"]
        .iter()
        .map(|s| s.to_string())
        .filter(|w| *w != report.crashed)
        .collect();
    survivors.sort();
    assert_eq!(report.services_after, survivors, "seed {seed}");

    // Both survivors hold the config written after the crash.
    assert_eq!(report.config_after.len(), 2, "seed {seed}");
    assert!(
        report.config_after.iter().all(|(_, rev)| *rev == 2),
        "seed {seed}: {:?}",
        report.config_after
    );
}
