//! Four-letter words (protocol.md §15; upstream `server/command/*.java`).
//!
//! The simulator behaves like a server started with
//! `4lw.commands.whitelist=*` for the words it implements (`ruok`, `srvr`,
//! `stat`, `mntr`, `cons`, `isro`, `wchs`, `wchc`, `wchp`, `conf`, `envi`,
//! `dirs`, `crst`, `srst`); the remaining words (`dump`, `gtmk`, `stmk`,
//! `hash`) answer like a real server whose whitelist excludes them:
//! `<cmd> is not executed because it is not in the whitelist.`

use std::fmt::Write as _;

use super::builder::Config;
use super::node::{ConnState, Node, Role};
use crate::tree::ConnId;

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The full answer to four-letter word `word` on node `n`, asked on
/// connection `asking` (listed like the real server lists it) of the node
/// listening on `port`.
pub(crate) fn answer(
    cfg: &Config,
    n: &Node,
    word: &str,
    asking: Option<ConnId>,
    port: u16,
) -> String {
    let serving = n.role.mode().is_some();
    match word {
            "ruok" => "imok".into(),
            "isro" => match n.role {
                Role::ReadOnly => "ro".into(),
                Role::Leading | Role::Following(_) => "rw".into(),
                _ => "null".into(),
            },
            "srvr" | "stat" | "mntr" | "cons" | "wchs" | "wchc" | "wchp" if !serving => NOT_SERVING.into(),
            "srvr" => stat_text(cfg, n, false, asking),
            "stat" => stat_text(cfg, n, true, asking),
            "cons" => {
                let mut s = String::new();
                for line in conn_lines(n, true, asking) {
                    let _ = writeln!(s, "{line}");
                }
                s.push('\n');
                s
            }
            "mntr" => mntr(cfg, n),
            "wchs" => {
                let w = n.watches.summary();
                format!(
                    "{} connections watching {} paths\nTotal watches:{}\n",
                    w.connections, w.paths, w.total
                )
            }
            "wchc" => {
                let mut s = String::new();
                for (conn, paths) in n.watches.paths_by_connection() {
                    let session = n.conns.get(&conn).map(|c| c.session).unwrap_or(0);
                    let _ = writeln!(s, "{session:#x}");
                    for p in paths {
                        let _ = writeln!(s, "\t{p}");
                    }
                }
                s.push('\n');
                s
            }
            "wchp" => {
                let mut s = String::new();
                for (path, conns) in n.watches.connections_by_path() {
                    let _ = writeln!(s, "{path}");
                    for conn in conns {
                        let session = n.conns.get(&conn).map(|c| c.session).unwrap_or(0);
                        let _ = writeln!(s, "\t{session:#x}");
                    }
                }
                s.push('\n');
                s
            }
            "conf" => format!(
                "clientPort={port}\nsecureClientPort=-1\ndataDir=/dev/null/version-2\ndataDirSize=0\ndataLogDir=/dev/null/version-2\ndataLogSize=0\ntickTime={}\nmaxClientCnxns=0\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId={}\n",
                cfg.tick_ms,
                cfg.min_session_timeout_ms,
                cfg.max_session_timeout_ms,
                n.id + 1
            ),
            "envi" => format!("Environment:\nzookeeper.version={}\nhost.name=localhost\n", cfg.version.version_string()),
            "dirs" => "datadir_size: 0\nlogdir_size: 0\n".into(),
            "crst" => "Connection stats reset.\n".into(),
            "srst" => "Server stats reset.\n".into(),
            other => format!("{other} is not executed because it is not in the whitelist.\n"),
        }
}

fn conn_lines(n: &Node, full: bool, asking: Option<ConnId>) -> Vec<String> {
    let mut ids: Vec<_> = n.conns.keys().copied().collect();
    ids.sort_unstable();
    ids.iter()
            .filter_map(|id| n.conns.get(id).map(|c| (*id, c)))
            .map(|(id, c)| {
                let queued = c.pending.len();
                // The bracket holds the selector interest ops: 1 (read) for a
                // live session, 0 for the connection asking the 4lw.
                let open = c.state == ConnState::Open;
                let received = c.received + u64::from(asking == Some(id));
                if full && open {
                    format!(
                        " /{}[1](queued={queued},recved={received},sent={},sid={:#x},lop={},est=0,to={},lcxid={:#x},lzxid={:#x},lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)",
                        c.peer, c.sent, c.session, c.last_op, c.timeout_ms, c.last_xid, c.last_zxid
                    )
                } else {
                    format!(
                        " /{}[{}](queued={queued},recved={received},sent={})",
                        c.peer,
                        u8::from(open),
                        c.sent
                    )
                }
            })
            .collect()
}

fn stat_text(cfg: &Config, n: &Node, clients: bool, asking: Option<ConnId>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Zookeeper version: {}", cfg.version.version_string());
    if clients {
        let _ = writeln!(s, "Clients:");
        for line in conn_lines(n, false, asking) {
            let _ = writeln!(s, "{line}");
        }
        s.push('\n');
    }
    if n.role == Role::ReadOnly {
        let _ = writeln!(s, "READ-ONLY mode; serving only read-only clients");
    }
    let _ = writeln!(s, "Latency min/avg/max: 0/0.0/0");
    let _ = writeln!(s, "Received: {}", n.stats.received);
    let _ = writeln!(s, "Sent: {}", n.stats.sent);
    let _ = writeln!(s, "Connections: {}", n.conns.len());
    let outstanding: usize = n.conns.values().map(|c| c.pending.len()).sum();
    let _ = writeln!(s, "Outstanding: {outstanding}");
    let _ = writeln!(s, "Zxid: {:#x}", n.last_zxid());
    let _ = writeln!(s, "Mode: {}", n.role.mode().unwrap_or("standalone"));
    let _ = writeln!(s, "Node count: {}", n.tree.node_count());
    if n.role == Role::Leading {
        let _ = writeln!(s, "Proposal sizes last/min/max: -1/-1/-1");
    }
    s
}

fn mntr(cfg: &Config, n: &Node) -> String {
    let outstanding: usize = n.conns.values().map(|c| c.pending.len()).sum();
    let ephemerals: usize = n.sessions.keys().map(|s| n.tree.ephemerals(*s).len()).sum();
    let mut s = String::new();
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(s, "{k}\t{v}");
    };
    kv("zk_version", cfg.version.version_string().into());
    kv(
        "zk_server_state",
        n.role.mode().unwrap_or("standalone").into(),
    );
    kv("zk_ephemerals_count", ephemerals.to_string());
    kv("zk_num_alive_connections", n.conns.len().to_string());
    kv("zk_avg_latency", "0.0".into());
    kv("zk_outstanding_requests", outstanding.to_string());
    kv("zk_znode_count", n.tree.node_count().to_string());
    kv("zk_global_sessions", n.sessions.len().to_string());
    kv("zk_packets_sent", n.stats.sent.to_string());
    kv("zk_packets_received", n.stats.received.to_string());
    kv("zk_watch_count", n.watches.watch_count().to_string());
    kv("zk_min_latency", "0".into());
    kv("zk_approximate_data_size", "0".into());
    kv("zk_max_latency", "0".into());
    kv("zk_local_sessions", "0".into());
    if let Some(ls) = &n.leader {
        kv("zk_learners", ls.followers.len().to_string());
        kv("zk_synced_followers", ls.followers.len().to_string());
        kv("zk_synced_non_voting_followers", "0".into());
        kv("zk_synced_observers", "0".into());
        kv("zk_pending_syncs", ls.syncs.len().to_string());
    }
    s
}
