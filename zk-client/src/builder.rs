//! The client builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::chroot::Chroot;
use crate::client::Client;
use crate::config::ConnectString;
use crate::error::{Error, Result};
use crate::session::submit::Shared;
use crate::session::{SessionConfig, Task};
use crate::transport::conn::{BoxTransport, Transport};
use crate::transport::connect::Connector;
use crate::transport::sasl::SaslCredentials;

/// Default requested session timeout: 30 s.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout (per server attempt): 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default maximum of requests in flight: 1,000.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// ZooKeeper's default `jute.maxbuffer` (1,048,575 bytes): the largest frame
/// either side accepts, and so the limit on a node's data.
pub const DEFAULT_MAX_BUFFER: usize = zk_proto::DEFAULT_MAX_FRAME;
/// How much larger than [`max_buffer`](ClientBuilder::max_buffer) a reply
/// may be (ZooKeeper's `zookeeper.jute.maxbuffer.extrasize` default): a
/// getData reply adds 88 bytes of header and Stat to the largest data a
/// request can carry.
pub const REPLY_OVERHEAD: usize = 1024;

impl Client {
    /// A builder for a client of `connect_string` (`host:port,host:port/chroot`).
    pub fn builder(connect_string: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(connect_string)
    }

    /// Connects with default settings; see [`ClientBuilder`] for them.
    pub async fn connect(connect_string: impl Into<String>) -> Result<Client> {
        ClientBuilder::new(connect_string).connect().await
    }
}

/// Configures and connects a [`Client`].
///
/// | setting | default |
/// |---|---|
/// | [`session_timeout`](Self::session_timeout) | 30 s (the server clamps it to 2–20 ticks) |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s per server attempt |
/// | [`request_timeout`](Self::request_timeout) | none: a request waits for its reply, a connection loss or the end of the session |
/// | [`max_in_flight`](Self::max_in_flight) | 1,000 |
/// | [`batch_reads`](Self::batch_reads) | true (plain TCP on Linux) |
/// | [`read_only`](Self::read_only) | false |
/// | [`follow_config`](Self::follow_config) | false |
/// | [`max_buffer`](Self::max_buffer) | 1,048,575 (`jute.maxbuffer`) |
/// | credentials | none |
/// | [`sasl_digest_md5`](Self::sasl_digest_md5) | none |
/// | [`create_chroot`](Self::create_chroot) | false: a missing chroot node fails the connect |
/// | `tls` (feature `tls`) | none: plain TCP |
///
/// ```no_run
/// # async fn demo() -> Result<(), zk_client::Error> {
/// use std::time::Duration;
///
/// let client = zk_client::Client::builder("zk1:2181,zk2:2181,zk3:2181/myapp")
///     .session_timeout(Duration::from_secs(10))
///     .request_timeout(Duration::from_secs(5))
///     .digest("app", "secret")
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    connect_string: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    max_in_flight: usize,
    batch_reads: bool,
    batch_quiet: Duration,
    read_only: bool,
    follow_config: bool,
    auths: Vec<(String, Bytes)>,
    max_buffer: usize,
    sasl: Option<SaslCredentials>,
    create_chroot: bool,
    #[cfg(feature = "tls")]
    tls: Option<crate::transport::tls::TlsConfig>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let schemes: Vec<&str> = self.auths.iter().map(|(s, _)| s.as_str()).collect();
        f.debug_struct("ClientBuilder")
            .field("connect_string", &self.connect_string)
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("batch_reads", &self.batch_reads)
            .field("read_only", &self.read_only)
            .field("follow_config", &self.follow_config)
            .field("auth_schemes (credentials redacted)", &schemes)
            .field("max_buffer", &self.max_buffer)
            .field("sasl", &self.sasl)
            .field("create_chroot", &self.create_chroot)
            .field("tls", &self.tls_debug())
            .finish()
    }
}

