//! Durability (DESIGN §2): a `250` means the message survives a crash. Several clients send
//! numbered messages, the server is SIGKILLed in the middle of the stream and restarted on the
//! same data directory, and the INBOX must hold every acknowledged message, whole and
//! byte-identical, and nothing that was never sent.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const SINK: &str = "sink@crash.test";
/// Concurrent clients per round.
const CLIENTS: usize = 4;
/// Acknowledged messages (all clients together) before the kill, per round.
const ACKS_BEFORE_KILL: usize = 100;
/// A bound on each client's stream, so a round ends even if the kill never comes.
const MAX_PER_CLIENT: usize = 2_000;
/// Kill-and-restart rounds on the same data directory.
const ROUNDS: usize = 3;

/// What happened to one message, as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Its final `.` was written; no reply came (the server died). May or may not be stored.
    InFlight,
    /// `250`: must be stored.
    Acked,
    /// Refused with another reply: must not be stored.
    Refused,
}

/// (round, client, number) names a message.
type Id = (usize, usize, usize);

fn id_text((round, client, n): Id) -> String {
    format!("{round}-{client}-{n}")
}

/// The message for an id: a size between ~0.5 and ~48 KiB, varied content, and a last line that
/// names it, so a half-stored message is visible.
fn message_for(id: Id) -> Vec<u8> {
    let text = id_text(id);
    let mut rng = Rng::new(((id.0 * 1_000 + id.1) * 1_000_000 + id.2) as u64);
    let size = 512 + rng.below(48 * 1024) as usize;
    let mut message = format!(
        "From: <client{}@example.org>\r\nTo: <{SINK}>\r\nSubject: crash test {text}\r\nX-Crash-Id: {text}\r\n\r\n",
        id.1
    )
    .into_bytes();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/.";
    while message.len() < size {
        let line: Vec<u8> = (0..76)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect();
        message.extend_from_slice(&line);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(format!("END {text}\r\n").as_bytes());
    message
}

/// The X-Crash-Id of a stored message.
fn crash_id(stored: &[u8]) -> Option<String> {
    header_section(stored).lines().find_map(|line| {
        line.strip_prefix("X-Crash-Id: ")
            .map(|v| v.trim().to_string())
    })
}

#[derive(Default)]
struct Ledger {
    fates: Mutex<HashMap<Id, Fate>>,
    acks: AtomicUsize,
}

impl Ledger {
    fn set(&self, id: Id, fate: Fate) {
        self.fates.lock().expect("ledger").insert(id, fate);
        if fate == Fate::Acked {
            self.acks.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// One client: numbered messages over one connection until the server goes away or `stop`.
/// Never panics on a dead server; it just stops.
fn client(
    addr: std::net::SocketAddr,
    round: usize,
    client: usize,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
) {
    let mut smtp = RawSmtp::connect(addr);
    let ok = |r: Result<Reply, NoReply>, code: &str| matches!(r, Ok(reply) if reply.matches(code));
    if !ok(smtp.try_reply(), "220") {
        return;
    }
    if smtp.try_send(format!("EHLO {CLIENT_NAME}\r\n")).is_err() || !ok(smtp.try_reply(), "250") {
        return;
    }
    for n in 0..MAX_PER_CLIENT {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let id = (round, client, n);
        // Envelope pipelined (RFC 2920), then the message once DATA is answered.
        let envelope =
            format!("MAIL FROM:<client{client}@example.org>\r\nRCPT TO:<{SINK}>\r\nDATA\r\n");
        if smtp.try_send(envelope).is_err() {
            return;
        }
        if !ok(smtp.try_reply(), "250")
            || !ok(smtp.try_reply(), "250")
            || !ok(smtp.try_reply(), "354")
        {
            return;
        }
        ledger.set(id, Fate::InFlight);
        if smtp.try_send(dot_stuffed(&message_for(id))).is_err() {
            return;
        }
        match smtp.try_reply() {
            Ok(reply) if reply.matches("250") => ledger.set(id, Fate::Acked),
            Ok(_) => ledger.set(id, Fate::Refused),
            Err(_) => return,
        }
    }
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    let mut server = TestServer::start("");
    server.add_domain("crash.test");
    server.add_account(SINK, "crash password");
    let ledger = Arc::new(Ledger::default());

    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let start_acks = ledger.acks.load(Ordering::SeqCst);
        let threads: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (addr, ledger, stop) = (server.smtp_addr(), ledger.clone(), stop.clone());
                std::thread::spawn(move || client(addr, round, c, ledger, stop))
            })
            .collect();

        let deadline = Instant::now() + WAIT * 4;
        while ledger.acks.load(Ordering::SeqCst) < start_acks + ACKS_BEFORE_KILL {
            if Instant::now() > deadline || threads.iter().all(|t| t.is_finished()) {
                stop.store(true, Ordering::SeqCst);
                panic!(
                    "round {round}: only {} of {ACKS_BEFORE_KILL} messages acknowledged before the bound\n{}",
                    ledger.acks.load(Ordering::SeqCst) - start_acks,
                    server.logs()
                );
            }
            pause(Duration::from_millis(5));
        }
        // Mid-stream: the clients are still sending.
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for thread in threads {
            thread.join().expect("client thread");
        }
        server.spawn();
    }

    let fates = ledger.fates.lock().expect("ledger").clone();
    let inbox = server.inbox(SINK);
    let by_text: HashMap<String, (Id, Fate)> = fates
        .iter()
        .map(|(id, fate)| (id_text(*id), (*id, *fate)))
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for stored in &inbox {
        let text = crash_id(stored).unwrap_or_else(|| {
            panic!(
                "a stored message has no X-Crash-Id (half stored?):\n{}",
                String::from_utf8_lossy(&stored[..stored.len().min(2000)])
            )
        });
        *seen.entry(text.clone()).or_default() += 1;
        let Some(&(id, fate)) = by_text.get(&text) else {
            panic!("message {text} is stored but was never sent");
        };
        assert_ne!(
            fate,
            Fate::Refused,
            "message {text} was refused but is stored"
        );
        // Whole and byte-identical: the sent message behind the server's trace headers, ending
        // with its END line.
        assert_delivered(stored, &message_for(id));
    }
    for (text, count) in &seen {
        assert_eq!(*count, 1, "message {text} is stored {count} times");
    }
    let acked: Vec<&String> = by_text
        .iter()
        .filter(|(_, (_, f))| *f == Fate::Acked)
        .map(|(t, _)| t)
        .collect();
    let lost: Vec<&&String> = acked.iter().filter(|t| !seen.contains_key(**t)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages are missing after the crash: {lost:?}",
        lost.len()
    );
    let in_flight = by_text
        .values()
        .filter(|(_, f)| *f == Fate::InFlight)
        .count();
    eprintln!(
        "crash test: {} acknowledged, {in_flight} in flight at a kill, {} stored",
        acked.len(),
        inbox.len()
    );

    // The restarted server works.
    let mut smtp = server.smtp_ehlo();
    let after = message("sender@example.org", SINK, "after the crash", "still here");
    let reply = smtp.send_mail("sender@example.org", &[SINK], after.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let inbox_after = server.inbox(SINK);
    assert_eq!(inbox_after.len(), inbox.len() + 1);
    assert_delivered(inbox_after.last().expect("one more"), after.as_bytes());
}
