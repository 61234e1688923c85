//! The container backend of [`TestEnsemble`](super::TestEnsemble): ZooKeeper
//! servers in Docker containers, run with the `testcontainers` crate (feature
//! `testcontainers`).
//!
//! Each ensemble makes two private, internal Docker networks (no route out of
//! the machine) with fixed addresses: a *peers* network that carries the servers'
//! quorum and election traffic (`ZOO_SERVERS` names these addresses) and a
//! *clients* network that the host reaches the servers' client ports on. A
//! partition disconnects a container from the peers network only, so its clients
//! still reach it, as in the simulator; healing reconnects it at the same address.
//! Containers, then networks, are removed when the ensemble is dropped.
//!
//! The image must honour the official `zookeeper` image's variables (`ZOO_MY_ID`,
//! `ZOO_SERVERS`, `ZOO_TICK_TIME`, `ZOO_4LW_COMMANDS_WHITELIST`, `ZOO_CFG_EXTRA`);
//! `scripts/build-zk-image.sh` builds such an image from Debian's packages
//! without a registry.

#[cfg(feature = "testcontainers")]
pub(crate) use imp::ContainerEnsemble;

#[cfg(not(feature = "testcontainers"))]
pub(crate) use disabled::ContainerEnsemble;

#[cfg(not(feature = "testcontainers"))]
mod disabled {
    use std::net::SocketAddr;
    use std::time::Duration;

    use crate::testkit::{Backend, TestkitError};

    /// Stands in for the container backend when the feature is off: it never
    /// starts.
    #[derive(Debug)]
    pub(crate) enum ContainerEnsemble {}

    impl ContainerEnsemble {
        pub(crate) fn start(
            _nodes: usize,
            _tick: Duration,
            _image: &str,
        ) -> Result<Self, TestkitError> {
            Err(TestkitError::Unavailable {
                backend: Backend::Container,
                reason: "zk-server-sim was built without its `testcontainers` feature".into(),
            })
        }

        pub(crate) fn client_addr(&self, _i: usize) -> Result<SocketAddr, TestkitError> {
            match *self {}
        }

        pub(crate) fn leader(&self) -> Option<usize> {
            match *self {}
        }

        pub(crate) fn wait_healthy(&self, _timeout: Duration) -> Result<usize, TestkitError> {
            match *self {}
        }

        pub(crate) fn kill(&mut self, _i: usize) -> Result<(), TestkitError> {
            match *self {}
        }

        pub(crate) fn restart(
            &mut self,
            _i: usize,
            _timeout: Duration,
        ) -> Result<(), TestkitError> {
            match *self {}
        }

        pub(crate) fn partition(&mut self, _side: &[usize]) -> Result<(), TestkitError> {
            match *self {}
        }

        pub(crate) fn heal(&mut self) -> Result<(), TestkitError> {
            match *self {}
        }
    }
}

#[cfg(feature = "testcontainers")]
mod imp {
    use std::collections::BTreeSet;
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
    use std::process::Command;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    use std::thread;
    use std::time::{Duration, Instant};

    use testcontainers::clients::Cli;
    use testcontainers::{Container, GenericImage, RunnableImage};

    use crate::real::{four_letter_word, ServerMode, SrvrInfo};
    use crate::testkit::{Backend, TestkitError};

    /// ZooKeeper's ports inside a container.
    const CLIENT_PORT: u16 = 2181;
    /// One `srvr` poll's timeout (a cut-off server may not answer).
    const POLL_TIMEOUT: Duration = Duration::from_secs(1);
    const POLL_INTERVAL: Duration = Duration::from_millis(50);

