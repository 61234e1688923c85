//! The I/O task of one client connection: reads frames into the core,
//! writes what the core queued, honours pause and reply delays.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Instrument;
use zk_proto::{four_letter_word, FrameDecoder};

use crate::ensemble::node::Out;
use crate::ensemble::Shared;
use crate::tree::ConnId;

/// Serves one accepted socket until either side closes it.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    node: usize,
    conn: ConnId,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let span = tracing::debug_span!("conn", node, conn, %peer);
    run(shared, node, conn, stream, peer).instrument(span).await;
}

async fn run(shared: Arc<Shared>, node: usize, conn: ConnId, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let Some(io) = shared.io.get(node) else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    if !shared.lock().register(node, conn, tx, peer) {
        return;
    }
    let (mut rd, mut wr) = stream.into_split();
    let mut paused = io.paused.subscribe();
    let decoder = FrameDecoder::new(shared.max_frame);
    let mut buf = BytesMut::with_capacity(4096);
    let mut wbuf = BytesMut::new();
    let mut first = true;
    'outer: loop {
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
                let delay = io.delay_ms.load(Ordering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
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
                        let text = {
                            let mut core = shared.lock();
                            // Rendered while this connection still counts,
                            // as the real server lists the asking connection.
                            let text = core.four_letter(node, word, Some(conn), io.addr.port());
                            core.forget(node, conn);
                            text
                        };
                        let _ = wr.write_all(text.as_bytes()).await;
                        let _ = wr.shutdown().await;
                        return;
                    }
                }
                let mut core = shared.lock();
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(frame)) => core.on_frame(node, conn, frame),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::debug!(error = %e, "bad frame; closing like the real server");
                            core.forget(node, conn);
                            core.settle();
                            break 'outer;
                        }
                    }
                }
                core.settle();
            }
        }
    }
    let _ = wr.shutdown().await;
    shared.lock().forget(node, conn);
}
