//! Putting a request in line and waiting for its answer: what every
//! operation of [`Client`](crate::Client) and
//! [`Transaction`](crate::Transaction) does.

use std::future::Future;

use bytes::BytesMut;
use tokio::sync::oneshot;
use tokio::time::Instant;
use zk_proto::{ProtoError, Reader, Record, Request};

use crate::error::{Error, Result};
use crate::session::submit::{PersistentReg, Reply, Req, Shared, WatchReg, Work};

/// A request that has been put in line, or refused before it was.
pub(crate) struct Call {
    rx: Result<oneshot::Receiver<Result<Reply>>>,
    deadline: Option<Instant>,
}

impl Call {
    /// Waits for the reply (or the per-request timeout) and turns a non-OK code into an error.
    pub(crate) async fn reply(self) -> Result<Reply> {
        let rx = self.rx?;
        let wait = async {
            match rx.await {
                Ok(r) => r,
                // The task ended without answering: it is gone, so the client is closed.
                Err(_) => Err(Error::Closed),
            }
        };
        match self.deadline {
            Some(d) => match tokio::time::timeout_at(d, wait).await {
                Ok(r) => r,
                Err(_) => Err(Error::RequestTimeout),
            },
            None => wait.await,
        }
    }

    /// Like [`Call::reply`], and reads the body of a successful reply.
    pub(crate) async fn ok(self) -> Result<Reader> {
        let reply = self.reply().await?;
        match Error::from_code(reply.err) {
            None => Ok(Reader::new(reply.body)),
            Some(e) => Err(e),
        }
    }
}

/// Decodes a reply body, turning a malformed one into [`Error::Protocol`].
pub(crate) fn decode<R: Record>(mut r: Reader) -> Result<R> {
    R::decode(&mut r).map_err(Error::Protocol)
}

/// The first allocation of a request's frame, besides its path.
const FRAME_CAPACITY: usize = 192;

/// Encodes `request` and puts it in line on `shared`. This is the moment
/// that fixes the request's order.
pub(crate) fn submit(
    shared: &Shared,
    max_frame: usize,
    deadline: Option<Instant>,
    session_id: i64,
    request: Result<Request>,
    watch: Option<WatchReg>,
    persistent: Option<PersistentReg>,
) -> Call {
    let rx = request.and_then(|request| {
        let op = request.op_code();
        // Room for the usual request at once (header, path, a small
        // payload): growing the buffer while encoding cost more than the
        // encoding itself.
        let mut frame =
            BytesMut::with_capacity(FRAME_CAPACITY + request.path().map_or(0, str::len));
        zk_proto::encode_request(&mut frame, max_frame, 0, &request).map_err(|e| match e {
            ProtoError::FrameTooLarge { len, max } => Error::DataTooLarge {
                len: usize::try_from(len).unwrap_or(usize::MAX),
                max,
            },
            other => Error::Protocol(other),
        })?;
        let span = tracing::debug_span!(
            "zk.request",
            op = op.name(),
            path = request.path().unwrap_or(""),
            xid = tracing::field::Empty,
            session_id,
        );
        let (tx, rx) = oneshot::channel();
        shared.submit(Work::Request(Req {
            op,
            frame,
            watch,
            persistent,
            reply: tx,
            span,
        }));
        Ok(rx)
    });
    Call { rx, deadline }
}

/// Waits for `wait`, or fails with [`Error::RequestTimeout`] at `deadline`.
pub(crate) async fn with_deadline<T>(
    deadline: Option<Instant>,
    wait: impl Future<Output = Result<T>>,
) -> Result<T> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, wait)
            .await
            .unwrap_or(Err(Error::RequestTimeout)),
        None => wait.await,
    }
}
