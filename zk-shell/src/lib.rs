//! `zk-shell`: a zkCli-style shell for Apache ZooKeeper on [`zk_client`].
//!
//! The binary takes zkCli's arguments (`zk-shell -server HOSTS [-timeout
//! ms] [-r] [cmd args...]`) plus `-c 'script'`, reads commands from a
//! terminal (line editing, history, tab completion of commands and
//! znode paths, via rustyline) or from stdin, and prints what zkCli prints:
//! the same output formats, the same error messages, watch events as
//! `WATCHER::` blocks as they arrive. A script (`-c`, a command on the
//! command line, or stdin) exits 0 when every command succeeded and 1
//! otherwise; an interactive session exits with its last command's status,
//! as zkCli does.
//!
//! The library holds the pieces, for the binary and for tests:
//!
//! ```
//! use zk_shell::{split_words, stat_lines};
//! use zk_client::Stat;
//!
//! assert_eq!(split_words("set /a 'two words'"), ["set", "/a", "two words"]);
//! let text = stat_lines(&Stat { czxid: 0x10, ..Stat::default() });
//! assert!(text.starts_with("cZxid = 0x10\nctime = Thu Jan 01 00:00:00 UTC 1970\n"));
//! ```
//!
//! # Differences from zkCli
//!
//! - A script's exit status reflects every command (zkCli's only the last).
//! - zkCli prints the `Closed` state some time after `close` returns, racing
//!   the next command; zk-shell prints it before the next command.
//! - `ls -R`, `deleteall` and `getEphemerals` sort what they list (zkCli
//!   walks children in the server's hash order).
//! - Times print in UTC whatever the local time zone.
//! - `create` without data stores empty data (zkCli stores none, and its
//!   `get` then prints `null`): zk_client has no null data.
//! - Not there: quotas, `reconfig`, `redo`, `version`, `get -b/-x`.

mod complete;
mod error;
mod format;
mod getopt;
mod shell;
mod watches;
mod words;

pub use complete::{completions, ShellHelper};
pub use error::CommandError;
pub use format::{acl_lines, child_list, java_date, parse_acl, perm_string, stat_lines};
pub use shell::{ConnectOptions, Outcome, SharedClient, Shell, COMMANDS};
pub use watches::{EventSink, RemoveKind, StdoutSink};
pub use words::split_words;
