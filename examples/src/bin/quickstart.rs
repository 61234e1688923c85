//! The main example: three workers on an embedded, simulated 3-node ZooKeeper
//! ensemble elect a leader, share a lock and a config, and fail over when the
//! leader's host crashes, printing what happens (see `examples::quickstart`).
//!
//! ```sh
//! cargo run --release -p examples --bin quickstart
//! ZK_SIM_SEED=7 cargo run --release -p examples --bin quickstart   # replay a run
//! ```

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), examples::quickstart::BoxError> {
    examples::quickstart::run(|line| println!("{line}")).await?;
    Ok(())
}
