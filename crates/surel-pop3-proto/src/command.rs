//! The command grammar: one line (without its line ending) to a typed [`Command`].

use surel_types::Secret;

/// A POP3 command (RFC 1939 §3: a case-insensitive keyword and its arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// RFC 1939 §7 `USER name`.
    User(String),
    /// RFC 1939 §7 `PASS string`: everything after the first space, spaces included.
    Pass(Secret<String>),
    /// RFC 5034 §4 `AUTH mechanism [initial-response]`; `AUTH` alone asks for the mechanisms.
    Auth {
        /// The SASL mechanism, upper-cased; `None` for the bare `AUTH` listing form.
        mechanism: Option<String>,
        /// The base64 initial response as sent (`=` is an empty one).
        initial: Option<String>,
    },
    /// RFC 1939 §5 `STAT`.
    Stat,
    /// RFC 1939 §5 `LIST [msg]`.
    List(Option<u32>),
    /// RFC 1939 §5 `RETR msg`.
    Retr(u32),
    /// RFC 1939 §5 `DELE msg`.
    Dele(u32),
    /// RFC 1939 §5 `NOOP`.
    Noop,
    /// RFC 1939 §5 `RSET`.
    Rset,
    /// RFC 1939 §6/§7 `QUIT`.
    Quit,
    /// RFC 1939 §7 `TOP msg n`.
    Top {
        /// The message.
        msg: u32,
        /// Body lines to send after the header.
        lines: u32,
    },
    /// RFC 1939 §7 `UIDL [msg]`.
    Uidl(Option<u32>),
    /// RFC 2449 §5 `CAPA`.
    Capa,
    /// RFC 2595 §4 `STLS`.
    Stls,
    /// RFC 6856 §2 `UTF8`.
    Utf8,
}

impl Command {
    /// The keyword, for logs (never an argument: a password must not reach a log).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Utf8 => "UTF8",
        }
    }
}

/// Why a command line could not be used. Each is answered with `-ERR` and the session goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No line ending within the line limit.
    #[error("line too long")]
    LineTooLong,
    /// An empty line.
    #[error("empty command")]
    Empty,
    /// A keyword we do not know (APOP is one of them: we keep no plaintext passwords).
    #[error("unknown command")]
    Unknown,
    /// A known keyword with arguments that do not fit it.
    #[error("{verb}: {why}")]
    BadArguments {
        /// The keyword.
        verb: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

/// Parses one command line, without its CRLF (or LF). Never panics, whatever the bytes.
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    if line.is_empty() {
        return Err(CommandError::Empty);
    }
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(sp) => (line.get(..sp).unwrap_or(b""), line.get(sp + 1..)),
        None => (line, None),
    };
    // RFC 1939 §3: keywords are three or four characters, case-insensitive.
    if !(3..=4).contains(&keyword.len()) {
        return Err(CommandError::Unknown);
    }
    let mut upper = [0u8; 4];
    for (u, k) in upper.iter_mut().zip(keyword) {
        *u = k.to_ascii_uppercase();
    }
    let keyword = upper.get(..keyword.len()).unwrap_or(b"");
    let args = Args::new(rest);
    match keyword {
        b"USER" => {
            let name = args.one("USER", "needs a user name")?;
            // RFC 6856 §2: user names may be UTF-8 (we accept it with or without the UTF8 command).
            let name = std::str::from_utf8(name).map_err(|_| bad("USER", "name is not UTF-8"))?;
            Ok(Command::User(name.to_string()))
        }
        b"PASS" => {
            // RFC 1939 §7: the server may treat spaces in the argument as part of the password.
            let raw = rest.unwrap_or(b"");
            if raw.is_empty() {
                return Err(bad("PASS", "needs a password"));
            }
            let password =
                std::str::from_utf8(raw).map_err(|_| bad("PASS", "password is not UTF-8"))?;
            Ok(Command::Pass(Secret::new(password.to_string())))
        }
        b"AUTH" => {
            let words = args.words();
            match words.as_slice() {
                [] => Ok(Command::Auth {
                    mechanism: None,
                    initial: None,
                }),
                [mechanism] => Ok(Command::Auth {
                    mechanism: Some(mechanism_name(mechanism)?),
                    initial: None,
                }),
                // RFC 5034 §4: an initial response is base64, or `=` for an empty one.
                [mechanism, initial] => Ok(Command::Auth {
                    mechanism: Some(mechanism_name(mechanism)?),
                    initial: Some(ascii("AUTH", initial)?),
                }),
                _ => Err(bad("AUTH", "too many arguments")),
            }
        }
        b"STAT" => args.none("STAT").map(|()| Command::Stat),
        b"LIST" => args.optional_msg("LIST").map(Command::List),
        b"RETR" => args.msg("RETR").map(Command::Retr),
        b"DELE" => args.msg("DELE").map(Command::Dele),
        b"NOOP" => args.none("NOOP").map(|()| Command::Noop),
        b"RSET" => args.none("RSET").map(|()| Command::Rset),
        b"QUIT" => args.none("QUIT").map(|()| Command::Quit),
        b"TOP" => {
            let words = args.words();
            let [msg, lines] = words.as_slice() else {
                return Err(bad("TOP", "needs a message number and a line count"));
            };
            let msg = message_number("TOP", msg)?;
            // RFC 1939 §7: n is a non-negative number of lines.
            let lines = number(lines).ok_or(bad("TOP", "line count is not a number"))?;
            Ok(Command::Top { msg, lines })
        }
        b"UIDL" => args.optional_msg("UIDL").map(Command::Uidl),
        b"CAPA" => args.none("CAPA").map(|()| Command::Capa),
        b"STLS" => args.none("STLS").map(|()| Command::Stls),
        b"UTF8" => args.none("UTF8").map(|()| Command::Utf8),
        _ => Err(CommandError::Unknown),
    }
}

