//! The shell: a session, its watches, and the commands run against it.

use std::io::Write;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Mutex;
use zk_client::{
    Client, CreateMode, CreateOptions, EventType, SessionState, WatcherKind, CONFIG_NODE,
};

use crate::error::CommandError;
use crate::format::{acl_lines, child_list, parse_acl, stat_lines};
use crate::getopt::{self, Opts};
use crate::watches::{event_text, EventSink, Kind, RemoveKind, Watches};
use crate::words::split_words;

/// How the shell connects (zkCli's `-server`, `-timeout`, `-r`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The connect string (`host:port,...[/chroot]`).
    pub server: String,
    /// The session timeout asked for.
    pub timeout: Duration,
    /// Whether a read-only server may serve the session.
    pub read_only: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            server: "localhost:2181".to_owned(),
            timeout: Duration::from_millis(30_000),
            read_only: false,
        }
    }
}

/// What running one line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command succeeded (or the line was empty).
    Ok,
    /// The command failed; its message went to stderr.
    Failed,
    /// `quit`: the shell should end.
    Quit,
}

/// The client the shell currently holds, shared with path completion.
pub type SharedClient = Arc<StdMutex<Option<Client>>>;

/// The usage lines of every command, as zkCli's `usage()` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "scheme auth"),
    ("close", ""),
    ("config", "[-c] [-w] [-s]"),
    ("connect", "host:port"),
    ("create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "[-v version] path"),
    ("deleteall", "path [-b batch size]"),
    ("get", "[-s] [-w] path"),
    ("getAcl", "[-s] path"),
    ("getAllChildrenNumber", "path"),
    ("getEphemerals", "path"),
    ("history", ""),
    ("ls", "[-s] [-w] [-R] path"),
    ("printwatches", "on|off"),
    ("quit", ""),
    ("removewatches", "path [-c|-d|-a] [-l]"),
    ("set", "[-s] [-v version] path data"),
    ("setAcl", "[-s] [-v version] [-R] path acl"),
    ("stat", "[-w] path"),
    ("sync", "path"),
    ("whoami", ""),
];

/// The largest TTL ZooKeeper accepts (`EphemeralType.TTL`'s maximum).
const MAX_TTL: i64 = 0x00FF_FFFF_FFFF;

/// A zkCli-style shell over one ZooKeeper session at a time.
///
/// Output goes to the writers given; event text goes to the [`EventSink`].
/// Each line runs to completion before [`Shell::run_line`] returns, and every
/// watch event that arrived by then is printed before it returns too, so a
/// script's output is the same from run to run.
pub struct Shell {
    rt: Handle,
    options: ConnectOptions,
    host: String,
    client: SharedClient,
    watches: Watches,
    console: Arc<Mutex<()>>,
    /// Whether watch events are printed (zkCli's `printwatches`).
    print_watches: bool,
    /// A command's output not yet written (true: stderr), in order.
    pending: Vec<(bool, String)>,
    history: Vec<String>,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("host", &self.host)
            .field("commands", &self.history.len())
            .finish_non_exhaustive()
    }
}

impl Shell {
    /// A shell that runs its work on `rt` (a multi-threaded runtime; call
    /// the shell's methods from outside it), prints command output to `out`
    /// and `err` and events to `sink`. It is not connected yet: see
    /// [`Shell::connect`].
    pub fn new(
        rt: Handle,
        options: ConnectOptions,
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        sink: Box<dyn EventSink>,
    ) -> Self {
        let console = Arc::new(Mutex::new(()));
        let watches = {
            let _enter = rt.enter();
            Watches::start(sink, console.clone())
        };
        Shell {
            host: options.server.clone(),
            rt,
            options,
            client: Arc::new(StdMutex::new(None)),
            watches,
            console,
            print_watches: true,
            pending: Vec::new(),
            history: Vec::new(),
            out,
            err,
        }
    }

    /// The client handle path completion reads through.
    pub fn shared_client(&self) -> SharedClient {
        self.client.clone()
    }

