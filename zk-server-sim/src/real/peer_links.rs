//! Proxies on the links between real ZooKeeper servers, so that a test can cut them
//! (a network partition) without root or firewall rules.
//!
//! For every ordered pair of nodes (a, b) there are two loopback proxies: one in front
//! of b's quorum port and one in front of b's election port, and node a's `zoo.cfg`
//! names them as b's addresses. Learners connect to the leader's quorum port through
//! them; election connections too, with one twist: a server that receives an election
//! connection from a lower `myid` closes it and connects back to the address the
//! lower server announced in its first message (its own, real election port). The
//! election proxy therefore rewrites that announced address to the proxy for the
//! reverse direction, so the connect-back goes through a proxy as well. With that,
//! every byte between two servers crosses a proxy, and a cut pair has no link at all.
//!
//! The proxies run on a small tokio runtime of their own (one thread), so the
//! synchronous harness needs no runtime from its caller.

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener as StdListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// The largest election address string the rewrite accepts (ZooKeeper's own limit
/// for the whole initial message is 4 KiB).
const MAX_ADDR_LEN: usize = 4096;

/// Which kind of port a proxy fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Quorum,
    Election,
}

/// One proxy, before it runs.
#[derive(Debug)]
struct Spec {
    from: usize,
    to: usize,
    kind: Kind,
    listener: StdListener,
    upstream: SocketAddr,
}

/// The running peer-link proxies of one ensemble. Dropping it stops them all and
/// closes every link through them.
#[derive(Debug)]
pub(crate) struct PeerLinks {
    /// `ports[a][b]`: the (quorum, election) proxy ports node `a` uses to reach `b`.
    ports: Vec<Vec<(u16, u16)>>,
    /// The set of cut ordered pairs; every proxy watches it.
    cut: watch::Sender<Arc<BTreeSet<(usize, usize)>>>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PeerLinks {
    /// Starts proxies between `n` nodes whose real (quorum, election) ports are
    /// `real[i]`.
    pub(crate) fn start(real: &[(u16, u16)]) -> io::Result<Self> {
        let n = real.len();
        let mut specs = Vec::new();
        let mut ports = vec![vec![(0u16, 0u16); n]; n];
        for (from, row) in ports.iter_mut().enumerate() {
            for (to, &(quorum, election)) in real.iter().enumerate() {
                if from == to {
                    continue;
                }
                let mut pair = (0, 0);
                for (kind, port) in [(Kind::Quorum, quorum), (Kind::Election, election)] {
                    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?;
                    listener.set_nonblocking(true)?;
                    let local = listener.local_addr()?.port();
                    if kind == Kind::Quorum {
                        pair.0 = local;
                    } else {
                        pair.1 = local;
                    }
                    specs.push(Spec {
                        from,
                        to,
                        kind,
                        listener,
                        upstream: loopback(port),
                    });
                }
                if let Some(slot) = row.get_mut(to) {
                    *slot = pair;
                }
            }
        }
        let (cut, cut_rx) = watch::channel(Arc::new(BTreeSet::new()));
        let (stop_tx, stop_rx) = oneshot::channel();
        let reverse = ports.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = thread::Builder::new()
            .name("zk-real-peer-links".into())
            .spawn(move || {
                runtime.block_on(async move {
                    for spec in specs {
                        let cut = cut_rx.clone();
                        // Node `to` announces its real election port; the
                        // connect-back must use the proxy `to -> from`.
                        let announce = reverse
                            .get(spec.to)
                            .and_then(|row| row.get(spec.from))
                            .map(|&(_, e)| e)
                            .unwrap_or(0);
                        match TcpListener::from_std(spec.listener) {
                            Ok(listener) => {
                                tokio::spawn(accept_loop(
                                    listener,
                                    spec.from,
                                    spec.to,
                                    spec.kind,
                                    spec.upstream,
                                    announce,
                                    cut,
                                ));
                            }
                            Err(err) => {
                                tracing::warn!(%err, "peer-link proxy could not start");
                            }
                        }
                    }
                    let _ = stop_rx.await;
                });
            })?;
        Ok(Self {
            ports,
            cut,
            stop: Mutex::new(Some(stop_tx)),
            thread: Some(thread),
        })
    }

    /// The (quorum, election) proxy ports node `from` uses to reach node `to`.
    pub(crate) fn ports(&self, from: usize, to: usize) -> Option<(u16, u16)> {
        self.ports.get(from)?.get(to).copied()
    }

    /// Cuts every link between `side` and the other nodes (and heals every other
    /// link). Existing connections across the cut are closed; new ones are refused.
    pub(crate) fn partition(&self, side: &[usize]) {
        let n = self.ports.len();
        let mut cut = BTreeSet::new();
        for a in 0..n {
            for b in 0..n {
                if a != b && side.contains(&a) != side.contains(&b) {
                    cut.insert((a, b));
                }
            }
        }
        self.cut.send_replace(Arc::new(cut));
    }

    /// Restores every link.
    pub(crate) fn heal(&self) {
        self.cut.send_replace(Arc::new(BTreeSet::new()));
    }

    /// The nodes that cannot reach a majority (themselves included) over uncut
    /// links: they cannot serve until healed.
    pub(crate) fn cut_off(&self) -> Vec<usize> {
        let n = self.ports.len();
        let cut = self.cut.borrow();
        (0..n)
            .filter(|&a| {
                let reachable = (0..n).filter(|&b| a == b || !cut.contains(&(a, b))).count();
                reachable * 2 <= n
            })
            .collect()
    }

    /// True while the pair (a, b) is cut.
    #[cfg(test)]
    pub(crate) fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut.borrow().contains(&(a, b))
    }
}

