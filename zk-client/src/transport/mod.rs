//! The transport: a byte stream to one server (TCP, or TLS over TCP), framed
//! into ZooKeeper frames, and the SASL exchange that runs on it before the
//! session uses it. Knows nothing of sessions, watches or requests.

pub(crate) mod conn;
pub(crate) mod connect;
#[cfg(target_os = "linux")]
pub(crate) mod low_water;
pub(crate) mod sasl;
#[cfg(feature = "tls")]
pub(crate) mod tls;