fn bad(verb: &'static str, why: &'static str) -> CommandError {
    CommandError::BadArguments { verb, why }
}

/// The arguments after the keyword. RFC 1939 §3 separates them by one space; runs of spaces are
/// accepted too, since some clients send them.
struct Args<'a>(Option<&'a [u8]>);

impl<'a> Args<'a> {
    fn new(rest: Option<&'a [u8]>) -> Self {
        Self(rest)
    }

    fn words(&self) -> Vec<&'a [u8]> {
        self.0
            .unwrap_or(b"")
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .collect()
    }

    fn none(&self, verb: &'static str) -> Result<(), CommandError> {
        if self.words().is_empty() {
            Ok(())
        } else {
            Err(bad(verb, "takes no arguments"))
        }
    }

    fn one(&self, verb: &'static str, why: &'static str) -> Result<&'a [u8], CommandError> {
        match self.words().as_slice() {
            [one] => Ok(one),
            [] => Err(bad(verb, why)),
            _ => Err(bad(verb, "too many arguments")),
        }
    }

    fn msg(&self, verb: &'static str) -> Result<u32, CommandError> {
        message_number(verb, self.one(verb, "needs a message number")?)
    }

    fn optional_msg(&self, verb: &'static str) -> Result<Option<u32>, CommandError> {
        match self.words().as_slice() {
            [] => Ok(None),
            [one] => message_number(verb, one).map(Some),
            _ => Err(bad(verb, "too many arguments")),
        }
    }
}

/// RFC 1939 §3: a message number is a decimal, 1 for the first message.
fn message_number(verb: &'static str, word: &[u8]) -> Result<u32, CommandError> {
    match number(word) {
        Some(0) | None => Err(bad(verb, "not a message number")),
        Some(n) => Ok(n),
    }
}

/// Digits only (no sign, no spaces), within u32.
fn number(word: &[u8]) -> Option<u32> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

fn ascii(verb: &'static str, word: &[u8]) -> Result<String, CommandError> {
    if word.iter().all(u8::is_ascii_graphic) {
        Ok(String::from_utf8_lossy(word).into_owned())
    } else {
        Err(bad(verb, "argument is not printable ASCII"))
    }
}

