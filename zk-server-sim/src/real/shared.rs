//! Process-wide shared ensembles and per-test chroots.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::config::RealEnsembleBuilder;
use super::ensemble::RealEnsemble;
use super::error::{RealZkError, Result};

type SharedSlot = OnceLock<std::result::Result<RealEnsemble, Arc<RealZkError>>>;

/// One slot per ensemble size, leaked so that the ensembles are `'static`. They are
/// never dropped: their JVMs die with the process (see the module docs).
static SHARED: Mutex<BTreeMap<usize, &'static SharedSlot>> = Mutex::new(BTreeMap::new());

impl RealEnsemble {
    /// The builder [`shared`](Self::shared) uses: `nodes` servers, 500 ms ticks
    /// (session timeouts negotiable from 1 s to 10 s), TTL nodes enabled
    /// (`zookeeper.extendedTypesEnabled`) and containers checked every second
    /// (`znode.container.checkIntervalMs=1000`).
    pub fn shared_builder(nodes: usize) -> RealEnsembleBuilder {
        Self::builder()
            .nodes(nodes)
            .tick_time(Duration::from_millis(500))
            .extended_types(true)
            .system_property("znode.container.checkIntervalMs", "1000")
    }

    /// The ensemble of `nodes` servers shared by every test of this process, started
    /// on first use with [`shared_builder`](Self::shared_builder) and never stopped
    /// before the process exits. Concurrent first calls wait for the one start.
    ///
    /// Tests sharing it must not see each other's data: give each its own
    /// [`chroot`](Self::chroot). A shared ensemble is only lent out as `&`, so it
    /// cannot be stopped, killed or paused; tests that inject faults start their own.
    ///
    /// # Errors
    ///
    /// The start-up error, wrapped in [`RealZkError::SharedStartFailed`]. A failed start
    /// is remembered: later calls fail at once with the same error rather than each
    /// waiting out a timeout.
    pub fn shared(nodes: usize) -> Result<&'static RealEnsemble> {
        let slot: &'static SharedSlot = {
            let mut map = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(nodes)
                .or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
        };
        slot.get_or_init(|| Self::shared_builder(nodes).start().map_err(Arc::new))
            .as_ref()
            .map_err(|source| RealZkError::SharedStartFailed {
                nodes,
                source: Arc::clone(source),
            })
    }

    /// The shared standalone server: `RealEnsemble::shared(1)`.
    ///
    /// # Errors
    ///
    /// As [`shared`](Self::shared).
    pub fn shared_standalone() -> Result<&'static RealEnsemble> {
        Self::shared(1)
    }

    /// The shared three-node quorum: `RealEnsemble::shared(3)`.
    ///
    /// # Errors
    ///
    /// As [`shared`](Self::shared).
    pub fn shared_three() -> Result<&'static RealEnsemble> {
        Self::shared(3)
    }
}

/// A fresh chroot path for the test `name`: `/it/<name>-<counter>-<pid>`.
///
/// The counter makes it unique within the process, the pid across the test binaries
/// that may share a server. Characters other than ASCII letters, digits, `-`, `_` and
/// `.` in `name` become `_`, so a module path such as `locks::reentrant` is fine.
/// Nothing is created on the server.
pub fn unique_chroot(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = if clean.is_empty() || clean.chars().all(|c| c == '.') {
        "test".to_owned()
    } else {
        clean
    };
    format!("/it/{clean}-{n}-{}", std::process::id())
}

/// A test's private corner of an ensemble, from [`RealEnsemble::chroot`].
///
/// The harness creates nothing on the server. A test first creates [`path`](Self::path)
/// (and `/it`) through a client on [`base_connect_string`](Self::base_connect_string),
/// then connects its clients under test to [`connect_string`](Self::connect_string).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chroot {
    /// The chroot znode path, e.g. `/it/locks-3-4711`.
    pub path: String,
    /// The ensemble's connect string with the chroot appended.
    pub connect_string: String,
    /// The ensemble's connect string without a chroot.
    pub base_connect_string: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chroots_are_unique_and_clean() {
        let a = unique_chroot("locks::reentrant lock");
        let b = unique_chroot("locks::reentrant lock");
        assert_ne!(a, b);
        let pid = std::process::id().to_string();
        assert!(a.starts_with("/it/locks__reentrant_lock-"), "{a}");
        assert!(a.ends_with(&pid), "{a}");
        assert!(unique_chroot("..").starts_with("/it/test-"));
        assert!(unique_chroot("").starts_with("/it/test-"));
    }
}
