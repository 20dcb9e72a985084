//! Reading header fields (RFC 5322 §2.2) and the mailboxes of an address field (§3.4), as the
//! submission checks need them: which From a message claims, whether it has Date and Message-ID.

/// The header fields of `message` as `(name, unfolded value)`, in order, up to the empty line.
pub fn header_fields(message: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break; // RFC 5322 §2.1: the empty line ends the header section
        }
        let text = String::from_utf8_lossy(line);
        // RFC 5322 §2.2.3: a line starting with WSP continues the field before it.
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(text.trim());
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The values of every field named `name` (case-insensitive), in order.
pub fn header_values(message: &[u8], name: &str) -> Vec<String> {
    header_fields(message)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// The addr-specs in an address-list field value (RFC 5322 §3.4): `Name <a@b>`, bare `a@b`,
/// groups (`team: a@b, c@d;`), with comments removed. Entries without `@` are skipped.
pub fn mailbox_addresses(value: &str) -> Vec<String> {
    // Remove comments (§3.2.2) outside quoted strings, and split on commas outside quotes and
    // angle brackets.
    let mut entries = Vec::new();
    let mut current = String::new();
    let (mut depth, mut quoted, mut angle, mut escaped) = (0usize, false, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                current.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '<' if !quoted => {
                angle = true;
                current.push(c);
            }
            '>' if !quoted => {
                angle = false;
                current.push(c);
            }
            ',' | ';' if !quoted && !angle => entries.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    entries.push(current);
    entries
        .iter()
        .filter_map(|entry| {
            // A group's display name ends in `:` outside quotes (§3.4).
            let entry = match (entry.find(':'), entry.find('<'), entry.find('"')) {
                (Some(colon), angle, quote)
                    if angle.is_none_or(|a| colon < a) && quote.is_none_or(|q| colon < q) =>
                {
                    entry.get(colon + 1..).unwrap_or_default()
                }
                _ => entry.as_str(),
            };
            let spec = match (entry.rfind('<'), entry.rfind('>')) {
                (Some(open), Some(close)) if open < close => entry.get(open + 1..close)?,
                _ => entry,
            };
            let spec = spec.trim();
            spec.contains('@').then(|| spec.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unfolded_and_stop_at_the_body() {
        let m = b"From: Alice\r\n <alice@a.test>\r\nSubject: hi\r\n\r\nFrom: body@x\r\n";
        assert_eq!(header_values(m, "from"), vec!["Alice <alice@a.test>"]);
        assert_eq!(header_values(m, "Date"), Vec::<String>::new());
    }

    #[test]
    fn address_lists() {
        assert_eq!(mailbox_addresses("alice@a.test"), vec!["alice@a.test"]);
        assert_eq!(
            mailbox_addresses(r#""Smith, J (x)" <j@a.test>, b@b.test (Bee)"#),
            vec!["j@a.test", "b@b.test"]
        );
        assert_eq!(
            mailbox_addresses("team: a@a.test, c@c.test;, d@d.test"),
            vec!["a@a.test", "c@c.test", "d@d.test"]
        );
        assert_eq!(
            mailbox_addresses("undisclosed-recipients:;"),
            Vec::<String>::new()
        );
    }
}
