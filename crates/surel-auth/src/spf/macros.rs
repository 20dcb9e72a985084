//! Macro expansion (RFC 7208 §7).

use std::fmt::Write as _;
use std::net::IpAddr;

use super::record::Part;

/// What the macro letters stand for in one check_host() call.
pub(crate) struct Vars<'a> {
    /// `l`: the sender's local-part ("postmaster" when there was none, §4.3).
    pub(crate) local: &'a str,
    /// `o`: the sender's domain.
    pub(crate) sender_domain: &'a str,
    /// `d`: the domain whose record is being evaluated.
    pub(crate) domain: &'a str,
    /// `i` / `c`: the client address (already mapped to IPv4 when IPv4-mapped).
    pub(crate) ip: IpAddr,
    /// `h`: the HELO/EHLO name as given.
    pub(crate) helo: &'a str,
    /// `r`: our host name.
    pub(crate) receiver: &'a str,
    /// `p`: the validated domain name of `ip` (§7.3), looked up only when a macro asks.
    pub(crate) validated: Option<&'a str>,
}

/// Whether expanding `parts` needs the `p` macro (a PTR lookup).
pub(crate) fn needs_ptr(parts: &[Part]) -> bool {
    parts
        .iter()
        .any(|p| matches!(p, Part::Macro { letter: 'p', .. }))
}

/// Expands `parts` (RFC 7208 §7.3, §7.4).
pub(crate) fn expand(parts: &[Part], vars: &Vars<'_>) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Escape(text) => out.push_str(text),
            Part::Macro {
                letter,
                escape,
                keep,
                reverse,
                delimiters,
            } => {
                let value = value(*letter, vars);
                // RFC 7208 §7.3: split on the delimiters (default "."), reverse if asked, keep
                // the rightmost `keep` parts, and join them with ".".
                let delims: &[char] = &delimiters.chars().collect::<Vec<_>>();
                let mut pieces: Vec<&str> = if delims.is_empty() {
                    value.split('.').collect()
                } else {
                    value.split(delims).collect()
                };
                if *reverse {
                    pieces.reverse();
                }
                if let Some(keep) = keep {
                    let skip = pieces.len().saturating_sub(*keep);
                    pieces.drain(..skip);
                }
                let joined = pieces.join(".");
                if *escape {
                    // RFC 7208 §7.3: upper-case letters URL-escape the expansion (RFC 3986).
                    url_escape(&joined, &mut out);
                } else {
                    out.push_str(&joined);
                }
            }
        }
    }
    out
}

/// The value of one macro letter (RFC 7208 §7.2).
fn value(letter: char, vars: &Vars<'_>) -> String {
    match letter {
        's' => format!("{}@{}", vars.local, vars.sender_domain),
        'l' => vars.local.to_string(),
        'o' => vars.sender_domain.to_string(),
        'd' => vars.domain.to_string(),
        'i' => dotted(vars.ip),
        'c' => vars.ip.to_string(),
        'p' => vars.validated.unwrap_or("unknown").to_string(),
        'v' => match vars.ip {
            IpAddr::V4(_) => "in-addr".to_string(),
            IpAddr::V6(_) => "ip6".to_string(),
        },
        'h' => vars.helo.to_string(),
        'r' => vars.receiver.to_string(),
        't' => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs().to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `i`: dotted quad, or (§7.3) IPv6 as 32 dot-separated nibbles.
pub(crate) fn dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(63);
            for byte in v6.octets() {
                for nibble in [byte >> 4, byte & 0x0f] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let _ = write!(out, "{nibble:x}");
                }
            }
            out
        }
    }
}

fn url_escape(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spf::record::macro_string;

    fn vars(ip: &str) -> Vars<'static> {
        Vars {
            local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            helo: "mx.example.org",
            receiver: "receiver.test",
            validated: None,
        }
    }

    fn x(spec: &str, ip: &str) -> String {
        expand(&macro_string(spec, true).unwrap(), &vars(ip))
    }

    #[test]
    fn rfc_7208_section_7_4_examples() {
        let v4 = "192.0.2.3";
        assert_eq!(x("%{s}", v4), "strong-bad@email.example.com");
        assert_eq!(x("%{o}", v4), "email.example.com");
        assert_eq!(x("%{d4}", v4), "email.example.com");
        assert_eq!(x("%{d3}", v4), "email.example.com");
        assert_eq!(x("%{d2}", v4), "example.com");
        assert_eq!(x("%{d1}", v4), "com");
        assert_eq!(x("%{dr}", v4), "com.example.email");
        assert_eq!(x("%{d2r}", v4), "example.email");
        assert_eq!(x("%{l}", v4), "strong-bad");
        assert_eq!(x("%{l-}", v4), "strong.bad");
        assert_eq!(x("%{lr}", v4), "strong-bad");
        assert_eq!(x("%{lr-}", v4), "bad.strong");
        assert_eq!(x("%{l1r-}", v4), "strong");
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}", v4),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(x("%{S}", v4), "strong-bad%40email.example.com");
        assert_eq!(x("%%%_%-", v4), "% %20");
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }
}
