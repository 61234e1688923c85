//! Follow a JSON config node.
//!
//! ```text
//! config_watch --connect HOSTS --path PATH [--for-ms N]
//! ```
//!
//! Prints `<micros> config <the value as compact JSON>` for the initial
//! value and each change, and `<micros> invalid <reason>` for a value that
//! does not parse as JSON (or a node that does not exist), `<micros>` being
//! a Unix timestamp in microseconds. Exits after N ms (default: run until
//! Ctrl-C). Follows the session across expiries.

use std::process::ExitCode;
use std::time::Duration;

use zk_recipes::config::{ConfigEvent, TypedConfig};
use zk_recipes::Session;

fn micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn parse() -> Result<(String, String, Option<u64>), String> {
    let mut it = std::env::args().skip(1);
    let (mut connect, mut path, mut for_ms) = (None, None, None);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connect" => connect = Some(value()?),
            "--path" => path = Some(value()?),
            "--for-ms" => {
                for_ms = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--for-ms needs a number".to_string())?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((
        connect.ok_or("--connect is required")?,
        path.ok_or("--path is required")?,
        for_ms,
    ))
}

fn main() -> ExitCode {
    let (connect, path, for_ms) = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\nusage: config_watch --connect HOSTS --path PATH [--for-ms N]");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(connect, path, for_ms)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("config_watch: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    connect: String,
    path: String,
    for_ms: Option<u64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let session = Session::connect(connect.as_str()).await?;
    let config: TypedConfig<serde_json::Value> = TypedConfig::start_on(&session, &path);
    let mut changes = config.changes();
    let deadline = for_ms.map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    loop {
        let next = changes.recv();
        let ev = match deadline {
            Some(d) => match tokio::time::timeout_at(d, next).await {
                Ok(ev) => ev,
                Err(_) => break,
            },
            None => tokio::select! {
                ev = next => ev,
                _ = tokio::signal::ctrl_c() => break,
            },
        };
        match ev {
            Some(ConfigEvent::Value(v)) => {
                println!("{} config {}", micros(), serde_json::to_string(&*v)?)
            }
            Some(ConfigEvent::Invalid(reason)) => {
                println!("{} invalid {}", micros(), reason.replace('\n', " "))
            }
            Some(ConfigEvent::Missing) => {
                println!("{} invalid node {path} does not exist", micros())
            }
            Some(ConfigEvent::Closed(e)) => return Err(e.into()),
            Some(_) => {}
            None => break,
        }
    }
    session.close().await?;
    Ok(())
}
