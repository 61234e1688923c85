//! `zk-shell`: a zkCli-style shell for Apache ZooKeeper.
//!
//! ```text
//! zk-shell [-server host:port,...[/chroot]] [-timeout ms] [-r] [-c 'script']... [cmd args...]
//! ```
//!
//! With a command (or `-c`), runs it (or the script's lines) and exits;
//! otherwise reads commands from the terminal with line editing, history
//! (`~/.zk_shell_history`) and tab completion, or from stdin when it is not
//! a terminal. Exit status of a script: 0 if every command succeeded, 1 if
//! any failed; of an interactive session: its last command's (as zkCli);
//! 2 for bad arguments.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter};
use zk_shell::{ConnectOptions, EventSink, Outcome, Shell, ShellHelper, StdoutSink};

const USAGE: &str =
    "usage: zk-shell [-server host:port,...[/chroot]] [-timeout ms] [-r] [-c 'script']... [cmd args...]";

/// The command line, parsed.
struct Args {
    options: ConnectOptions,
    /// Script lines from `-c` and the trailing command.
    script: Vec<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut options = ConnectOptions::default();
    let mut script = Vec::new();
    let missing = |opt: &str| format!("Error: no argument found for option {opt}");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-server" => options.server = args.next().ok_or_else(|| missing(&arg))?,
            "-timeout" => {
                let ms = args.next().ok_or_else(|| missing(&arg))?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("Error: -timeout takes milliseconds, not {ms:?}"))?;
                options.timeout = Duration::from_millis(ms);
            }
            "-r" => options.read_only = true,
            // zkCli waits only with this flag; zk-shell always waits.
            "-waitforconnection" => {}
            "-c" => {
                let text = args.next().ok_or_else(|| missing(&arg))?;
                script.extend(text.lines().map(str::to_owned));
            }
            "-h" | "-help" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("Error: unknown option {s}")),
            _ => {
                // The rest is one command, as zkCli takes it; re-quote words
                // with spaces so the shell splits them back the same way.
                let words: Vec<String> = std::iter::once(arg)
                    .chain(args.by_ref())
                    .map(quote)
                    .collect();
                script.push(words.join(" "));
            }
        }
    }
    Ok(Args { options, script })
}

fn quote(word: String) -> String {
    if word.is_empty() || word.contains(char::is_whitespace) {
        if word.contains('\'') {
            format!("\"{word}\"")
        } else {
            format!("'{word}'")
        }
    } else {
        word
    }
}

/// Event text through rustyline, so it does not garble the line being edited.
struct EditorSink<P>(P);

impl<P: ExternalPrinter + Send + 'static> EventSink for EditorSink<P> {
    fn print(&mut self, text: &str) {
        let _ = self.0.print(text.to_owned());
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            eprintln!("{USAGE}");
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
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let interactive = args.script.is_empty() && std::io::stdin().is_terminal();
    let ok = if interactive {
        run_interactive(&rt, args.options)
    } else {
        run_script(&rt, args.options, args.script)
    };
    rt.shutdown_timeout(Duration::from_secs(1));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn new_shell(
    rt: &tokio::runtime::Runtime,
    options: ConnectOptions,
    sink: Box<dyn EventSink>,
) -> Shell {
    println!("Connecting to {}", options.server);
    Shell::new(
        rt.handle().clone(),
        options,
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        sink,
    )
}

/// Runs `-c`/command lines, or stdin's lines; true if all succeeded.
fn run_script(rt: &tokio::runtime::Runtime, options: ConnectOptions, script: Vec<String>) -> bool {
    let mut shell = new_shell(rt, options, Box::new(StdoutSink));
    let mut ok = shell.connect() == Outcome::Ok;
    let mut run = |line: &str| match shell.run_line(line) {
        Outcome::Ok => true,
        Outcome::Failed => {
            ok = false;
            true
        }
        Outcome::Quit => false,
    };
    if script.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !run(&line) {
                break;
            }
        }
    } else {
        for line in &script {
            if !run(line) {
                break;
            }
        }
    }
    shell.close();
    ok
}

/// The terminal session; true if the last command succeeded (as zkCli).
fn run_interactive(rt: &tokio::runtime::Runtime, options: ConnectOptions) -> bool {
    // Tab completes the common prefix, a second Tab lists the candidates.
    let config = Config::builder()
        .auto_add_history(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ShellHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot start the line editor: {e}");
            return false;
        }
    };
    let sink: Box<dyn EventSink> = match editor.create_external_printer() {
        Ok(p) => Box::new(EditorSink(p)),
        Err(_) => Box::new(StdoutSink),
    };
    let mut shell = new_shell(rt, options, sink);
    println!("Welcome to zk-shell! Tab completes commands and paths; quit or Ctrl-D ends.");
    editor.set_helper(Some(ShellHelper::new(
        rt.handle().clone(),
        shell.shared_client(),
    )));
    let history = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".zk_shell_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut last = shell.connect();
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                last = shell.run_line(&line);
                if last == Outcome::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    shell.close();
    last != Outcome::Failed
}
