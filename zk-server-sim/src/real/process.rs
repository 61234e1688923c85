//! One ZooKeeper JVM, supervised by a small bash wrapper that dies with its owner.
//!
//! The wrapper starts java in the background and reads commands (`TERM`, `KILL`,
//! `STOP`, `CONT`) from its stdin, a pipe whose write end only this process holds
//! (Rust opens pipes close-on-exec, so no other child inherits it). When this process
//! goes away for any reason, destructors or not (panic, `process::exit`, SIGKILL), the
//! kernel closes that end, the wrapper's `read` sees end-of-file, and it SIGKILLs java
//! and removes the ensemble directory. When java exits by itself, the wrapper exits
//! with java's status, which is how [`NodeProcess::try_exit`] notices.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::error::{RealZkError, Result};
use super::node::NodeLayout;

/// The supervisor. Arguments: `$1` log file, `$2` directory to remove when the owner
/// disappears (empty: keep), then the java command line.
///
/// Needs bash >= 5.1 for `wait -n -p` (Debian 12 has 5.2).
const WRAPPER: &str = r#"
log=$1 cleanup=$2
shift 2
exec 2>>"$log"
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
  echo "zk-real wrapper: needs bash >= 5.1 (wait -n -p), this is $BASH_VERSION" >&2
  exit 3
fi
exec 3<&0 0</dev/null
"$@" >>"$log" 2>&1 3<&- &
jpid=$!
echo "$jpid"
exec 1>>"$log"
{
  while IFS= read -r cmd <&3; do
    case $cmd in
      TERM|KILL|STOP|CONT) kill -s "$cmd" "$jpid" ;;
    esac
  done
} &
rpid=$!
exec 3<&-
who=
wait -n -p who "$jpid" "$rpid"
status=$?
if [ "$who" = "$jpid" ]; then
  kill "$rpid" 2>/dev/null
  wait "$rpid" 2>/dev/null
  exit "$status"
fi
# The owner went away (its end of the lifeline closed), or wait failed: either way,
# never leave the JVM behind.
kill -s KILL "$jpid" 2>/dev/null
wait "$jpid"
status=$?
echo "zk-real wrapper: owner process went away; JVM killed"
if [ "$who" = "$rpid" ] && [ -n "$cleanup" ]; then rm -rf -- "$cleanup"; fi
exit "$status"
"#;

/// What the wrapper can do to the JVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGTERM: graceful shutdown.
    Term,
    /// SIGKILL: crash.
    Kill,
    /// SIGSTOP: freeze with sockets open.
    Stop,
    /// SIGCONT: thaw.
    Cont,
}

impl Signal {
    fn command(self) -> &'static str {
        match self {
            Self::Term => "TERM\n",
            Self::Kill => "KILL\n",
            Self::Stop => "STOP\n",
            Self::Cont => "CONT\n",
        }
    }
}

/// A running (or just exited) node: the wrapper child and the lifeline into it.
#[derive(Debug)]
pub(crate) struct NodeProcess {
    wrapper: Child,
    control: Option<ChildStdin>,
    java_pid: u32,
    exit: Option<ExitStatus>,
    pub(crate) paused: bool,
}

impl NodeProcess {
    /// Starts `java args...` for `layout`, logging to the node's log file. If `cleanup`
    /// is given, the wrapper removes that directory should this process die.
    pub(crate) fn spawn(
        java: &Path,
        args: &[OsString],
        layout: &NodeLayout,
        cleanup: Option<&Path>,
    ) -> Result<Self> {
        let mut wrapper = Command::new("bash")
            .arg("-c")
            .arg(WRAPPER)
            .arg(format!("zk-real-node{}", layout.myid))
            .arg(&layout.log)
            .arg(cleanup.map(Path::as_os_str).unwrap_or_default())
            .arg(java)
            .args(args)
            .current_dir(&layout.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                RealZkError::io(
                    "spawning `bash` (it supervises each ZooKeeper JVM; is bash installed?)",
                    e,
                )
            })?;
        let control = wrapper.stdin.take();
        let java_pid = match wrapper.stdout.take() {
            Some(stdout) => {
                let mut line = String::new();
                BufReader::new(stdout)
                    .read_line(&mut line)
                    .map_err(|e| RealZkError::io("reading the JVM pid from the wrapper", e))?;
                line.trim().parse().unwrap_or(0)
            }
            None => 0,
        };
        let mut process = Self {
            wrapper,
            control,
            java_pid,
            exit: None,
            paused: false,
        };
        if java_pid == 0 {
            let _ = process.kill_and_wait();
            return Err(RealZkError::io(
                "starting the node wrapper",
                io::Error::other(format!(
                    "bash (>= 5.1 needed) exited before starting java; see {}",
                    layout.log.display()
                )),
            ));
        }
        Ok(process)
    }

    /// The JVM's process id.
    pub(crate) fn java_pid(&self) -> u32 {
        self.java_pid
    }

    /// Asks the wrapper to send `signal` to the JVM.
    pub(crate) fn signal(&mut self, signal: Signal) -> io::Result<()> {
        let control = self
            .control
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "wrapper is gone"))?;
        control.write_all(signal.command().as_bytes())?;
        control.flush()
    }

    /// Sends SIGSTOP or SIGCONT and waits (up to 5 s) until the JVM's state in
    /// `/proc/<pid>/stat` shows it took effect, so that a paused node is frozen when
    /// `pause` returns. Where `/proc` is missing it only sends.
    pub(crate) fn freeze(&mut self, frozen: bool) -> io::Result<()> {
        self.signal(if frozen { Signal::Stop } else { Signal::Cont })?;
        self.paused = frozen;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match proc_state(self.java_pid) {
                // 'T' stopped by a signal, 't' stopped by a tracer.
                Some(state) if matches!(state, 'T' | 't') == frozen => return Ok(()),
                None => return Ok(()),
                Some(_) if Instant::now() >= deadline => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "JVM {} did not {} within 5 s",
                            self.java_pid,
                            if frozen { "stop" } else { "continue" }
                        ),
                    ))
                }
                Some(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// The JVM's exit status once it has exited; `None` while it runs.
    pub(crate) fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            match self.wrapper.try_wait() {
                Ok(status) => self.exit = status,
                // Only possible if the child was already reaped: treat as gone.
                Err(_) => self.exit = Some(ExitStatus::default()),
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for the JVM to exit.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then SIGKILL if the JVM is still there after `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) -> ExitStatus {
        if self.try_exit().is_none() {
            if self.paused {
                let _ = self.signal(Signal::Cont);
            }
            if self.signal(Signal::Term).is_ok() {
                if let Some(status) = self.wait_exit(grace) {
                    return status;
                }
            }
        }
        self.kill_and_wait()
    }

    /// SIGKILL, and wait for the JVM to be gone.
    pub(crate) fn kill_and_wait(&mut self) -> ExitStatus {
        if let Some(status) = self.try_exit() {
            return status;
        }
        if self.signal(Signal::Kill).is_ok() {
            if let Some(status) = self.wait_exit(Duration::from_secs(10)) {
                return status;
            }
        }
        // The wrapper did not respond: closing its stdin makes it kill java itself.
        self.control = None;
        if let Some(status) = self.wait_exit(Duration::from_secs(5)) {
            return status;
        }
        let _ = self.wrapper.kill();
        self.wrapper.wait().unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill_and_wait();
    }
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T`, `Z`, ...), if readable.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ...": comm may contain spaces and parentheses.
    let after_comm = stat.get(stat.rfind(')')?.saturating_add(1)..)?;
    after_comm.trim_start().chars().next()
}
