//! Takes a lock K times and prints one line per event.
//!
//! ```text
//! cargo run -p examples --bin lock -- --connect 127.0.0.1:2181 --path /app/lock [--hold-ms N] [--count K]
//! ```
//!
//! Each line starts with a Unix timestamp in microseconds:
//!
//! - `<micros> acquired <fencing-token>` right after each acquire (the
//!   token is the lock node's czxid: every later holder's is greater);
//! - `<micros> released` right before each release;
//! - `<micros> lost` if the lock is lost while held (its node deleted, or
//!   its session lost); that cycle then ends.
//!
//! It holds the lock `--hold-ms` milliseconds (default 1000) per cycle and
//! exits after `--count` cycles (default 1). The lock is zk-recipes'
//! [`Mutex`](zk_recipes::Mutex), compatible with Curator's
//! `InterProcessMutex` on the same path. Errors go to stderr.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zk_recipes::{Mutex, Session};

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Take a ZooKeeper lock K times, printing timestamped events")]
struct Args {
    /// The ensemble, `host:port[,host:port...][/chroot]`.
    #[arg(long)]
    connect: String,
    /// The lock's path.
    #[arg(long)]
    path: String,
    /// How long to hold the lock each time, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    hold_ms: u64,
    /// How many times to take it.
    #[arg(long, default_value_t = 1)]
    count: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lock: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), zk_recipes::Error> {
    let session = Session::connect(args.connect.as_str()).await?;
    let mutex = Mutex::new(&session, &args.path)?;
    for _ in 0..args.count {
        let guard = mutex.acquire().await?;
        examples::event(&format!("acquired {}", guard.fencing_token()));
        let lost = guard.lost();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.hold_ms)) => {
                examples::event("released");
                guard.release().await?;
            }
            _ = lost => {
                examples::event("lost");
                drop(guard);
            }
        }
    }
    session.close().await
}
