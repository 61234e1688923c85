//! The client's one error type.

use std::fmt;
use std::sync::Arc;

use zk_proto::{ErrorCode, PathError, ProtoError};

use bytes::Bytes;
use zk_proto::Stat;

/// Everything a [`Client`](crate::Client) operation can fail with.
///
/// One variant per ZooKeeper error code (the server's answers), plus the
/// errors the client itself produces (connection loss, timeouts, bad input,
/// malformed frames). `Clone` so that one failure can be fanned out to every
/// waiter; `#[non_exhaustive]` so that new codes can be added.
///
/// Use [`Error::is_retriable`] to decide whether trying again may help, and
/// [`Error::code`] to get the wire code where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- server error codes -----
    /// SYSTEMERROR (−1): a server-side system error.
    #[error("server system error (SYSTEMERROR)")]
    SystemError,
    /// RUNTIMEINCONSISTENCY (−2): in a failed multi, an op after the failing one.
    #[error("runtime inconsistency (RUNTIMEINCONSISTENCY)")]
    RuntimeInconsistency,
    /// DATAINCONSISTENCY (−3).
    #[error("data inconsistency (DATAINCONSISTENCY)")]
    DataInconsistency,
    /// MARSHALLINGERROR (−5): the server could not decode the request.
    #[error("the server could not decode the request (MARSHALLINGERROR)")]
    MarshallingError,
    /// UNIMPLEMENTED (−6): the server does not support the operation (for
    /// example a TTL node on a server without `zookeeper.extendedTypesEnabled`).
    #[error("operation not implemented by the server (UNIMPLEMENTED)")]
    Unimplemented,
    /// OPERATIONTIMEOUT (−7): the server timed the operation out.
    #[error("the server timed the operation out (OPERATIONTIMEOUT)")]
    OperationTimeout,
    /// BADARGUMENTS (−8): bad path, flags or TTL.
    #[error("bad arguments (BADARGUMENTS)")]
    BadArguments,
    /// UNKNOWNSESSION (−12).
    #[error("unknown session (UNKNOWNSESSION)")]
    UnknownSession,
    /// NEWCONFIGNOQUORUM (−13): the reconfig's new configuration has no quorum.
    #[error("new configuration has no quorum (NEWCONFIGNOQUORUM)")]
    NewConfigNoQuorum,
    /// RECONFIGINPROGRESS (−14): another reconfig is running.
    #[error("another reconfig is in progress (RECONFIGINPROGRESS)")]
    ReconfigInProgress,
    /// APIERROR (−100): the boundary code; servers do not send it.
    #[error("API error (APIERROR)")]
    ApiError,
    /// NONODE (−101): the node does not exist.
    #[error("node does not exist (NONODE)")]
    NoNode,
    /// NOAUTH (−102): the node's ACL does not allow this.
    #[error("not authorised (NOAUTH)")]
    NoAuth,
    /// BADVERSION (−103): the expected version does not match.
    #[error("version mismatch (BADVERSION)")]
    BadVersion,
    /// NOCHILDRENFOREPHEMERALS (−108): ephemerals cannot have children.
    #[error("ephemeral nodes may not have children (NOCHILDRENFOREPHEMERALS)")]
    NoChildrenForEphemerals,
    /// NODEEXISTS (−110): the node already exists.
    #[error("node already exists (NODEEXISTS)")]
    NodeExists,
    /// NOTEMPTY (−111): the node has children.
    #[error("node has children (NOTEMPTY)")]
    NotEmpty,
    /// SESSIONEXPIRED (−112): the session has expired. Terminal: every later
    /// call fails with this too; build a new client.
    #[error("session expired (SESSIONEXPIRED)")]
    SessionExpired,
    /// INVALIDCALLBACK (−113).
    #[error("invalid callback (INVALIDCALLBACK)")]
    InvalidCallback,
    /// INVALIDACL (−114): an empty ACL, an unknown scheme, or `auth` with no
    /// authenticated id.
    #[error("invalid ACL (INVALIDACL)")]
    InvalidAcl,
    /// AUTHFAILED (−115): authentication failed. Terminal for the session.
    #[error("authentication failed (AUTHFAILED)")]
    AuthFailed,
    /// SESSIONMOVED (−118): the session moved to another server.
    #[error("session moved to another server (SESSIONMOVED)")]
    SessionMoved,
    /// NOTREADONLY (−119): a write sent to a read-only server.
    #[error("write on a read-only server (NOTREADONLY)")]
    NotReadOnly,
    /// EPHEMERALONLOCALSESSION (−120).
    #[error("ephemeral on a local session (EPHEMERALONLOCALSESSION)")]
    EphemeralOnLocalSession,
    /// NOWATCHER (−121): no such watch.
    #[error("no such watcher (NOWATCHER)")]
    NoWatcher,
    /// RECONFIGDISABLED (−123).
    #[error("reconfig is disabled (RECONFIGDISABLED)")]
    ReconfigDisabled,
    /// SESSIONCLOSEDREQUIRESASLAUTH (−124).
    #[error("session closed: SASL authentication required (SESSIONCLOSEDREQUIRESASLAUTH)")]
    SessionClosedRequireSaslAuth,
    /// QUOTAEXCEEDED (−125).
    #[error("quota exceeded (QUOTAEXCEEDED)")]
    QuotaExceeded,
    /// THROTTLEDOP (−127): the server throttled the request; retry later.
    #[error("operation throttled by the server (THROTTLEDOP)")]
    ThrottledOp,
    /// A code this client does not know.
    #[error("unknown ZooKeeper error code {0}")]
    UnknownCode(i32),

    // ----- client-side errors -----
    /// CONNECTIONLOSS (−4): the connection to the server was lost (or could
    /// not be established) while the request was outstanding. **The outcome is
    /// unknown**: a write may or may not have been applied. The client
    /// reconnects within the same session on its own.
    #[error("connection lost (CONNECTIONLOSS): the request's outcome is unknown")]
    ConnectionLoss,
    /// REQUESTTIMEOUT (−122): no reply within the per-request timeout. The
    /// outcome is unknown.
    #[error("request timed out (REQUESTTIMEOUT): the request's outcome is unknown")]
    RequestTimeout,
    /// The client was closed (by [`Client::close`](crate::Client::close) or
    /// because every handle was dropped).
    #[error("the client is closed")]
    Closed,
    /// A path broke ZooKeeper's path rules; nothing was sent.
    #[error(transparent)]
    InvalidPath(#[from] PathError),
    /// The request would exceed `jute.maxbuffer`; nothing was sent.
    #[error("request of {len} bytes exceeds the maximum of {max} bytes (jute.maxbuffer)")]
    DataTooLarge {
        /// The size of the encoded request (data, path, ACL and headers; the
        /// jute frame length, without its 4-byte prefix), always.
        len: usize,
        /// The configured maximum ([`ClientBuilder::max_buffer`](crate::ClientBuilder::max_buffer)).
        max: usize,
    },
    /// The server's reply to this request is larger than the client accepts
    /// (a `get_children` of a directory with very many or very long
    /// children, typically: the server does not limit what it sends). The
    /// reply was skipped without being buffered; this request failed, and
    /// the connection, the session and every other request carry on.
    ///
    /// Not retriable: the same read fails again until the client's limit is
    /// raised with [`ClientBuilder::max_buffer`](crate::ClientBuilder::max_buffer)
    /// (to match the server's `jute.maxbuffer`, or more) or the data shrinks.
    #[error("reply of {len} bytes exceeds the client's limit of {limit} bytes: raise ClientBuilder::max_buffer to match the server's jute.maxbuffer (the limit is max_buffer + REPLY_OVERHEAD)")]
    ReplyTooLarge {
        /// The reply's length as the server declared it (the frame's payload).
        len: usize,
        /// The largest reply the client accepts
        /// ([`max_buffer`](crate::ClientBuilder::max_buffer) plus
        /// [`REPLY_OVERHEAD`](crate::REPLY_OVERHEAD)).
        limit: usize,
    },
    /// A bad argument caught before sending (an out-of-range TTL, a TTL with a
    /// non-TTL mode, a read op in a write transaction...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The connect string names a chroot whose node does not exist (see
    /// [`ClientBuilder::create_chroot`](crate::ClientBuilder::create_chroot)).
    #[error("the chroot node {chroot} does not exist (create it first, or use ClientBuilder::create_chroot)")]
    NoChroot {
        /// The chroot, as the connect string names it.
        chroot: String,
    },
    /// The connect string could not be parsed.
    #[error("bad connect string {input:?}: {reason}")]
    BadConnectString {
        /// The connect string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server sent something that is not valid ZooKeeper protocol (a
    /// truncated or oversized frame, an unexpected xid, a nonsensical body).
    /// The connection is dropped when the framing itself is broken.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtoError),
    /// The server sent a frame the client did not expect (a reply whose xid
    /// matches no outstanding request, for example).
    #[error("unexpected reply from server: {0}")]
    UnexpectedReply(String),
    /// An I/O error (connecting, resolving, reading or writing).
    #[error("I/O error ({kind:?}): {source}")]
    Io {
        /// The kind of the underlying `std::io::Error`.
        kind: std::io::ErrorKind,
        /// The `std::io::Error` itself (`source()` returns it).
        #[source]
        source: ErrorSource,
    },
    /// No server of the connect string could be reached: every one was
    /// tried (within the connect timeout each) and none established the
    /// session. `source` is the last attempt's error.
    #[error("could not connect to any server: {reason}")]
    ConnectFailed {
        /// What was tried.
        reason: String,
        /// Why the last attempt failed.
        #[source]
        source: Option<Box<Error>>,
    },
    /// A TLS connection to `host` failed: the server's certificate did not
    /// verify (not signed by a trusted CA, not naming the host, expired), or
    /// the handshake was refused (a client certificate missing or not
    /// trusted) or cut short (not a `secureClientPort`). [`connect`] returns
    /// it when no server could be reached and one failed this way.
    ///
    /// [`connect`]: crate::ClientBuilder::connect
    #[error("TLS connection to {host} failed: {message}")]
    Tls {
        /// The server, as `host:port`.
        host: String,
        /// What went wrong, with a hint at the usual cause.
        message: String,
        /// The TLS library's error, when there is one.
        #[source]
        source: Option<ErrorSource>,
    },
    /// The TLS configuration is unusable (an unreadable file, PEM with no
    /// certificate or key, no CA at all); nothing was sent.
    #[error("invalid TLS configuration: {0}")]
    TlsConfig(String),
    /// A multi (transaction) failed: nothing was applied. `index` is the op
    /// that failed, `source` its error; `results` has one entry per op, as
    /// the server reports them: [`OpResult::RolledBack`] for each op before
    /// the failing one, `OpResult::Error(source)` for the failing one, and
    /// `OpResult::Error(Error::RuntimeInconsistency)` for each op after it
    /// (for example `[RolledBack, Error(BadVersion), Error(RuntimeInconsistency)]`).
    #[error("transaction failed at op {index}: {source}")]
    MultiFailed {
        /// The index of the failing op.
        index: usize,
        /// Why it failed.
        source: Box<Error>,
        /// One result per op.
        results: Vec<OpResult>,
    },
}

/// The result of one op of a transaction or a multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpResult {
    /// A create: the created path (relative to the chroot) and its Stat.
    Create {
        /// The created path, with its sequence suffix for sequential modes.
        path: String,
        /// The new node's Stat. ZooKeeper 3.8 reports it for container and
        /// TTL creates inside a transaction but not for the other modes
        /// (it answers those with a plain create result), so it may be `None`.
        stat: Option<Stat>,
    },
    /// A delete.
    Delete,
    /// A set_data: the node's new Stat.
    SetData {
        /// The node's Stat after the write.
        stat: Stat,
    },
    /// A check.
    Check,
    /// A get_data (multiRead).
    GetData {
        /// The node's data (null data, which ZooKeeper keeps for a node
        /// created with it, reads as empty).
        data: Bytes,
        /// The node's Stat.
        stat: Stat,
    },
    /// A get_children (multiRead).
    GetChildren {
        /// The child names.
        children: Vec<String>,
    },
    /// The op failed. In a failed transaction the failing op carries its
    /// own error and the ops after it [`Error::RuntimeInconsistency`].
    Error(Error),
    /// In a failed transaction, an op before the failing one (it would have
    /// succeeded, but nothing was applied).
    RolledBack,
}

