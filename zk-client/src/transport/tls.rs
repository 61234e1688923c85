//! TLS to ZooKeeper's `secureClientPort`, with rustls (ring crypto provider).

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::HostPort;
use crate::error::{Error, Result, TlsFailure};
use crate::transport::conn::BoxTransport;

/// TLS settings for [`ClientBuilder::tls`](crate::ClientBuilder::tls): the
/// certificate authorities to trust, an optional client certificate, and the
/// name to check the server's certificate against.
///
/// Every server of the connect string is then reached over TLS (Java:
/// `zookeeper.client.secure=true`), so its ports must be the servers'
/// `secureClientPort`s. The server's certificate must chain to one of the
/// given CAs and name the host as written in the connect string (a DNS name,
/// or an IP address as an IP subject alternative name), unless
/// [`server_name`](Self::server_name) says otherwise. There is no way to
/// skip verification.
///
/// ```no_run
/// # async fn demo() -> Result<(), zk_client::Error> {
/// use zk_client::{Client, TlsConfig};
///
/// let tls = TlsConfig::new()
///     .ca_pem_file("/etc/zookeeper/ca.pem")?
///     // Only for servers with ssl.clientAuth=need (their default) or want:
///     .client_cert_pem_files("/etc/zookeeper/client.pem", "/etc/zookeeper/client.key")?;
/// let client = Client::builder("zk1:2281,zk2:2281").tls(tls).connect().await?;
/// # Ok(()) }
/// ```
///
/// Bad PEM input fails at once with [`Error::TlsConfig`]; a certificate the
/// client does not trust, or a handshake the server refuses, fails the
/// connection with [`Error::Tls`].
#[derive(Clone, Default)]
pub struct TlsConfig {
    roots: Vec<CertificateDer<'static>>,
    client_auth: Option<ClientAuth>,
    server_name: Option<String>,
    rustls: Option<Arc<ClientConfig>>,
}

struct ClientAuth {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for ClientAuth {
    fn clone(&self) -> Self {
        ClientAuth {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_certificates", &self.roots.len())
            .field(
                "client_certificate",
                &self.client_auth.as_ref().map(|c| c.chain.len()),
            )
            .field("server_name", &self.server_name)
            .field("rustls_config", &self.rustls.is_some())
            .finish()
    }
}

fn config_error(what: impl fmt::Display) -> Error {
    Error::TlsConfig(what.to_string())
}

impl TlsConfig {
    /// An empty configuration: add at least one CA before connecting.
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Trusts every certificate in `pem` (one or more `CERTIFICATE` blocks)
    /// as a certificate authority. A self-signed server certificate can be
    /// given here as its own CA.
    ///
    /// Errors: [`Error::TlsConfig`] when `pem` holds no certificate or a
    /// malformed one.
    pub fn ca_pem(mut self, pem: &[u8]) -> Result<Self> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| config_error(format!("bad CA certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(config_error("no CERTIFICATE block in the CA PEM"));
        }
        self.roots.extend(certs);
        Ok(self)
    }

    /// [`ca_pem`](Self::ca_pem), from a file.
    ///
    /// Errors: [`Error::TlsConfig`] naming the file when it cannot be read or
    /// holds no certificate.
    pub fn ca_pem_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = read_file(path, "CA certificate")?;
        self.ca_pem(&pem)
            .map_err(|e| config_error(format!("{}: {}", path.display(), inner_message(&e))))
    }

    /// Presents a client certificate: `chain_pem` holds the certificate
    /// first, then any intermediates; `key_pem` its private key (PKCS#8,
    /// PKCS#1 or SEC1 PEM). Servers ask for one unless configured with
    /// `ssl.clientAuth=none`, and give the session the id
    /// `x509:<subject DN>` when they have the `x509` auth provider.
    ///
    /// Errors: [`Error::TlsConfig`] for a missing certificate or key.
    pub fn client_cert_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| config_error(format!("bad client certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(config_error(
                "no CERTIFICATE block in the client certificate PEM",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| config_error(format!("bad client private key PEM: {e}")))?;
        self.client_auth = Some(ClientAuth { chain, key });
        Ok(self)
    }

    /// [`client_cert_pem`](Self::client_cert_pem), from files (they may be
    /// the same file).
    ///
    /// Errors: [`Error::TlsConfig`] naming the file.
    pub fn client_cert_pem_files(
        self,
        chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self> {
        let (chain_path, key_path) = (chain_path.as_ref(), key_path.as_ref());
        let chain = read_file(chain_path, "client certificate")?;
        let key = read_file(key_path, "client private key")?;
        self.client_cert_pem(&chain, &key).map_err(|e| {
            config_error(format!(
                "{} / {}: {}",
                chain_path.display(),
                key_path.display(),
                inner_message(&e)
            ))
        })
    }

    /// The name (DNS name or IP address) that every server's certificate
    /// must carry, instead of the host of the connect string. For ensembles
    /// whose servers share one certificate, or are reached through
    /// addresses their certificates do not name.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Uses a ready-made rustls configuration (custom verifier, system
    /// roots, another crypto provider...) instead of
    /// [`ca_pem`](Self::ca_pem) and [`client_cert_pem`](Self::client_cert_pem),
    /// which are then ignored. [`server_name`](Self::server_name) still applies.
    pub fn rustls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.rustls = Some(config);
        self
    }

