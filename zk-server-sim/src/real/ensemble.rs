//! [`RealEnsemble`]: a set of real ZooKeeper servers run as child processes.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::config::RealEnsembleBuilder;
use super::error::{RealZkError, Result};
use super::four_letter::{four_letter_word, ServerMode, SrvrInfo};
use super::install::Installation;
use super::node::{NodeLayout, TempRoot};
use super::peer_links::PeerLinks;
use super::ports::free_loopback_ports;
use super::process::{NodeProcess, Signal};
use super::shared::{unique_chroot, Chroot};

/// Timeout of one four-letter word sent by the ensemble's query methods.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of one four-letter word while polling (a paused node never answers).
const POLL_QUERY_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between polls while waiting for nodes.
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// Log lines quoted in errors.
const TAIL_LINES: usize = 40;

/// A real ZooKeeper ensemble (Debian's ZooKeeper 3.8) of one or more servers, each a
/// child JVM on free 127.0.0.1 ports with its own directory.
///
/// Nodes are addressed by zero-based index `i` in `0..node_count()`; node `i` has
/// ZooKeeper server id (`myid`) `i + 1`. Queries take `&self`, so a
/// [`shared`](Self::shared) ensemble can be queried by many tests at once; faults
/// ([`stop`](Self::stop), [`kill`](Self::kill), [`restart`](Self::restart),
/// [`pause`](Self::pause)) take `&mut self`, so nobody can crash a shared ensemble
/// under other tests' feet.
///
/// Dropping the ensemble kills every node and removes its directory. The JVMs also die
/// when the process exits without dropping it (see the [module docs](super)).
#[derive(Debug)]
pub struct RealEnsemble {
    config: RealEnsembleBuilder,
    install: Installation,
    nodes: Vec<Node>,
    /// The peer-link proxies of a partitionable ensemble. Declared after `nodes`:
    /// the JVMs die before their links do.
    links: Option<PeerLinks>,
    startup: Duration,
    root: TempRoot,
}

#[derive(Debug)]
struct Node {
    layout: NodeLayout,
    process: Mutex<Option<NodeProcess>>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, Option<NodeProcess>> {
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slot(&mut self) -> &mut Option<NodeProcess> {
        self.process
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `Some(exit description)` if the node's process has exited, `None` if running or
    /// never started.
    fn exited(&self) -> Option<String> {
        self.lock()
            .as_mut()
            .and_then(NodeProcess::try_exit)
            .map(|status| status.to_string())
    }

    fn is_running(&self) -> bool {
        self.lock().as_mut().is_some_and(|p| p.try_exit().is_none())
    }

    fn is_paused(&self) -> bool {
        self.lock().as_ref().is_some_and(|p| p.paused)
    }

    fn srvr(&self, timeout: Duration) -> Result<SrvrInfo> {
        let addr = self.layout.client_addr();
        let reply = four_letter_word(addr, "srvr", timeout).map_err(|source| {
            RealZkError::FourLetterWord {
                addr,
                command: "srvr".into(),
                source,
            }
        })?;
        SrvrInfo::parse(&reply).ok_or_else(|| RealZkError::FourLetterWord {
            addr,
            command: "srvr".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("reply has no Mode: line: {reply:?}"),
            ),
        })
    }

    /// True when the node has no secureClientPort, or it accepts connections: the
    /// server binds it after the plain port, so `srvr` alone may answer too early.
    fn secure_port_listening(&self) -> bool {
        self.layout.secure_client_addr().is_none_or(|addr| {
            std::net::TcpStream::connect_timeout(&addr, POLL_QUERY_TIMEOUT).is_ok()
        })
    }

    fn name(&self) -> String {
        format!(
            "node {} (myid {}, {})",
            self.layout.index,
            self.layout.myid,
            self.layout.client_addr()
        )
    }
}

impl RealEnsemble {
    /// A builder with the defaults listed on [`RealEnsembleBuilder`].
    pub fn builder() -> RealEnsembleBuilder {
        RealEnsembleBuilder::default()
    }

    /// Starts an ensemble of `nodes` servers with default settings; shorthand for
    /// `RealEnsemble::builder().nodes(nodes).start()`.
    ///
    /// # Errors
    ///
    /// See [`RealEnsembleBuilder::start`].
    pub fn start(nodes: usize) -> Result<Self> {
        Self::builder().nodes(nodes).start()
    }