impl OpResult {
    /// The error of a failed op, if it failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            OpResult::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// A shorthand for `Result<T, zk_client::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same operation may succeed.
    ///
    /// True for transient conditions: connection loss, timeouts, throttling,
    /// a session move, a reconfig in progress. Beware: after `ConnectionLoss`
    /// and `RequestTimeout` the first attempt may have been applied, so a
    /// retried non-idempotent write (create, versionless set) must first check
    /// whether it already took effect.
    ///
    /// False for everything that will fail again the same way, and for the
    /// terminal states (session expired, auth failed, closed).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::ConnectionLoss
            | Error::RequestTimeout
            | Error::OperationTimeout
            | Error::ThrottledOp
            | Error::SessionMoved
            | Error::ReconfigInProgress
            | Error::Io { .. }
            | Error::ConnectFailed { .. } => true,
            Error::MultiFailed { source, .. } => source.is_retriable(),
            _ => false,
        }
    }

    /// Whether this error ends the session for good: nothing on this client
    /// will work again (session expired, authentication failed, closed).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Error::SessionExpired | Error::AuthFailed | Error::Closed
        )
    }

    /// The ZooKeeper error code this error corresponds to, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::SystemError => ErrorCode::SystemError,
            Error::RuntimeInconsistency => ErrorCode::RuntimeInconsistency,
            Error::DataInconsistency => ErrorCode::DataInconsistency,
            Error::MarshallingError => ErrorCode::MarshallingError,
            Error::Unimplemented => ErrorCode::Unimplemented,
            Error::OperationTimeout => ErrorCode::OperationTimeout,
            Error::BadArguments => ErrorCode::BadArguments,
            Error::UnknownSession => ErrorCode::UnknownSession,
            Error::NewConfigNoQuorum => ErrorCode::NewConfigNoQuorum,
            Error::ReconfigInProgress => ErrorCode::ReconfigInProgress,
            Error::ApiError => ErrorCode::ApiError,
            Error::NoNode => ErrorCode::NoNode,
            Error::NoAuth => ErrorCode::NoAuth,
            Error::BadVersion => ErrorCode::BadVersion,
            Error::NoChildrenForEphemerals => ErrorCode::NoChildrenForEphemerals,
            Error::NodeExists => ErrorCode::NodeExists,
            Error::NotEmpty => ErrorCode::NotEmpty,
            Error::SessionExpired => ErrorCode::SessionExpired,
            Error::InvalidCallback => ErrorCode::InvalidCallback,
            Error::InvalidAcl => ErrorCode::InvalidAcl,
            Error::AuthFailed => ErrorCode::AuthFailed,
            Error::SessionMoved => ErrorCode::SessionMoved,
            Error::NotReadOnly => ErrorCode::NotReadOnly,
            Error::EphemeralOnLocalSession => ErrorCode::EphemeralOnLocalSession,
            Error::NoWatcher => ErrorCode::NoWatcher,
            Error::ReconfigDisabled => ErrorCode::ReconfigDisabled,
            Error::SessionClosedRequireSaslAuth => ErrorCode::SessionClosedRequireSaslAuth,
            Error::QuotaExceeded => ErrorCode::QuotaExceeded,
            Error::ThrottledOp => ErrorCode::ThrottledOp,
            Error::UnknownCode(c) => ErrorCode::Unknown(*c),
            Error::ConnectionLoss => ErrorCode::ConnectionLoss,
            Error::RequestTimeout => ErrorCode::RequestTimeout,
            Error::InvalidPath(_) | Error::InvalidArgument(_) => ErrorCode::BadArguments,
            Error::MultiFailed { source, .. } => return source.code(),
            Error::Closed
            | Error::DataTooLarge { .. }
            | Error::ReplyTooLarge { .. }
            | Error::BadConnectString { .. }
            | Error::NoChroot { .. }
            | Error::Protocol(_)
            | Error::UnexpectedReply(_)
            | Error::Io { .. }
            | Error::ConnectFailed { .. }
            | Error::Tls { .. }
            | Error::TlsConfig(_) => return None,
        })
    }

    /// The error for a non-OK server code (`None` for OK).
    pub fn from_code(code: ErrorCode) -> Option<Error> {
        Some(match code {
            ErrorCode::Ok => return None,
            ErrorCode::SystemError => Error::SystemError,
            ErrorCode::RuntimeInconsistency => Error::RuntimeInconsistency,
            ErrorCode::DataInconsistency => Error::DataInconsistency,
            ErrorCode::ConnectionLoss => Error::ConnectionLoss,
            ErrorCode::MarshallingError => Error::MarshallingError,
            ErrorCode::Unimplemented => Error::Unimplemented,
            ErrorCode::OperationTimeout => Error::OperationTimeout,
            ErrorCode::BadArguments => Error::BadArguments,
            ErrorCode::UnknownSession => Error::UnknownSession,
            ErrorCode::NewConfigNoQuorum => Error::NewConfigNoQuorum,
            ErrorCode::ReconfigInProgress => Error::ReconfigInProgress,
            ErrorCode::ApiError => Error::ApiError,
            ErrorCode::NoNode => Error::NoNode,
            ErrorCode::NoAuth => Error::NoAuth,
            ErrorCode::BadVersion => Error::BadVersion,
            ErrorCode::NoChildrenForEphemerals => Error::NoChildrenForEphemerals,
            ErrorCode::NodeExists => Error::NodeExists,
            ErrorCode::NotEmpty => Error::NotEmpty,
            ErrorCode::SessionExpired => Error::SessionExpired,
            ErrorCode::InvalidCallback => Error::InvalidCallback,
            ErrorCode::InvalidAcl => Error::InvalidAcl,
            ErrorCode::AuthFailed => Error::AuthFailed,
            ErrorCode::SessionMoved => Error::SessionMoved,
            ErrorCode::NotReadOnly => Error::NotReadOnly,
            ErrorCode::EphemeralOnLocalSession => Error::EphemeralOnLocalSession,
            ErrorCode::NoWatcher => Error::NoWatcher,
            ErrorCode::RequestTimeout => Error::RequestTimeout,
            ErrorCode::ReconfigDisabled => Error::ReconfigDisabled,
            ErrorCode::SessionClosedRequireSaslAuth => Error::SessionClosedRequireSaslAuth,
            ErrorCode::QuotaExceeded => Error::QuotaExceeded,
            ErrorCode::ThrottledOp => Error::ThrottledOp,
            ErrorCode::Unknown(c) => Error::UnknownCode(c),
            other => Error::UnknownCode(other.code()),
        })
    }

    /// The error for a result code known to be a failure (an OK code, which
    /// would be a server's contradiction, reads as `UnknownCode(0)`).
    pub(crate) fn from_failure(code: ErrorCode) -> Error {
        Error::from_code(code).unwrap_or(Error::UnknownCode(code.code()))
    }

    pub(crate) fn io(e: std::io::Error) -> Error {
        // A TLS failure after the handshake (see transport::tls) keeps its type.
        if let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<TlsFailure>())
        {
            return tls.0.clone();
        }
        Error::Io {
            kind: e.kind(),
            source: ErrorSource::new(e),
        }
    }

    /// An I/O error of `kind` with this message (the client's own, not the OS's).
    pub(crate) fn io_kind(kind: std::io::ErrorKind, message: impl Into<String>) -> Error {
        Error::Io {
            kind,
            source: ErrorSource::new(std::io::Error::new(kind, message.into())),
        }
    }
}

