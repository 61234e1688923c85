//! `zk-server-sim`: a simulated ZooKeeper ensemble for tests in any language.
//!
//! ```text
//! zk-server-sim --nodes 3 --port 2181 --admin-port 2199
//! ```
//!
//! Prints one line `ready connect=<host:port,..> admin=<host:port> seed=<n>`
//! when serving, then takes fault commands on the admin port (see
//! `zk_server_sim::admin`). Exits on `shutdown` or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use zk_server_sim::admin::{execute, AdminOutcome};
use zk_server_sim::{Ensemble, ServerVersion};

/// A simulated, fault-injectable ZooKeeper ensemble.
#[derive(Debug, Parser)]
#[command(name = "zk-server-sim", version)]
struct Args {
    /// Number of servers.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Client port of server 0; server i listens on port + i (0 = OS-assigned).
    #[arg(long, default_value_t = 2181)]
    port: u16,
    /// Admin (fault injection) port; 0 = OS-assigned.
    #[arg(long, default_value_t = 0)]
    admin_port: u16,
    /// Seed for every random choice (decimal or 0x hex; default: ZK_SIM_SEED or random).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// tickTime in milliseconds.
    #[arg(long, default_value_t = 200)]
    tick_time: u64,
    /// Enable TTL nodes.
    #[arg(long)]
    extended_types: bool,
    /// Enable read-only mode.
    #[arg(long)]
    read_only: bool,
    /// Release to impersonate: 3.8 (notification zxid -1) or 3.9.
    #[arg(long, default_value = "3.8", value_parser = parse_version)]
    server_version: ServerVersion,
    /// Record client history (for `check_history`); off by default for speed.
    #[arg(long)]
    record_history: bool,
}

fn parse_version(s: &str) -> Result<ServerVersion, String> {
    match s {
        "3.8" => Ok(ServerVersion::V3_8),
        "3.9" => Ok(ServerVersion::V3_9),
        other => Err(format!("unsupported server version {other} (3.8 or 3.9)")),
    }
}

fn parse_seed(s: &str) -> Result<u64, String> {
    zk_server_sim::parse_seed(s).ok_or_else(|| format!("bad seed {s}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut builder = Ensemble::builder();
    builder
        .nodes(args.nodes)
        .tick_time(Duration::from_millis(args.tick_time))
        .extended_types(args.extended_types)
        .read_only(args.read_only)
        .record_history(args.record_history)
        .server_version(args.server_version);
    if args.port != 0 {
        builder.base_port(args.port);
    }
    if let Some(seed) = args.seed {
        builder.seed(seed);
    }
    let ensemble = Arc::new(builder.build().await?);
    let admin = TcpListener::bind(("127.0.0.1", args.admin_port)).await?;
    println!(
        "ready connect={} admin={} seed={}",
        ensemble.connect_string(),
        admin.local_addr()?,
        ensemble.seed()
    );
    let stop = Arc::new(Notify::new());
    let accept = {
        let ensemble = Arc::clone(&ensemble);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = admin.accept().await else {
                    continue;
                };
                let ensemble = Arc::clone(&ensemble);
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let (rd, mut wr) = sock.into_split();
                    let mut lines = BufReader::new(rd).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let (answer, outcome) = execute(&ensemble, &line).await;
                        if wr
                            .write_all(format!("{answer}\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                        if outcome == AdminOutcome::Shutdown {
                            stop.notify_one();
                            return;
                        }
                    }
                });
            }
        })
    };
    tokio::select! {
        _ = stop.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    accept.abort();
    drop(ensemble);
    Ok(())
}
