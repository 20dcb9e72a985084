//! An SPF record parsed and validated against the RFC 7208 §12 ABNF. Anything the grammar does
//! not allow is a syntax error, which check_host() reports as `permerror` (§4.6).

use std::net::{Ipv4Addr, Ipv6Addr};

/// A term's qualifier (RFC 7208 §4.6.2); "+" when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

/// One piece of a macro-string (RFC 7208 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// macro-literal characters.
    Literal(String),
    /// `%%`, `%_` or `%-`: what it expands to.
    Escape(&'static str),
    /// `%{letter digits r delimiters}`.
    Macro {
        /// The macro letter, lower-cased.
        letter: char,
        /// An upper-case letter: URL-escape the expansion (§7.3).
        escape: bool,
        /// Keep this many right-hand parts (§7.3).
        keep: Option<usize>,
        /// Reverse the parts (§7.3).
        reverse: bool,
        /// The delimiters to split on; "." when empty (§7.3).
        delimiters: String,
    },
}

/// A macro-string: a domain-spec, or the text of an unknown modifier.
pub(crate) type MacroString = Vec<Part>;

/// A mechanism (RFC 7208 §5) with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(MacroString),
}

/// A whole record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) directives: Vec<(Qualifier, Mechanism)>,
    pub(crate) redirect: Option<MacroString>,
    pub(crate) exp: Option<MacroString>,
}

/// The record is not valid SPF (RFC 7208 §4.6: the result is `permerror`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError;

/// Whether a TXT record is an SPF record: "v=spf1" then a space or its end (RFC 7208 §4.5).
pub(crate) fn is_spf(txt: &[u8]) -> bool {
    let Some(version) = txt.get(..6) else {
        return false;
    };
    version.eq_ignore_ascii_case(b"v=spf1") && matches!(txt.get(6), None | Some(b' '))
}

/// Parses an SPF record (one for which [`is_spf`] holds).
pub(crate) fn parse(txt: &[u8]) -> Result<Record, SyntaxError> {
    // RFC 7208 §3.1 / §12: the record is 7-bit ASCII; terms are separated by SP only, so any
    // other control character or a non-ASCII byte is a syntax error.
    if txt.iter().any(|b| !(0x20..=0x7e).contains(b)) {
        return Err(SyntaxError);
    }
    let text = std::str::from_utf8(txt).map_err(|_| SyntaxError)?;
    let mut terms = text.split(' ').filter(|t| !t.is_empty());
    match terms.next() {
        Some(v) if v.eq_ignore_ascii_case("v=spf1") => {}
        _ => return Err(SyntaxError),
    }
    let mut record = Record::default();
    for term in terms {
        // RFC 7208 §4.6.1: a modifier is `name "="`, told apart from a mechanism by the "="
        // coming before any ":" or "/".
        let first = term.find([':', '/', '=']);
        if let Some(i) = first.filter(|i| term.as_bytes().get(*i) == Some(&b'=')) {
            let (name, value) = (term.get(..i).unwrap_or(""), term.get(i + 1..).unwrap_or(""));
            modifier(&mut record, name, value)?;
        } else {
            record.directives.push(directive(term)?);
        }
    }
    Ok(record)
}

/// `modifier = redirect / explanation / unknown-modifier` (RFC 7208 §4.6.1, §6, §12).
fn modifier(record: &mut Record, name: &str, value: &str) -> Result<(), SyntaxError> {
    // name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    let mut chars = name.chars();
    let valid_name = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        return Err(SyntaxError);
    }
    if name.eq_ignore_ascii_case("redirect") || name.eq_ignore_ascii_case("exp") {
        let slot = if name.eq_ignore_ascii_case("redirect") {
            &mut record.redirect
        } else {
            &mut record.exp
        };
        // RFC 7208 §6: each of these MUST NOT appear more than once.
        if slot.is_some() {
            return Err(SyntaxError);
        }
        *slot = Some(domain_spec(value)?);
    } else {
        // RFC 7208 §6: unknown modifiers are ignored, but must still be well formed.
        macro_string(value, false)?;
    }
    Ok(())
}