    /// zkCli's prompt: `[zk: host(STATE) n] `.
    pub fn prompt(&self) -> String {
        let state = match self.current().map(|c| c.state()) {
            Some(SessionState::Connected) => "CONNECTED",
            Some(SessionState::ConnectedReadOnly) => "CONNECTEDREADONLY",
            Some(SessionState::Disconnected) => "CONNECTING",
            Some(SessionState::AuthFailed) => "AUTH_FAILED",
            _ => "CLOSED",
        };
        format!("[zk: {}({state}) {}] ", self.host, self.history.len())
    }

    fn current(&self) -> Option<Client> {
        self.client.lock().ok().and_then(|c| c.clone())
    }

    /// Connects to the connect string of the options (zkCli's start-up,
    /// without its "Connecting to" line). Failure is printed and returned.
    pub fn connect(&mut self) -> Outcome {
        let host = self.options.server.clone();
        let rt = self.rt.clone();
        let result = rt.block_on(self.connect_to(&host));
        self.finish(result)
    }

    /// Runs one line (a command and its arguments; empty lines do nothing).
    pub fn run_line(&mut self, line: &str) -> Outcome {
        let words = split_words(line);
        if words.is_empty() {
            return Outcome::Ok;
        }
        self.history.push(line.to_owned());
        let rt = self.rt.clone();
        let result = rt.block_on(self.exec(words));
        self.finish(result)
    }

    /// Prints every event that has arrived (called before the shell ends).
    pub fn flush_events(&self) {
        self.rt.block_on(self.watches.flush());
    }

    /// Prints the events that have arrived, then closes the session (if
    /// any) without printing more: the end of input, where zkCli exits
    /// without a word.
    pub fn close(&mut self) {
        self.flush_events();
        self.watches.print_watches(false);
        if let Some(client) = self.take_client() {
            let _ = self.rt.block_on(client.close());
        }
    }

    fn finish(&mut self, result: Result<Flow, CommandError>) -> Outcome {
        let outcome = match result {
            Ok(Flow::Continue) => Outcome::Ok,
            Ok(Flow::Quit) => Outcome::Quit,
            Err(e) => {
                self.eprintln(e.message());
                Outcome::Failed
            }
        };
        // Events that arrived before the reply come first, as Java's event
        // thread prints them before the command's output.
        self.flush_events();
        let console = self.console.clone();
        let _console = console.blocking_lock();
        self.write_pending();
        outcome
    }

    fn write_pending(&mut self) {
        for (to_err, text) in std::mem::take(&mut self.pending) {
            let w = if to_err { &mut self.err } else { &mut self.out };
            let _ = w.write_all(text.as_bytes());
            let _ = w.flush();
        }
    }

    fn println(&mut self, text: &str) {
        self.pending.push((false, format!("{text}\n")));
    }

    fn print(&mut self, text: &str) {
        self.pending.push((false, text.to_owned()));
    }

    fn eprintln(&mut self, text: &str) {
        self.pending.push((true, format!("{text}\n")));
    }

    /// Writes what the command printed so far, then waits until the closed
    /// session's last state is printed.
    async fn await_states_end(&mut self) {
        self.watches.flush().await;
        {
            let _console = self.console.clone().lock_owned().await;
            self.write_pending();
        }
        self.watches.states_end().await;
    }

    fn take_client(&mut self) -> Option<Client> {
        self.client.lock().ok().and_then(|mut c| c.take())
    }

    async fn connect_to(&mut self, host: &str) -> Result<Flow, CommandError> {
        if let Some(old) = self.take_client() {
            let _ = old.close().await;
            self.await_states_end().await;
        }
        self.watches.clear();
        self.host = host.to_owned();
        let client = Client::builder(host)
            .session_timeout(self.options.timeout)
            .read_only(self.options.read_only)
            .connect()
            .await
            .map_err(|e| CommandError::new(format!("Unable to connect to {host}: {e}")))?;
        self.watches.follow_states(client.state_stream());
        if let Ok(mut slot) = self.client.lock() {
            *slot = Some(client);
        }
        Ok(Flow::Continue)
    }

