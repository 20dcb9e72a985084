//! LIST / LSUB / LIST-EXTENDED / LIST-STATUS and STATUS responses (RFC 9051 §6.3.9, RFC 5258,
//! RFC 5819, RFC 6154, RFC 3348).
//!
//! Pure: the session hands over the account's mailboxes and subscriptions; these functions
//! decide which names match and write the untagged lines. The hierarchy separator is `/`.
use std::collections::{BTreeSet, HashMap};

use surel_imap_proto::encode;
use surel_imap_proto::{ListReturn, ListSelect, StatusItem};
use surel_store::MailboxStatus;
use surel_types::MailboxName;

/// A LIST (or LSUB) as the session hands it over: names already converted to UTF-8.
pub struct ListRequest<'a> {
    pub reference: &'a str,
    pub patterns: &'a [String],
    pub select: &'a ListSelect,
    pub ret: &'a ListReturn,
    /// LSUB (RFC 3501) rather than LIST.
    pub lsub: bool,
    /// Whether IMAP4rev2 was enabled (rev2 answers differ a little: RFC 9051 §6.3.9).
    pub rev2: bool,
}

const SEPARATOR: char = MailboxName::SEPARATOR;

/// Does `name` match `reference` + `pattern` (`*` any, `%` any but `/`; INBOX case-insensitive)?
pub fn matches(reference: &str, pattern: &str, name: &str) -> bool {
    // RFC 9051 §6.3.9: the reference and the pattern are read as one canonical pattern.
    let canonical = format!("{reference}{pattern}");
    // RFC 9051 §5.1: INBOX is case-insensitive, so is its first level when it has children.
    if name.eq_ignore_ascii_case("INBOX") {
        return wildcard_match(&canonical.to_ascii_uppercase(), "INBOX");
    }
    match canonical.get(..5) {
        Some(head)
            if head.eq_ignore_ascii_case("INBOX")
                && canonical
                    .get(5..)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(SEPARATOR)) =>
        {
            wildcard_match(
                &format!("INBOX{}", canonical.get(5..).unwrap_or_default()),
                name,
            )
        }
        _ => wildcard_match(&canonical, name),
    }
}

/// `*` matches anything, `%` anything but the separator. Runs in pattern × name steps (no
/// backtracking), so a hostile pattern costs at most quadratic time.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    // A literal character consumes one of the name's: more of them than the name has cannot
    // match (this also bounds the work below).
    let literals = pattern.chars().filter(|c| !matches!(c, '*' | '%')).count();
    if literals > name.len() {
        return false;
    }
    // reachable[j]: the pattern read so far can match the name's first j characters.
    let mut reachable = vec![false; name.len() + 1];
    if let Some(first) = reachable.first_mut() {
        *first = true;
    }
    let mut previous: Option<char> = None;
    for p in pattern.chars() {
        if previous == Some(p) && matches!(p, '*' | '%') {
            continue;
        }
        previous = Some(p);
        match p {
            '*' => {
                let mut any = false;
                for slot in reachable.iter_mut() {
                    any |= *slot;
                    *slot = any;
                }
            }
            '%' => {
                let mut any = false;
                for (j, slot) in reachable.iter_mut().enumerate() {
                    if j > 0 && name.get(j - 1) == Some(&SEPARATOR) {
                        any = false;
                    }
                    any |= *slot;
                    *slot = any;
                }
            }
            c => {
                for j in (0..reachable.len()).rev() {
                    let ok = j > 0
                        && reachable.get(j - 1).copied().unwrap_or(false)
                        && name.get(j - 1) == Some(&c);
                    if let Some(slot) = reachable.get_mut(j) {
                        *slot = ok;
                    }
                }
            }
        }
        if !reachable.contains(&true) {
            return false;
        }
    }
    reachable.last().copied().unwrap_or(false)
}

/// The proper ancestors of a name: `a/b/c` gives `a`, `a/b`.
fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(SEPARATOR).map(|(i, _)| &name[..i])
}

/// Whether any name in `names` lies below `name`.
fn has_descendant(names: &BTreeSet<&str>, name: &str) -> bool {
    let prefix = format!("{name}{SEPARATOR}");
    names
        .range(prefix.as_str()..)
        .next()
        .is_some_and(|n| n.starts_with(&prefix))
}

