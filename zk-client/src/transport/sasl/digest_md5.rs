//! The client side of SASL DIGEST-MD5 (RFC 2831), with quality of protection
//! `auth` only (authentication; no integrity or confidentiality layer), which
//! is what ZooKeeper's servers offer.
//!
//! The exchange, as a ZooKeeper server runs it:
//!
//! 1. the client sends an empty token (DIGEST-MD5 has no initial response);
//! 2. the server answers with its `digest-challenge` (realm, nonce, qop,
//!    charset, algorithm);
//! 3. the client sends its `digest-response`, which proves it knows the
//!    password;
//! 4. the server answers with `rspauth=...`, which proves that the server
//!    knows it too; the client checks it and is done.

use std::fmt::Write as _;

use md5::{Digest, Md5};

/// Why the exchange failed. The message is meant for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MechanismError(pub(crate) String);

impl std::fmt::Display for MechanismError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, MechanismError> {
    Err(MechanismError(message.into()))
}

/// What to do after a server token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send this token and wait for the server's next one.
    Send(Vec<u8>),
    /// Authenticated: the server proved it knows the password.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the digest-challenge.
    Challenge,
    /// Waiting for `rspauth=<expected>`.
    ResponseAuth {
        expected: String,
    },
    Done,
}

/// One DIGEST-MD5 authentication, from the challenge to the server's proof.
pub(crate) struct DigestMd5 {
    username: String,
    password: String,
    /// `serv-type/host`: `zookeeper/zk-sasl-md5` for ZooKeeper.
    digest_uri: String,
    cnonce: String,
    state: State,
}

impl std::fmt::Debug for DigestMd5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("digest_uri", &self.digest_uri)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The only nonce count we ever send: one response per nonce.
const NONCE_COUNT: &str = "00000001";

impl DigestMd5 {
    /// `cnonce` must be fresh and random for each authentication, and free of
    /// `"`, `\` and `,` (hex or base64 are fine).
    pub(crate) fn new(username: &str, password: &str, digest_uri: &str, cnonce: &str) -> Self {
        DigestMd5 {
            username: username.to_owned(),
            password: password.to_owned(),
            digest_uri: digest_uri.to_owned(),
            cnonce: cnonce.to_owned(),
            state: State::Challenge,
        }
    }