/// An [`Error::Tls`] carried inside an `io::Error` (a TLS stream's reads and
/// writes can only fail with `io::Error`), so that the error can be taken
/// back out with its type.
#[derive(Debug)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct TlsFailure(pub(crate) Error);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TlsFailure {}

/// The underlying error of an [`Error::Io`] or [`Error::Tls`], returned by
/// their `source()`. Shared (an `Arc`), so that [`Error`] stays `Clone`;
/// two are equal when they say the same thing.
#[derive(Debug, Clone)]
pub struct ErrorSource(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ErrorSource {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ErrorSource(Arc::new(e))
    }

    /// The error itself (downcast it to `std::io::Error`, `rustls::Error`...).
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ErrorSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for ErrorSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for ErrorSource {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_code_maps_back_to_itself() {
        for &c in ErrorCode::ALL {
            match Error::from_code(c) {
                None => assert_eq!(c, ErrorCode::Ok),
                Some(e) => assert_eq!(e.code(), Some(c), "{c}"),
            }
        }
        assert_eq!(
            Error::from_code(ErrorCode::Unknown(-999)),
            Some(Error::UnknownCode(-999))
        );
    }

    #[test]
    fn retriable_and_terminal() {
        assert!(Error::ConnectionLoss.is_retriable());
        assert!(Error::ConnectionLoss
            .to_string()
            .contains("outcome is unknown"));
        assert!(Error::RequestTimeout.is_retriable());
        assert!(Error::ThrottledOp.is_retriable());
        assert!(!Error::SessionExpired.is_retriable());
        assert!(!Error::AuthFailed.is_retriable());
        assert!(!Error::Closed.is_retriable());
        assert!(!Error::NoNode.is_retriable());
        let big = Error::ReplyTooLarge {
            len: 2_000_000,
            limit: 5120,
        };
        assert!(!big.is_retriable());
        assert!(!big.is_terminal());
        assert!(big.to_string().contains("raise ClientBuilder::max_buffer"));
        assert!(Error::SessionExpired.is_terminal());
        assert!(!Error::ConnectionLoss.is_terminal());
    }
}
