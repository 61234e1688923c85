//! Opening a byte stream to one server: plain TCP, or TLS over TCP.

use crate::config::HostPort;
use crate::error::Error;
use crate::transport::conn::BoxTransport;

/// A connected stream, and for plain TCP on Linux its receive low-water
/// mark (see [`crate::transport::low_water`]).
pub(crate) struct Connected {
    pub(crate) io: BoxTransport,
    #[cfg(target_os = "linux")]
    pub(crate) low_water: Option<crate::transport::low_water::LowWater>,
}

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
    pub(crate) async fn connect(&self, host: &HostPort) -> Result<Connected, Error> {
        let tcp = tokio::net::TcpStream::connect((host.host.as_str(), host.port))
            .await
            .map_err(Error::io)?;
        let _ = tcp.set_nodelay(true);
        match self {
            Connector::Tcp => Ok(Connected {
                #[cfg(target_os = "linux")]
                low_water: crate::transport::low_water::LowWater::of(&tcp),
                io: Box::new(tcp),
            }),
            // Not under TLS: records may carry several replies, so the
            // bytes still to come are not bounded below by the replies owed.
            #[cfg(feature = "tls")]
            Connector::Tls(tls) => Ok(Connected {
                io: tls.handshake(host, tcp).await?,
                #[cfg(target_os = "linux")]
                low_water: None,
            }),
        }
    }
}