    /// Whether the server has proved it knows the password.
    #[cfg(test)]
    pub(crate) fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    /// Handles the server's next token.
    pub(crate) fn step(&mut self, server_token: &[u8]) -> Result<Step, MechanismError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Challenge => {
                let (response, expected) = self.respond(server_token)?;
                self.state = State::ResponseAuth { expected };
                Ok(Step::Send(response))
            }
            State::ResponseAuth { expected } => {
                self.check_rspauth(server_token, &expected)?;
                Ok(Step::Done)
            }
            State::Done => fail("the server sent a SASL token after the exchange was complete"),
        }
    }

    /// The digest-response to `challenge`, and the rspauth to expect.
    fn respond(&self, challenge: &[u8]) -> Result<(Vec<u8>, String), MechanismError> {
        if challenge.is_empty() {
            return fail(
                "the server sent an empty SASL challenge (is SASL configured on the server, \
                 with a JAAS 'Server' section?)",
            );
        }
        // The challenge is ASCII apart from realms, which are UTF-8 when the
        // server says charset=utf-8 and ISO 8859-1 otherwise.
        let directives = parse_directives(&decode_text(challenge))?;
        let mut realm = None;
        let mut nonce = None;
        let mut qop_options = None;
        let mut utf8 = false;
        let mut algorithm = None;
        for (name, value) in directives {
            match name.as_str() {
                "realm" => {
                    realm.get_or_insert(value);
                }
                "nonce" if nonce.is_some() => return fail("the challenge has two nonces"),
                "nonce" => nonce = Some(value),
                "qop" => qop_options = Some(value),
                "charset" => utf8 = value.eq_ignore_ascii_case("utf-8"),
                "algorithm" => algorithm = Some(value),
                _ => {} // stale, maxbuf, cipher, extensions: not used with qop=auth
            }
        }
        let Some(nonce) = nonce else {
            return fail("the DIGEST-MD5 challenge has no nonce");
        };
        if let Some(alg) = &algorithm {
            if !alg.eq_ignore_ascii_case("md5-sess") {
                return fail(format!("unsupported DIGEST-MD5 algorithm {alg:?}"));
            }
        }
        // Absent qop-options means "auth" (RFC 2831 §2.1.1).
        if let Some(options) = &qop_options {
            if !options.split(',').any(|q| q.trim() == "auth") {
                return fail(format!(
                    "the server offers no authentication-only protection (qop {options:?}); \
                     integrity and confidentiality layers are not supported"
                ));
            }
        }
        let realm = realm.unwrap_or_default();
        let user = encode_for_hash(&self.username, utf8)?;
        let realm_bytes = encode_for_hash(&realm, utf8)?;
        let pass = encode_for_hash(&self.password, utf8)?;

        let response = response_value(
            &user,
            &realm_bytes,
            &pass,
            &nonce,
            &self.cnonce,
            "AUTHENTICATE",
            &self.digest_uri,
        );
        let expected = response_value(
            &user,
            &realm_bytes,
            &pass,
            &nonce,
            &self.cnonce,
            "",
            &self.digest_uri,
        );

        let mut out = String::new();
        if utf8 {
            out.push_str("charset=utf-8,");
        }
        let _ = write!(out, "username=\"{}\"", quote(&self.username));
        if !realm.is_empty() {
            let _ = write!(out, ",realm=\"{}\"", quote(&realm));
        }
        let _ = write!(
            out,
            ",nonce=\"{}\",nc={NONCE_COUNT},cnonce=\"{}\",digest-uri=\"{}\",\
             response={response},qop=auth",
            quote(&nonce),
            quote(&self.cnonce),
            quote(&self.digest_uri),
        );
        let bytes = if utf8 {
            out.into_bytes()
        } else {
            // Without charset=utf-8 the response is ISO 8859-1; every value
            // in it was checked to fit by encode_for_hash.
            encode_latin1(&out).unwrap_or_default()
        };
        Ok((bytes, expected))
    }

    fn check_rspauth(&self, token: &[u8], expected: &str) -> Result<(), MechanismError> {
        let directives = parse_directives(&decode_text(token))?;
        let got = directives
            .into_iter()
            .find(|(name, _)| name == "rspauth")
            .map(|(_, value)| value);
        match got {
            Some(value) if value.eq_ignore_ascii_case(expected) => Ok(()),
            Some(_) => fail(
                "the server's proof (rspauth) is wrong: it does not know the password, \
                 or it is not the server",
            ),
            None => fail("the server's last SASL token has no rspauth"),
        }
    }
}

/// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))))` with
/// `A1 = H(user:realm:pass):nonce:cnonce` and `A2 = method:digest-uri`
/// (`method` is `AUTHENTICATE` for the response, empty for rspauth).
fn response_value(
    user: &[u8],
    realm: &[u8],
    pass: &[u8],
    nonce: &str,
    cnonce: &str,
    method: &str,
    digest_uri: &str,
) -> String {
    let secret = Md5::new()
        .chain_update(user)
        .chain_update(b":")
        .chain_update(realm)
        .chain_update(b":")
        .chain_update(pass)
        .finalize();
    let a1 = Md5::new()
        .chain_update(secret)
        .chain_update(b":")
        .chain_update(nonce.as_bytes())
        .chain_update(b":")
        .chain_update(cnonce.as_bytes())
        .finalize();
    let a2 = Md5::new()
        .chain_update(method.as_bytes())
        .chain_update(b":")
        .chain_update(digest_uri.as_bytes())
        .finalize();
    let kd = Md5::new()
        .chain_update(hex(&a1).as_bytes())
        .chain_update(b":")
        .chain_update(nonce.as_bytes())
        .chain_update(b":")
        .chain_update(NONCE_COUNT.as_bytes())
        .chain_update(b":")
        .chain_update(cnonce.as_bytes())
        .chain_update(b":auth:")
        .chain_update(hex(&a2).as_bytes())
        .finalize();
    hex(&kd)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// RFC 2831 §2.1.2.1: with charset=utf-8, a string whose characters all fit
/// ISO 8859-1 is hashed in ISO 8859-1, any other in UTF-8; without it, only
/// ISO 8859-1 is possible.
fn encode_for_hash(s: &str, utf8: bool) -> Result<Vec<u8>, MechanismError> {
    match encode_latin1(s) {
        Some(bytes) => Ok(bytes),
        None if utf8 => Ok(s.as_bytes().to_vec()),
        None => fail(
            "the user name, password or realm has characters outside ISO 8859-1, \
             and the server does not accept UTF-8",
        ),
    }
}

fn encode_latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// UTF-8 if it is valid UTF-8, else ISO 8859-1 (every byte is a character).
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses `name=value` directives separated by commas (empty elements and
/// linear white space allowed), values being tokens or quoted-strings. Names
/// come back in lower case.
fn parse_directives(input: &str) -> Result<Vec<(String, String)>, MechanismError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=' && *c != ',') {
            name.push(c.to_ascii_lowercase());
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') || name.is_empty() {
            return fail(format!(
                "malformed SASL token: expected name=value in {input:?}"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return fail("malformed SASL token: unterminated quoted string"),
                    },
                    Some(c) => value.push(c),
                    None => return fail("malformed SASL token: unterminated quoted string"),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != ',') {
                value.push(c);
            }
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some(',') => {}
            Some(_) => {
                return fail(format!(
                    "malformed SASL token: expected ',' after {name}= in {input:?}"
                ))
            }
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive<'a>(token: &'a [(String, String)], name: &str) -> Option<&'a str> {
        token
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// RFC 2831 §4, first example (IMAP): chris / secret.
    #[test]
    fn rfc2831_imap_example() {
        let challenge = b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",\
                          algorithm=md5-sess,charset=utf-8";
        let mut m = DigestMd5::new(
            "chris",
            "secret",
            "imap/elwood.innosoft.com",
            "OA6MHXh6VqTrRk",
        );
        let Step::Send(response) = m.step(challenge).unwrap() else {
            panic!("expected a response")
        };
        let parsed = parse_directives(std::str::from_utf8(&response).unwrap()).unwrap();
        assert_eq!(
            directive(&parsed, "response"),
            Some("d388dad90d4bbd760a152321f2143af7")
        );
        assert_eq!(directive(&parsed, "username"), Some("chris"));
        assert_eq!(directive(&parsed, "realm"), Some("elwood.innosoft.com"));
        assert_eq!(directive(&parsed, "nonce"), Some("OA6MG9tEQGm2hh"));
        assert_eq!(directive(&parsed, "cnonce"), Some("OA6MHXh6VqTrRk"));
        assert_eq!(directive(&parsed, "nc"), Some("00000001"));
        assert_eq!(directive(&parsed, "qop"), Some("auth"));
        assert_eq!(
            directive(&parsed, "digest-uri"),
            Some("imap/elwood.innosoft.com")
        );
        assert_eq!(directive(&parsed, "charset"), Some("utf-8"));
        assert!(!m.is_complete());
        assert_eq!(
            m.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffd").unwrap(),
            Step::Done
        );
        assert!(m.is_complete());
        assert!(m.step(b"rspauth=x").is_err(), "nothing after completion");
    }

    /// RFC 2831 §4, second example (ACAP).
    #[test]
    fn rfc2831_acap_example() {
        let challenge = b"realm=\"elwood.innosoft.com\",nonce=\"OA9BSXrbuRhWay\",qop=\"auth\",\
                          algorithm=md5-sess,charset=utf-8";
        let mut m = DigestMd5::new(
            "chris",
            "secret",
            "acap/elwood.innosoft.com",
            "OA9BSuZWMSpW8m",
        );
        let Step::Send(response) = m.step(challenge).unwrap() else {
            panic!("expected a response")
        };
        let parsed = parse_directives(std::str::from_utf8(&response).unwrap()).unwrap();
        assert_eq!(
            directive(&parsed, "response"),
            Some("6084c6db3fede7352c551284490fd0fc")
        );
        assert_eq!(
            m.step(b"rspauth=2f0b3d7c3c2e486600ef710726aa2eae").unwrap(),
            Step::Done
        );
    }

    #[test]
    fn a_wrong_rspauth_is_refused() {
        let challenge = b"realm=\"zk-sasl-md5\",nonce=\"abc\",qop=\"auth\",charset=utf-8,\
                          algorithm=md5-sess";
        let mut m = DigestMd5::new("bob", "pw", "zookeeper/zk-sasl-md5", "c1");
        assert!(matches!(m.step(challenge), Ok(Step::Send(_))));
        let err = m
            .step(b"rspauth=00000000000000000000000000000000")
            .unwrap_err();
        assert!(err.0.contains("rspauth"), "{err}");
        let mut m = DigestMd5::new("bob", "pw", "zookeeper/zk-sasl-md5", "c1");
        assert!(matches!(m.step(challenge), Ok(Step::Send(_))));
        assert!(m.step(b"").is_err());
    }

    #[test]
    fn challenges_it_cannot_answer() {
        let m = || DigestMd5::new("bob", "pw", "zookeeper/zk-sasl-md5", "c1");
        for bad in [
            &b""[..],
            b"realm=\"r\",qop=\"auth\"", // no nonce
            b"nonce=\"a\",nonce=\"b\"",
            b"nonce=\"a\",algorithm=md5",
            b"nonce=\"a\",qop=\"auth-conf\"",
            b"nonce=\"a",
            b"nonce",
            b"=x",
            b"nonce=\"a\" x",
            b"nonce=\"a\\",
        ] {
            assert!(m().step(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        // Garbage bytes never panic.
        for seed in 0u8..=255 {
            let junk: Vec<u8> = (0..40u8)
                .map(|i| i.wrapping_mul(seed).wrapping_add(seed))
                .collect();
            let _ = m().step(&junk);
        }
    }

    #[test]
    fn lenient_parsing_and_defaults() {
        // Spaces, empty elements, unknown directives, no qop, no realm, no charset.
        let mut m = DigestMd5::new("bob", "pw", "zookeeper/zk-sasl-md5", "c1");
        let Step::Send(response) = m
            .step(b" , nonce = \"n\\\"1\" ,, stale=false , foo=bar,")
            .unwrap()
        else {
            panic!("expected a response")
        };
        let text = String::from_utf8(response).unwrap();
        let parsed = parse_directives(&text).unwrap();
        assert_eq!(directive(&parsed, "nonce"), Some("n\"1"));
        assert_eq!(directive(&parsed, "realm"), None);
        assert_eq!(directive(&parsed, "charset"), None);
        assert_eq!(
            directive(&parsed, "response"),
            Some(
                response_value(
                    b"bob",
                    b"",
                    b"pw",
                    "n\"1",
                    "c1",
                    "AUTHENTICATE",
                    "zookeeper/zk-sasl-md5"
                )
                .as_str()
            )
        );
    }

    #[test]
    fn non_latin1_credentials_need_utf8() {
        let mut m = DigestMd5::new("bob", "пароль", "zookeeper/zk-sasl-md5", "c1");
        assert!(m.step(b"nonce=\"n\"").is_err());
        let mut m = DigestMd5::new("bob", "пароль", "zookeeper/zk-sasl-md5", "c1");
        assert!(matches!(
            m.step(b"nonce=\"n\",charset=utf-8"),
            Ok(Step::Send(_))
        ));
        // ISO 8859-1 characters are hashed as ISO 8859-1 even with utf-8.
        assert_eq!(encode_for_hash("é", true).unwrap(), vec![0xe9]);
        assert_eq!(encode_for_hash("ж", true).unwrap(), "ж".as_bytes().to_vec());
        assert_eq!(quote("a\"b\\c"), "a\\\"b\\\\c");
    }
}
