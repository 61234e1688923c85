//! The main example: a client on an embedded, simulated 3-node ZooKeeper
//! ensemble creates nodes, sets watches, and survives the crash of the server
//! it is connected to, printing what happens (see `examples::quickstart`).
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