/// RFC 4422 §3.1: mechanism names are upper-case letters, digits, `-` and `_`, up to 20 long.
fn mechanism_name(word: &[u8]) -> Result<String, CommandError> {
    let valid = (1..=20).contains(&word.len())
        && word
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if !valid {
        return Err(bad("AUTH", "not a mechanism name"));
    }
    Ok(String::from_utf8_lossy(word).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(mechanism: Option<&str>, initial: Option<&str>) -> Command {
        Command::Auth {
            mechanism: mechanism.map(str::to_string),
            initial: initial.map(str::to_string),
        }
    }

    #[test]
    fn rfc_1939_examples_and_variants_parse() {
        let table: &[(&[u8], Command)] = &[
            (b"USER mrose", Command::User("mrose".into())),
            (
                b"user mrose@example.org",
                Command::User("mrose@example.org".into()),
            ),
            (b"PASS secret", Command::Pass(Secret::new("secret".into()))),
            (
                b"PASS  two words ",
                Command::Pass(Secret::new(" two words ".into())),
            ),
            (b"STAT", Command::Stat),
            (b"LIST", Command::List(None)),
            (b"LIST 2", Command::List(Some(2))),
            (b"list  3", Command::List(Some(3))),
            (b"RETR 1", Command::Retr(1)),
            (b"DELE 1", Command::Dele(1)),
            (b"NOOP", Command::Noop),
            (b"RSET", Command::Rset),
            (b"QUIT", Command::Quit),
            (b"TOP 1 10", Command::Top { msg: 1, lines: 10 }),
            (b"TOP 1 0", Command::Top { msg: 1, lines: 0 }),
            (b"UIDL", Command::Uidl(None)),
            (b"UIDL 2", Command::Uidl(Some(2))),
            (b"CAPA", Command::Capa),
            (b"STLS", Command::Stls),
            (b"UTF8", Command::Utf8),
            (b"AUTH", auth(None, None)),
            (b"AUTH plain", auth(Some("PLAIN"), None)),
            (b"AUTH PLAIN =", auth(Some("PLAIN"), Some("="))),
            (
                b"AUTH PLAIN AHRlc3QAdGVzdA==",
                auth(Some("PLAIN"), Some("AHRlc3QAdGVzdA==")),
            ),
            (b"USER j\xc3\xb6rg", Command::User("jörg".into())),
            (b"STAT ", Command::Stat),
            (b"RETR 4294967295", Command::Retr(u32::MAX)),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_command(line).as_ref(),
                Ok(want),
                "{}",
                line.escape_ascii()
            );
        }
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        let table: &[(&[u8], CommandError)] = &[
            (b"", CommandError::Empty),
            (
                b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
                CommandError::Unknown,
            ),
            (b"XYZZY", CommandError::Unknown),
            (b"RE", CommandError::Unknown),
            (b" STAT", CommandError::Unknown),
            (b"RETR", bad("RETR", "needs a message number")),
            (b"RETR 0", bad("RETR", "not a message number")),
            (b"RETR -1", bad("RETR", "not a message number")),
            (b"RETR +1", bad("RETR", "not a message number")),
            (b"RETR 4294967296", bad("RETR", "not a message number")),
            (b"RETR 1 2", bad("RETR", "too many arguments")),
            (b"STAT 1", bad("STAT", "takes no arguments")),
            (b"LIST 1 2", bad("LIST", "too many arguments")),
            (
                b"TOP 1",
                bad("TOP", "needs a message number and a line count"),
            ),
            (b"TOP 1 x", bad("TOP", "line count is not a number")),
            (b"USER", bad("USER", "needs a user name")),
            (b"USER a b", bad("USER", "too many arguments")),
            (b"USER \xff", bad("USER", "name is not UTF-8")),
            (b"PASS", bad("PASS", "needs a password")),
            (b"PASS ", bad("PASS", "needs a password")),
            (b"AUTH PL/AIN", bad("AUTH", "not a mechanism name")),
            (b"AUTH PLAIN a b", bad("AUTH", "too many arguments")),
            (
                b"AUTH PLAIN \x01",
                bad("AUTH", "argument is not printable ASCII"),
            ),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_command(line).as_ref(),
                Err(want),
                "{}",
                line.escape_ascii()
            );
        }
    }

    #[test]
    fn verb_never_shows_the_password() {
        let cmd = parse_command(b"PASS hunter2").unwrap();
        assert_eq!(cmd.verb(), "PASS");
        assert!(!format!("{cmd:?}").contains("hunter2"));
    }
}
