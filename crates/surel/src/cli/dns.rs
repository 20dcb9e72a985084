//! `surel dns records DOMAIN`: what to publish in a domain's zone, in zone-file form.

use anyhow::Result;

use super::dkim::{keys_of, record_line};
use super::{DnsCommand, ensure_local_domain, parse_domain};

/// RFC 1035 §3.3.14: one character-string of a TXT record holds at most 255 octets.
const TXT_STRING_MAX: usize = 255;

pub async fn run(
    store: &dyn surel_store::Store,
    hostname: &str,
    command: DnsCommand,
) -> Result<()> {
    match command {
        DnsCommand::Records { domain } => {
            let domain = parse_domain(&domain)?;
            ensure_local_domain(store, &domain).await?;
            let keys = keys_of(store, &domain).await?;
            let hostname = hostname.trim_end_matches('.');
            println!("; Mail for {domain} comes to {hostname} (it also needs A/AAAA records).");
            println!("{domain}. IN MX 10 {hostname}.");
            // RFC 7208 §5.4: the MX hosts are the ones that send; nothing else may (-all).
            println!("; SPF: mail from {domain} leaves from its MX host only.");
            println!("{}", zone_txt(&format!("{domain}."), "v=spf1 mx -all"));
            println!("; DKIM: the public keys surel signs {domain}'s mail with.");
            if keys.is_empty() {
                println!("; (no DKIM keys: make a pair with `surel dkim gen {domain}`)");
            }
            for key in &keys {
                println!("{}", record_line(key)?);
            }
            // RFC 7489 §6.3. quarantine, not reject: everything surel sends is signed and covered
            // by SPF, but other senders of the domain (a newsletter service, a web form) may not
            // be yet; their mail goes to junk, not back, while the aggregate reports (rua, to the
            // domain's own postmaster, so no authorisation record is needed: RFC 7489 §7.1) show
            // them. Move to p=reject once the reports are clean.
            println!(
                "; DMARC: unaligned mail goes to junk; reports go to postmaster@{domain}. \
                 Raise to p=reject once the reports show only your own mail."
            );
            println!(
                "{}",
                zone_txt(
                    &format!("_dmarc.{domain}."),
                    &format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"),
                )
            );
            Ok(())
        }
    }
}

/// `value` cut into TXT character-strings of at most 255 octets each, never inside a UTF-8
/// character (record values here are ASCII).
pub(super) fn txt_strings(value: &str) -> Vec<&str> {
    let mut strings = Vec::new();
    let mut rest = value;
    while rest.len() > TXT_STRING_MAX {
        let mut cut = TXT_STRING_MAX;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        strings.push(head);
        rest = tail;
    }
    if !rest.is_empty() || strings.is_empty() {
        strings.push(rest);
    }
    strings
}

/// A zone-file TXT record: `NAME IN TXT "…"`, or `NAME IN TXT ( "…" "…" )` when the value
/// needs more than one string (RFC 1035 §5.1: parentheses group a record; a verifier joins the
/// strings with nothing between, RFC 6376 §3.6.2.2).
pub(super) fn zone_txt(name: &str, value: &str) -> String {
    let quoted: Vec<String> = txt_strings(value)
        .into_iter()
        // RFC 1035 §5.1: `\` and `"` are escaped inside a quoted string.
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    match quoted.as_slice() {
        [one] => format!("{name} IN TXT {one}"),
        many => format!("{name} IN TXT ( {} )", many.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_values_split_at_255_octets() {
        assert_eq!(txt_strings(""), [""]);
        assert_eq!(txt_strings("v=spf1 mx -all"), ["v=spf1 mx -all"]);
        let exact = "a".repeat(255);
        assert_eq!(txt_strings(&exact), [exact.as_str()]);
        let long = format!("{}{}{}", "a".repeat(255), "b".repeat(255), "c");
        let parts = txt_strings(&long);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), long);
        // Never inside a character.
        let wide = "é".repeat(200);
        let parts = txt_strings(&wide);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), wide);
    }

    #[test]
    fn zone_lines_group_long_values_in_parentheses() {
        assert_eq!(
            zone_txt("example.com.", "v=spf1 mx -all"),
            "example.com. IN TXT \"v=spf1 mx -all\""
        );
        let long = format!("v=DKIM1; k=rsa; p={}", "A".repeat(392));
        let line = zone_txt("s._domainkey.example.com.", &long);
        let expected = format!(
            "s._domainkey.example.com. IN TXT ( \"{}\" \"{}\" )",
            &long[..255],
            &long[255..]
        );
        assert_eq!(line, expected);
        assert_eq!(zone_txt("x.", "say \"hi\""), "x. IN TXT \"say \\\"hi\\\"\"");
    }
}
