//! Compiles small Java programs (under `zk-recipes/tests/java/`) against
//! Debian's ZooKeeper and Curator jars and runs them, so a test can put
//! Curator next to our recipes on one ensemble.
//!
//! Include it from a test file with
//! `#[path = "support/java.rs"] mod java;`.
//!
//! ```ignore
//! let Some(java) = java::Java::compile(&["CuratorHello.java"]) else { return };
//! let out = java.run("CuratorHello", &[&connect_string, "/hello"]);
//! let mut p = java.spawn("MutexContender", &[&cs, "/lock", "5"]);
//! let line = p.line().await; // one stdout line, or a panic after a timeout
//! ```
//!
//! Needs `javac`/`java` (a JDK) and the jars of Debian's `zookeeper`,
//! `libcurator-recipes-java` and `libcurator-discovery-java` packages
//! (`.ci/install-deps.sh` installs them). A developer without them gets a
//! skip that says so; under `CI` a missing JDK or jar fails the test.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Where Debian installs Java libraries.
pub const JAVA_DIR: &str = "/usr/share/java";

/// The jars on the classpath, all from `/usr/share/java` (names without the
/// version, as Debian's symlinks spell them). Debian's manifests also carry
/// Class-Path entries, but the list is explicit so a missing jar is named.
pub const JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "curator-client.jar",
    "curator-framework.jar",
    "curator-recipes.jar",
    "curator-x-discovery.jar",
    "guava.jar",
    "jackson-core.jar",
    "jackson-databind.jar",
    "jackson-annotations.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
];

/// A missing prerequisite: outside CI the caller skips (and says why);
/// under `CI` (set by `.ci/run`) this panics, because CI must have it.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: CI must have it (.ci/install-deps.sh installs it)"
    );
    eprintln!("skipped: {why}");
}

/// The directory holding the Java sources of the tests.
pub fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java")
}

/// Compiled classes and the classpath to run them with.
#[derive(Clone, Debug)]
pub struct Java {
    classes: PathBuf,
    classpath: String,
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The classpath of `JARS` (plus `classes`), or the first missing jar.
fn classpath(classes: &Path) -> Result<String, String> {
    let mut cp = vec![classes.display().to_string()];
    for jar in JARS {
        let p = Path::new(JAVA_DIR).join(jar);
        if !p.exists() {
            return Err(format!("{} is missing", p.display()));
        }
        cp.push(p.display().to_string());
    }
    Ok(cp.join(":"))
}

impl Java {
    /// Compiles `sources` (file names under `tests/java/`) once per test
    /// process; later calls with the same list reuse the classes. `None`
    /// (after [`skip`], which panics under `CI`) when `javac`, `java` or a
    /// jar is missing. A compile error always panics, with javac's output.
    pub fn compile(sources: &[&str]) -> Option<Java> {
        static BUILT: OnceLock<Mutex<HashMap<Vec<String>, Option<Java>>>> = OnceLock::new();
        let key: Vec<String> = sources.iter().map(|s| (*s).to_string()).collect();
        let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
        let n = built.len();
        built
            .entry(key)
            .or_insert_with(|| Self::build(sources, n))
            .clone()
    }

    fn build(sources: &[&str], n: usize) -> Option<Java> {
        if !have("javac") || !have("java") {
            skip("javac/java (a JDK) is not installed");
            return None;
        }
        let classes = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("java-classes-{}-{n}", std::process::id()));
        let classpath = match classpath(&classes) {
            Ok(cp) => cp,
            Err(why) => {
                skip(&why);
                return None;
            }
        };
        std::fs::create_dir_all(&classes).unwrap();
        let out = Command::new("javac")
            .arg("-nowarn")
            .arg("-d")
            .arg(&classes)
            .args(["-cp", &classpath])
            .args(sources.iter().map(|s| sources_dir().join(s)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "javac {sources:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Java { classes, classpath })
    }

    /// The classpath: the compiled classes, then [`JARS`].
    pub fn classpath(&self) -> &str {
        &self.classpath
    }

    /// `java` set up to run `main` with `args`: a small heap, the serial GC
    /// and the quick JIT tier only (test programs are short and the machine
    /// is shared; a benchmark wants [`Java::command_with`] and no JIT limit).
    pub fn command(&self, main: &str, args: &[&str]) -> Command {
        self.command_with(
            &["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"],
            main,
            args,
        )
    }

    /// `java` with the given JVM options, running `main` with `args`.
    pub fn command_with(&self, jvm: &[&str], main: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("java");
        cmd.args(jvm)
            .args(["-cp", &self.classpath, main])
            .args(args);
        cmd
    }

    /// Runs `main` to completion and returns its stdout; panics (with stdout
    /// and stderr) if it exits with a failure.
    pub fn run(&self, main: &str, args: &[&str]) -> String {
        let mut cmd = self.command(main, args);
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Starts `main` with `args` as a child process (killed on drop) whose
    /// stdout is read line by line and whose stdin takes commands.
    pub fn spawn(&self, main: &str, args: &[&str]) -> JavaProcess {
        let cmd = self.command(main, args);
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stdin = child.stdin.take();
        JavaProcess {
            name: main.to_string(),
            child,
            stdout,
            stdin,
            seen: Vec::new(),
        }
    }
}

/// A running Java program (see [`Java::spawn`]).
pub struct JavaProcess {
    name: String,
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stdin: Option<ChildStdin>,
    seen: Vec<String>,
}

/// How long [`JavaProcess::line`] waits (a JVM start on a loaded 2-core
/// machine takes seconds).
pub const LINE_TIMEOUT: Duration = Duration::from_secs(120);

impl JavaProcess {
    /// The next stdout line, or `None` at end of output. Panics after
    /// [`LINE_TIMEOUT`] without one.
    pub async fn next_line(&mut self) -> Option<String> {
        match tokio::time::timeout(LINE_TIMEOUT, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => panic!("{}: reading stdout: {e}", self.name),
            Err(_) => panic!(
                "{}: no line within {LINE_TIMEOUT:?}; so far:\n{}",
                self.name,
                self.seen.join("\n")
            ),
        }
    }

    /// The next stdout line; panics at end of output.
    pub async fn line(&mut self) -> String {
        match self.next_line().await {
            Some(l) => l,
            None => panic!(
                "{}: output ended; so far:\n{}",
                self.name,
                self.seen.join("\n")
            ),
        }
    }

    /// Reads lines until one satisfies `pred` and returns it.
    pub async fn until(&mut self, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let l = self.line().await;
            if pred(&l) {
                return l;
            }
        }
    }

    /// Writes `line` (and a newline) to the program's stdin.
    pub async fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin closed");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// Closes stdin, reads the rest of stdout and waits for the exit;
    /// returns every line the program printed. Panics on a failed exit.
    pub async fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        while self.next_line().await.is_some() {}
        let status = tokio::time::timeout(LINE_TIMEOUT, self.child.wait())
            .await
            .expect("exit")
            .unwrap();
        assert!(
            status.success(),
            "{} exited with {status}; output:\n{}",
            self.name,
            self.seen.join("\n")
        );
        std::mem::take(&mut self.seen)
    }

    /// Every line read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Kills the program (SIGKILL) and waits for it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}
