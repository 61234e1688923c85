//! ZooKeeper's error codes (`KeeperException.Code`).

use std::fmt;

macro_rules! error_codes {
    ( $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+ ) => {
        /// A result code from a [`ReplyHeader`](crate::ReplyHeader) or a multi result.
        ///
        /// Codes this crate does not know are kept as [`ErrorCode::Unknown`]
        /// rather than failing to decode.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum ErrorCode {
            /// Success.
            #[default]
            Ok,
            $( $(#[$vmeta])* $variant, )+
            /// A code this crate does not know.
            Unknown(i32),
        }

        impl ErrorCode {
            /// Every known code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[ErrorCode::Ok, $(ErrorCode::$variant),+];

            /// The wire number.
            pub fn code(self) -> i32 {
                match self {
                    ErrorCode::Ok => 0,
                    $( ErrorCode::$variant => $value, )+
                    ErrorCode::Unknown(c) => c,
                }
            }

            /// The name in ZooKeeper's Java sources (`NONODE`, `BADVERSION`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    ErrorCode::Ok => "OK",
                    $( ErrorCode::$variant => $text, )+
                    ErrorCode::Unknown(_) => "UNKNOWN",
                }
            }
        }

        impl From<i32> for ErrorCode {
            fn from(c: i32) -> Self {
                match c {
                    0 => ErrorCode::Ok,
                    $( $value => ErrorCode::$variant, )+
                    other => ErrorCode::Unknown(other),
                }
            }
        }
    };
}

error_codes! {
    /// A system or server-side error.
    SystemError = -1 => "SYSTEMERROR",
    /// A multi op after the failing one.
    RuntimeInconsistency = -2 => "RUNTIMEINCONSISTENCY",
    /// The data is inconsistent.
    DataInconsistency = -3 => "DATAINCONSISTENCY",
    /// The connection to the server was lost (client-side).
    ConnectionLoss = -4 => "CONNECTIONLOSS",
    /// The request could not be (de)serialized.
    MarshallingError = -5 => "MARSHALLINGERROR",
    /// The operation is not implemented by this server.
    Unimplemented = -6 => "UNIMPLEMENTED",
    /// The operation timed out.
    OperationTimeout = -7 => "OPERATIONTIMEOUT",
    /// Invalid arguments (bad path, flags or TTL).
    BadArguments = -8 => "BADARGUMENTS",
    /// The session is unknown to the server.
    UnknownSession = -12 => "UNKNOWNSESSION",
    /// A reconfig's new configuration has no quorum.
    NewConfigNoQuorum = -13 => "NEWCONFIGNOQUORUM",
    /// Another reconfig is in progress.
    ReconfigInProgress = -14 => "RECONFIGINPROGRESS",
    /// The boundary of API errors; not returned by servers.
    ApiError = -100 => "APIERROR",
    /// The node does not exist.
    NoNode = -101 => "NONODE",
    /// Not authorised by the node's ACL.
    NoAuth = -102 => "NOAUTH",
    /// The expected version does not match.
    BadVersion = -103 => "BADVERSION",
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108 => "NOCHILDRENFOREPHEMERALS",
    /// The node already exists.
    NodeExists = -110 => "NODEEXISTS",
    /// The node has children.
    NotEmpty = -111 => "NOTEMPTY",
    /// The session has expired.
    SessionExpired = -112 => "SESSIONEXPIRED",
    /// An invalid callback was given.
    InvalidCallback = -113 => "INVALIDCALLBACK",
    /// The ACL is invalid.
    InvalidAcl = -114 => "INVALIDACL",
    /// Authentication failed.
    AuthFailed = -115 => "AUTHFAILED",
    /// The session moved to another server.
    SessionMoved = -118 => "SESSIONMOVED",
    /// A write was sent to a read-only server.
    NotReadOnly = -119 => "NOTREADONLY",
    /// An ephemeral on a local session.
    EphemeralOnLocalSession = -120 => "EPHEMERALONLOCALSESSION",
    /// No such watch to check or remove.
    NoWatcher = -121 => "NOWATCHER",
    /// The request timed out (Java client-side).
    RequestTimeout = -122 => "REQUESTTIMEOUT",
    /// Reconfig is disabled on this server.
    ReconfigDisabled = -123 => "RECONFIGDISABLED",
    /// The session was closed because SASL authentication is required.
    SessionClosedRequireSaslAuth = -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
    /// A quota was exceeded.
    QuotaExceeded = -125 => "QUOTAEXCEEDED",
    /// The server throttled the operation.
    ThrottledOp = -127 => "THROTTLEDOP",
}

impl ErrorCode {
    /// Whether this is success.
    pub fn is_ok(self) -> bool {
        self == ErrorCode::Ok
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(c) => write!(f, "UNKNOWN({c})"),
            other => write!(f, "{} ({})", other.name(), other.code()),
        }
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'a> arbitrary::Arbitrary<'a> for ErrorCode {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ErrorCode::from(i32::arbitrary(u)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_kept() {
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from(c.code()), c);
        }
        assert_eq!(ErrorCode::from(-9999), ErrorCode::Unknown(-9999));
        assert_eq!(ErrorCode::from(-101).to_string(), "NONODE (-101)");
    }
}