    pub(crate) fn start_with(config: RealEnsembleBuilder) -> Result<Self> {
        let install = Installation::locate(config.java.as_deref(), config.classpath.as_deref())?;
        let base = config.base_dir.clone().unwrap_or_else(std::env::temp_dir);
        let root = TempRoot::create(&base, config.keep_dir)?;
        let began = Instant::now();
        let mut attempt = 1;
        loop {
            match Self::try_start(&config, &install, &root) {
                Ok((nodes, links)) => {
                    return Ok(Self {
                        config,
                        install,
                        nodes,
                        links,
                        startup: began.elapsed(),
                        root,
                    })
                }
                Err(RealZkError::PortInUse { .. }) if attempt < config.start_attempts => {
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn try_start(
        config: &RealEnsembleBuilder,
        install: &Installation,
        root: &TempRoot,
    ) -> Result<(Vec<Node>, Option<PeerLinks>)> {
        let n = config.nodes;
        // A standalone server needs only its client port.
        let plain = if n == 1 { 1 } else { 3 };
        // Plus a secureClientPort, when asked for.
        let per_node = plain + usize::from(config.secure_client_port);
        let ports = free_loopback_ports(n * per_node)
            .map_err(|e| RealZkError::io("picking free loopback ports", e))?;
        let port = |i: usize, k: usize| ports.get(i * per_node + k).copied().unwrap_or(0);
        let mut layouts: Vec<NodeLayout> = (0..n)
            .map(|i| {
                let mut layout =
                    NodeLayout::new(root.path(), i, [port(i, 0), port(i, 1), port(i, 2)]);
                if config.secure_client_port {
                    layout.secure_client_port = Some(port(i, plain));
                }
                layout
            })
            .collect();
        let links = if config.partitionable && n > 1 {
            let real: Vec<(u16, u16)> = layouts
                .iter()
                .map(|l| (l.quorum_port, l.election_port))
                .collect();
            let links = PeerLinks::start(&real)
                .map_err(|e| RealZkError::io("starting the peer-link proxies", e))?;
            for layout in &mut layouts {
                layout.peer_ports = (0..n)
                    .map(|j| links.ports(layout.index, j).unwrap_or_default())
                    .collect();
            }
            Some(links)
        } else {
            None
        };
        for layout in &layouts {
            layout.write_files(&config.render_zoo_cfg(&layouts, layout))?;
        }
        let cleanup = (!root.keep()).then(|| root.path());
        let mut nodes = Vec::with_capacity(n);
        for layout in layouts {
            let args = config.jvm_command(&install.classpath, &layout);
            let process = NodeProcess::spawn(&install.java, &args, &layout, cleanup)?;
            nodes.push(Node {
                layout,
                process: Mutex::new(Some(process)),
            });
        }
        let all: Vec<usize> = (0..n).collect();
        let what = format!("{} to serve ({})", plural_nodes(n), config.summary());
        wait_serving(&nodes, &all, config.startup_timeout, &what, true)?;
        Ok((nodes, links))
    }

    fn node(&self, index: usize) -> Result<&Node> {
        self.nodes.get(index).ok_or(RealZkError::NoSuchNode {
            index,
            len: self.nodes.len(),
        })
    }

    fn node_mut(&mut self, index: usize) -> Result<&mut Node> {
        let len = self.nodes.len();
        self.nodes
            .get_mut(index)
            .ok_or(RealZkError::NoSuchNode { index, len })
    }

    /// Number of servers in the ensemble, running or not (the simulator's
    /// [`Ensemble::len`](crate::Ensemble::len)).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: an ensemble has at least one server.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The older name of [`len`](Self::len).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How long [`RealEnsembleBuilder::start`] took, from spawning the JVMs until every
    /// node served (port retries included).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The client connect string of all nodes: `127.0.0.1:p1,127.0.0.1:p2,...`.
    pub fn connect_string(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.layout.client_addr().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// [`connect_string`](Self::connect_string) with a chroot suffix, e.g.
    /// `127.0.0.1:p1,127.0.0.1:p2/it/locks-3-4711`. `chroot` must start with `/`.
    pub fn connect_string_with_chroot(&self, chroot: &str) -> String {
        format!("{}{chroot}", self.connect_string())
    }

    /// A fresh, process-unique chroot for a test named `name` (see [`unique_chroot`]),
    /// with the connect strings to use it. The harness does not create the znode: the
    /// test creates [`Chroot::path`] (and its parents) through
    /// [`Chroot::base_connect_string`] first.
    pub fn chroot(&self, name: &str) -> Chroot {
        let path = unique_chroot(name);
        Chroot {
            connect_string: self.connect_string_with_chroot(&path),
            base_connect_string: self.connect_string(),
            path,
        }
    }

    /// Client address of node `index`, as the simulator's
    /// [`Ensemble::addr`](crate::Ensemble::addr) gives it: an index past the end
    /// gives `127.0.0.1:0` (nothing listens there).
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.nodes.get(index).map_or_else(
            || SocketAddr::from(([127, 0, 0, 1], 0)),
            |n| n.layout.client_addr(),
        )
    }

    /// Client address of node `index` ([`addr`](Self::addr) that reports a bad
    /// index).
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`] for an index past the end.
    pub fn node_addr(&self, index: usize) -> Result<SocketAddr> {
        Ok(self.node(index)?.layout.client_addr())
    }

    /// TLS client address (`secureClientPort`) of node `index`; `None` for an index
    /// past the end or an ensemble built without
    /// [`secure_client_port`](RealEnsembleBuilder::secure_client_port).
    pub fn secure_addr(&self, index: usize) -> Option<SocketAddr> {
        self.nodes.get(index)?.layout.secure_client_addr()
    }

    /// The TLS connect string of all nodes, `127.0.0.1:s1,127.0.0.1:s2,...`, when the
    /// ensemble was built with
    /// [`secure_client_port`](RealEnsembleBuilder::secure_client_port).
    pub fn secure_connect_string(&self) -> Option<String> {
        let addrs = self
            .nodes
            .iter()
            .map(|n| n.layout.secure_client_addr().map(|a| a.to_string()))
            .collect::<Option<Vec<_>>>()?;
        Some(addrs.join(","))
    }

    /// The ZooKeeper server id (`myid`) of node `index`: `index + 1`.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`] for an index past the end.
    pub fn myid(&self, index: usize) -> Result<u32> {
        Ok(self.node(index)?.layout.myid)
    }

    /// The ensemble's directory, holding `node<myid>/{zoo.cfg,zookeeper.log,data/}`.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The log file of node `index` (JVM stdout and stderr, SLF4J-simple format).
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`] for an index past the end.
    pub fn log_path(&self, index: usize) -> Result<&Path> {
        Ok(&self.node(index)?.layout.log)
    }

    /// The last `lines` lines of node `index`'s log.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`] for an index past the end.
    pub fn log_tail(&self, index: usize, lines: usize) -> Result<String> {
        Ok(self.node(index)?.layout.log_tail(lines))
    }

    /// The JVM's process id, while node `index` runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        let node = self.nodes.get(index)?;
        let mut slot = node.lock();
        let process = slot.as_mut()?;
        process.try_exit().is_none().then(|| process.java_pid())
    }

    /// True while node `index`'s JVM is alive (also when paused, or not yet serving).
    /// False for stopped, killed or crashed nodes and for indices past the end.
    pub fn is_running(&self, index: usize) -> bool {
        self.nodes.get(index).is_some_and(Node::is_running)
    }

    /// Indices of the nodes whose JVM is alive.
    pub fn running_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.is_running(i))
            .collect()
    }