/// INBOX first, then by hierarchy level by level.
fn sort_key(name: &str) -> (bool, Vec<&str>) {
    (name != "INBOX", name.split(SEPARATOR).collect())
}

/// One name to be answered for.
#[derive(Default)]
struct Entry {
    /// It has a descendant meeting the selection criteria that the patterns do not match
    /// (RFC 5258 §3.5 CHILDINFO; for LSUB, `\Noselect`).
    childinfo: bool,
}

/// Writes every `* LIST` / `* LSUB` (and `* STATUS` for LIST-STATUS) line the request asks for.
/// `mailboxes`: the account's mailboxes with counts; `subscriptions`: its subscribed names.
/// `utf8`: names in UTF-8 (UTF8=ACCEPT/IMAP4rev2) rather than modified UTF-7.
pub fn list(
    out: &mut Vec<u8>,
    request: &ListRequest<'_>,
    mailboxes: &[MailboxStatus],
    subscriptions: &[MailboxName],
    utf8: bool,
    append_limit: u64,
) {
    let response: &[u8] = if request.lsub { b"LSUB" } else { b"LIST" };
    // RFC 9051 §6.3.9: an empty pattern asks for the separator and the root.
    if request.patterns.iter().any(String::is_empty) {
        out.extend_from_slice(b"* ");
        out.extend_from_slice(response);
        out.extend_from_slice(b" (\\Noselect) \"/\" \"\"\r\n");
    }
    let patterns: Vec<&str> = request
        .patterns
        .iter()
        .filter(|p| !p.is_empty())
        .map(String::as_str)
        .collect();
    if patterns.is_empty() {
        return;
    }
    let matched = |name: &str| patterns.iter().any(|p| matches(request.reference, p, name));

    let existing: HashMap<&str, &MailboxStatus> = mailboxes
        .iter()
        .map(|m| (m.mailbox.name.as_str(), m))
        .collect();
    let existing_names: BTreeSet<&str> = existing.keys().copied().collect();
    let subscribed: BTreeSet<&str> = subscriptions.iter().map(MailboxName::as_str).collect();

    if request.lsub {
        return lsub(out, &subscribed, &existing, matched, utf8);
    }

    let select = request.select;
    let ret = request.ret;
    // The names meeting the selection criteria (RFC 5258 §3).
    let selected: BTreeSet<&str> = if select.subscribed {
        subscribed.clone()
    } else {
        existing_names.clone()
    }
    .into_iter()
    .filter(|name| {
        !select.special_use
            || existing
                .get(name)
                .is_some_and(|m| m.mailbox.special_use.is_some())
    })
    .collect();
    let has_criteria = select.subscribed || select.special_use;

    let mut entries: HashMap<&str, Entry> = HashMap::new();
    for &name in &selected {
        if matched(name) {
            entries.entry(name).or_default();
        }
    }
    for &name in &selected {
        if matched(name) {
            continue;
        }
        for parent in ancestors(name) {
            if !matched(parent) {
                continue;
            }
            if select.recursive_match {
                entries.entry(parent).or_default().childinfo = true;
            } else if !has_criteria && !existing.contains_key(parent) {
                // RFC 5258 §5 example 11: a missing level above a mailbox the pattern skips.
                entries.entry(parent).or_default();
            }
        }
    }

    // RFC 5258 §3: \NonExistent comes with the extended command; RFC 9051 has it in the base.
    let extended =
        request.rev2 || *select != ListSelect::default() || *ret != ListReturn::default();
    let show_subscribed = select.subscribed || ret.subscribed;
    let mut names: Vec<&str> = entries.keys().copied().collect();
    names.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    for name in names {
        let status = existing.get(name).copied();
        let mut attributes: Vec<&str> = Vec::new();
        if status.is_none() {
            attributes.push(if extended {
                "\\NonExistent"
            } else {
                "\\Noselect"
            });
        }
        // RFC 3348 / RFC 5258 §4: always computed.
        attributes.push(if has_descendant(&existing_names, name) {
            "\\HasChildren"
        } else {
            "\\HasNoChildren"
        });
        if let Some(special) = status.and_then(|m| m.mailbox.special_use) {
            // RFC 6154 §2: a server may send the special-use attributes unasked.
            attributes.push(special.attribute());
        }
        if show_subscribed && subscribed.contains(name) {
            attributes.push("\\Subscribed");
        }
        let mut extended_data = String::new();
        if entries.get(name).is_some_and(|e| e.childinfo) {
            // RFC 5258 §3.5: the selection criteria the children meet, always quoted.
            let mut criteria = Vec::new();
            if select.subscribed {
                criteria.push("\"SUBSCRIBED\"");
            }
            if select.special_use {
                criteria.push("\"SPECIAL-USE\"");
            }
            extended_data = format!(" (\"CHILDINFO\" ({}))", criteria.join(" "));
        }
        write_line(out, b"LIST", &attributes, name, utf8);
        out.extend_from_slice(extended_data.as_bytes());
        out.extend_from_slice(b"\r\n");
        // RFC 5819 §2: STATUS follows the LIST line of each selectable mailbox.
        if let (Some(items), Some(status)) = (&ret.status, status) {
            self::status(out, status, items, utf8, append_limit);
        }
    }
}

