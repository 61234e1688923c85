//! Four-letter words: admin commands sent as the first 4 bytes of a connection.

/// Every four-letter word ZooKeeper 3.8 knows.
pub const FOUR_LETTER_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "stmk", "ruok", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// If the first 4 bytes of a connection are a four-letter word, which one.
///
/// A real ConnectRequest starts with its frame length (a small number), which
/// never spells a command, so servers check this before parsing jute.
pub fn four_letter_word(first: [u8; 4]) -> Option<&'static str> {
    FOUR_LETTER_WORDS
        .iter()
        .copied()
        .find(|w| w.as_bytes() == first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_commands_not_frames() {
        assert_eq!(four_letter_word(*b"ruok"), Some("ruok"));
        assert_eq!(four_letter_word(*b"srvr"), Some("srvr"));
        assert_eq!(four_letter_word([0, 0, 0, 45]), None);
    }
}
