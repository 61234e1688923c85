//! The I/O task of one client connection: reads frames into the backend and
//! writes what the backend queued, concurrently, so that a client that stops
//! reading still has its pings and closeSession read; honours pause and
//! reply delays.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::Instrument;
use zk_proto::{four_letter_word, FrameDecoder};

use super::{outbox, Backend, NodeIo, Out, OutboxReader};
use crate::tree::ConnId;

/// Serves one accepted socket until either side closes it.
pub(crate) async fn serve<B: Backend>(
    backend: Arc<B>,
    node: usize,
    conn: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let span = tracing::debug_span!("conn", node, conn, %peer);
    run(&*backend, node, conn, stream, peer)
        .instrument(span)
        .await;
}

/// Why the reading side stopped.
enum ReadEnd {
    /// EOF, a read error or a bad frame: close.
    Closed,
    /// The first bytes were a four-letter word: answer it and close.
    FourLetter(String),
}

async fn run<B: Backend>(
    backend: &B,
    node: usize,
    conn: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let Some(io) = backend.io(node) else {
        return;
    };
    let (out, mut outbox) = outbox();
    if !backend.open(node, conn, out, peer) {
        return;
    }
    let (mut rd, mut wr) = stream.into_split();
    let mut kill = outbox.kill.clone();
    let end = {
        let reading = read_loop(backend, io, node, conn, &mut rd);
        let writing = write_loop(io, &mut outbox, &mut wr);
        tokio::select! {
            end = reading => Some(end),
            () = writing => None,
            () = killed(&mut kill) => None,
        }
    };
    if let Some(ReadEnd::FourLetter(text)) = end {
        let _ = wr.write_all(text.as_bytes()).await;
        let _ = wr.shutdown().await;
        return;
    }
    let _ = wr.shutdown().await;
    backend.close(node, conn);
}

/// Resolves when the ensemble aborts the connection (never when it merely
/// forgets it: then the queued output is still flushed).
async fn killed(kill: &mut watch::Receiver<bool>) {
    if kill.wait_for(|k| *k).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Waits while the node is paused; false once the node is gone.
async fn unpaused(paused: &mut watch::Receiver<bool>) -> bool {
    paused.wait_for(|p| !*p).await.is_ok()
}

async fn read_loop<B: Backend>(
    backend: &B,
    io: &NodeIo,
    node: usize,
    conn: ConnId,
    rd: &mut OwnedReadHalf,
) -> ReadEnd {
    let mut paused = io.paused();
    let decoder = FrameDecoder::new(backend.max_frame());
    let mut buf = BytesMut::with_capacity(4096);
    let mut first = true;
    loop {
        if !unpaused(&mut paused).await {
            return ReadEnd::Closed;
        }
        tokio::select! {
            biased;
            changed = paused.changed() => {
                if changed.is_err() {
                    return ReadEnd::Closed;
                }
                continue;
            }
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => return ReadEnd::Closed,
                    Ok(_) => {}
                }
            }
        }
        if first {
            let Some(&[a, b, c, d]) = buf.get(..4) else {
                continue;
            };
            first = false;
            if let Some(word) = four_letter_word([a, b, c, d]) {
                let arg = buf.get(4..).unwrap_or_default();
                return ReadEnd::FourLetter(backend.four_letter(node, conn, word, arg));
            }
        }
        let mut frames = Vec::new();
        let bad = loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break false,
                Err(e) => {
                    tracing::debug!(error = %e, "bad frame; closing like the real server");
                    break true;
                }
            }
        };
        backend.receive(node, conn, frames);
        if bad {
            return ReadEnd::Closed;
        }
    }
}

/// Writes queued output until a close (after flushing) or a write error.
async fn write_loop(io: &NodeIo, outbox: &mut OutboxReader, wr: &mut OwnedWriteHalf) {
    let mut paused = io.paused();
    let mut wbuf = BytesMut::new();
    loop {
        if !unpaused(&mut paused).await {
            return;
        }
        let next = tokio::select! {
            biased;
            changed = paused.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            next = outbox.rx.recv() => next,
        };
        let mut close = false;
        let mut next = next;
        loop {
            match next {
                Some(Out::Data(b)) => wbuf.extend_from_slice(&b),
                Some(Out::Close) | None => {
                    close = true;
                    break;
                }
            }
            match outbox.rx.try_recv() {
                Ok(more) => next = Some(more),
                Err(_) => break,
            }
        }
        let delay = io.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !wbuf.is_empty() {
            if wr.write_all(&wbuf).await.is_err() {
                return;
            }
            outbox.queued.fetch_sub(wbuf.len(), Ordering::Relaxed);
            wbuf.clear();
        }
        if close {
            return;
        }
    }
}