/// RFC 3501 §6.3.9: subscribed names matching; a level matched by `%` whose subscribed
/// descendants are not matched is sent with `\Noselect`, as is a subscribed name that is gone.
fn lsub(
    out: &mut Vec<u8>,
    subscribed: &BTreeSet<&str>,
    existing: &HashMap<&str, &MailboxStatus>,
    matched: impl Fn(&str) -> bool,
    utf8: bool,
) {
    let mut entries: HashMap<&str, Entry> = HashMap::new();
    for &name in subscribed {
        if matched(name) {
            entries.entry(name).or_default();
            continue;
        }
        for parent in ancestors(name) {
            if matched(parent) && !subscribed.contains(parent) {
                entries.entry(parent).or_default().childinfo = true;
            }
        }
    }
    let mut names: Vec<&str> = entries.keys().copied().collect();
    names.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    for name in names {
        let noselect =
            entries.get(name).is_some_and(|e| e.childinfo) || !existing.contains_key(name);
        let attributes: &[&str] = if noselect { &["\\Noselect"] } else { &[] };
        write_line(out, b"LSUB", attributes, name, utf8);
        out.extend_from_slice(b"\r\n");
    }
}

/// `* LIST (attrs) "/" name`, without the line end (extended data may follow).
fn write_line(out: &mut Vec<u8>, response: &[u8], attributes: &[&str], name: &str, utf8: bool) {
    out.extend_from_slice(b"* ");
    out.extend_from_slice(response);
    out.extend_from_slice(b" (");
    out.extend_from_slice(attributes.join(" ").as_bytes());
    out.extend_from_slice(b") \"/\" ");
    encode::mailbox(out, name, utf8);
}

