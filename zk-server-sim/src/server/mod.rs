//! The client-facing network server: listener, connections, handshake,
//! request dispatch and four-letter words.

pub(crate) mod connection;
pub(crate) mod four_letter;
pub(crate) mod handshake;
pub(crate) mod listener;
pub(crate) mod requests;

pub use four_letter::VERSION;