impl ClientBuilder {
    /// A builder for `connect_string` (`host[:port][,host[:port]...][/chroot]`),
    /// parsed when connecting.
    pub fn new(connect_string: impl Into<String>) -> Self {
        ClientBuilder {
            connect_string: connect_string.into(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            batch_reads: true,
            batch_quiet: crate::session::BATCH_QUIET,
            read_only: false,
            follow_config: false,
            auths: Vec::new(),
            max_buffer: DEFAULT_MAX_BUFFER,
            sasl: None,
            create_chroot: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Whether [`connect`](Self::connect) creates the connect string's
    /// chroot node (and its parents, as persistent nodes with
    /// `OPEN_ACL_UNSAFE`) when it does not exist, as Curator's namespace
    /// does. Off (the default), a missing chroot node fails the connect
    /// with [`Error::NoChroot`] instead of every later call failing with
    /// NONODE.
    pub fn create_chroot(mut self, create: bool) -> Self {
        self.create_chroot = create;
        self
    }

    /// The session timeout to ask for. The server clamps it to its
    /// `[minSessionTimeout, maxSessionTimeout]`; the client then pings after a
    /// third of the negotiated value of idleness and drops a connection that
    /// has been silent for two thirds of it.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long one attempt to reach a server and establish (or resume) the
    /// session may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long any one request may wait for its reply, counted from the
    /// call. Past it the request fails with [`Error::RequestTimeout`] (outcome
    /// unknown if it was already sent; withdrawn if it was still waiting).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The most requests written to the server and not yet answered. Calls
    /// past it wait in line, in call order, until replies make room.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Whether, with many requests in flight, replies may gather in the
    /// socket to be read many to a wakeup (plain TCP on Linux; TLS and
    /// other transports always read as replies land).
    ///
    /// ZooKeeper sends each reply on its own, and waking for each is most
    /// of a pipelining client's CPU. With at least 8 requests in flight the
    /// session raises the socket's receive low-water mark (`SO_RCVLOWAT`)
    /// to 20 bytes (the smallest reply) for each of up to a quarter of them,
    /// rounded down to a power of two, and at most 1,280 bytes (64 of the
    /// smallest replies, 6 or so of a small node's data). The replies owed
    /// always bring at least that many bytes, so nothing waits for bytes
    /// that may not come, but a reply may wait for the replies behind it
    /// that make up those bytes.
    /// If no reply has been read for 10 ms the mark drops back to one byte
    /// until replies flow again, so a slow server delays a reply by at most
    /// that much more. With fewer than 8 in flight every reply is read as
    /// it lands. `false` always reads replies as they land.
    pub fn batch_reads(mut self, batch: bool) -> Self {
        self.batch_reads = batch;
        self
    }

    /// Tests only: how long replies may stop before the low-water mark
    /// drops to one byte (10 ms otherwise). A long one shows that a deep
    /// pipeline never waits on that fallback.
    #[cfg(test)]
    pub(crate) fn batch_quiet(mut self, quiet: Duration) -> Self {
        self.batch_quiet = quiet;
        self
    }

    /// Whether a read-only server (one cut off from its quorum, with
    /// `readonlymode.enabled`) is acceptable. On one, the state is
    /// [`SessionState::ConnectedReadOnly`](crate::SessionState::ConnectedReadOnly)
    /// and writes fail with [`Error::NotReadOnly`]; the client keeps asking
    /// the other servers (`isro`, backoff 100 ms doubling to 60 s) and moves
    /// to a read-write one when it finds one, in a new session if it has
    /// only seen read-only servers (their sessions are local). A read-only
    /// ZooKeeper 3.8 server creates sessions only with
    /// `localSessionsEnabled=true`.
    pub fn read_only(mut self, allowed: bool) -> Self {
        self.read_only = allowed;
        self
    }

    /// Whether to follow the ensemble's membership: the client reads
    /// `/zookeeper/config` on every connection and whenever it changes
    /// (reconfig), and makes the client addresses listed there its server
    /// list, as [`Client::update_server_list`] would (moving if its server
    /// is no longer listed). Servers whose configuration lists no client
    /// address (`server.N=...;host:port`) leave the list as it is.
    pub fn follow_config(mut self, follow: bool) -> Self {
        self.follow_config = follow;
        self
    }

    /// Adds digest credentials (`user:password`), sent right after every
    /// connect. Bad ones end the session with [`Error::AuthFailed`].
    pub fn digest(self, user: &str, password: &str) -> Self {
        self.auth("digest", format!("{user}:{password}").into_bytes())
    }

    /// Adds credentials of any scheme, sent right after every connect.
    pub fn auth(mut self, scheme: &str, auth: impl Into<Bytes>) -> Self {
        self.auths.push((scheme.to_owned(), auth.into()));
        self
    }

    /// Authenticates with SASL DIGEST-MD5 as `username` (a
    /// `user_<username>="<password>"` entry of the server's JAAS `Server`
    /// section), on every connection, before any other request. The session
    /// then carries the id `sasl:<username>`, which ACLs can name.
    ///
    /// A refusal ends the session: [`connect`](Self::connect) fails with
    /// [`Error::AuthFailed`], a later reconnect publishes
    /// [`SessionState::AuthFailed`](crate::SessionState::AuthFailed). The
    /// reason is logged (`tracing`, warn level).
    pub fn sasl_digest_md5(mut self, username: &str, password: &str) -> Self {
        self.sasl = Some(SaslCredentials::DigestMd5 {
            username: username.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    /// Connects to every server over TLS, with these settings; the connect
    /// string must then name the servers' `secureClientPort`s. See
    /// [`TlsConfig`](crate::TlsConfig).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::transport::tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    #[cfg(feature = "tls")]
    fn tls_debug(&self) -> &dyn fmt::Debug {
        &self.tls
    }

    #[cfg(not(feature = "tls"))]
    fn tls_debug(&self) -> &dyn fmt::Debug {
        &"(feature disabled)"
    }

    #[cfg(feature = "tls")]
    fn connector(&self) -> Result<Connector> {
        match &self.tls {
            None => Ok(Connector::Tcp),
            Some(tls) => Ok(Connector::Tls(tls.connector()?)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn connector(&self) -> Result<Connector> {
        Ok(Connector::Tcp)
    }

    /// The largest request to send (ZooKeeper's `jute.maxbuffer`, which the
    /// server applies to what it reads): a request whose encoding (data,
    /// path, ACL and headers) is larger fails with [`Error::DataTooLarge`]
    /// before sending. Replies may be up to
    /// [`REPLY_OVERHEAD`](crate::REPLY_OVERHEAD) bytes larger, so that the
    /// data of every node this client can create can be read back (a
    /// getData reply carries the data with a header and a Stat).
    pub fn max_buffer(mut self, bytes: usize) -> Self {
        self.max_buffer = bytes;
        self
    }

    /// Connects to the servers (each tried once, in a random rotation) and
    /// establishes the session.
    ///
    /// With a chroot (`host:port/app`), the chroot node is checked once the
    /// session is established: missing, it is created
    /// ([`create_chroot`](Self::create_chroot)) or the connect fails with
    /// [`Error::NoChroot`].
    ///
    /// Errors: [`Error::BadConnectString`], [`Error::ConnectFailed`] when no
    /// server answered, [`Error::NoChroot`], [`Error::Tls`] when a TLS connection failed (and no
    /// server could be reached), [`Error::TlsConfig`],
    /// [`Error::AuthFailed`] for bad credentials.
    pub async fn connect(self) -> Result<Client> {
        self.start(None).await
    }

    /// Like [`connect`](Self::connect), but speaks over `transport` (any
    /// `AsyncRead + AsyncWrite`: an in-memory pipe, a test server, a
    /// pre-established tunnel) for the first connection. Reconnects after a
    /// connection loss go to the hosts of the connect string. `transport` is
    /// used as it is: no TLS is layered on it, but SASL still runs on it.
    pub async fn connect_raw<T: Transport>(self, transport: T) -> Result<Client> {
        self.start(Some(Box::new(transport))).await
    }

    async fn start(self, first_io: Option<BoxTransport>) -> Result<Client> {
        let cs = ConnectString::parse(&self.connect_string)?;
        let chroot = Chroot::new(cs.chroot());
        let connector = self.connector()?;
        let shared = Arc::new(Shared::new(self.max_in_flight));
        let cfg = SessionConfig {
            hosts: cs.hosts().to_vec(),
            session_timeout: self.session_timeout,
            connect_timeout: self.connect_timeout,
            read_only: self.read_only,
            follow_config: self.follow_config,
            max_frame: self.max_buffer,
            max_reply: self.max_buffer.saturating_add(REPLY_OVERHEAD),
            chroot: chroot.clone(),
            auths: self.auths,
            connector,
            sasl: self.sasl,
            batch_reads: self.batch_reads,
            batch_quiet: self.batch_quiet,
        };
        let task = Task::new(shared.clone(), cfg, first_io);
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(task.run(ready_tx));
        ready_rx.await.unwrap_or(Err(Error::Closed))?;
        let client = Client::new(shared, chroot, self.max_buffer, self.request_timeout);
        if let Err(e) = client.check_chroot(self.create_chroot).await {
            let _ = client.close().await;
            return Err(e);
        }
        Ok(client)
    }
}
