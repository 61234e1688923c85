//! The session: the background task that owns the socket, and what it shares with the handles.

mod handshake;
mod hunt;
mod live;
mod pending;
mod persistent;
mod probe;
pub(crate) mod state;
pub(crate) mod submit;
mod task;
mod watches;

#[cfg(test)]
#[cfg(target_os = "linux")]
mod batch_reads_tests;

pub(crate) use live::BATCH_QUIET;
pub(crate) use task::{SessionConfig, Task};
