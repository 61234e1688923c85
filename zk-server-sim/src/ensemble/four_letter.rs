//! Four-letter words (protocol.md §15; upstream `server/command/*.java`).
//!
//! Every word real 3.8 answers is answered, subject to
//! [`Builder::four_letter_whitelist`](super::Builder::four_letter_whitelist)
//! (default `*`); a word outside it gets
//! `<cmd> is not executed because it is not in the whitelist.` `hash` lists
//! the node's digest log as a real server does: `<zxid hex>: <digest>`
//! after each txn whose zxid is a multiple of 128, digests computed as
//! ZooKeeper computes them (`tree::digest`).

use std::fmt::Write as _;

use super::builder::Config;
use super::node::{ConnState, Node, Role};
use crate::tree::ConnId;

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The full answer to four-letter word `word` on node `n`, asked on
/// connection `asking` (listed like the real server lists it) of the node
/// listening on `port`.
///
/// `arg` holds the bytes after the word (`stmk` reads its 8-byte mask
/// there); `now_ms` is the ensemble clock (for `dump`'s expiry times).
pub(crate) fn answer(
    cfg: &Config,
    n: &mut Node,
    word: &str,
    arg: &[u8],
    asking: Option<ConnId>,
    port: u16,
    now_ms: u64,
) -> String {
    if !cfg.four_letter_allowed(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    let serving = n.role.mode().is_some();
    match word {
        "gtmk" => n.trace_mask.to_string(),
        "stmk" => match arg.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(mask) => {
                n.trace_mask = i64::from_be_bytes(mask);
                n.trace_mask.to_string()
            }
            // The real server fails to read the mask and closes.
            None => String::new(),
        },
        "srvr" | "stat" | "mntr" | "cons" | "wchs" | "wchc" | "wchp" | "dump" | "hash"
            if !serving =>
        {
            NOT_SERVING.into()
        }
        "dump" => dump(cfg, n, now_ms),
        "hash" => {
            let mut s = String::new();
            for (zxid, digest) in &n.digest_log {
                let _ = writeln!(s, "{zxid:x}: {digest}");
            }
            s
        }
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

/// `dump`: the session tracker's expiry sets (the leader's; a follower
/// lists its global sessions), every session's ephemerals, and the
/// connection expiry sets, in 3.8's layout.
fn dump(cfg: &Config, n: &Node, now_ms: u64) -> String {
    use std::collections::BTreeMap;
    let wall_now = u64::try_from(super::core::wall_ms()).unwrap_or(0);
    let wall = |ms: u64| java_date(wall_now.saturating_sub(now_ms).saturating_add(ms));
    let mut s = String::from("SessionTracker dump:\n");
    match &n.leader {
        Some(ls) => {
            let mut sets: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
            for (id, t) in &ls.tracker {
                sets.entry(t.deadline_ms).or_default().push(*id);
            }
            let _ = writeln!(s, "Session Sets ({})/({}):", sets.len(), ls.tracker.len());
            for (at, ids) in &sets {
                let _ = writeln!(s, "{} expire at {}:", ids.len(), wall(*at));
                for id in ids {
                    let _ = writeln!(s, "\t{id:#x}");
                }
            }
        }
        None => {
            let _ = writeln!(s, "Global Sessions({}):", n.sessions.len());
            for (id, timeout) in &n.sessions {
                let _ = writeln!(s, "{id:#x}\t{timeout}ms");
            }
        }
    }
    s.push_str("ephemeral nodes dump:\n");
    let with: Vec<(i64, Vec<String>)> = n
        .sessions
        .keys()
        .map(|id| (*id, n.tree.ephemerals(*id)))
        .filter(|(_, paths)| !paths.is_empty())
        .collect();
    let _ = writeln!(s, "Sessions with Ephemerals ({}):", with.len());
    for (id, paths) in &with {
        let _ = writeln!(s, "{id:#x}:");
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s.push_str("Connections dump:\n");
    let mut sets: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in n.conns.values() {
        let timeout = if c.state == ConnState::Open {
            u64::try_from(c.timeout_ms).unwrap_or(0)
        } else {
            cfg.sessionless_ms
        };
        let at = super::leader::bucket(c.opened_ms.max(now_ms) + timeout, timeout);
        sets.entry(at)
            .or_default()
            .push(format!("\tip: /{} sessionId: {:#x}", c.peer, c.session));
    }
    let total: usize = sets.values().map(Vec::len).sum();
    let _ = writeln!(s, "Connections Sets ({})/({}):", sets.len(), total);
    for (at, lines) in &sets {
        let _ = writeln!(s, "{} expire at {}:", lines.len(), wall(*at));
        for l in lines {
            let _ = writeln!(s, "{l}");
        }
    }
    s
}

/// `java.util.Date.toString()` in UTC: `Tue Dec 01 23:15:52 UTC 2026`.
fn java_date(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = DAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let month_name = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday} {month_name} {day:02} {:02}:{:02}:{:02} UTC {year}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn java_date_formats_like_java_util_date() {
        // 2026-12-01T23:15:52Z, seen in a real 3.8 server's dump.
        assert_eq!(
            super::java_date(1_796_166_952_000),
            "Tue Dec 01 23:15:52 UTC 2026"
        );
        assert_eq!(super::java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    }
}
