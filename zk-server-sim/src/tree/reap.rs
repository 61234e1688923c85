//! Container and TTL reaping candidates (`ContainerManager.getCandidates`).

use zk_proto::EphemeralKind;

use super::{DataTree, Txn};

impl DataTree {
    /// The nodes the leader's ContainerManager would delete now, as
    /// [`Txn::DeleteContainer`]s in path order: empty containers that have
    /// had a child (internal cversion > 0), and childless TTL nodes whose
    /// `now_ms − mtime > ttl`. Never-used containers are kept (3.8's default
    /// `znode.container.maxNeverUsedIntervalMs` of 0); see
    /// [`reap_candidates_with`](Self::reap_candidates_with).
    ///
    /// Apply each on the leader's speculative tree right away, like a
    /// prepared txn (upstream sends each through the pipeline as a
    /// deleteContainer request, opcode 20).
    pub fn reap_candidates(&self, now_ms: i64) -> Vec<Txn> {
        self.reap_candidates_with(now_ms, 0)
    }

    /// As [`reap_candidates`](Self::reap_candidates), also taking containers
    /// that never had a child once `now_ms − mtime > max_never_used_ms`
    /// (0 disables that, as upstream).
    pub fn reap_candidates_with(&self, now_ms: i64, max_never_used_ms: i64) -> Vec<Txn> {
        let mut paths: Vec<&String> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.children.is_empty())
            .filter(|(_, n)| {
                let elapsed = now_ms.saturating_sub(n.stat.mtime);
                match n.kind() {
                    EphemeralKind::Container => {
                        n.stat.cversion > 0
                            || (max_never_used_ms != 0 && elapsed > max_never_used_ms)
                    }
                    EphemeralKind::Ttl(ttl) => ttl != 0 && elapsed > ttl,
                    _ => false,
                }
            })
            .map(|(p, _)| p)
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| Txn::DeleteContainer { path: p.clone() })
            .collect()
    }
}
