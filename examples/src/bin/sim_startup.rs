//! Measures how quickly a 3-node simulated ensemble serves its first request.
//!
//! Builds the ensemble N times (default 50, or the first argument), each time
//! timing from `build()` to the reply of a `getData /zookeeper` on a fresh
//! session, and prints the median as one line: `sim_first_request_ms VALUE`.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_proto::{
    encode_record_frame, encode_request, ConnectRequest, FrameDecoder, GetDataRequest, Request,
};

async fn read_frame(s: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<bytes::Bytes> {
    loop {
        if let Some(f) = FrameDecoder::default()
            .decode(buf)
            .map_err(std::io::Error::other)?
        {
            return Ok(f);
        }
        if s.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

async fn first_request() -> Result<Duration, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let ensemble = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .record_history(false)
        .build()
        .await?;
    let mut s = TcpStream::connect(ensemble.addr(0)).await?;
    s.set_nodelay(true)?;
    let mut out = BytesMut::new();
    let hello = ConnectRequest {
        timeout: 30_000,
        passwd: bytes::Bytes::from_static(&[0; 16]),
        read_only: Some(false),
        ..ConnectRequest::default()
    };
    encode_record_frame(&mut out, zk_proto::DEFAULT_MAX_FRAME, &hello)?;
    let get = Request::GetData(GetDataRequest {
        path: "/zookeeper".into(),
        watch: false,
    });
    s.write_all(&out).await?;
    let mut buf = BytesMut::new();
    read_frame(&mut s, &mut buf).await?;
    out.clear();
    encode_request(&mut out, zk_proto::DEFAULT_MAX_FRAME, 1, &get)?;
    s.write_all(&out).await?;
    read_frame(&mut s, &mut buf).await?;
    let elapsed = start.elapsed();
    drop(ensemble);
    Ok(elapsed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50)
        .max(1);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(first_request().await?);
    }
    times.sort();
    let median = times.get(runs / 2).copied().unwrap_or_default();
    println!("sim_first_request_ms {:.3}", median.as_secs_f64() * 1000.0);
    Ok(())
}
