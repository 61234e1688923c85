//! Joins a leader latch and prints one line per leadership change.
//!
//! ```text
//! cargo run -p examples --bin leader -- --connect 127.0.0.1:2181 --path /app/leader [--id ID] [--for-ms N]
//! ```
//!
//! Each line starts with a Unix timestamp in microseconds:
//!
//! - `<micros> leader <fencing-token>` on gaining leadership (the token is
//!   our latch node's czxid: every later leader's is greater);
//! - `<micros> follower` on losing it.
//!
//! After `--for-ms` milliseconds (default: until Ctrl-C) it prints
//! `<micros> follower`, then relinquishes (closes the latch) and exits.
//! The latch is zk-recipes' [`LeaderLatch`],
//! compatible with Curator's `LeaderLatch` on the same path; `--id` (default
//! `pid-<pid>`) is stored in our latch node, where Curator reads
//! participant ids. Errors go to stderr.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zk_recipes::{LeaderLatch, Leadership, Session};

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(about = "Join a ZooKeeper leader latch, printing timestamped leadership changes")]
struct Args {
    /// The ensemble, `host:port[,host:port...][/chroot]`.
    #[arg(long)]
    connect: String,
    /// The latch's path.
    #[arg(long)]
    path: String,
    /// This participant's id (default `pid-<pid>`).
    #[arg(long)]
    id: Option<String>,
    /// How long to take part, in milliseconds (default: until Ctrl-C).
    #[arg(long)]
    for_ms: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("leader: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leader: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), zk_recipes::Error> {
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("pid-{}", std::process::id()));
    let session = Session::connect(args.connect.as_str()).await?;
    let latch = LeaderLatch::start(&session, &args.path, &id)?;
    let mut rx = latch.leadership();
    let end = async {
        match args.for_ms {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => {
                // Without a signal handler, wait forever (killed from outside).
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    tokio::pin!(end);
    // The token we last printed as leader, if leading.
    let mut printed: Option<i64> = None;
    loop {
        let now = rx.borrow_and_update().clone();
        match (&now, printed) {
            (Leadership::Leader { fencing_token, .. }, Some(t)) if *fencing_token != t => {
                // Lost and regained between two looks.
                examples::event("follower");
                examples::event(&format!("leader {fencing_token}"));
                printed = Some(*fencing_token);
            }
            (Leadership::Leader { fencing_token, .. }, None) => {
                examples::event(&format!("leader {fencing_token}"));
                printed = Some(*fencing_token);
            }
            (Leadership::Follower, Some(_)) => {
                examples::event("follower");
                printed = None;
            }
            _ => {}
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = &mut end => break,
        }
    }
    examples::event("follower");
    latch.close().await?;
    session.close().await
}