impl Drop for PeerLinks {
    fn drop(&mut self) {
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

async fn accept_loop(
    listener: TcpListener,
    from: usize,
    to: usize,
    kind: Kind,
    upstream: SocketAddr,
    announce: u16,
    cut: watch::Receiver<Arc<BTreeSet<(usize, usize)>>>,
) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        if cut.borrow().contains(&(from, to)) {
            drop(inbound);
            continue;
        }
        let cut = cut.clone();
        tokio::spawn(async move {
            let _ = link(inbound, from, to, kind, upstream, announce, cut).await;
        });
    }
}

/// Forwards one connection until either side closes it or the pair is cut.
async fn link(
    mut inbound: TcpStream,
    from: usize,
    to: usize,
    kind: Kind,
    upstream: SocketAddr,
    announce: u16,
    mut cut: watch::Receiver<Arc<BTreeSet<(usize, usize)>>>,
) -> io::Result<()> {
    let _ = inbound.set_nodelay(true);
    let mut outbound = TcpStream::connect(upstream).await?;
    let _ = outbound.set_nodelay(true);
    if kind == Kind::Election {
        let first = read_initial_message(&mut inbound, announce).await?;
        outbound.write_all(&first).await?;
    }
    let is_cut = |set: &BTreeSet<(usize, usize)>| set.contains(&(from, to));
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => result.map(|_| ()),
        _ = cut.wait_for(|set| is_cut(set)) => Ok(()),
    }
}

/// Reads the election protocol's initial message (`long version`, then for the
/// address-carrying versions `long sid, int length, length bytes "host:port"`) and
/// returns it with the address replaced by `127.0.0.1:<announce>`. An old-style
/// message (a non-negative version, which is the sid itself) is passed on as is.
async fn read_initial_message(stream: &mut TcpStream, announce: u16) -> io::Result<Vec<u8>> {
    let version = stream.read_i64().await?;
    let mut out = version.to_be_bytes().to_vec();
    if version >= 0 {
        return Ok(out);
    }
    let sid = stream.read_i64().await?;
    let len = stream.read_i32().await?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= MAX_ADDR_LEN)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad address length"))?;
    let mut addr = vec![0; len];
    stream.read_exact(&mut addr).await?;
    let replaced = format!("127.0.0.1:{announce}");
    let replaced_len = i32::try_from(replaced.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&sid.to_be_bytes());
    out.extend_from_slice(&replaced_len.to_be_bytes());
    out.extend_from_slice(replaced.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_cuts_both_directions_across_the_sides_only() {
        let links = PeerLinks::start(&[(1, 2), (3, 4), (5, 6)]).unwrap();
        assert!(links.ports(0, 1).is_some_and(|(q, e)| q != 0 && e != 0));
        assert_eq!(links.ports(0, 0), Some((0, 0)));
        links.partition(&[2]);
        assert!(links.is_cut(2, 0) && links.is_cut(0, 2) && links.is_cut(1, 2));
        assert!(!links.is_cut(0, 1) && !links.is_cut(1, 0));
        assert_eq!(links.cut_off(), vec![2]);
        links.heal();
        assert!(!links.is_cut(2, 0));
        assert!(links.cut_off().is_empty());
    }

    #[tokio::test]
    async fn the_announced_election_address_is_rewritten() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sender = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let real = b"127.0.0.1:3888";
            s.write_i64(-65535).await.unwrap();
            s.write_i64(7).await.unwrap();
            s.write_i32(real.len() as i32).await.unwrap();
            s.write_all(real).await.unwrap();
            s.write_all(b"rest").await.unwrap();
            s
        });
        let (mut inbound, _) = listener.accept().await.unwrap();
        let first = read_initial_message(&mut inbound, 4242).await.unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&(-65535i64).to_be_bytes());
        want.extend_from_slice(&7i64.to_be_bytes());
        want.extend_from_slice(&14i32.to_be_bytes());
        want.extend_from_slice(b"127.0.0.1:4242");
        assert_eq!(first, want);
        let mut rest = [0; 4];
        inbound.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"rest");
        drop(sender.await.unwrap());
    }
}