/// `directive = [ qualifier ] mechanism` (RFC 7208 §4.6.2, §12).
fn directive(term: &str) -> Result<(Qualifier, Mechanism), SyntaxError> {
    let (qualifier, rest) = match term.as_bytes().first() {
        Some(b'+') => (Qualifier::Pass, term.get(1..)),
        Some(b'-') => (Qualifier::Fail, term.get(1..)),
        Some(b'~') => (Qualifier::SoftFail, term.get(1..)),
        Some(b'?') => (Qualifier::Neutral, term.get(1..)),
        _ => (Qualifier::Pass, Some(term)),
    };
    let rest = rest.ok_or(SyntaxError)?;
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, args) = rest.split_at(end);
    let name = name.to_ascii_lowercase();
    let mechanism = match name.as_str() {
        "all" if args.is_empty() => Mechanism::All,
        "include" => Mechanism::Include(required_spec(args)?),
        "exists" => Mechanism::Exists(required_spec(args)?),
        "ptr" => Mechanism::Ptr(optional_spec(args)?),
        "a" | "mx" => {
            let (args, v4, v6) = dual_cidr(args)?;
            let domain = optional_spec(args)?;
            if name == "a" {
                Mechanism::A { domain, v4, v6 }
            } else {
                Mechanism::Mx { domain, v4, v6 }
            }
        }
        "ip4" => {
            let args = args.strip_prefix(':').ok_or(SyntaxError)?;
            let (addr, len) = match args.split_once('/') {
                Some((addr, len)) => (addr, cidr(len, 32)?),
                None => (args, 32),
            };
            Mechanism::Ip4(addr.parse().map_err(|_| SyntaxError)?, len)
        }
        "ip6" => {
            let args = args.strip_prefix(':').ok_or(SyntaxError)?;
            let (addr, len) = match args.split_once('/') {
                Some((addr, len)) => (addr, cidr(len, 128)?),
                None => (args, 128),
            };
            Mechanism::Ip6(addr.parse().map_err(|_| SyntaxError)?, len)
        }
        // RFC 7208 §5: an unknown mechanism is a permerror.
        _ => return Err(SyntaxError),
    };
    Ok((qualifier, mechanism))
}

/// `":" domain-spec`.
fn required_spec(args: &str) -> Result<MacroString, SyntaxError> {
    domain_spec(args.strip_prefix(':').ok_or(SyntaxError)?)
}

/// `[ ":" domain-spec ]`.
fn optional_spec(args: &str) -> Result<Option<MacroString>, SyntaxError> {
    if args.is_empty() {
        return Ok(None);
    }
    required_spec(args).map(Some)
}

/// Splits `dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]` off the end of
/// `args` (RFC 7208 §5.6); the lengths default to 32 and 128.
fn dual_cidr(args: &str) -> Result<(&str, u8, u8), SyntaxError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (mut rest, mut v4, mut v6) = (args, 32, 128);
    if let Some((head, len)) = rest.rsplit_once("//")
        && digits(len)
    {
        v6 = cidr(len, 128)?;
        rest = head;
    }
    if let Some((head, len)) = rest.rsplit_once('/')
        && digits(len)
    {
        v4 = cidr(len, 32)?;
        rest = head;
    }
    Ok((rest, v4, v6))
}

/// A prefix length: `"0" / %x31-39 0*2DIGIT`, at most `max` (RFC 7208 §12).
fn cidr(len: &str, max: u8) -> Result<u8, SyntaxError> {
    if len.is_empty() || (len.len() > 1 && len.starts_with('0')) {
        return Err(SyntaxError);
    }
    if !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyntaxError);
    }
    len.parse::<u8>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or(SyntaxError)
}

/// `domain-spec = macro-string domain-end` (RFC 7208 §7.1, §12), checked before expansion.
pub(crate) fn domain_spec(text: &str) -> Result<MacroString, SyntaxError> {
    let parts = macro_string(text, false)?;
    // domain-end = ( "." toplabel [ "." ] ) / macro-expand
    match parts.last() {
        Some(Part::Macro { .. } | Part::Escape(_)) => Ok(parts),
        Some(Part::Literal(tail)) => {
            let tail = tail.strip_suffix('.').unwrap_or(tail);
            match tail.rsplit_once('.') {
                Some((_, top)) if toplabel(top) => Ok(parts),
                _ => Err(SyntaxError),
            }
        }
        None => Err(SyntaxError),
    }
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
fn toplabel(label: &str) -> bool {
    let bytes = label.as_bytes();
    if bytes.is_empty()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return false;
    }
    if bytes.contains(&b'-') {
        bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
    } else {
        bytes.iter().any(u8::is_ascii_alphabetic)
    }
}

