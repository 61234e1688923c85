//! A line protocol for injecting faults from outside the process (used by
//! the `zk-server-sim` binary on its admin port).
//!
//! One command per line, one answer line per command, starting `ok` or `err`:
//!
//! | command | answer |
//! |---|---|
//! | `leader` | `ok <index>` or `ok none` |
//! | `status` | `ok leader=<i\|none> epoch=<e> roles=<r0,r1,..> zxids=<0x..,..>` |
//! | `kill <i>` / `restart <i> [wipe]` | `ok` |
//! | `pause <i>` / `resume <i>` | `ok` |
//! | `partition <i> [<j> ..]` / `isolate <i>` / `heal` | `ok` |
//! | `hold <from> <to>` / `release [<from> <to>]` | `ok` (hold/deliver one direction of a peer link) |
//! | `drop <i>` | `ok` (closes server i's client connections) |
//! | `delay <i> <ms>` | `ok` |
//! | `apply_then_drop <i>` | `ok` |
//! | `expire <session-hex>` | `ok` or `err unknown session` |
//! | `force_election` | `ok` |
//! | `sessions` | `ok <hex>,<hex>,..` |
//! | `connect_string` | `ok <host:port,..>` |
//! | `check_history` | `ok` or `err <violations>` |
//! | `shutdown` | `ok`, then the binary exits |

use std::time::Duration;

use crate::ensemble::{Ensemble, Role};

/// What the caller should do after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    /// Keep serving.
    Continue,
    /// Shut the ensemble down.
    Shutdown,
}

fn role_name(r: Option<Role>) -> &'static str {
    match r {
        Some(Role::Leading) => "leading",
        Some(Role::Following(_)) => "following",
        Some(Role::Looking) => "looking",
        Some(Role::ReadOnly) => "read-only",
        Some(Role::Down) => "down",
        None => "?",
    }
}

/// Runs one admin command against `ensemble`; returns the answer line
/// (without newline).
pub async fn execute(ensemble: &Ensemble, line: &str) -> (String, AdminOutcome) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let node = |k: usize| -> Result<usize, String> {
        let w = words.get(k).ok_or("err missing server index")?;
        let i: usize = w.parse().map_err(|_| format!("err bad server index {w}"))?;
        if i < ensemble.len() {
            Ok(i)
        } else {
            Err(format!("err no server {i}"))
        }
    };
    let answer = |r: Result<String, String>| match r {
        Ok(s) => s,
        Err(e) => e,
    };
    let cont = AdminOutcome::Continue;
    match words.first().copied() {
        None => ("err empty command".into(), cont),
        Some("leader") => (
            match ensemble.leader() {
                Some(l) => format!("ok {l}"),
                None => "ok none".into(),
            },
            cont,
        ),
        Some("status") => {
            let roles: Vec<&str> = (0..ensemble.len())
                .map(|i| role_name(ensemble.role(i)))
                .collect();
            let zxids: Vec<String> = (0..ensemble.len())
                .map(|i| format!("{:#x}", ensemble.last_zxid(i)))
                .collect();
            let leader = ensemble
                .leader()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "none".into());
            (
                format!(
                    "ok leader={leader} epoch={} roles={} zxids={}",
                    ensemble.epoch(),
                    roles.join(","),
                    zxids.join(",")
                ),
                cont,
            )
        }
        Some("kill") => (
            answer(node(1).map(|i| {
                ensemble.kill(i);
                "ok".into()
            })),
            cont,
        ),
        Some("restart") => {
            let reply = match node(1) {
                Ok(i) => match ensemble.restart(i, words.get(2) == Some(&"wipe")).await {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("err {e}"),
                },
                Err(e) => e,
            };
            (reply, cont)
        }
        Some("pause") => (
            answer(node(1).map(|i| {
                ensemble.pause(i);
                "ok".into()
            })),
            cont,
        ),
        Some("resume") => (
            answer(node(1).map(|i| {
                ensemble.resume(i);
                "ok".into()
            })),
            cont,
        ),
        Some("isolate") => (
            answer(node(1).map(|i| {
                ensemble.isolate(i);
                "ok".into()
            })),
            cont,
        ),
        Some("partition") => {
            let side: Result<Vec<usize>, String> = (1..words.len()).map(node).collect();
            (
                answer(side.and_then(|s| {
                    if s.is_empty() {
                        Err("err partition needs server indexes".into())
                    } else {
                        ensemble.partition(&s);
                        Ok("ok".into())
                    }
                })),
                cont,
            )
        }
        Some("heal") => {
            ensemble.heal();
            ("ok".into(), cont)
        }
        Some("hold") => (
            answer(node(1).and_then(|a| {
                let b = node(2)?;
                ensemble.hold(a, b);
                Ok("ok".into())
            })),
            cont,
        ),
        Some("release") => {
            if words.len() == 1 {
                ensemble.release(None);
                ("ok".into(), cont)
            } else {
                (
                    answer(node(1).and_then(|a| {
                        let b = node(2)?;
                        ensemble.release(Some((a, b)));
                        Ok("ok".into())
                    })),
                    cont,
                )
            }
        }
        Some("drop") => (
            answer(node(1).map(|i| {
                ensemble.drop_client_connections(i);
                "ok".into()
            })),
            cont,
        ),
        Some("delay") => (
            answer(node(1).and_then(|i| {
                let ms: u64 = words
                    .get(2)
                    .and_then(|w| w.parse().ok())
                    .ok_or("err delay needs milliseconds")?;
                ensemble.delay_replies(i, Duration::from_millis(ms));
                Ok("ok".into())
            })),
            cont,
        ),
        Some("apply_then_drop") => (
            answer(node(1).map(|i| {
                ensemble.apply_then_drop(i);
                "ok".into()
            })),
            cont,
        ),
        Some("expire") => {
            let id = words
                .get(1)
                .map(|w| w.trim_start_matches("0x"))
                .and_then(|w| u64::from_str_radix(w, 16).ok());
            match id {
                None => ("err expire needs a session id in hex".into(), cont),
                Some(id) if ensemble.expire_session(id as i64) => ("ok".into(), cont),
                Some(_) => ("err unknown session".into(), cont),
            }
        }
        Some("force_election") => {
            ensemble.force_election();
            ("ok".into(), cont)
        }
        Some("sessions") => {
            let ids: Vec<String> = ensemble
                .sessions()
                .iter()
                .map(|s| format!("{:#x}", s.id))
                .collect();
            (format!("ok {}", ids.join(",")), cont)
        }
        Some("connect_string") => (format!("ok {}", ensemble.connect_string()), cont),
        Some("check_history") => match ensemble.check_history() {
            Ok(()) => ("ok".into(), cont),
            Err(e) => (format!("err {}", e.to_string().replace('\n', "; ")), cont),
        },
        Some("shutdown") => ("ok".into(), AdminOutcome::Shutdown),
        Some(other) => (format!("err unknown command {other}"), cont),
    }
}
