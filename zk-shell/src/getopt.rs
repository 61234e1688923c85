//! Option parsing for shell commands, as zkCli's commons-cli `DefaultParser` does it.

/// A command's options and positional arguments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Opts {
    /// The options given, in order, with their values.
    flags: Vec<(char, Option<String>)>,
    /// The positional arguments, the command name first (as zkCli's `args`).
    pub(crate) args: Vec<String>,
}

impl Opts {
    /// Whether `-c` was given.
    pub(crate) fn has(&self, c: char) -> bool {
        self.flags.iter().any(|(f, _)| *f == c)
    }

    /// The value of `-c` (the last one given).
    pub(crate) fn value(&self, c: char) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(f, _)| *f == c)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Positional argument `i` (0 is the command name).
    pub(crate) fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }
}

/// commons-cli's exception classes, which zkCli prints before the message.
const UNRECOGNIZED: &str = "org.apache.commons.cli.UnrecognizedOptionException";
const MISSING: &str = "org.apache.commons.cli.MissingArgumentException";

/// Whether a word is an option rather than an argument: it starts with `-`,
/// has more after it, and is not a number (commons-cli takes `-1` as an
/// argument).
fn is_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-') && word.parse::<f64>().is_err()
}

/// Parses `words` (command name first) against `spec`: each option letter
/// and whether it takes a value. Options may come anywhere, flags may be
/// joined (`-sw`), a value may be joined (`-v3`) or follow (`-v 3`).
///
/// Errors read as zkCli prints commons-cli's exceptions
/// (`org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x`).
pub(crate) fn parse(words: &[String], spec: &[(char, bool)]) -> Result<Opts, String> {
    let takes_value = |c: char| spec.iter().find(|(o, _)| *o == c).map(|(_, v)| *v);
    let mut opts = Opts::default();
    let mut it = words.iter();
    while let Some(word) = it.next() {
        if !is_option(word) {
            opts.args.push(word.clone());
            continue;
        }
        let letters = word.get(1..).unwrap_or_default();
        for (i, c) in letters.char_indices() {
            match takes_value(c) {
                None => return Err(format!("{UNRECOGNIZED}: Unrecognized option: {word}")),
                Some(false) => opts.flags.push((c, None)),
                Some(true) => {
                    let joined = letters.get(i + c.len_utf8()..).unwrap_or_default();
                    let value = if !joined.is_empty() {
                        joined.to_owned()
                    } else {
                        match it.as_slice().first() {
                            Some(next) if !is_option(next) => {
                                it.next();
                                next.clone()
                            }
                            _ => {
                                return Err(format!("{MISSING}: Missing argument for option: {c}"))
                            }
                        }
                    };
                    opts.flags.push((c, Some(value)));
                    break;
                }
            }
        }
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_values_and_arguments_anywhere() {
        let spec = [('s', false), ('w', false), ('v', true)];
        let o = parse(&words("get -sw /a -v 3"), &spec).unwrap();
        assert!(o.has('s') && o.has('w'));
        assert_eq!(o.value('v'), Some("3"));
        assert_eq!(o.args, ["get", "/a"]);
        let o = parse(&words("set /a -1 -v-1"), &spec).unwrap();
        assert_eq!(o.args, ["set", "/a", "-1"]);
        assert_eq!(o.value('v'), Some("-1"));
    }

    #[test]
    fn errors_read_as_commons_cli_writes_them() {
        let spec = [('v', true)];
        assert_eq!(
            parse(&words("ls -x /"), &spec).unwrap_err(),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            parse(&words("delete /a -v"), &spec).unwrap_err(),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
    }
}