    async fn exec(&mut self, words: Vec<String>) -> Result<Flow, CommandError> {
        let cmd = words.first().cloned().unwrap_or_default();
        match cmd.as_str() {
            "quit" => {
                // As zkCli: the session is closed, and its Closed state printed.
                if let Some(client) = self.take_client() {
                    let _ = client.close().await;
                    self.await_states_end().await;
                }
                return Ok(Flow::Quit);
            }
            "history" => {
                let n = self.history.len();
                let lines: Vec<String> = self
                    .history
                    .iter()
                    .enumerate()
                    .skip(n.saturating_sub(11))
                    .map(|(i, l)| format!("{i} - {l}"))
                    .collect();
                for l in lines {
                    self.println(&l);
                }
                return Ok(Flow::Continue);
            }
            "printwatches" => {
                match words.get(1) {
                    Some(on) => {
                        self.print_watches = on == "on";
                        self.watches.print_watches(self.print_watches);
                    }
                    None => {
                        let on = if self.print_watches { "on" } else { "off" };
                        self.println(&format!("printwatches is {on}"));
                    }
                }
                return Ok(Flow::Continue);
            }
            "connect" => {
                let host = words.get(1).cloned().unwrap_or_else(|| self.host.clone());
                return self.connect_to(&host).await;
            }
            _ => {}
        }
        if !COMMANDS.iter().any(|(name, _)| *name == cmd) {
            self.usage();
            return Err(CommandError::new(format!(
                "Command not found: Command not found {cmd}"
            )));
        }
        let client = match self.current() {
            Some(c) if !c.state().is_terminal() => c,
            _ => {
                self.println("Not connected");
                return Ok(Flow::Continue);
            }
        };
        Command {
            shell: self,
            client,
            words,
        }
        .run(&cmd)
        .await
    }

    fn usage(&mut self) {
        let _ = writeln!(
            self.err,
            "ZooKeeper -server host:port -client-configuration properties-file cmd args"
        );
        for (name, opts) in COMMANDS {
            let _ = writeln!(self.err, "\t{name} {opts}");
        }
    }
}

/// Whether the shell goes on after a command.
enum Flow {
    Continue,
    Quit,
}

/// One command being run.
struct Command<'a> {
    shell: &'a mut Shell,
    client: Client,
    words: Vec<String>,
}

fn usage_of(cmd: &str) -> CommandError {
    let opts = COMMANDS
        .iter()
        .find(|(name, _)| *name == cmd)
        .map(|(_, o)| *o)
        .unwrap_or_default();
    CommandError::new(format!("{cmd} {opts}"))
}

fn parse_int<T: std::str::FromStr>(s: &str) -> Result<T, CommandError> {
    s.parse()
        .map_err(|_| CommandError::new(format!("For input string: \"{s}\"")))
}

