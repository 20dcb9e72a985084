//! mbsync (isync 1.4) syncing an INBOX of 1,000 messages with a local Maildir both ways, flags
//! included, against the real IMAP server; the server side is checked through imaplib
//! (`tests/clients/imap_mbsync_imap.py`) and the store.
//!
//! What mbsync does to message bytes (isync `copy_msg_convert`): IMAP is CRLF and a Maildir is
//! LF, so line ends are converted both ways, and every message it propagates gets one
//! `X-TUID: …` header line inserted at the end of its header (its crash-recovery tag). The
//! comparisons below undo exactly those two things and nothing else.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use serde_json::{Value, json};

const USER: &str = "sync@local.test";
const PASSWORD: &str = "mbsync password";
const MESSAGES: usize = 1000;

fn mid(k: usize) -> String {
    format!("mbsync-{k}@{CLIENT_NAME}")
}

/// Message `k` as sent over SMTP: CRLF line ends only, some multipart, some lines starting
/// with a dot, sizes from a few hundred octets to ~20 KB.
fn generated(k: usize) -> Vec<u8> {
    let mut rng = Rng::new(k as u64 + 7);
    let mut m = format!(
        "From: Sender {k} <sender{}@remote.test>\r\nTo: <{USER}>\r\nSubject: sync test {k}\r\n\
         Message-ID: <{}>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n",
        k % 13,
        mid(k)
    );
    let lines = 3 + rng.below(if k.is_multiple_of(97) { 300 } else { 60 }) as usize;
    let mut body = String::new();
    for l in 0..lines {
        if l % 11 == 5 {
            body.push_str(".a line starting with a dot\r\n");
        }
        let width = 10 + rng.below(60) as usize;
        let line: String = (0..width)
            .map(|_| {
                char::from(b"abcdefghij klmnopqrst uvwxyz,. 0123456789"[rng.below(41) as usize])
            })
            .collect();
        body.push_str(line.trim_end());
        body.push_str("\r\n");
    }
    if k.is_multiple_of(4) {
        m.push_str("Content-Type: multipart/alternative; boundary=\"b-oundary\"\r\n\r\n");
        m.push_str(&format!(
            "--b-oundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\
             --b-oundary\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{k} caf\u{e9}</p>\r\n\
             --b-oundary--\r\n"
        ));
    } else {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        m.push_str(&body);
    }
    m.into_bytes()
}

/// Delivers messages `0..MESSAGES` over 4 SMTP connections (MAIL, RCPT and DATA pipelined).
fn deliver_all(server: &TestServer) {
    let addr = server.smtp_addr();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut smtp = RawSmtp::connect(addr);
                smtp.expect("220");
                smtp.ehlo();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if k >= MESSAGES {
                        break;
                    }
                    smtp.send(format!(
                        "MAIL FROM:<sender@remote.test>\r\nRCPT TO:<{USER}>\r\nDATA\r\n"
                    ));
                    smtp.expect("250");
                    smtp.expect("250");
                    smtp.expect("354");
                    smtp.send(dot_stuffed(&generated(k)));
                    smtp.expect("250");
                }
                smtp.reply_to("QUIT");
            })
        })
        .collect();
    for w in workers {
        w.join().expect("an SMTP delivery thread failed");
    }
}

