//! Watch (and optionally join) a service in a Curator-compatible registry.
//!
//! ```text
//! discovery --connect HOSTS --base PATH --service NAME [--register ADDRESS:PORT] [--for-ms N]
//! ```
//!
//! With `--register`, registers an instance of NAME at ADDRESS:PORT under
//! PATH (Curator x-discovery layout and JSON; registered again in every new
//! session). Prints `<micros> instances <address:port,...>` (sorted; empty
//! after `instances ` when there is none) for the first complete view and
//! each time the set changes, `<micros>` being a Unix timestamp in
//! microseconds. After N ms (default: run until Ctrl-C) it unregisters and
//! exits.

use std::process::ExitCode;
use std::time::Duration;

use zk_recipes::discovery::{ServiceDiscovery, ServiceInstance};
use zk_recipes::Session;

struct Args {
    connect: String,
    base: String,
    service: String,
    register: Option<(String, u16)>,
    for_ms: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut connect, mut base, mut service, mut register, mut for_ms) =
        (None, None, None, None, None);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connect" => connect = Some(value()?),
            "--base" => base = Some(value()?),
            "--service" => service = Some(value()?),
            "--register" => {
                let v = value()?;
                let (host, port) = v
                    .rsplit_once(':')
                    .ok_or_else(|| format!("--register {v}: want ADDRESS:PORT"))?;
                let port = port
                    .parse()
                    .map_err(|_| format!("--register {v}: bad port"))?;
                register = Some((host.to_string(), port));
            }
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
    Ok(Args {
        connect: connect.ok_or("--connect is required")?,
        base: base.ok_or("--base is required")?,
        service: service.ok_or("--service is required")?,
        register,
        for_ms,
    })
}

fn micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\nusage: discovery --connect HOSTS --base PATH --service NAME [--register ADDRESS:PORT] [--for-ms N]");
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
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("discovery: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let session = Session::connect(args.connect.as_str()).await?;
    let discovery: ServiceDiscovery = ServiceDiscovery::on_session(&session, &args.base);
    let me = args
        .register
        .as_ref()
        .map(|(host, port)| ServiceInstance::new(&args.service, host, *port));
    if let Some(me) = &me {
        discovery.register(me).await?;
    }
    // Started after registering: the first view includes this instance.
    let cache = discovery.cache(&args.service);
    let mut changes = cache.changes();
    cache.initialized().await?;
    let deadline = args
        .for_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let mut last: Option<Vec<String>> = None;
    loop {
        let mut now: Vec<String> = changes
            .borrow_and_update()
            .iter()
            .map(ServiceInstance::address_port)
            .collect();
        now.sort();
        if last.as_ref() != Some(&now) {
            println!("{} instances {}", micros(), now.join(","));
            last = Some(now);
        }
        let wait = changes.changed();
        match deadline {
            Some(d) => match tokio::time::timeout_at(d, wait).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => break,
            },
            None => tokio::select! {
                r = wait => if r.is_err() { break },
                _ = tokio::signal::ctrl_c() => break,
            },
        }
    }
    if let Some(me) = &me {
        discovery.unregister(me).await?;
    }
    session.close().await?;
    Ok(())
}
