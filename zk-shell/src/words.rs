//! Splitting a command line into words, as zkCli does.

/// Splits `line` into words the way zkCli's `MyCommandOptions.parseCommand`
/// does: words are separated by whitespace; a word that starts with `"` or
/// `'` runs to the next matching quote (whitespace included), and the
/// quotes are removed when the word both starts and ends with the same one.
///
/// An unterminated quote starts an ordinary word, as in zkCli.
///
/// ```
/// use zk_shell::split_words;
///
/// assert_eq!(split_words("set /a 'hello world'"), ["set", "/a", "hello world"]);
/// assert_eq!(split_words("  ls   -R / "), ["ls", "-R", "/"]);
/// ```
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (word, tail) = next_word(rest);
        words.push(unquote(word).to_owned());
        rest = tail.trim_start();
    }
    words
}

/// The first word of `s` (which starts with a non-space) and what follows it.
fn next_word(s: &str) -> (&str, &str) {
    if let Some(quote) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        if let Some(end) = s.get(1..).and_then(|body| body.find(quote)) {
            // Past the closing quote (both quotes are one byte).
            return s.split_at(end + 2);
        }
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    s.split_at(end)
}

/// `'x'` or `"x"` without its quotes; anything else unchanged.
fn unquote(word: &str) -> &str {
    ['"', '\'']
        .into_iter()
        .find_map(|q| word.strip_prefix(q).and_then(|w| w.strip_suffix(q)))
        .unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_group_and_are_removed() {
        assert_eq!(
            split_words(r#"create /a "x y" 'z w'"#),
            ["create", "/a", "x y", "z w"]
        );
        assert_eq!(split_words("set /a ''"), ["set", "/a", ""]);
        assert_eq!(
            split_words("set /a 'unterminated x"),
            ["set", "/a", "'unterminated", "x"]
        );
        assert!(split_words("   ").is_empty());
    }
}
