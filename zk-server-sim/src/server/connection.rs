//! The I/O task of one client connection: reads frames into the backend,
//! writes what the backend queued, honours pause and reply delays.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Instrument;
use zk_proto::{four_letter_word, FrameDecoder};

use super::{Backend, Out};
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
    let (tx, mut rx) = mpsc::unbounded_channel();
    if !backend.open(node, conn, tx, peer) {
        return;
    }
    let (mut rd, mut wr) = stream.into_split();
    let mut paused = io.paused();
    let decoder = FrameDecoder::new(backend.max_frame());
    let mut buf = BytesMut::with_capacity(4096);
    let mut wbuf = BytesMut::new();
    let mut first = true;
    loop {
        if *paused.borrow_and_update() {
            if paused.changed().await.is_err() {
                break;
            }
            continue;
        }
        tokio::select! {
            biased;
            changed = paused.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            out = rx.recv() => {
                let mut close = false;
                let mut next = out;
                loop {
                    match next {
                        Some(Out::Data(b)) => wbuf.extend_from_slice(&b),
                        Some(Out::Close) | None => {
                            close = true;
                            break;
                        }
                    }
                    match rx.try_recv() {
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
                        break;
                    }
                    wbuf.clear();
                }
                if close {
                    break;
                }
            }
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if first {
                    let Some(&[a, b, c, d]) = buf.get(..4) else {
                        continue;
                    };
                    first = false;
                    if let Some(word) = four_letter_word([a, b, c, d]) {
                        let text = backend.four_letter(node, conn, word);
                        let _ = wr.write_all(text.as_bytes()).await;
                        let _ = wr.shutdown().await;
                        return;
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
                    break;
                }
            }
        }
    }
    let _ = wr.shutdown().await;
    backend.close(node, conn);
}