    /// Sends the four-letter word `command` (`ruok`, `srvr`, `mntr`, `cons`, `dump`,
    /// `conf`, ...) to node `index` and returns the reply.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NodeNotRunning`] for a stopped node;
    /// [`RealZkError::FourLetterWord`] when the exchange fails (5 s timeout).
    pub fn four_letter_word(&self, index: usize, command: &str) -> Result<String> {
        let node = self.node(index)?;
        if !node.is_running() {
            return Err(RealZkError::NodeNotRunning {
                index,
                myid: node.layout.myid,
            });
        }
        let addr = node.layout.client_addr();
        four_letter_word(addr, command, QUERY_TIMEOUT).map_err(|source| {
            RealZkError::FourLetterWord {
                addr,
                command: command.to_owned(),
                source,
            }
        })
    }

    /// Node `index`'s `srvr` reply, parsed.
    ///
    /// # Errors
    ///
    /// As [`four_letter_word`](Self::four_letter_word); also when the reply carries no
    /// mode.
    pub fn srvr(&self, index: usize) -> Result<SrvrInfo> {
        let node = self.node(index)?;
        if !node.is_running() {
            return Err(RealZkError::NodeNotRunning {
                index,
                myid: node.layout.myid,
            });
        }
        node.srvr(QUERY_TIMEOUT)
    }