fn message_id_of(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let header = text.split("\n\n").next().unwrap_or("");
    let header = header.split("\r\n\r\n").next().unwrap_or("");
    header.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("message-id").then(|| {
            value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn crlf_to_lf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn lf_to_crlf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 40);
    for &c in b {
        if c == b'\n' {
            out.push(b'\r');
        }
        out.push(c);
    }
    out
}

/// Removes mbsync's `X-TUID:` line from the header section (at most one; `eol` is the line
/// end of `b`); fails if there are several.
fn without_tuid(b: &[u8], eol: &[u8]) -> Vec<u8> {
    let blank: Vec<u8> = [eol, eol].concat();
    let header_end = b
        .windows(blank.len())
        .position(|w| w == blank.as_slice())
        .map_or(b.len(), |p| p + eol.len());
    let mut out = Vec::with_capacity(b.len());
    let mut found = 0;
    let mut i = 0;
    while i < header_end {
        let end = b[i..header_end]
            .windows(eol.len())
            .position(|w| w == eol)
            .map_or(header_end, |p| i + p + eol.len());
        if b[i..end].starts_with(b"X-TUID: ") {
            found += 1;
        } else {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    assert!(
        found <= 1,
        "{found} X-TUID lines in\n{}",
        String::from_utf8_lossy(b)
    );
    out.extend_from_slice(&b[header_end..]);
    out
}

/// One file of the local Maildir.
#[derive(Clone, Debug)]
struct Local {
    path: PathBuf,
    /// The maildir flag letters after `:2,`.
    flags: String,
    /// mbsync's `,U=` UID (the Maildir's own numbering), if the name has one.
    uid: Option<u32>,
    bytes: Vec<u8>,
}

/// Every message file of the Maildir at `dir` by Message-ID (each must have one, and only once).
fn maildir(dir: &Path) -> BTreeMap<String, Local> {
    let mut found = BTreeMap::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("read_dir").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (base, flags) = name.split_once(":2,").unwrap_or((&name, ""));
            let uid = base
                .split(',')
                .find_map(|f| f.strip_prefix("U="))
                .map(|u| u.parse().expect("U= number"));
            let bytes = std::fs::read(&path).expect("read a maildir file");
            let id = message_id_of(&bytes).unwrap_or_else(|| panic!("no Message-ID in {name}"));
            let local = Local {
                path: path.clone(),
                flags: flags.to_string(),
                uid,
                bytes,
            };
            if let Some(other) = found.insert(id.clone(), local) {
                panic!("{id} twice in the Maildir: {:?} and {path:?}", other.path);
            }
        }
    }
    found
}

struct Sync {
    rc: PathBuf,
    home: PathBuf,
    inbox: PathBuf,
}

impl Sync {
    fn new(server: &TestServer) -> Self {
        require_tool("mbsync", &["--version"]);
        let home = server.dir().join("home");
        let mail = home.join("mail");
        std::fs::create_dir_all(&mail).expect("mkdir");
        let inbox = mail.join("INBOX");
        let port = server.listening_on("imap").port();
        let rc = home.join("mbsyncrc");
        // Plain IMAP over loopback: the server allows LOGIN there without TLS, and isync 1.4
        // cannot be told to skip certificate checks for the self-signed default certificate.
        std::fs::write(
            &rc,
            format!(
                "IMAPAccount surel\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass \"{PASSWORD}\"\n\
                 SSLType None\nAuthMechs LOGIN\nTimeout 60\n\n\
                 IMAPStore remote\nAccount surel\n\n\
                 MaildirStore local\nPath {mail}/\nInbox {inbox}\nSubFolders Verbatim\n\n\
                 Channel inbox\nFar :remote:\nNear :local:\nSync All\nCreate Both\n\
                 Expunge Both\nSyncState *\n",
                mail = mail.display(),
                inbox = inbox.display(),
            ),
        )
        .expect("write mbsyncrc");
        Sync { rc, home, inbox }
    }

    /// `mbsync -a`, which must succeed; returns its output.
    fn run(&self, what: &str) -> String {
        let began = Instant::now();
        let mut command = Command::new("mbsync");
        command
            .env("HOME", &self.home)
            .arg("-c")
            .arg(&self.rc)
            .arg("-a");
        let out = run_bounded(&mut command, None, WAIT * 2);
        let text = format!(
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("mbsync ({what}) took {:?}; {text}", began.elapsed());
        assert!(
            out.status.success(),
            "mbsync ({what}) failed: {}\n{text}",
            out.status
        );
        text
    }
}

/// The server's INBOX through imaplib after running `ops`: Message-ID -> (UID, flags).
fn imap_state(
    server: &TestServer,
    ops: Value,
) -> (BTreeMap<String, (u32, BTreeSet<String>)>, Value) {
    let port = server.listening_on("imap").port().to_string();
    let ops = ops.to_string();
    let out = server.run_py(
        "imap_mbsync_imap.py",
        &[
            "--port",
            &port,
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--ops",
            &ops,
        ],
    );
    for r in out["results"].as_array().expect("results") {
        assert!(
            r.as_str().unwrap_or_default().starts_with("OK"),
            "{r} in {out:#}"
        );
    }
    let mut state = BTreeMap::new();
    for m in out["messages"].as_array().expect("messages") {
        let id = m["message_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no Message-ID for {m}"))
            .to_string();
        let flags: BTreeSet<String> = m["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            // \Recent is session state the server may show an IMAP4rev1 client; not synced.
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .collect();
        let uid = m["uid"].as_u64().unwrap() as u32;
        assert!(
            state.insert(id.clone(), (uid, flags)).is_none(),
            "{id} twice on the server"
        );
    }
    assert_eq!(out["exists"].as_u64(), Some(state.len() as u64), "{out:#}");
    (state, out)
}

/// Maildir flag letters -> IMAP system flags (mbsync's mapping).
fn imap_flags(letters: &str) -> BTreeSet<String> {
    letters
        .chars()
        .map(|c| match c {
            'D' => "\\Draft",
            'F' => "\\Flagged",
            'R' => "\\Answered",
            'S' => "\\Seen",
            'T' => "\\Deleted",
            other => panic!("unexpected maildir flag {other}"),
        })
        .map(str::to_string)
        .collect()
}

fn letters(flags: &BTreeSet<String>) -> String {
    let mut l: Vec<char> = flags
        .iter()
        .map(|f| match f.as_str() {
            "\\Draft" => 'D',
            "\\Flagged" => 'F',
            "\\Answered" => 'R',
            "\\Seen" => 'S',
            "\\Deleted" => 'T',
            other => panic!("unexpected flag {other}"),
        })
        .collect();
    l.sort_unstable();
    l.into_iter().collect()
}

/// Renames a Maildir file into cur/ with `flags` (sorted letters, as Maildir wants).
fn set_local_flags(inbox: &Path, local: &Local, flags: &str) {
    let name = local
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let base = name.split_once(":2,").map_or(name.as_str(), |(b, _)| b);
    let mut sorted: Vec<char> = flags.chars().collect();
    sorted.sort_unstable();
    let to = inbox.join("cur").join(format!(
        "{base}:2,{}",
        sorted.into_iter().collect::<String>()
    ));
    std::fs::rename(&local.path, &to).expect("rename a maildir file");
}

#[test]
fn mbsync_syncs_1000_messages_and_flags_both_ways() {
    let started = Instant::now();
    let mut server = TestServer::configure("");
    server.enable_listener("imap");
    server.spawn();
    server.add_domain("local.test");
    server.add_account(USER, PASSWORD);
    deliver_all(&server);
    let stored: BTreeMap<String, Vec<u8>> = server
        .inbox(USER)
        .into_iter()
        .map(|b| (message_id_of(&b).expect("stored Message-ID"), b))
        .collect();
    assert_eq!(stored.len(), MESSAGES);
    for k in [0, 1, 97, MESSAGES - 1] {
        assert_delivered(&stored[&mid(k)], &generated(k));
    }
    eprintln!("delivered {MESSAGES} messages in {:?}", started.elapsed());

    // ---- 1. the first sync: everything comes down, byte for byte ----
    let sync = Sync::new(&server);
    sync.run("first");
    let local = maildir(&sync.inbox);
    assert_eq!(
        local.len(),
        MESSAGES,
        "messages in the Maildir after the first sync"
    );
    let (server_state, _) = imap_state(&server, json!([]));
    for (id, bytes) in &stored {
        let l = &local[id];
        assert_eq!(
            without_tuid(&l.bytes, b"\n"),
            crlf_to_lf(bytes),
            "{id}: the Maildir file is not the stored message (LF line ends)"
        );
        assert_eq!(l.flags, "", "{id}: flags after the first sync");
        assert!(
            server_state[id].1.is_empty(),
            "{id}: server flags {:?}",
            server_state[id].1
        );
    }

    // ---- 2. local changes go up ----
    let mut expected: BTreeMap<String, String> = BTreeMap::new(); // Message-ID -> letters
    for k in 0..MESSAGES {
        let id = mid(k);
        let l = &local[&id];
        let flags = if k % 25 == 4 {
            std::fs::remove_file(&l.path).expect("delete a maildir file");
            continue;
        } else if k % 50 == 7 {
            "T"
        } else if k % 10 == 1 {
            "S"
        } else if k % 10 == 2 {
            "F"
        } else if k % 10 == 3 {
            "RS"
        } else {
            ""
        };
        if !flags.is_empty() {
            set_local_flags(&sync.inbox, l, flags);
        }
        if flags != "T" {
            expected.insert(id, flags.to_string());
        }
    }
    let new_local = [
        (
            "local-new-1@client.surel.test",
            "new/1767225600.surel_1.localhost",
            "",
        ),
        (
            "local-new-2@client.surel.test",
            "cur/1767225600.surel_2.localhost:2,FS",
            "FS",
        ),
    ];
    let mut written = BTreeMap::new();
    for (id, file, flags) in new_local {
        let text = format!(
            "From: Local <local@client.surel.test>\nTo: <{USER}>\nSubject: written locally {id}\n\
             Message-ID: <{id}>\nDate: Fri, 02 Jan 2026 10:00:00 +0000\n\nbody of {id}\n.dot\n"
        );
        std::fs::write(sync.inbox.join(file), &text).expect("write a maildir file");
        written.insert(id.to_string(), text.into_bytes());
        expected.insert(id.to_string(), flags.to_string());
    }
    sync.run("local changes");
    let ops = json!(
        written
            .keys()
            .map(|id| json!(["body", id]))
            .collect::<Vec<_>>()
    );
    let (server_state, out) = imap_state(&server, ops);
    assert_eq!(
        server_state.len(),
        MESSAGES - 40 - 20 + 2,
        "messages on the server after deleting 40 and trashing 20 locally and adding 2"
    );
    let server_ids: BTreeSet<&String> = server_state.keys().collect();
    let expected_ids: BTreeSet<&String> = expected.keys().collect();
    assert_eq!(server_ids, expected_ids, "which messages the server has");
    for (id, letters) in &expected {
        assert_eq!(
            server_state[id].1,
            imap_flags(letters),
            "{id}: server flags after the local change to {letters:?}"
        );
    }
    for (id, text) in &written {
        let got = out["bodies"][id.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("no body for {id}: {out:#}"));
        let got: Vec<u8> = got.chars().map(|c| c as u32 as u8).collect();
        assert_eq!(
            without_tuid(&got, b"\r\n"),
            lf_to_crlf(text),
            "{id}: what the server got from mbsync"
        );
    }
    // The store agrees with what IMAP showed (deletions expunged, not just flagged).
    assert_eq!(
        server.inbox(USER).len(),
        expected.len(),
        "messages in the store"
    );
    // mbsync gave its uploads Maildir UIDs (the `,U=` of the name) once they were stored.
    let local = maildir(&sync.inbox);
    assert_eq!(
        local.len(),
        expected.len(),
        "messages in the Maildir after the second sync"
    );
    let uids: BTreeSet<u32> = local
        .iter()
        .map(|(id, l)| {
            l.uid
                .unwrap_or_else(|| panic!("{id}: no U= in {:?}", l.path))
        })
        .collect();
    assert_eq!(uids.len(), local.len(), "Maildir UIDs are unique");

    // ---- 3. server changes come down ----
    let uid = |k: &str| server_state.get(k).map(|(u, _)| u.to_string());
    let set = |pick: &dyn Fn(usize) -> bool| {
        (0..MESSAGES)
            .filter(|&k| pick(k))
            .filter_map(|k| uid(&mid(k)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let seen_flagged = set(&|k| k % 10 == 5);
    let unseen = set(&|k| k % 10 == 1);
    let answered = set(&|k| k % 10 == 2);
    let deleted = set(&|k| k % 20 == 9);
    let draft = uid("local-new-1@client.surel.test").expect("uploaded message");
    let ops = json!([
        ["store", seen_flagged, "+FLAGS", "(\\Seen \\Flagged)"],
        ["store", unseen, "-FLAGS", "(\\Seen)"],
        ["store", answered, "+FLAGS", "(\\Answered)"],
        ["store", draft, "+FLAGS", "(\\Draft)"],
        ["store", deleted, "+FLAGS", "(\\Deleted)"],
        ["expunge"],
    ]);
    for k in 0..MESSAGES {
        let id = mid(k);
        let Some(letters) = expected.get(&id) else {
            continue;
        };
        if k % 20 == 9 {
            expected.remove(&id);
            continue;
        }
        let mut set: BTreeSet<char> = letters.chars().collect();
        match k % 10 {
            5 => {
                set.insert('S');
                set.insert('F');
            }
            1 => {
                set.remove(&'S');
            }
            2 => {
                set.insert('R');
            }
            _ => {}
        }
        expected.insert(id, set.into_iter().collect());
    }
    expected.insert("local-new-1@client.surel.test".into(), "D".into());
    let (after, _) = imap_state(&server, ops);
    assert_eq!(
        after.len(),
        expected.len(),
        "messages on the server after the EXPUNGE"
    );
    // One more message arrives over SMTP.
    let late = message("late@remote.test", USER, "arrived late", "late body\n.dot");
    let mut smtp = server.smtp_ehlo();
    assert!(
        smtp.send_mail("late@remote.test", &[USER], late.as_bytes())
            .matches("250")
    );
    let late_id = message_id_of(late.as_bytes()).unwrap();
    expected.insert(late_id.clone(), String::new());
    sync.run("server changes");
    let local = maildir(&sync.inbox);
    let local_ids: BTreeSet<&String> = local.keys().collect();
    let expected_ids: BTreeSet<&String> = expected.keys().collect();
    assert_eq!(local_ids, expected_ids, "which messages the Maildir has");
    for (id, letters) in &expected {
        assert_eq!(
            &local[id].flags, letters,
            "{id}: local flags after the server change"
        );
    }
    let (final_state, _) = imap_state(&server, json!([]));
    for (id, letters) in &expected {
        assert_eq!(
            final_state[id].1,
            imap_flags(letters),
            "{id}: server flags at the end"
        );
    }
    let stored_late = server
        .inbox(USER)
        .into_iter()
        .find(|b| message_id_of(b).as_deref() == Some(late_id.as_str()))
        .expect("the late message in the store");
    assert_eq!(
        without_tuid(&local[&late_id].bytes, b"\n"),
        crlf_to_lf(&stored_late),
        "the late message in the Maildir"
    );
    for id in expected.keys() {
        assert_eq!(
            letters(&final_state[id].1),
            local[id].flags,
            "{id}: both sides agree"
        );
    }

    // ---- 4. nothing left to do: a further sync changes nothing ----
    let before: BTreeMap<String, PathBuf> = local
        .iter()
        .map(|(id, l)| (id.clone(), l.path.clone()))
        .collect();
    sync.run("idle");
    let again: BTreeMap<String, PathBuf> = maildir(&sync.inbox)
        .into_iter()
        .map(|(id, l)| (id, l.path))
        .collect();
    assert_eq!(
        again, before,
        "a sync with nothing to do renamed or moved files"
    );
    let (idle_state, _) = imap_state(&server, json!([]));
    assert_eq!(
        idle_state, final_state,
        "a sync with nothing to do changed the server"
    );
    eprintln!("imap_mbsync done in {:?}", started.elapsed());
}
