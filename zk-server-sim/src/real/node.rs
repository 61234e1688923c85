//! One node's ports and files, the ensemble's temporary directory, and log reading.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{RealZkError, Result};

/// Where one node listens and keeps its files. Fixed for the node's life, so a restart
/// reuses the same ports and data.
#[derive(Debug, Clone)]
pub(crate) struct NodeLayout {
    /// Zero-based index in the ensemble.
    pub(crate) index: usize,
    /// ZooKeeper server id (`myid`), index + 1.
    pub(crate) myid: u32,
    pub(crate) client_port: u16,
    pub(crate) quorum_port: u16,
    pub(crate) election_port: u16,
    /// The TLS client port (`secureClientPort`), when the ensemble has one.
    pub(crate) secure_client_port: Option<u16>,
    /// `peer_ports[j]`: the (quorum, election) ports this node uses to reach node
    /// `j` (proxies of a partitionable ensemble); empty when it reaches them directly.
    pub(crate) peer_ports: Vec<(u16, u16)>,
    /// `<root>/node<myid>`: holds `zoo.cfg` and `zookeeper.log`.
    pub(crate) dir: PathBuf,
    /// `<dir>/data`: holds `myid`, snapshots and transaction logs.
    pub(crate) data_dir: PathBuf,
    pub(crate) cfg: PathBuf,
    pub(crate) log: PathBuf,
}

impl NodeLayout {
    pub(crate) fn new(root: &Path, index: usize, ports: [u16; 3]) -> Self {
        let myid = u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(1));
        let dir = root.join(format!("node{myid}"));
        let [client_port, quorum_port, election_port] = ports;
        Self {
            index,
            myid,
            client_port,
            quorum_port,
            election_port,
            secure_client_port: None,
            peer_ports: Vec::new(),
            data_dir: dir.join("data"),
            cfg: dir.join("zoo.cfg"),
            log: dir.join("zookeeper.log"),
            dir,
        }
    }

    /// The client address, `127.0.0.1:<client port>`.
    pub(crate) fn client_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.client_port))
    }

    /// The TLS client address, `127.0.0.1:<secureClientPort>`, if there is one.
    pub(crate) fn secure_client_addr(&self) -> Option<SocketAddr> {
        self.secure_client_port
            .map(|port| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
    }

    /// Writes a fresh node directory: `zoo.cfg`, `data/myid`, an empty log. Anything left
    /// from an earlier attempt is removed first.
    pub(crate) fn write_files(&self, zoo_cfg: &str) -> Result<()> {
        let ctx = |what: &str, path: &Path| format!("{what} {}", path.display());
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .map_err(|e| RealZkError::io(ctx("removing", &self.dir), e))?;
        }
        fs::create_dir_all(&self.data_dir)
            .map_err(|e| RealZkError::io(ctx("creating", &self.data_dir), e))?;
        let myid = self.data_dir.join("myid");
        fs::write(&myid, format!("{}\n", self.myid))
            .map_err(|e| RealZkError::io(ctx("writing", &myid), e))?;
        fs::write(&self.cfg, zoo_cfg).map_err(|e| RealZkError::io(ctx("writing", &self.cfg), e))?;
        fs::write(&self.log, "").map_err(|e| RealZkError::io(ctx("creating", &self.log), e))?;
        Ok(())
    }

    /// The last `lines` lines of the node's log, or a note saying why there are none.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        match read_tail(&self.log, 256 * 1024) {
            Ok(text) => {
                let all: Vec<&str> = text.lines().collect();
                let start = all.len().saturating_sub(lines);
                let tail = all.get(start..).unwrap_or_default().join("\n");
                if tail.is_empty() {
                    "(log is empty)".to_owned()
                } else {
                    tail
                }
            }
            Err(err) => format!("(cannot read {}: {err})", self.log.display()),
        }
    }

    /// True if the log reports a port that could not be bound.
    pub(crate) fn log_reports_bind_failure(&self) -> bool {
        read_tail(&self.log, 1024 * 1024)
            .map(|text| text.contains("Address already in use"))
            .unwrap_or(false)
    }
}

/// Reads at most the last `max` bytes of a file, lossily as UTF-8.
fn read_tail(path: &Path, max: u64) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > max {
        file.seek(SeekFrom::Start(len - max))?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The ensemble's private directory, removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct TempRoot {
    path: PathBuf,
    keep: bool,
}

impl TempRoot {
    /// Creates `<base>/zk-real-<pid>-<n>-<nanos>`.
    pub(crate) fn create(base: &Path, keep: bool) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(base)
            .map_err(|e| RealZkError::io(format!("creating {}", base.display()), e))?;
        loop {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("zk-real-{}-{n}-{nanos:09}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path, keep }),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => {
                    return Err(RealZkError::io(format!("creating {}", path.display()), err))
                }
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn keep(&self) -> bool {
        self.keep
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
