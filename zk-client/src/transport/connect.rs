//! Opening a byte stream to one server: plain TCP, or TLS over TCP.

use crate::config::HostPort;
use crate::error::Error;
use crate::transport::conn::BoxTransport;

/// How the session task reaches a server. Chosen once by the builder; every
/// (re)connection to every host goes through it.
#[derive(Debug, Clone, Default)]
pub(crate) enum Connector {
    /// Plain TCP to the client port.
    #[default]
    Tcp,
    /// TLS to the `secureClientPort`.
    #[cfg(feature = "tls")]
    Tls(crate::transport::tls::TlsConnector),
}

impl Connector {
    /// A connected (and for TLS, handshaken) stream to `host`.
    pub(crate) async fn connect(&self, host: &HostPort) -> Result<BoxTransport, Error> {
        let tcp = tokio::net::TcpStream::connect((host.host.as_str(), host.port))
            .await
            .map_err(Error::io)?;
        let _ = tcp.set_nodelay(true);
        match self {
            Connector::Tcp => Ok(Box::new(tcp)),
            #[cfg(feature = "tls")]
            Connector::Tls(tls) => tls.handshake(host, tcp).await,
        }
    }
}
