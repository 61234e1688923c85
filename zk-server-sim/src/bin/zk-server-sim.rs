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
use zk_server_sim::{BuildError, Ensemble, ServerVersion};

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
    /// `minSessionTimeout` in ms (default 2 x tick); above the max, the
    /// binary refuses to start (exit status 2), as ZooKeeper does.
    #[arg(long)]
    min_session_timeout: Option<u64>,
    /// `maxSessionTimeout` in ms (default 20 x tick).
    #[arg(long)]
    max_session_timeout: Option<u64>,
    /// `znode.container.checkIntervalMs`: how often containers and TTL
    /// nodes are reaped, in ms.
    #[arg(long, default_value_t = 60_000)]
    container_check_interval: u64,
    /// `maxClientCnxns`: connections per client address per server (0: unlimited).
    #[arg(long, default_value_t = 60)]
    max_client_cnxns: usize,
    /// `zookeeper.nio.sessionlessCnxnTimeout`: ms a connection may stay
    /// without a ConnectRequest.
    #[arg(long, default_value_t = 10_000)]
    sessionless_cnxn_timeout: u64,
    /// `4lw.commands.whitelist`: comma-separated four-letter words, or `*`
    /// (ZooKeeper's own default is `srvr`).
    #[arg(long = "4lw-whitelist", default_value = "*")]
    four_letter_whitelist: String,
    /// Close a connection whose client leaves more than this many reply
    /// bytes unread (default: never, as real ZooKeeper).
    #[arg(long)]
    max_output_queue: Option<usize>,
    /// `jute.maxbuffer`: the largest request frame a client may send, in bytes.
    #[arg(long, default_value_t = zk_proto::DEFAULT_MAX_FRAME)]
    jute_maxbuffer: usize,
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
        .server_version(args.server_version)
        .container_check_interval(Duration::from_millis(args.container_check_interval))
        .max_client_cnxns(args.max_client_cnxns)
        .sessionless_connection_timeout(Duration::from_millis(args.sessionless_cnxn_timeout))
        .max_frame_size(args.jute_maxbuffer)
        .four_letter_whitelist(&args.four_letter_whitelist)
        .max_output_queue(args.max_output_queue);
    if let Some(ms) = args.min_session_timeout {
        builder.min_session_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = args.max_session_timeout {
        builder.max_session_timeout(Duration::from_millis(ms));
    }
    if args.port != 0 {
        builder.base_port(args.port);
    }
    if let Some(seed) = args.seed {
        builder.seed(seed);
    }
    let ensemble = match builder.build().await {
        Ok(ensemble) => Arc::new(ensemble),
        Err(e) => {
            // A configuration error is the user's to fix: one clear line, and
            // exit status 2 as for a bad flag.
            eprintln!("zk-server-sim: {e}");
            std::process::exit(if matches!(e, BuildError::Io(_)) { 1 } else { 2 });
        }
    };
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
                let sock = match admin.accept().await {
                    Ok((sock, _)) => sock,
                    Err(e) => {
                        // Out of descriptors, say: retrying at once would spin.
                        eprintln!("admin accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
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