impl Command<'_> {
    /// Options per `spec`, at least `min` positional words (command name included).
    fn opts(&self, cmd: &str, spec: &[(char, bool)], min: usize) -> Result<Opts, CommandError> {
        let opts = getopt::parse(&self.words, spec).map_err(CommandError::new)?;
        if opts.args.len() < min {
            return Err(usage_of(cmd));
        }
        Ok(opts)
    }

    async fn run(mut self, cmd: &str) -> Result<Flow, CommandError> {
        match cmd {
            "ls" => self.ls().await,
            "get" => self.get().await,
            "set" => self.set().await,
            "create" => self.create().await,
            "delete" => self.delete().await,
            "deleteall" => self.delete_all().await,
            "stat" => self.stat().await,
            "getAcl" => self.get_acl().await,
            "setAcl" => self.set_acl().await,
            "addauth" => self.add_auth().await,
            "sync" => self.sync().await,
            "addWatch" => self.add_watch().await,
            "removewatches" => self.remove_watches().await,
            "getEphemerals" => self.get_ephemerals().await,
            "getAllChildrenNumber" => self.get_all_children_number().await,
            "whoami" => self.who_am_i().await,
            "config" => self.config().await,
            "close" => {
                let _ = self.shell.take_client();
                self.client
                    .close()
                    .await
                    .map_err(|e| CommandError::new(e.to_string()))?;
                // The Closed state is printed before the next command.
                self.shell.await_states_end().await;
                Ok(())
            }
            _ => Err(usage_of(cmd)),
        }?;
        Ok(Flow::Continue)
    }

    fn path<'o>(&self, opts: &'o Opts) -> &'o str {
        opts.arg(1).unwrap_or_default()
    }

    async fn ls(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("ls", &[('s', false), ('w', false), ('R', false)], 2)?;
        let path = self.path(&opts).to_owned();
        let watch = opts.has('w');
        let fail = |e: zk_client::Error| CommandError::from_client(&e, &path);
        if opts.has('R') {
            return self.ls_recursive(&path, watch).await;
        }
        let (children, stat) = match (watch, opts.has('s')) {
            (false, false) => (self.client.get_children(&path).await.map_err(fail)?, None),
            (false, true) => {
                let (c, s) = self
                    .client
                    .get_children_with_stat(&path)
                    .await
                    .map_err(fail)?;
                (c, Some(s))
            }
            (true, false) => {
                let (c, w) = self.client.get_children_watch(&path).await.map_err(fail)?;
                self.shell.watches.add_oneshot(&path, Kind::Child, w);
                (c, None)
            }
            (true, true) => {
                let (c, s, w) = self
                    .client
                    .get_children_with_stat_watch(&path)
                    .await
                    .map_err(fail)?;
                self.shell.watches.add_oneshot(&path, Kind::Child, w);
                (c, Some(s))
            }
        };
        self.shell.println(&child_list(children));
        if let Some(stat) = stat {
            self.shell.print(&stat_lines(&stat));
        }
        Ok(())
    }

    /// `ls -R`: the path, then (as ZKUtil.visitSubTreeDFS) each node's
    /// sorted children before descending into each of them.
    async fn ls_recursive(&mut self, root: &str, watch: bool) -> Result<(), CommandError> {
        let fail = |e: zk_client::Error| CommandError::from_client(&e, root);
        zk_client::proto::validate_path(root).map_err(|e| fail(e.into()))?;
        if watch {
            let (_, _, w) = self.client.get_data_watch(root).await.map_err(fail)?;
            self.shell.watches.add_oneshot(root, Kind::Data, w);
        } else {
            self.client.get_data(root).await.map_err(fail)?;
        }
        self.shell.println(root);
        let mut stack = vec![root.to_owned()];
        while let Some(path) = stack.pop() {
            let listed = if watch {
                self.client.get_children_watch(&path).await.map(|(c, w)| {
                    self.shell.watches.add_oneshot(&path, Kind::Child, w);
                    c
                })
            } else {
                self.client.get_children(&path).await
            };
            let mut children = match listed {
                Ok(c) => c,
                Err(zk_client::Error::NoNode) => continue,
                Err(e) => return Err(CommandError::from_client(&e, &path)),
            };
            children.sort();
            let paths: Vec<String> = children
                .iter()
                .map(|c| zk_client::proto::join(&path, c))
                .collect();
            for p in &paths {
                self.shell.println(p);
            }
            stack.extend(paths.into_iter().rev());
        }
        Ok(())
    }

    async fn get(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("get", &[('s', false), ('w', false)], 2)?;
        let path = self.path(&opts).to_owned();
        let fail = |e: zk_client::Error| CommandError::from_client(&e, &path);
        let (data, stat) = if opts.has('w') {
            let (d, s, w) = self.client.get_data_watch(&path).await.map_err(fail)?;
            self.shell.watches.add_oneshot(&path, Kind::Data, w);
            (d, s)
        } else {
            self.client.get_data(&path).await.map_err(fail)?
        };
        self.shell.println(&String::from_utf8_lossy(&data));
        if opts.has('s') {
            self.shell.print(&stat_lines(&stat));
        }
        Ok(())
    }

    async fn set(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("set", &[('s', false), ('v', true)], 3)?;
        let path = self.path(&opts).to_owned();
        let data = opts.arg(2).unwrap_or_default().to_owned();
        let version = opts.value('v').map(parse_int).transpose()?;
        let stat = self
            .client
            .set_data(&path, data.as_bytes(), version)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))?;
        if opts.has('s') {
            self.shell.print(&stat_lines(&stat));
        }
        Ok(())
    }

    async fn create(&mut self) -> Result<(), CommandError> {
        let opts = self.opts(
            "create",
            &[('e', false), ('s', false), ('c', false), ('t', true)],
            2,
        )?;
        let (e, s, c) = (opts.has('e'), opts.has('s'), opts.has('c'));
        if c && (e || s) {
            return Err(CommandError::new(
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
            ));
        }
        let ttl = match opts.value('t') {
            Some(t) => Some(
                t.parse::<i64>()
                    .map_err(|_| CommandError::new("-t argument must be a long value"))?,
            ),
            None => None,
        };
        if ttl.is_some() && e {
            return Err(CommandError::new(
                "TTLs cannot be used with Ephemeral znodes",
            ));
        }
        if ttl.is_some() && c {
            return Err(CommandError::new(
                "TTLs cannot be used with Container znodes",
            ));
        }
        let mode = match (e, s, c, ttl.is_some()) {
            (true, true, _, _) => CreateMode::EphemeralSequential,
            (true, false, _, _) => CreateMode::Ephemeral,
            (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
            (false, true, _, false) => CreateMode::PersistentSequential,
            (false, false, true, _) => CreateMode::Container,
            (false, false, false, true) => CreateMode::PersistentWithTtl,
            (false, false, false, false) => CreateMode::Persistent,
        };
        let mut options = CreateOptions::new(mode);
        if let Some(ttl) = ttl {
            if ttl <= 0 || ttl > MAX_TTL {
                return Err(CommandError::new(format!(
                    "ttl must be positive and cannot be larger than: {MAX_TTL}"
                )));
            }
            options = options.with_ttl(ttl);
        }
        let path = self.path(&opts).to_owned();
        let data = opts.arg(2).unwrap_or_default().to_owned();
        if let Some(text) = opts.arg(3) {
            let (acl, warnings) = parse_acl(text);
            for w in warnings {
                self.shell.eprintln(&w);
            }
            options = options.with_acl(acl);
        }
        let (created, _) = self
            .client
            .create(&path, data.as_bytes(), &options)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))?;
        self.shell.eprintln(&format!("Created {created}"));
        Ok(())
    }

    async fn delete(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("delete", &[('v', true)], 2)?;
        let path = self.path(&opts).to_owned();
        let version = opts.value('v').map(parse_int).transpose()?;
        self.client
            .delete(&path, version)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))
    }

    /// `deleteall`: lists the subtree breadth first, then deletes it leaves
    /// first in transactions of at most the batch size (ZKUtil.deleteRecursive).
    async fn delete_all(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("deleteall", &[('b', true)], 2)?;
        let batch: usize = match opts.value('b') {
            Some(b) => b
                .parse()
                .ok()
                .filter(|b| *b > 0)
                .ok_or_else(|| CommandError::new("-b argument must be an int value"))?,
            None => 1000,
        };
        let root = self.path(&opts).to_owned();
        zk_client::proto::validate_path(&root)
            .map_err(|e| CommandError::from_client(&e.into(), &root))?;
        let mut tree = vec![root.clone()];
        let mut next = 0;
        while let Some(node) = tree.get(next).cloned() {
            next += 1;
            let mut children = self
                .client
                .get_children(&node)
                .await
                .map_err(|e| CommandError::from_client(&e, &node))?;
            // Sorted: the same order of deletes (and events) on every server.
            children.sort();
            tree.extend(children.iter().map(|c| zk_client::proto::join(&node, c)));
        }
        for chunk in tree.rchunks(batch) {
            let mut txn = self.client.transaction();
            for path in chunk.iter().rev() {
                txn = txn.delete(path, None);
            }
            if txn.commit().await.is_err() {
                return Err(CommandError::new(
                    "Failed to delete some node(s) in the subtree!",
                ));
            }
        }
        Ok(())
    }

    async fn stat(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("stat", &[('w', false)], 2)?;
        let path = self.path(&opts).to_owned();
        let fail = |e: zk_client::Error| CommandError::from_client(&e, &path);
        let stat = if opts.has('w') {
            let (s, w) = self.client.exists_watch(&path).await.map_err(fail)?;
            self.shell.watches.add_oneshot(&path, Kind::Data, w);
            s
        } else {
            self.client.exists(&path).await.map_err(fail)?
        };
        let stat = stat.ok_or_else(|| fail(zk_client::Error::NoNode))?;
        self.shell.print(&stat_lines(&stat));
        Ok(())
    }

    async fn get_acl(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("getAcl", &[('s', false)], 2)?;
        let path = self.path(&opts).to_owned();
        let (acl, stat) = self
            .client
            .get_acl(&path)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))?;
        for a in &acl {
            self.shell.print(&acl_lines(a));
        }
        if opts.has('s') {
            self.shell.print(&stat_lines(&stat));
        }
        Ok(())
    }

    async fn set_acl(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("setAcl", &[('s', false), ('v', true), ('R', false)], 3)?;
        let path = self.path(&opts).to_owned();
        let (acl, warnings) = parse_acl(opts.arg(2).unwrap_or_default());
        for w in warnings {
            self.shell.eprintln(&w);
        }
        let version = opts.value('v').map(parse_int).transpose()?;
        if !opts.has('R') {
            let stat = self
                .client
                .set_acl(&path, &acl, version)
                .await
                .map_err(|e| CommandError::from_client(&e, &path))?;
            if opts.has('s') {
                self.shell.print(&stat_lines(&stat));
            }
            return Ok(());
        }
        // Recursive: every node of the subtree, parents first; a node that
        // fails is reported and the rest go on (as zkCli).
        self.client
            .get_data(&path)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))?;
        let mut failed = false;
        let mut stack = vec![path];
        while let Some(node) = stack.pop() {
            if let Err(e) = self.client.set_acl(&node, &acl, version).await {
                failed = true;
                self.shell
                    .eprintln(CommandError::from_client(&e, &node).message());
            }
            if let Ok(mut children) = self.client.get_children(&node).await {
                children.sort();
                stack.extend(
                    children
                        .iter()
                        .rev()
                        .map(|c| zk_client::proto::join(&node, c)),
                );
            }
        }
        if failed {
            return Err(CommandError::new("setAcl -R failed on some node(s)"));
        }
        Ok(())
    }

    async fn add_auth(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("addauth", &[], 2)?;
        let scheme = self.path(&opts).to_owned();
        let auth = opts.arg(2).unwrap_or_default().to_owned();
        self.client
            .add_auth(&scheme, auth.as_bytes())
            .await
            .map_err(|e| match e {
                zk_client::Error::AuthFailed => CommandError::new("KeeperErrorCode = AuthFailed"),
                other => CommandError::from_client(&other, ""),
            })
    }

    async fn sync(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("sync", &[], 2)?;
        let path = self.path(&opts).to_owned();
        match self.client.sync(&path).await {
            Ok(()) => {
                self.shell.println("Sync is OK");
                Ok(())
            }
            Err(zk_client::Error::InvalidPath(e)) => Err(CommandError::from_client(
                &zk_client::Error::InvalidPath(e),
                &path,
            )),
            Err(e) => {
                let rc = e.code().map(|c| c.code()).unwrap_or(-1);
                Err(CommandError::new(format!("Sync has failed. rc={rc}")))
            }
        }
    }

    async fn add_watch(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("addWatch", &[('m', true)], 2)?;
        if opts.args.len() != 2 {
            return Err(usage_of("addWatch"));
        }
        let recursive = match opts.value('m').map(str::to_ascii_uppercase).as_deref() {
            None | Some("PERSISTENT_RECURSIVE") => true,
            Some("PERSISTENT") => false,
            Some(_) => return Err(usage_of("addWatch")),
        };
        let path = self.path(&opts).to_owned();
        let watch = if recursive {
            self.client.watch_persistent_recursive(&path).await
        } else {
            self.client.watch_persistent(&path).await
        }
        .map_err(|e| CommandError::from_client(&e, &path))?;
        self.shell.watches.add_persistent(&path, watch);
        Ok(())
    }

    /// `removewatches`: the shell's watches of the kind on the path, or
    /// `No such watcher` (Java checks its own registrations first, too),
    /// removed on the server (with `-l`, locally even when the server
    /// cannot be told). As in Java, each kind removed is reported as a
    /// `*WatchRemoved` event; `-a` takes persistent watches too.
    async fn remove_watches(&mut self) -> Result<(), CommandError> {
        let opts = self.opts(
            "removewatches",
            &[('c', false), ('d', false), ('a', false), ('l', false)],
            2,
        )?;
        let path = self.path(&opts).to_owned();
        zk_client::proto::validate_path(&path)
            .map_err(|e| CommandError::from_client(&e.into(), &path))?;
        let kind = if opts.has('c') {
            RemoveKind::Children
        } else if opts.has('d') {
            RemoveKind::Data
        } else {
            RemoveKind::Any
        };
        let removed = self.shell.watches.remove(&path, kind).await;
        if removed.kinds.is_empty() {
            return Err(CommandError::from_client(
                &zk_client::Error::NoWatcher,
                &path,
            ));
        }
        let (child, data) = (
            removed.kinds.contains(&Kind::Child),
            removed.kinds.contains(&Kind::Data),
        );
        let oneshot = match kind {
            RemoveKind::Children => WatcherKind::Children,
            RemoveKind::Data => WatcherKind::Data,
            RemoveKind::Any if child && data => WatcherKind::Any,
            RemoveKind::Any if child => WatcherKind::Children,
            RemoveKind::Any => WatcherKind::Data,
        };
        if child || data {
            // The client resolves the shell's watches with their
            // *WatchRemoved events, printed as they come.
            self.client
                .remove_watches(&path, oneshot, opts.has('l'))
                .await
                .map_err(|e| CommandError::from_client(&e, &path))?;
        }
        for watch in removed.persistent {
            watch
                .remove()
                .await
                .map_err(|e| CommandError::from_client(&e, &path))?;
        }
        if removed
            .kinds
            .iter()
            .any(|k| matches!(k, Kind::Persistent | Kind::Recursive))
        {
            self.shell.print(&event_text(
                "SyncConnected",
                EventType::PersistentWatchRemoved,
                Some(&path),
            ));
        }
        Ok(())
    }

    async fn get_ephemerals(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("getEphemerals", &[], 1)?;
        let prefix = opts.arg(1).unwrap_or("/").to_owned();
        let mut list = self
            .client
            .get_ephemerals(&prefix)
            .await
            .map_err(|e| CommandError::from_client(&e, &prefix))?;
        list.sort();
        self.shell.println(&format!("[{}]", list.join(", ")));
        Ok(())
    }

    async fn get_all_children_number(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("getAllChildrenNumber", &[], 2)?;
        let path = self.path(&opts).to_owned();
        let n = self
            .client
            .get_all_children_number(&path)
            .await
            .map_err(|e| CommandError::from_client(&e, &path))?;
        self.shell.println(&n.to_string());
        Ok(())
    }

    async fn who_am_i(&mut self) -> Result<(), CommandError> {
        let infos = self
            .client
            .who_am_i()
            .await
            .map_err(|e| CommandError::new(e.to_string()))?;
        self.shell.println("Auth scheme: User");
        for info in infos {
            self.shell
                .println(&format!("{}: {}", info.auth_scheme, info.user));
        }
        Ok(())
    }

    async fn config(&mut self) -> Result<(), CommandError> {
        let opts = self.opts("config", &[('c', false), ('w', false), ('s', false)], 1)?;
        let fail = |e: zk_client::Error| CommandError::from_client(&e, CONFIG_NODE);
        let (data, stat) = if opts.has('w') {
            if self.client.chroot().is_some() {
                return Err(CommandError::new(
                    "config -w needs a session without a chroot",
                ));
            }
            let (d, s, w) = self
                .client
                .get_data_watch(CONFIG_NODE)
                .await
                .map_err(fail)?;
            self.shell.watches.add_oneshot(CONFIG_NODE, Kind::Data, w);
            (d, s)
        } else {
            self.client.get_config().await.map_err(fail)?
        };
        let text = String::from_utf8_lossy(&data).into_owned();
        if opts.has('c') {
            self.shell.println(&client_config(&text));
        } else {
            self.shell.println(&text);
        }
        if opts.has('s') {
            self.shell.print(&stat_lines(&stat));
        }
        Ok(())
    }
}

/// `config -c`: the configuration's version and client addresses, as
/// zkCli's `ConfigUtils.getClientConfigStr` writes them.
fn client_config(config: &str) -> String {
    let mut version = String::new();
    let mut clients = Vec::new();
    for line in config.lines() {
        if let Some(v) = line.strip_prefix("version=") {
            version = v.trim().to_owned();
        } else if line.starts_with("server.") {
            if let Some((_, client)) = line.split_once(';') {
                let client = client.trim();
                // "0.0.0.0:2181" or "2181" alone: Java prints host:port.
                clients.push(if client.contains(':') {
                    client.to_owned()
                } else {
                    format!("0.0.0.0:{client}")
                });
            }
        }
    }
    format!("{version} {}", clients.join(","))
}