/// Writes `* STATUS name (ITEM n ...)` with the items in the order asked.
pub fn status(
    out: &mut Vec<u8>,
    status: &MailboxStatus,
    items: &[StatusItem],
    utf8: bool,
    append_limit: u64,
) {
    let mailbox = &status.mailbox;
    out.extend_from_slice(b"* STATUS ");
    encode::mailbox(out, mailbox.name.as_str(), utf8);
    out.extend_from_slice(b" (");
    let mut written: Vec<StatusItem> = Vec::new();
    for item in items {
        if written.contains(item) {
            continue;
        }
        if !written.is_empty() {
            out.push(b' ');
        }
        written.push(*item);
        let (name, value) = match item {
            StatusItem::Messages => ("MESSAGES", u64::from(mailbox.exists)),
            // surel keeps no \Recent (RFC 9051 §6.3.11 dropped RECENT; rev1 clients see 0).
            StatusItem::Recent => ("RECENT", 0),
            StatusItem::UidNext => ("UIDNEXT", u64::from(mailbox.uid_next.0)),
            StatusItem::UidValidity => ("UIDVALIDITY", u64::from(mailbox.uid_validity)),
            StatusItem::Unseen => ("UNSEEN", u64::from(status.unseen)),
            StatusItem::Deleted => ("DELETED", u64::from(status.deleted)),
            StatusItem::Size => ("SIZE", status.size),
            StatusItem::HighestModSeq => ("HIGHESTMODSEQ", mailbox.highest_modseq.0),
            StatusItem::AppendLimit => ("APPENDLIMIT", append_limit),
        };
        out.extend_from_slice(format!("{name} {value}").as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use surel_store::Mailbox;
    use surel_types::{AccountId, MailboxId, ModSeq, SpecialUse, Uid};

    fn mailbox(id: i64, name: &str, special_use: Option<SpecialUse>) -> MailboxStatus {
        MailboxStatus {
            mailbox: Mailbox {
                id: MailboxId(id),
                account: AccountId(1),
                name: MailboxName::parse(name).unwrap(),
                special_use,
                uid_validity: 1000 + id as u32,
                uid_next: Uid(10),
                highest_modseq: ModSeq(50),
                exists: 3,
            },
            unseen: 1,
            deleted: 0,
            size: 300,
        }
    }

    fn mailboxes() -> Vec<MailboxStatus> {
        vec![
            mailbox(1, "INBOX", None),
            mailbox(2, "Sent", Some(SpecialUse::Sent)),
            mailbox(3, "Archive", Some(SpecialUse::Archive)),
            mailbox(4, "a/b", None),
            mailbox(5, "Work", None),
            mailbox(6, "Work/Projects", None),
            mailbox(7, "台北", None),
        ]
    }

    fn subscriptions() -> Vec<MailboxName> {
        ["INBOX", "Sent", "Work/Projects", "Gone", "a/b"]
            .iter()
            .map(|n| MailboxName::parse(n).unwrap())
            .collect()
    }

    struct Ask<'a> {
        reference: &'a str,
        patterns: &'a [&'a str],
        select: ListSelect,
        ret: ListReturn,
        lsub: bool,
        rev2: bool,
    }

    fn ask<'a>(reference: &'a str, patterns: &'a [&'a str]) -> Ask<'a> {
        Ask {
            reference,
            patterns,
            select: ListSelect::default(),
            ret: ListReturn::default(),
            lsub: false,
            rev2: false,
        }
    }

    fn run(a: Ask<'_>) -> String {
        let patterns: Vec<String> = a.patterns.iter().map(|p| p.to_string()).collect();
        let request = ListRequest {
            reference: a.reference,
            patterns: &patterns,
            select: &a.select,
            ret: &a.ret,
            lsub: a.lsub,
            rev2: a.rev2,
        };
        let mut out = Vec::new();
        list(
            &mut out,
            &request,
            &mailboxes(),
            &subscriptions(),
            a.rev2,
            1000,
        );
        String::from_utf8(out).unwrap()
    }

    fn lines(lines: &[&str]) -> String {
        lines.iter().map(|l| format!("{l}\r\n")).collect()
    }

    #[test]
    fn pattern_matching() {
        let table = [
            ("", "*", "a/b", true),
            ("", "%", "a/b", false),
            ("", "%", "a", true),
            ("a/", "%", "a/b", true),
            ("a/", "%", "a/b/c", false),
            ("a", "/*", "a/b/c", true),
            ("", "a%", "abc", true),
            ("", "a%c", "abbc", true),
            ("", "a%c", "ab/c", false),
            ("", "a*c", "ab/c", true),
            ("", "a*c", "ab/cd", false),
            ("", "%/%", "a/b", true),
            ("", "**%%", "x/y", true),
            ("", "Work", "work", false),
            ("", "inbox", "INBOX", true),
            ("", "InBox", "INBOX", true),
            ("", "in%", "INBOX", true),
            ("", "inbox*", "INBOX", true),
            ("", "inbox/%", "INBOX/x", true),
            ("", "inbox*", "INBOXfoo", false),
            ("", "INBOX%", "INBOXfoo", true),
            ("", "台*", "台北", true),
            ("", "台", "台北", false),
            ("", "", "INBOX", false),
        ];
        for (reference, pattern, name, want) in table {
            assert_eq!(
                matches(reference, pattern, name),
                want,
                "{reference:?} {pattern:?} {name:?}"
            );
        }
    }

    #[test]
    fn hostile_patterns_are_cheap() {
        let name = "a".repeat(1000);
        let pattern = "%a".repeat(4000);
        assert!(!matches("", &pattern, &name));
        let pattern = "*a".repeat(500);
        assert!(matches("", &pattern, &name));
    }

    #[test]
    fn basic_list() {
        assert_eq!(
            run(ask("", &["*"])),
            lines(&[
                r#"* LIST (\HasNoChildren) "/" INBOX"#,
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
                r#"* LIST (\HasChildren) "/" Work"#,
                r#"* LIST (\HasNoChildren) "/" Work/Projects"#,
                r#"* LIST (\HasNoChildren) "/" a/b"#,
                r#"* LIST (\HasNoChildren) "/" &U,BTFw-"#,
            ])
        );
        // RFC 3501 §6.3.8: a level `%` matches that is not a mailbox is \Noselect.
        assert_eq!(
            run(ask("", &["%"])),
            lines(&[
                r#"* LIST (\HasNoChildren) "/" INBOX"#,
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
                r#"* LIST (\HasChildren) "/" Work"#,
                r#"* LIST (\Noselect \HasChildren) "/" a"#,
                r#"* LIST (\HasNoChildren) "/" &U,BTFw-"#,
            ])
        );
        assert_eq!(
            run(ask("Work/", &["%"])),
            lines(&[r#"* LIST (\HasNoChildren) "/" Work/Projects"#])
        );
        assert_eq!(
            run(ask("", &["inbox"])),
            lines(&[r#"* LIST (\HasNoChildren) "/" INBOX"#])
        );
        assert_eq!(run(ask("", &["nothing"])), "");
        assert_eq!(
            run(ask("", &[""])),
            lines(&[r#"* LIST (\Noselect) "/" """#])
        );
        assert_eq!(
            run(ask("Work/", &[""])),
            lines(&[r#"* LIST (\Noselect) "/" """#])
        );
    }

    #[test]
    fn rev2_list_uses_nonexistent_and_utf8() {
        let mut a = ask("", &["%"]);
        a.rev2 = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren) "/" INBOX"#,
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
                r#"* LIST (\HasChildren) "/" Work"#,
                r#"* LIST (\NonExistent \HasChildren) "/" a"#,
                r#"* LIST (\HasNoChildren) "/" "台北""#,
            ])
        );
    }

    #[test]
    fn multiple_patterns_list_each_name_once() {
        assert_eq!(
            run(ask("", &["INBOX", "Work/*", "*Projects", "a"])),
            lines(&[
                r#"* LIST (\HasNoChildren) "/" INBOX"#,
                r#"* LIST (\HasNoChildren) "/" Work/Projects"#,
                r#"* LIST (\Noselect \HasChildren) "/" a"#,
            ])
        );
        // RFC 5258 §5 example 11: the child is listed, so its missing parent need not be.
        assert_eq!(
            run(ask("", &["%", "a/b"]))
                .lines()
                .filter(|l| l.ends_with(" a"))
                .count(),
            0
        );
    }

    #[test]
    fn select_subscribed() {
        let mut a = ask("", &["*"]);
        a.select.subscribed = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren \Subscribed) "/" INBOX"#,
                r#"* LIST (\NonExistent \HasNoChildren \Subscribed) "/" Gone"#,
                r#"* LIST (\HasNoChildren \Sent \Subscribed) "/" Sent"#,
                r#"* LIST (\HasNoChildren \Subscribed) "/" Work/Projects"#,
                r#"* LIST (\HasNoChildren \Subscribed) "/" a/b"#,
            ])
        );
        // RFC 5258 §5 example 8: without RECURSIVEMATCH, unsubscribed parents are not listed.
        let mut a = ask("", &["%"]);
        a.select.subscribed = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren \Subscribed) "/" INBOX"#,
                r#"* LIST (\NonExistent \HasNoChildren \Subscribed) "/" Gone"#,
                r#"* LIST (\HasNoChildren \Sent \Subscribed) "/" Sent"#,
            ])
        );
    }

    #[test]
    fn recursivematch_gives_childinfo() {
        let mut a = ask("", &["%"]);
        a.select.subscribed = true;
        a.select.recursive_match = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren \Subscribed) "/" INBOX"#,
                r#"* LIST (\NonExistent \HasNoChildren \Subscribed) "/" Gone"#,
                r#"* LIST (\HasNoChildren \Sent \Subscribed) "/" Sent"#,
                r#"* LIST (\HasChildren) "/" Work ("CHILDINFO" ("SUBSCRIBED"))"#,
                r#"* LIST (\NonExistent \HasChildren) "/" a ("CHILDINFO" ("SUBSCRIBED"))"#,
            ])
        );
        // The children are listed too: no redundant CHILDINFO (RFC 5258 §3.5 SHOULD).
        let mut a = ask("", &["W*"]);
        a.select.subscribed = true;
        a.select.recursive_match = true;
        assert_eq!(
            run(a),
            lines(&[r#"* LIST (\HasNoChildren \Subscribed) "/" Work/Projects"#])
        );
    }

    #[test]
    fn special_use_selection_and_return_subscribed() {
        let mut a = ask("", &["*"]);
        a.select.special_use = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
            ])
        );
        let mut a = ask("", &["%"]);
        a.ret.subscribed = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren \Subscribed) "/" INBOX"#,
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* LIST (\HasNoChildren \Sent \Subscribed) "/" Sent"#,
                r#"* LIST (\HasChildren) "/" Work"#,
                r#"* LIST (\NonExistent \HasChildren) "/" a"#,
                r#"* LIST (\HasNoChildren) "/" &U,BTFw-"#,
            ])
        );
    }

    #[test]
    fn list_status_follows_selectable_mailboxes() {
        let mut a = ask("", &["%"]);
        a.ret.status = Some(vec![StatusItem::Messages, StatusItem::Unseen]);
        a.rev2 = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LIST (\HasNoChildren) "/" INBOX"#,
                r#"* STATUS INBOX (MESSAGES 3 UNSEEN 1)"#,
                r#"* LIST (\HasNoChildren \Archive) "/" Archive"#,
                r#"* STATUS Archive (MESSAGES 3 UNSEEN 1)"#,
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#,
                r#"* STATUS Sent (MESSAGES 3 UNSEEN 1)"#,
                r#"* LIST (\HasChildren) "/" Work"#,
                r#"* STATUS Work (MESSAGES 3 UNSEEN 1)"#,
                r#"* LIST (\NonExistent \HasChildren) "/" a"#,
                r#"* LIST (\HasNoChildren) "/" "台北""#,
                r#"* STATUS "台北" (MESSAGES 3 UNSEEN 1)"#,
            ])
        );
    }

    #[test]
    fn lsub() {
        let mut a = ask("", &["*"]);
        a.lsub = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LSUB () "/" INBOX"#,
                r#"* LSUB (\Noselect) "/" Gone"#,
                r#"* LSUB () "/" Sent"#,
                r#"* LSUB () "/" Work/Projects"#,
                r#"* LSUB () "/" a/b"#,
            ])
        );
        // RFC 3501 §6.3.9: `%` returns the unsubscribed level above subscribed children.
        let mut a = ask("", &["%"]);
        a.lsub = true;
        assert_eq!(
            run(a),
            lines(&[
                r#"* LSUB () "/" INBOX"#,
                r#"* LSUB (\Noselect) "/" Gone"#,
                r#"* LSUB () "/" Sent"#,
                r#"* LSUB (\Noselect) "/" Work"#,
                r#"* LSUB (\Noselect) "/" a"#,
            ])
        );
        let mut a = ask("Work/", &["%"]);
        a.lsub = true;
        assert_eq!(run(a), lines(&[r#"* LSUB () "/" Work/Projects"#]));
    }

    #[test]
    fn status_items_in_the_order_asked() {
        use StatusItem::*;
        let items = [
            Messages,
            UidNext,
            UidValidity,
            Unseen,
            Deleted,
            Size,
            HighestModSeq,
            Recent,
            AppendLimit,
        ];
        let mut out = Vec::new();
        status(&mut out, &mailbox(2, "Sent", None), &items, false, 1000);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* STATUS Sent (MESSAGES 3 UIDNEXT 10 UIDVALIDITY 1002 UNSEEN 1 DELETED 0 SIZE 300 \
             HIGHESTMODSEQ 50 RECENT 0 APPENDLIMIT 1000)\r\n"
        );
        let mut out = Vec::new();
        status(
            &mut out,
            &mailbox(2, "Sent Items", None),
            &[Unseen, Messages, Unseen],
            false,
            0,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* STATUS \"Sent Items\" (UNSEEN 1 MESSAGES 3)\r\n"
        );
        let mut out = Vec::new();
        status(&mut out, &mailbox(7, "台北", None), &[], false, 0);
        assert_eq!(String::from_utf8(out).unwrap(), "* STATUS &U,BTFw- ()\r\n");
    }
}