/// `macro-string = *( macro-expand / macro-literal )` (RFC 7208 §7.1). `explain` allows what
/// only an explanation may hold: spaces and the `c`, `r`, `t` letters.
pub(crate) fn macro_string(text: &str, explain: bool) -> Result<MacroString, SyntaxError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            // macro-literal = %x21-24 / %x26-7E (and SP in explain-string)
            if !(('\x21'..='\x7e').contains(&c) || (explain && c == ' ')) {
                return Err(SyntaxError);
            }
            literal.push(c);
            continue;
        }
        let part = match chars.next() {
            Some('%') => Part::Escape("%"),
            Some('_') => Part::Escape(" "),
            Some('-') => Part::Escape("%20"),
            Some('{') => {
                let body: String = chars.by_ref().take_while(|c| *c != '}').collect();
                expand_spec(&body, explain)?
            }
            _ => return Err(SyntaxError),
        };
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(part);
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The inside of `%{…}`: `macro-letter transformers *delimiter` (RFC 7208 §7.1).
fn expand_spec(body: &str, explain: bool) -> Result<Part, SyntaxError> {
    let mut chars = body.chars().peekable();
    let letter = chars.next().ok_or(SyntaxError)?;
    let lower = letter.to_ascii_lowercase();
    let allowed = match lower {
        's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v' => true,
        // RFC 7208 §7.1: "c", "r" and "t" are allowed only in "exp" text.
        'c' | 'r' | 't' => explain,
        _ => false,
    };
    if !allowed {
        return Err(SyntaxError);
    }
    let mut digits = String::new();
    while let Some(d) = chars.next_if(char::is_ascii_digit) {
        digits.push(d);
    }
    let keep = if digits.is_empty() {
        None
    } else {
        // RFC 7208 §7.3: the number of right-hand parts to keep; zero is not allowed.
        Some(
            digits
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(SyntaxError)?,
        )
    };
    let reverse = chars.next_if(|c| c.eq_ignore_ascii_case(&'r')).is_some();
    let delimiters: String = chars.collect();
    // delimiter = "." / "-" / "+" / "," / "/" / "_" / "="
    if !delimiters
        .chars()
        .all(|c| matches!(c, '.' | '-' | '+' | ',' | '/' | '_' | '='))
    {
        return Err(SyntaxError);
    }
    Ok(Part::Macro {
        letter: lower,
        escape: letter.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(r: &str) -> bool {
        parse(r.as_bytes()).is_ok()
    }

    #[test]
    fn selects_only_version_1_records() {
        assert!(is_spf(b"v=spf1"));
        assert!(is_spf(b"V=SPF1 -all"));
        assert!(!is_spf(b"v=spf10 -all"));
        assert!(!is_spf(b"v=spf"));
    }

    #[test]
    fn accepts_well_formed_records() {
        assert!(ok(
            "v=spf1 +a mx/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
        ));
        assert!(ok(
            "v=spf1 a:%{d}.example.com/24 include:_spf.example.com ~all"
        ));
        assert!(ok("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} ?all"));
        assert!(ok("v=spf1 redirect=_spf.example.com"));
        assert!(ok("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all"));
        assert!(ok("v=spf1 a:foo:bar/baz.example.com"));
        assert!(ok("v=spf1   -all  "));
    }

    #[test]
    fn rejects_what_the_grammar_does_not_allow() {
        // §4.6.1 / §12: unknown mechanisms, junk after "all", control chars, non-ASCII.
        assert!(!ok("v=spf1 foo -all"));
        assert!(!ok("v=spf1 all:x"));
        assert!(!ok("v=spf1 ip4:1.2.3.4\t-all"));
        assert!(!ok("v=spf1 a:b\u{e9}.example.com"));
        // CIDR lengths: range and no leading zero.
        assert!(!ok("v=spf1 ip4:1.2.3.4/33"));
        assert!(!ok("v=spf1 ip4:1.2.3.4/032"));
        assert!(!ok("v=spf1 ip6:::1/129"));
        assert!(!ok("v=spf1 a/33"));
        assert!(!ok("v=spf1 mx//129"));
        assert!(!ok("v=spf1 ip4:1.2.3"));
        // Modifiers: bad name, duplicates, bad domain-spec.
        assert!(!ok("v=spf1 =foo"));
        assert!(!ok("v=spf1 9x=foo"));
        assert!(!ok("v=spf1 redirect=a.example redirect=b.example"));
        assert!(!ok("v=spf1 redirect=foo"));
        assert!(!ok("v=spf1 exp=%{"));
        assert!(!ok("v=spf1 a:example.%{x}"));
    }

    #[test]
    fn domain_end_needs_a_toplabel_or_a_macro() {
        assert!(domain_spec("example.com").is_ok());
        assert!(domain_spec("example.com.").is_ok());
        assert!(domain_spec("a.123-4").is_ok());
        assert!(domain_spec("%{d}").is_ok());
        assert!(domain_spec("museum").is_err());
        assert!(domain_spec("museum.").is_err());
        assert!(domain_spec("1.2.3.4").is_err());
        assert!(domain_spec("example.-com").is_err());
        assert!(domain_spec("example.com\0").is_err());
        assert!(domain_spec("%{c}.example.com").is_err());
        assert!(domain_spec("%{d0}.example.com").is_err());
    }
}
