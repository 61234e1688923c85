//! Path completion through a live session: rustyline calls the helper on
//! its own (non-runtime) thread, and the helper reads the server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rustyline::completion::Completer;
use rustyline::history::{DefaultHistory, History};
use std::sync::{Arc, Mutex};
use zk_client::{Client, CreateOptions};
use zk_server_sim::Ensemble;
use zk_shell::ShellHelper;

#[test]
fn helper_completes_paths_from_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (ens, client) = rt.block_on(async {
        let ens = Ensemble::builder().nodes(1).build().await.unwrap();
        let client = Client::connect(ens.connect_string()).await.unwrap();
        for p in ["/app", "/app/config", "/app/cache", "/apple"] {
            client
                .create(p, b"", &CreateOptions::default())
                .await
                .unwrap();
        }
        (ens, client)
    });
    let shared = Arc::new(Mutex::new(Some(client)));
    let helper = ShellHelper::new(rt.handle().clone(), shared.clone());
    let history = DefaultHistory::new();
    assert_eq!(history.len(), 0);
    let ctx = rustyline::Context::new(&history);
    // Called from this thread, outside the runtime, as rustyline does.
    let (start, got) = helper.complete("get -w /app/c", 13, &ctx).unwrap();
    assert_eq!(
        (start, got),
        (7, vec!["/app/cache".to_owned(), "/app/config".to_owned()])
    );
    let (_, got) = helper.complete("ls /ap", 6, &ctx).unwrap();
    assert_eq!(got, ["/app", "/apple"]);
    // No session: no candidates, no error.
    *shared.lock().unwrap() = None;
    assert!(helper.complete("ls /ap", 6, &ctx).unwrap().1.is_empty());
    drop(ens);
}