    /// The docker CLI client of the process; containers borrow it for `'static`.
    fn cli() -> &'static Cli {
        static CLI: OnceLock<Cli> = OnceLock::new();
        CLI.get_or_init(Cli::default)
    }

    /// Runs `docker <args>` and returns its stdout.
    fn docker(args: &[&str]) -> Result<String, TestkitError> {
        let fail = |message: String| TestkitError::Docker {
            command: args.join(" "),
            message,
        };
        let out = Command::new("docker")
            .args(args)
            .output()
            .map_err(|e| fail(format!("cannot run docker: {e}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()))
        }
    }

    fn unavailable(reason: String) -> TestkitError {
        TestkitError::Unavailable {
            backend: Backend::Container,
            reason,
        }
    }

    /// A private network of the ensemble, removed on drop.
    #[derive(Debug)]
    struct Network {
        name: String,
        /// The first three octets of its /24.
        prefix: [u8; 3],
    }

    impl Network {
        fn ip(&self, i: usize) -> Ipv4Addr {
            let [a, b, c] = self.prefix;
            Ipv4Addr::new(a, b, c, u8::try_from(10 + i).unwrap_or(u8::MAX))
        }
    }

    impl Drop for Network {
        fn drop(&mut self) {
            let _ = docker(&["network", "rm", &self.name]);
        }
    }

    /// Creates the clients and peers networks on free /24s.
    fn networks(tag: &str) -> Result<(Network, Network), TestkitError> {
        let pid = std::process::id();
        let mut last = None;
        for attempt in 0..32u32 {
            let third =
                u8::try_from((pid.wrapping_add(attempt.wrapping_mul(37))) % 250 + 1).unwrap_or(1);
            let mut made = Vec::new();
            for (second, role) in [(231u8, "clients"), (232u8, "peers")] {
                let net = Network {
                    name: format!("{tag}-{role}"),
                    prefix: [10, second, third],
                };
                let subnet = format!("10.{second}.{third}.0/24");
                match docker(&[
                    "network",
                    "create",
                    "--internal",
                    "--subnet",
                    &subnet,
                    &net.name,
                ]) {
                    Ok(_) => made.push(net),
                    Err(err) => {
                        last = Some(err);
                        break;
                    }
                }
            }
            if made.len() == 2 {
                let peers = made.pop();
                let clients = made.pop();
                if let (Some(clients), Some(peers)) = (clients, peers) {
                    return Ok((clients, peers));
                }
            }
            // Dropping `made` removes a half-made pair; try other subnets.
        }
        Err(last.unwrap_or_else(|| TestkitError::Docker {
            command: "network create".into(),
            message: "no free subnet".into(),
        }))
    }

    /// Real ZooKeeper servers in containers on two private networks.
    #[derive(Debug)]
    pub(crate) struct ContainerEnsemble {
        /// `Some` while the container exists; dropped (removed) before the networks.
        containers: Vec<Option<Container<'static, GenericImage>>>,
        names: Vec<String>,
        killed: BTreeSet<usize>,
        /// Nodes disconnected from the peers network by a partition.
        cut: BTreeSet<usize>,
        clients: Network,
        peers: Network,
    }

    impl ContainerEnsemble {
        /// Starts `nodes` containers of `image` (`repository:tag`) with `tick`
        /// ticks, and waits until they serve with one leader.
        pub(crate) fn start(
            nodes: usize,
            tick: Duration,
            image: &str,
        ) -> Result<Self, TestkitError> {
            docker(&["info", "--format", "{{.ServerVersion}}"])
                .map_err(|e| unavailable(format!("no usable Docker engine ({e})")))?;
            docker(&["image", "inspect", "--format", "{{.Id}}", image]).map_err(|_| {
                unavailable(format!(
                    "image {image} is not on this machine; build it with \
                     `bash scripts/build-zk-image.sh {image}` (no registry needed)"
                ))
            })?;
            let (repository, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let prefix = format!(
                "zk-rs-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let (clients, peers) = networks(&prefix)?;
            let servers = (0..nodes)
                .map(|i| format!("server.{}={}:2888:3888;{CLIENT_PORT}", i + 1, peers.ip(i)))
                .collect::<Vec<_>>()
                .join(" ");
            let mut this = Self {
                containers: Vec::new(),
                names: Vec::new(),
                killed: BTreeSet::new(),
                cut: BTreeSet::new(),
                clients,
                peers,
            };
            for i in 0..nodes {
                let name = format!("{prefix}-zk{}", i + 1);
                let mut generic = GenericImage::new(repository, tag)
                    .with_env_var("ZOO_MY_ID", (i + 1).to_string())
                    .with_env_var("ZOO_TICK_TIME", tick.as_millis().to_string())
                    .with_env_var("ZOO_4LW_COMMANDS_WHITELIST", "*")
                    .with_env_var("ZOO_CFG_EXTRA", "quorumListenOnAllIPs=true")
                    .with_env_var("ZOO_ADMINSERVER_ENABLED", "false");
                if nodes > 1 {
                    generic = generic.with_env_var("ZOO_SERVERS", servers.clone());
                } else {
                    generic = generic.with_env_var("ZOO_STANDALONE_ENABLED", "true");
                }
                let runnable = RunnableImage::from(generic)
                    .with_container_name(name.clone())
                    .with_network(this.clients.name.clone());
                // The CLI client panics when docker fails; keep that a typed error.
                let container =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli().run(runnable)))
                        .map_err(|_| TestkitError::Docker {
                            command: format!("run {image}"),
                            message: format!("container {name} did not start"),
                        })?;
                this.containers.push(Some(container));
                this.names.push(name.clone());
                // Fixed addresses on both networks: reconnect on the clients network
                // with its address, join the peers network with its own.
                docker(&["network", "disconnect", &this.clients.name, &name])?;
                let client_ip = this.clients.ip(i).to_string();
                docker(&[
                    "network",
                    "connect",
                    "--ip",
                    &client_ip,
                    &this.clients.name,
                    &name,
                ])?;
                let peer_ip = this.peers.ip(i).to_string();
                docker(&[
                    "network",
                    "connect",
                    "--ip",
                    &peer_ip,
                    &this.peers.name,
                    &name,
                ])?;
            }
            this.wait_healthy(Duration::from_secs(120))?;
            Ok(this)
        }

        fn name(&self, i: usize) -> Result<&str, TestkitError> {
            self.names
                .get(i)
                .map(String::as_str)
                .ok_or(TestkitError::NoSuchNode {
                    index: i,
                    len: self.names.len(),
                })
        }

        /// Where server `i` listens for clients (its address on the clients network).
        pub(crate) fn client_addr(&self, i: usize) -> Result<SocketAddr, TestkitError> {
            self.name(i)?;
            Ok(SocketAddr::V4(SocketAddrV4::new(
                self.clients.ip(i),
                CLIENT_PORT,
            )))
        }

        fn srvr(&self, i: usize) -> Option<SrvrInfo> {
            let addr = self.client_addr(i).ok()?;
            let reply = four_letter_word(addr, "srvr", POLL_TIMEOUT).ok()?;
            SrvrInfo::parse(&reply)
        }

        /// The node reporting `Mode: leader` (or standalone), if exactly one does.
        pub(crate) fn leader(&self) -> Option<usize> {
            let leaders: Vec<usize> = (0..self.names.len())
                .filter(|i| !self.killed.contains(i))
                .filter(|&i| self.srvr(i).is_some_and(|s| s.mode.is_leader()))
                .collect();
            match leaders.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        }

        /// Nodes a partition leaves without a majority.
        fn cut_off(&self) -> BTreeSet<usize> {
            let n = self.names.len();
            let connected = n - self.cut.len();
            if connected * 2 > n {
                self.cut.clone()
            } else {
                (0..n).collect()
            }
        }

        /// Waits until one node leads and every other running node (not cut off)
        /// follows it.
        pub(crate) fn wait_healthy(&self, timeout: Duration) -> Result<usize, TestkitError> {
            let began = Instant::now();
            let cut_off = self.cut_off();
            loop {
                let live: Vec<usize> = (0..self.names.len())
                    .filter(|i| !self.killed.contains(i) && !cut_off.contains(i))
                    .collect();
                let mut leaders = Vec::new();
                let mut all_serving = !live.is_empty();
                for &i in &live {
                    match self.srvr(i).map(|s| s.mode) {
                        Some(mode) if mode.is_leader() => leaders.push(i),
                        Some(ServerMode::Follower | ServerMode::Observer) => {}
                        _ => all_serving = false,
                    }
                }
                if let ([leader], true) = (leaders.as_slice(), all_serving) {
                    return Ok(*leader);
                }
                if began.elapsed() >= timeout {
                    return Err(TestkitError::Timeout {
                        what: format!(
                            "a leader followed by containers {live:?}{}",
                            self.describe()
                        ),
                        elapsed: began.elapsed(),
                    });
                }
                thread::sleep(POLL_INTERVAL);
            }
        }

        /// Every container's mode and its log tail, for timeout messages.
        fn describe(&self) -> String {
            let mut out = String::new();
            for (i, name) in self.names.iter().enumerate() {
                let mode = self
                    .srvr(i)
                    .map_or_else(|| "no srvr reply".to_owned(), |s| s.mode.to_string());
                let tail = docker(&["logs", "--tail", "15", name]).unwrap_or_default();
                out.push_str(&format!("\n{name}: {mode}\n{tail}"));
            }
            out
        }

        /// SIGKILLs container `i`'s server (the container stays, with its data).
        pub(crate) fn kill(&mut self, i: usize) -> Result<(), TestkitError> {
            let name = self.name(i)?.to_owned();
            if self.killed.insert(i) {
                docker(&["kill", &name])?;
            }
            Ok(())
        }

        /// Starts container `i` again (killing it first if it runs) and waits
        /// until it serves.
        pub(crate) fn restart(&mut self, i: usize, timeout: Duration) -> Result<(), TestkitError> {
            let name = self.name(i)?.to_owned();
            if !self.killed.contains(&i) {
                docker(&["kill", &name])?;
            }
            docker(&["start", &name])?;
            self.killed.remove(&i);
            let began = Instant::now();
            loop {
                if self.srvr(i).is_some_and(|s| s.mode.is_serving()) || self.cut.contains(&i) {
                    return Ok(());
                }
                if began.elapsed() >= timeout {
                    return Err(TestkitError::Timeout {
                        what: format!("container {name} to serve{}", self.describe()),
                        elapsed: began.elapsed(),
                    });
                }
                thread::sleep(POLL_INTERVAL);
            }
        }

        /// Disconnects the smaller side of the partition from the peers network
        /// (healing the rest first).
        pub(crate) fn partition(&mut self, side: &[usize]) -> Result<(), TestkitError> {
            self.heal()?;
            let n = self.names.len();
            let side: BTreeSet<usize> = side.iter().copied().filter(|&i| i < n).collect();
            let other: BTreeSet<usize> = (0..n).filter(|i| !side.contains(i)).collect();
            let smaller = if side.len() <= other.len() {
                side
            } else {
                other
            };
            for i in smaller {
                let name = self.name(i)?.to_owned();
                docker(&["network", "disconnect", "--force", &self.peers.name, &name])?;
                self.cut.insert(i);
            }
            Ok(())
        }

        /// Reconnects every disconnected container at its address.
        pub(crate) fn heal(&mut self) -> Result<(), TestkitError> {
            for i in std::mem::take(&mut self.cut) {
                let name = self.name(i)?.to_owned();
                let ip = self.peers.ip(i).to_string();
                docker(&["network", "connect", "--ip", &ip, &self.peers.name, &name])?;
            }
            Ok(())
        }
    }

    impl Drop for ContainerEnsemble {
        fn drop(&mut self) {
            // Containers first (testcontainers removes them), then the networks.
            for slot in &mut self.containers {
                drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                    || {
                        slot.take();
                    },
                )));
            }
        }
    }
}