    /// Node `index`'s current role, from `srvr`: [`ServerMode::Leader`],
    /// [`ServerMode::Follower`], [`ServerMode::Standalone`], ..., or
    /// [`ServerMode::NotServing`] during an election.
    ///
    /// # Errors
    ///
    /// As [`srvr`](Self::srvr).
    pub fn mode(&self, index: usize) -> Result<ServerMode> {
        Ok(self.srvr(index)?.mode)
    }

    /// The index of the node that reports `Mode: leader` (or `standalone`), if exactly
    /// one running node does right now. Does not wait; see
    /// [`wait_for_leader`](Self::wait_for_leader).
    pub fn leader(&self) -> Option<usize> {
        let leaders: Vec<usize> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_running() && !n.is_paused())
            .filter(|(_, n)| n.srvr(POLL_QUERY_TIMEOUT).is_ok_and(|s| s.mode.is_leader()))
            .map(|(i, _)| i)
            .collect();
        match leaders.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Waits until the running, unpaused nodes agree: exactly one leads and every
    /// other one serves as follower or observer (nodes that a
    /// [`partition`](Self::partition) cut off from a majority are not waited for). Returns the leader's index. Use it
    /// after killing a leader to wait for the new one, or after restarting a node.
    ///
    /// # Errors
    ///
    /// [`RealZkError::Timeout`] after the builder's
    /// [`startup_timeout`](RealEnsembleBuilder::startup_timeout), with every node's
    /// state and log tail; [`RealZkError::NoNodeRunning`].
    pub fn wait_for_leader(&self) -> Result<usize> {
        self.wait_for_leader_within(self.config.startup_timeout)
    }

