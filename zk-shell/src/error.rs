//! Failed commands, with the messages zkCli prints for them.

use zk_client::Error;

/// A command that failed: the message zkCli prints on stderr for the same
/// failure (for example `Node does not exist: /a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    message: String,
}

impl CommandError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CommandError {
            message: message.into(),
        }
    }

    /// What zkCli prints for a client error on `path` (its
    /// `CliWrapperException` wording for the common codes, otherwise
    /// `KeeperErrorCode = <name> for <path>`, as `KeeperException` reads).
    pub fn from_client(err: &Error, path: &str) -> Self {
        let keeper = |name: &str| format!("KeeperErrorCode = {name} for {path}");
        let message = match err {
            Error::NoNode => format!("Node does not exist: {path}"),
            Error::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
            Error::NodeExists => format!("Node already exists: {path}"),
            Error::NotEmpty => format!("Node not empty: {path}"),
            Error::NotReadOnly => format!("Not a read-only call: {path}"),
            Error::InvalidAcl => format!("Acl is not valid : {path}"),
            Error::NoAuth => format!("Insufficient permission : {path}"),
            Error::BadArguments => format!("Arguments are not valid : {path}"),
            Error::BadVersion => format!("version No is not valid : {path}"),
            Error::QuotaExceeded => format!("Quota has exceeded : {path}"),
            Error::ReconfigInProgress => {
                "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
                    .to_owned()
            }
            Error::InvalidPath(e) if e.reason.starts_with("Path ") => e.reason.clone(),
            Error::InvalidPath(e) => {
                format!("Invalid path string \"{}\" caused by {}", e.path, e.reason)
            }
            Error::SystemError => keeper("SystemError"),
            Error::RuntimeInconsistency => keeper("RuntimeInconsistency"),
            Error::DataInconsistency => keeper("DataInconsistency"),
            Error::ConnectionLoss => keeper("ConnectionLoss"),
            Error::MarshallingError => keeper("MarshallingError"),
            Error::Unimplemented => keeper("Unimplemented"),
            Error::OperationTimeout => keeper("OperationTimeout"),
            Error::NewConfigNoQuorum => keeper("NewConfigNoQuorum"),
            Error::ApiError => keeper("APIError"),
            Error::SessionExpired => keeper("Session expired"),
            Error::InvalidCallback => keeper("Invalid callback"),
            Error::AuthFailed => keeper("AuthFailed"),
            Error::SessionMoved => keeper("Session moved"),
            Error::EphemeralOnLocalSession => keeper("Ephemeral node on local session"),
            Error::NoWatcher => keeper("No such watcher"),
            Error::ReconfigDisabled => keeper("Reconfig is disabled"),
            Error::SessionClosedRequireSaslAuth => {
                keeper("Session closed because client failed to authenticate")
            }
            Error::ThrottledOp => keeper("Op throttled due to high load"),
            // Errors only this client has (timeouts, a closed client, bad
            // input caught before sending): its own words.
            other => format!("{other} (path {path})"),
        };
        CommandError { message }
    }

    /// The message, as printed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_zkcli() {
        let m = |e: Error| CommandError::from_client(&e, "/a").message().to_owned();
        assert_eq!(m(Error::NoNode), "Node does not exist: /a");
        assert_eq!(m(Error::BadVersion), "version No is not valid : /a");
        assert_eq!(
            m(Error::NoWatcher),
            "KeeperErrorCode = No such watcher for /a"
        );
        let relative = zk_client::proto::validate_path("/a/../b").unwrap_err();
        assert_eq!(
            m(Error::InvalidPath(relative)),
            "Invalid path string \"/a/../b\" caused by relative paths not allowed @3"
        );
        let bare = zk_client::proto::validate_path("a").unwrap_err();
        assert_eq!(
            m(Error::InvalidPath(bare)),
            "Path must start with / character"
        );
    }
}