    /// Builds the connector, checking that the configuration is usable.
    pub(crate) fn connector(&self) -> Result<TlsConnector> {
        let server_name = match &self.server_name {
            None => None,
            Some(name) => Some(ServerName::try_from(name.clone()).map_err(|_| {
                config_error(format!(
                    "server name {name:?} is neither a DNS name nor an IP address"
                ))
            })?),
        };
        let config = match &self.rustls {
            Some(config) => config.clone(),
            None => Arc::new(self.build_rustls()?),
        };
        Ok(TlsConnector {
            connector: tokio_rustls::TlsConnector::from(config),
            server_name,
        })
    }

    fn build_rustls(&self) -> Result<ClientConfig> {
        if self.roots.is_empty() {
            return Err(config_error(
                "no CA certificate: add one with TlsConfig::ca_pem or ca_pem_file",
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in &self.roots {
            roots
                .add(cert.clone())
                .map_err(|e| config_error(format!("unusable CA certificate: {e}")))?;
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| config_error(format!("unusable CA certificates: {e}")))?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(config_error)?
            .with_webpki_verifier(verifier);
        match &self.client_auth {
            None => Ok(builder.with_no_client_auth()),
            Some(auth) => builder
                .with_client_auth_cert(auth.chain.clone(), auth.key.clone_key())
                .map_err(|e| config_error(format!("unusable client certificate or key: {e}"))),
        }
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| config_error(format!("cannot read {what} {}: {e}", path.display())))
}

fn inner_message(e: &Error) -> String {
    match e {
        Error::TlsConfig(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Opens TLS connections to the hosts of the connect string.
#[derive(Clone)]
pub(crate) struct TlsConnector {
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// The TLS handshake over `tcp`, a connection to `host`.
    pub(crate) async fn handshake(&self, host: &HostPort, tcp: TcpStream) -> Result<BoxTransport> {
        let tls_error = |message: String, source: Option<io::Error>| Error::Tls {
            host: host.to_string(),
            message,
            source: source.map(crate::error::ErrorSource::new),
        };
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::try_from(host.host.clone()).map_err(|_| {
                tls_error(
                    format!(
                        "{:?} is neither a DNS name nor an IP address to check the server's \
                     certificate against; set TlsConfig::server_name",
                        host.host
                    ),
                    None,
                )
            })?,
        };
        let shown = match &name {
            ServerName::DnsName(d) => d.as_ref().to_owned(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            other => format!("{other:?}"),
        };
        match self.connector.connect(name, tcp).await {
            Ok(stream) => Ok(Box::new(Stream {
                inner: stream,
                host: host.to_string(),
                name: shown,
            })),
            Err(e) => {
                let message = describe_handshake_error(&e, &shown);
                Err(tls_error(message, Some(e)))
            }
        }
    }
}

/// A client TLS stream whose TLS-level I/O errors become [`Error::Tls`].
///
/// A TLS 1.3 server checks the client's certificate after the client has
/// finished its handshake, so a refusal (alert `CertificateRequired`...)
/// shows up on the first read, that of the ConnectResponse.
struct Stream {
    inner: tokio_rustls::client::TlsStream<TcpStream>,
    host: String,
    name: String,
}

impl Stream {
    fn tag(&self, e: io::Error) -> io::Error {
        let is_tls = e
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        if !is_tls {
            return e;
        }
        let message = describe_handshake_error(&e, &self.name);
        let kind = e.kind();
        let failure = TlsFailure(Error::Tls {
            host: self.host.clone(),
            message,
            source: Some(crate::error::ErrorSource::new(e)),
        });
        io::Error::new(kind, failure)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.tag(e))),
            other => other,
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.tag(e))),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.tag(e))),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.tag(e))),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A message for a failed handshake, with a hint for the usual causes.
fn describe_handshake_error(e: &io::Error, name: &str) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            format!(
                "TLS handshake failed: the server closed the connection ({e}); \
                 is this its secureClientPort?"
            )
        } else {
            format!("TLS handshake failed: {e}")
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => {
            let hint = match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    " (the server's certificate is not signed by a CA of the TlsConfig)".to_owned()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    " (the server's certificate does not name {name:?}; \
                     see TlsConfig::server_name)"
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    " (the server's certificate has expired)".to_owned()
                }
                _ => String::new(),
            };
            format!("server certificate verification failed: {tls}{hint}")
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::HandshakeFailure),
        ) => format!(
            "the server refused the TLS handshake (alert {alert:?}); \
             does it require a client certificate it trusts?"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}
