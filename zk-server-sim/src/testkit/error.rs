//! The error type of the backend-neutral test ensemble.

use std::io;
use std::time::Duration;

use super::ensemble::Backend;
use crate::real::RealZkError;

/// Everything that can go wrong while starting or driving a
/// [`TestEnsemble`](super::TestEnsemble).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The backend cannot run on this machine (ZooKeeper or Docker missing, the
    /// image not built, the crate built without the `testcontainers` feature).
    /// [`TestEnsembleBuilder::start_or_skip`](super::TestEnsembleBuilder::start_or_skip)
    /// turns this into a skip, except under `CI=true`.
    #[error("the {backend} backend is unavailable: {reason}")]
    Unavailable {
        /// The backend asked for.
        backend: Backend,
        /// Why it cannot run, with how to fix it.
        reason: String,
    },

    /// The backend cannot do this (for example wiping a container's disk).
    #[error("the {backend} backend does not support {what}")]
    Unsupported {
        /// The backend.
        backend: Backend,
        /// The operation.
        what: &'static str,
    },

    /// A node index past the end.
    #[error("no node with index {index}: the ensemble has {len} node(s), indexed from 0")]
    NoSuchNode {
        /// The index asked for.
        index: usize,
        /// Number of nodes.
        len: usize,
    },

    /// The session to expire is unknown to the servers (already expired, or the
    /// password is wrong); or, for a dropped link, no server holds a
    /// connection of it.
    #[error("session {session_id:#x} is unknown to the ensemble (already expired?)")]
    NoSuchSession {
        /// The session id.
        session_id: i64,
    },

    /// A wait (for a leader, for a node to serve) ran out of time.
    #[error("timed out after {elapsed:.1?} waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        elapsed: Duration,
    },

    /// The local real-ZooKeeper harness failed.
    #[error(transparent)]
    Real(#[from] RealZkError),

    /// A docker command failed.
    #[error("docker {command}: {message}")]
    Docker {
        /// The docker command line (without `docker`).
        command: String,
        /// Its stderr, or why it could not run.
        message: String,
    },

    /// Network or file-system I/O of the test kit failed.
    #[error("{context}: {source}")]
    Io {
        /// What the test kit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// True for [`TestkitError::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