    /// [`wait_for_leader`](Self::wait_for_leader) with an explicit timeout.
    ///
    /// # Errors
    ///
    /// As [`wait_for_leader`](Self::wait_for_leader).
    pub fn wait_for_leader_within(&self, timeout: Duration) -> Result<usize> {
        let began = Instant::now();
        loop {
            let cut_off = self
                .links
                .as_ref()
                .map(PeerLinks::cut_off)
                .unwrap_or_default();
            let live: Vec<&Node> = self
                .nodes
                .iter()
                .filter(|n| n.is_running() && !n.is_paused())
                .filter(|n| !cut_off.contains(&n.layout.index))
                .collect();
            if live.is_empty() {
                return Err(RealZkError::NoNodeRunning);
            }
            let mut leaders = Vec::new();
            let mut all_serving = true;
            for node in &live {
                match node.srvr(POLL_QUERY_TIMEOUT).map(|s| s.mode) {
                    Ok(mode) if mode.is_leader() => leaders.push(node.layout.index),
                    Ok(ServerMode::Follower | ServerMode::Observer) => {}
                    _ => all_serving = false,
                }
            }
            if let ([leader], true) = (leaders.as_slice(), all_serving) {
                return Ok(*leader);
            }
            if began.elapsed() >= timeout {
                let all: Vec<usize> = (0..self.nodes.len()).collect();
                return Err(RealZkError::Timeout {
                    what: "a single leader with every other running node following".into(),
                    elapsed: began.elapsed(),
                    details: describe(&self.nodes, &all),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until node `index` serves clients, and returns its mode.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NodeNotRunning`], [`RealZkError::NodeExited`],
    /// [`RealZkError::Timeout`] (after the builder's startup timeout).
    pub fn wait_serving(&self, index: usize) -> Result<ServerMode> {
        let node = self.node(index)?;
        if !node.is_running() {
            return Err(RealZkError::NodeNotRunning {
                index,
                myid: node.layout.myid,
            });
        }
        let what = format!("{} to serve", node.name());
        wait_serving(
            &self.nodes,
            &[index],
            self.config.startup_timeout,
            &what,
            false,
        )?;
        self.mode(index)
    }

    /// Stops node `index` gracefully: SIGTERM, then SIGKILL if it has not exited after
    /// the builder's [`stop_timeout`](RealEnsembleBuilder::stop_timeout). Ports and
    /// data stay for [`restart`](Self::restart). Stopping a stopped node does nothing.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`].
    pub fn stop(&mut self, index: usize) -> Result<()> {
        let grace = self.config.stop_timeout;
        if let Some(mut process) = self.node_mut(index)?.slot().take() {
            process.stop(grace);
        }
        Ok(())
    }

    /// Kills node `index` with SIGKILL, like a crash, and waits until it is gone.
    /// Killing a stopped node does nothing.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`].
    pub fn kill(&mut self, index: usize) -> Result<()> {
        if let Some(mut process) = self.node_mut(index)?.slot().take() {
            process.kill_and_wait();
        }
        Ok(())
    }

    /// (Re)starts node `index` on the same ports with the same data directory, and
    /// waits until it serves. A running node is first stopped gracefully. In a quorum
    /// the node serves once it has joined the current leader (or, with enough nodes
    /// up, once a new leader is elected).
    ///
    /// # Errors
    ///
    /// [`RealZkError::NodeExited`] (for example when another process took one of the
    /// node's ports meanwhile) or [`RealZkError::Timeout`], with the log tail.
    pub fn restart(&mut self, index: usize) -> Result<()> {
        self.stop(index)?;
        let cleanup = (!self.root.keep()).then(|| self.root.path().to_path_buf());
        let java = self.install.java.clone();
        let classpath = self.install.classpath.clone();
        let node = self.node(index)?;
        let args = self.config.jvm_command(&classpath, &node.layout);
        let process = NodeProcess::spawn(&java, &args, &node.layout, cleanup.as_deref())?;
        *self.node_mut(index)?.slot() = Some(process);
        self.wait_serving(index).map(|_| ())
    }

    /// Freezes node `index` with SIGSTOP: its sockets stay open but it answers
    /// nothing, like a long GC pause. Peers notice after `syncLimit` ticks, clients
    /// after their read timeout. Returns once the JVM is stopped. Paused nodes are
    /// skipped by [`leader`](Self::leader) and
    /// [`wait_for_leader`](Self::wait_for_leader).
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`], [`RealZkError::NodeNotRunning`].
    pub fn pause(&mut self, index: usize) -> Result<()> {
        self.freeze(index, true)
    }

    /// Thaws a node frozen by [`pause`](Self::pause) (SIGCONT). It may take a moment
    /// to serve again; [`wait_serving`](Self::wait_serving) waits for that.
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`], [`RealZkError::NodeNotRunning`].
    pub fn resume(&mut self, index: usize) -> Result<()> {
        self.freeze(index, false)
    }

    /// Cuts every link between the nodes in `side` and the others, as the
    /// simulator's [`Ensemble::partition`](crate::Ensemble::partition) does: the
    /// connections across the cut close and new ones are refused, so a side without
    /// a quorum stops serving (its clients are disconnected and refused), and the
    /// side with one elects a leader if it lacks one. Replaces any earlier
    /// partition. Clients still reach every server; only the servers' links to each
    /// other are cut. Needs an ensemble built
    /// [`partitionable`](RealEnsembleBuilder::partitionable).
    ///
    /// # Errors
    ///
    /// [`RealZkError::NoSuchNode`] for an index in `side` past the end;
    /// [`RealZkError::InvalidConfig`] for an ensemble that is not partitionable.
    pub fn partition(&mut self, side: &[usize]) -> Result<()> {
        if let Some(&index) = side.iter().find(|&&i| i >= self.nodes.len()) {
            return Err(RealZkError::NoSuchNode {
                index,
                len: self.nodes.len(),
            });
        }
        self.links()?.partition(side);
        Ok(())
    }

    /// Cuts node `index` off from every peer: `partition(&[index])`.
    ///
    /// # Errors
    ///
    /// As [`partition`](Self::partition).
    pub fn isolate(&mut self, index: usize) -> Result<()> {
        self.partition(&[index])
    }

    /// Restores every link cut by [`partition`](Self::partition). The servers
    /// reconnect on their own; [`wait_for_leader`](Self::wait_for_leader) waits
    /// until they agree again.
    ///
    /// # Errors
    ///
    /// [`RealZkError::InvalidConfig`] for an ensemble that is not partitionable.
    pub fn heal(&mut self) -> Result<()> {
        self.links()?.heal();
        Ok(())
    }

    /// True when the ensemble was built
    /// [`partitionable`](RealEnsembleBuilder::partitionable) (and has more than one
    /// node).
    pub fn is_partitionable(&self) -> bool {
        self.links.is_some()
    }

    fn links(&self) -> Result<&PeerLinks> {
        self.links.as_ref().ok_or_else(|| {
            RealZkError::InvalidConfig(
                "partitions need a multi-node ensemble built with \
                 RealEnsembleBuilder::partitionable(true)"
                    .into(),
            )
        })
    }

    fn freeze(&mut self, index: usize, frozen: bool) -> Result<()> {
        let node = self.node_mut(index)?;
        let myid = node.layout.myid;
        let not_running = RealZkError::NodeNotRunning { index, myid };
        let Some(process) = node.slot().as_mut() else {
            return Err(not_running);
        };
        if process.try_exit().is_some() {
            return Err(not_running);
        }
        process
            .freeze(frozen)
            .map_err(|e| RealZkError::io(format!("signalling node {index}"), e))
    }
}

impl Drop for RealEnsemble {
    fn drop(&mut self) {
        // SIGKILL everything first, then reap, so N nodes take one wait, not N.
        for node in &mut self.nodes {
            if let Some(process) = node.slot() {
                let _ = process.signal(Signal::Kill);
            }
        }
        for node in &mut self.nodes {
            drop(node.slot().take());
        }
    }
}

fn plural_nodes(n: usize) -> String {
    if n == 1 {
        "the node".to_owned()
    } else {
        format!("all {n} nodes")
    }
}

/// Polls `srvr` on `indices` until each reports a serving mode. With `detect_bind`,
/// a log saying "Address already in use" ends the wait with
/// [`RealZkError::PortInUse`] so that start-up can retry on fresh ports.
fn wait_serving(
    nodes: &[Node],
    indices: &[usize],
    timeout: Duration,
    what: &str,
    detect_bind: bool,
) -> Result<()> {
    let began = Instant::now();
    let mut polls: u32 = 0;
    loop {
        let mut pending = false;
        for node in indices.iter().filter_map(|&i| nodes.get(i)) {
            let layout = &node.layout;
            if let Some(status) = node.exited() {
                let log_tail = layout.log_tail(TAIL_LINES);
                return Err(if detect_bind && layout.log_reports_bind_failure() {
                    RealZkError::PortInUse {
                        index: layout.index,
                        myid: layout.myid,
                        log_tail,
                    }
                } else {
                    RealZkError::NodeExited {
                        index: layout.index,
                        myid: layout.myid,
                        status,
                        log: layout.log.clone(),
                        log_tail,
                    }
                });
            }
            let serving = node
                .srvr(POLL_QUERY_TIMEOUT)
                .is_ok_and(|s| s.mode.is_serving())
                && node.secure_port_listening();
            if !serving {
                pending = true;
                // Scanning the log is cheap but not free: every 20th poll (~0.5 s).
                if detect_bind && polls % 20 == 19 && layout.log_reports_bind_failure() {
                    return Err(RealZkError::PortInUse {
                        index: layout.index,
                        myid: layout.myid,
                        log_tail: layout.log_tail(TAIL_LINES),
                    });
                }
            }
        }
        if !pending {
            return Ok(());
        }
        if began.elapsed() >= timeout {
            return Err(RealZkError::Timeout {
                what: what.to_owned(),
                elapsed: began.elapsed(),
                details: describe(nodes, indices),
            });
        }
        polls = polls.wrapping_add(1);
        thread::sleep(POLL_INTERVAL);
    }
}

/// Every listed node's state and, for those not serving, its log tail.
fn describe(nodes: &[Node], indices: &[usize]) -> String {
    let mut out = String::new();
    for node in indices.iter().filter_map(|&i| nodes.get(i)) {
        let state = if let Some(status) = node.exited() {
            format!("exited ({status})")
        } else if !node.is_running() {
            "stopped".to_owned()
        } else if node.is_paused() {
            "paused".to_owned()
        } else {
            match node.srvr(POLL_QUERY_TIMEOUT) {
                Ok(info) => format!("running, mode {}", info.mode),
                Err(err) => format!("running, srvr failed: {err}"),
            }
        };
        let _ = writeln!(out, "{}: {state}", node.name());
        if !state.starts_with("running, mode") || state.ends_with("not serving") {
            let _ = writeln!(
                out,
                "  log tail ({}):\n{}",
                node.layout.log.display(),
                indent(&node.layout.log_tail(TAIL_LINES))
            );
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
