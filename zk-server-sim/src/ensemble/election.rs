//! Leader election and follower sync.
//!
//! The simulator decides roles from an omniscient view of the links: a group
//! of mutually reachable, available nodes that holds a majority elects the
//! member with the highest (epoch, last logged zxid, seeded rank), which takes
//! a fresh epoch, commits its whole log (Zab: anything a quorum acknowledged
//! is in the most up-to-date log of every quorum) and syncs the rest of the
//! group with DIFF (its log extends theirs) or SNAP (their log diverges:
//! uncommitted proposals it lacks are truncated).

use super::core::{wall_ms, Core};
use super::leader::{bucket, LeaderState, Tracked};
use super::node::{Node, Role};

/// Two distinct nodes, both mutable.
pub(crate) fn pair(nodes: &mut [Node], a: usize, b: usize) -> Option<(&mut Node, &mut Node)> {
    if a == b || a.max(b) >= nodes.len() {
        return None;
    }
    if a < b {
        let (x, y) = nodes.split_at_mut(b);
        Some((x.get_mut(a)?, y.first_mut()?))
    } else {
        let (x, y) = nodes.split_at_mut(a);
        let nb = x.get_mut(b)?;
        Some((y.first_mut()?, nb))
    }
}

impl Core {
    /// Whether the node can take part in a quorum.
    pub(crate) fn available(&self, i: usize) -> bool {
        self.nodes
            .get(i)
            .is_some_and(|n| n.role != Role::Down && !(n.paused_at.is_some() && n.pause_detected))
    }

    fn quorum_group(&self, i: usize) -> Vec<usize> {
        self.links
            .component(i)
            .filter(|&j| self.available(j))
            .collect()
    }

    /// Recomputes roles after a change in membership or links.
    pub(crate) fn reconfigure(&mut self) {
        let majority = self.cfg.majority();
        if let Some(l) = self.leader {
            let keep = self.available(l)
                && self.nodes.get(l).is_some_and(|n| n.role == Role::Leading)
                && self.quorum_group(l).len() >= majority;
            if !keep {
                tracing::info!(node = l, "leader lost its quorum");
                self.leader = None;
                self.go_looking(l);
            }
        }
        if self.leader.is_none() {
            let candidates = (0..self.nodes.len())
                .map(|i| self.quorum_group(i))
                .find(|g| g.len() >= majority);
            if let Some(group) = candidates {
                self.elect(&group);
            }
        }
        let leader = self.leader;
        let group = leader.map(|l| self.quorum_group(l)).unwrap_or_default();
        for j in 0..self.nodes.len() {
            if Some(j) == leader {
                continue;
            }
            match leader {
                Some(l) if group.contains(&j) => {
                    let synced = self.nodes.get(j).is_some_and(|n| {
                        n.role == Role::Following(l)
                            && self.nodes.get(l).is_some_and(|ln| ln.epoch == n.epoch)
                    });
                    let in_set = self
                        .nodes
                        .get(l)
                        .and_then(|n| n.leader.as_ref())
                        .is_some_and(|ls| ls.followers.contains(&j));
                    if !synced || !in_set {
                        self.sync_follower(j, l);
                    }
                }
                _ => {
                    if let Some(ls) = leader
                        .and_then(|l| self.nodes.get_mut(l))
                        .and_then(|n| n.leader.as_mut())
                    {
                        ls.followers.remove(&j);
                    }
                    self.go_looking(j);
                }
            }
        }
        if let Some(l) = leader {
            self.try_commit(l);
        }
    }

    /// Stops serving: closes client connections and looks for a leader.
    pub(crate) fn go_looking(&mut self, i: usize) {
        let now = self.now_ms();
        if let Some(n) = self.nodes.get_mut(i) {
            n.stop_serving(now);
        }
    }

    fn elect(&mut self, group: &[usize]) {
        let best = group.iter().copied().max_by_key(|&i| {
            let n = self.nodes.get(i);
            (
                n.map(|n| n.epoch).unwrap_or(0),
                n.map(Node::last_logged).unwrap_or(0),
                self.rank.get(i).copied().unwrap_or(0),
            )
        });
        let Some(l) = best else {
            return;
        };
        self.max_epoch = self
            .max_epoch
            .max(self.nodes.iter().map(|n| n.epoch).max().unwrap_or(0))
            + 1;
        let epoch = self.max_epoch;
        let now = self.now_ms();
        let now_i = wall_ms();
        let tick = self.cfg.tick_ms;
        let Some(n) = self.nodes.get_mut(l) else {
            return;
        };
        n.close_all();
        n.apply_through(i64::MAX, now_i);
        if let Some((text, time)) = &self.membership {
            n.load_config(text, *time);
        }
        n.role = Role::Leading;
        n.epoch = epoch;
        n.inbox.clear();
        n.touched.clear();
        let mut ls = LeaderState::new(n.tree.clone(), l, n.last_logged());
        ls.last_reap_ms = now;
        for (id, timeout_ms) in &n.sessions {
            let timeout = u64::try_from(*timeout_ms).unwrap_or(0);
            ls.tracker.insert(
                *id,
                Tracked {
                    timeout_ms: *timeout_ms,
                    deadline_ms: bucket(now + timeout, tick),
                    owner: None,
                },
            );
        }
        n.leader = Some(ls);
        self.leader = Some(l);
        tracing::info!(
            node = l,
            epoch,
            zxid = format_args!("{:#x}", n.last_zxid()),
            "elected leader"
        );
    }

    /// Brings follower `j` in line with leader `l` (DIFF or SNAP).
    pub(crate) fn sync_follower(&mut self, j: usize, l: usize) {
        let now_i = wall_ms();
        let membership = self.membership.clone();
        let Some((f, lead)) = pair(&mut self.nodes, j, l) else {
            return;
        };
        if lead.leader.is_none() {
            return;
        }
        if f.role != Role::Following(l) || f.epoch != lead.epoch {
            f.close_all();
        }
        // DIFF when the follower's log is a prefix of the leader's and
        // everything it still has to apply is in the leader's in-memory log;
        // otherwise SNAP (as a real leader past its committedLog window).
        let f_end = f.log_end();
        let prefix = f_end <= lead.log_end()
            && f.applied <= lead.applied
            && f.applied >= lead.log_base
            && match f_end.checked_sub(1) {
                None => f.tree.last_zxid() == 0,
                Some(last) => lead.log_entry(last).map(|e| e.zxid) == Some(f.last_logged()),
            };
        let commit = lead.tree.last_zxid();
        if prefix {
            f.syncs.diff += 1;
            f.log = lead.log.clone();
            f.log_base = lead.log_base;
            f.apply_through(commit, now_i);
        } else {
            tracing::debug!(node = j, leader = l, "SNAP sync");
            f.install_snapshot(lead);
        }
        if let Some((text, time)) = &membership {
            f.load_config(text, *time);
        }
        f.role = Role::Following(l);
        f.epoch = lead.epoch;
        f.inbox.clear();
        let logged = lead.log.last().map(|e| e.zxid).unwrap_or(commit);
        if let Some(ls) = lead.leader.as_mut() {
            ls.followers.insert(j);
            ls.acked.insert(j, logged);
        }
        tracing::debug!(node = j, leader = l, "follower synced");
    }
}
