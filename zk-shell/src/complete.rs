//! Tab completion: command names, then znode paths read from the server.

use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use tokio::runtime::Handle;

use crate::shell::{SharedClient, COMMANDS};

/// How long completion waits for the server before offering nothing.
const LIST_TIMEOUT: Duration = Duration::from_secs(2);

/// What to complete at byte `pos` of `line`: the byte where the word being
/// completed starts, and the candidates that replace it, sorted.
///
/// The first word completes to command names. A word starting with `/`
/// completes to the children of its parent whose names start with what
/// follows the last `/`, as zkCli's completer does; `children(parent)`
/// lists them (`None` when the parent cannot be read). Other words (options,
/// data) have no candidates.
///
/// ```
/// use zk_shell::completions;
///
/// let children = |parent: &str| {
///     (parent == "/app").then(|| vec!["config".to_owned(), "locks".to_owned(), "cache".to_owned()])
/// };
/// assert_eq!(completions("get /app/c", 10, children), (4, vec!["/app/cache".to_owned(), "/app/config".to_owned()]));
/// assert_eq!(completions("getA", 4, children).1, ["getAcl", "getAllChildrenNumber"]);
/// ```
pub fn completions(
    line: &str,
    pos: usize,
    mut children: impl FnMut(&str) -> Option<Vec<String>>,
) -> (usize, Vec<String>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before
        .rfind(char::is_whitespace)
        .map(|i| i + 1)
        .unwrap_or(0);
    let word = before.get(start..).unwrap_or_default();
    let first_word = before.get(..start).unwrap_or_default().trim().is_empty();
    let mut candidates: Vec<String> = if first_word {
        COMMANDS
            .iter()
            .map(|(name, _)| *name)
            .chain(["connect", "quit", "history", "printwatches"])
            .filter(|name| name.starts_with(word))
            .map(str::to_owned)
            .collect()
    } else if word.starts_with('/') {
        let slash = word.rfind('/').unwrap_or(0);
        let parent = if slash == 0 {
            "/"
        } else {
            word.get(..slash).unwrap_or("/")
        };
        let prefix = word.get(slash + 1..).unwrap_or_default();
        children(parent)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| zk_client::proto::join(parent, &c))
            .collect()
    } else {
        Vec::new()
    };
    candidates.sort();
    candidates.dedup();
    (start, candidates)
}

/// rustyline's helper for the shell: completion through the shell's
/// current session (no hints, highlighting or validation).
pub struct ShellHelper {
    rt: Handle,
    client: SharedClient,
}

impl std::fmt::Debug for ShellHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellHelper").finish_non_exhaustive()
    }
}

impl ShellHelper {
    /// Completes through `client` (see [`Shell::shared_client`]), with the
    /// server calls run on `rt`.
    ///
    /// [`Shell::shared_client`]: crate::Shell::shared_client
    pub fn new(rt: Handle, client: SharedClient) -> Self {
        ShellHelper { rt, client }
    }

    fn list(&self, parent: &str) -> Option<Vec<String>> {
        let client = self.client.lock().ok()?.clone()?;
        let call = client.get_children(parent);
        // The timer is made inside the runtime (this thread is outside it).
        self.rt
            .block_on(async move { tokio::time::timeout(LIST_TIMEOUT, call).await })
            .ok()?
            .ok()
    }
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(completions(line, pos, |parent| self.list(parent)))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl rustyline::Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(parent: &str) -> Option<Vec<String>> {
        match parent {
            "/" => Some(vec!["zookeeper".into(), "app".into(), "apple".into()]),
            "/app" => Some(vec!["b".into(), "a2".into(), "a1".into()]),
            _ => None,
        }
    }

    #[test]
    fn first_word_completes_commands() {
        assert_eq!(completions("", 0, tree).1.len(), COMMANDS.len());
        assert_eq!(
            completions("se", 2, tree),
            (0, vec!["set".into(), "setAcl".into()])
        );
        assert_eq!(completions("  del", 5, tree).1, ["delete", "deleteall"]);
        assert_eq!(completions("con", 3, tree).1, ["config", "connect"]);
    }

    #[test]
    fn paths_complete_from_their_parent() {
        assert_eq!(
            completions("ls /", 4, tree),
            (3, vec!["/app".into(), "/apple".into(), "/zookeeper".into()])
        );
        assert_eq!(completions("ls /ap", 6, tree).1, ["/app", "/apple"]);
        assert_eq!(
            completions("get -s /app/a", 13, tree),
            (7, vec!["/app/a1".into(), "/app/a2".into()])
        );
        // The cursor, not the line's end, decides the word.
        assert_eq!(
            completions("get /app/a x", 10, tree).1,
            ["/app/a1", "/app/a2"]
        );
        // An unreadable parent, options and data have no candidates.
        assert!(completions("ls /nope/x", 10, tree).1.is_empty());
        assert!(completions("ls -", 4, tree).1.is_empty());
        assert!(completions("set /app data", 13, tree).1.is_empty());
    }
}
