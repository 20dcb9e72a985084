//! The delivery worker against a fake peer over a real socket on 127.0.0.1 (issue 5): hostile
//! servers (hanging, garbage, closing mid-reply, a 2 GB reply line) are temporary failures that
//! leave the worker able to deliver; CHUNKING decides between BDAT and DATA; several messages to
//! one host share a connection.
//!
//! The worker runs with short timeouts from its `Settings` and a clock the test owns; nothing
//! here asserts how long anything took.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use surel_dns::test_server::{TestDns, Zone};
use surel_queue::client::{Timeouts, encode_bdat, encode_data};
use surel_queue::{Outbound, RetryPolicy, Settings, TestClock, Worker};
use surel_store::{QueueId, QueuedMessage, RecipientState, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::Address;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const RETRY: Duration = Duration::from_secs(60);
/// The bound on the fake's own waits; only a hang reaches it.
const WAIT: Duration = Duration::from_secs(30);
/// What the 2 GB reply line would weigh if the fake were allowed to finish it.
const TWO_GB: u64 = 2 << 30;

/// How the fake behaves on its next connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Play {
    /// A well-behaved server; `chunking`: whether EHLO announces CHUNKING.
    Good { chunking: bool },
    /// Accepts and never says a word.
    Hang,
    /// Greets, then answers EHLO with something that is not a reply.
    Garbage,
    /// Greets and answers EHLO, then closes halfway through the reply to MAIL.
    CloseMidReply,
    /// Starts a greeting line and streams octets without a line end, up to 2 GB.
    HugeLine,
}

/// What a well-behaved fake received in one transaction.
#[derive(Clone, Debug)]
struct Received {
    /// The command that carried the content: `DATA` or `BDAT n LAST`.
    command: String,
    /// The content as sent on the wire (for DATA: dot-stuffed, with the final `.` line).
    content: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    play: Mutex<Option<Play>>,
    connections: AtomicUsize,
    resets: AtomicUsize,
    received: Mutex<Vec<Received>>,
    huge_sent: AtomicU64,
    huge_done: AtomicBool,
}

struct Fake {
    port: u16,
    shared: Arc<Shared>,
}

impl Fake {
    async fn start(play: Play) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        *shared.play.lock().unwrap() = Some(play);
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                serving.connections.fetch_add(1, Ordering::SeqCst);
                let play = serving.play.lock().unwrap().unwrap_or(Play::Hang);
                let shared = serving.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, play, &shared).await;
                });
            }
        });
        Fake { port, shared }
    }

    fn play(&self, play: Play) {
        *self.shared.play.lock().unwrap() = Some(play);
    }

    fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn serve(stream: TcpStream, play: Play, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    match play {
        Play::Hang => {
            // Hold the connection until the client gives up.
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(WAIT, read.read_to_end(&mut sink)).await;
            return Ok(());
        }
        Play::HugeLine => {
            write.write_all(b"220 ").await?;
            // Streamed from one small buffer: the 2 GB are never held anywhere.
            let chunk = [b'x'; 64 * 1024];
            while shared.huge_sent.load(Ordering::SeqCst) < TWO_GB {
                if write.write_all(&chunk).await.is_err() {
                    break;
                }
                shared
                    .huge_sent
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            shared.huge_done.store(true, Ordering::SeqCst);
            return Ok(());
        }
        _ => {}
    }
    write.write_all(b"220 fake.test ESMTP\r\n").await?;
    let chunking = play == Play::Good { chunking: true };
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .split_ascii_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" if play == Play::Garbage => {
                write.write_all(b"hello, friend\r\n").await?;
            }
            "EHLO" => {
                let mut reply = String::from("250-fake.test\r\n250-PIPELINING\r\n");
                if chunking {
                    reply.push_str("250-CHUNKING\r\n");
                }
                reply.push_str("250 8BITMIME\r\n");
                write.write_all(reply.as_bytes()).await?;
            }
            "MAIL" if play == Play::CloseMidReply => {
                write.write_all(b"250-2.1.0 fine so f").await?;
                return Ok(());
            }
            "MAIL" | "RCPT" => write.write_all(b"250 2.0.0 OK\r\n").await?,
            "RSET" => {
                shared.resets.fetch_add(1, Ordering::SeqCst);
                write.write_all(b"250 2.0.0 OK\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut content = Vec::new();
                loop {
                    let n = read.read_until(b'\n', &mut content).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    if content.ends_with(b"\r\n.\r\n") || content == b".\r\n" {
                        break;
                    }
                }
                shared.received.lock().unwrap().push(Received {
                    command: "DATA".into(),
                    content,
                });
                write.write_all(b"250 2.0.0 queued\r\n").await?;
            }
            "BDAT" => {
                let size: usize = line
                    .split_ascii_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .unwrap();
                let mut content = vec![0; size];
                read.read_exact(&mut content).await?;
                shared.received.lock().unwrap().push(Received {
                    command: line.trim_end().to_string(),
                    content,
                });
                write.write_all(b"250 2.0.0 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"500 5.5.1 what?\r\n").await?,
        }
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    _dns: TestDns,
    store: Arc<SqliteStore>,
    clock: Arc<TestClock>,
    worker: Arc<Worker>,
}

impl Harness {
    /// A worker over a fresh store delivering `fake.test` to the fake, with short timeouts.
    async fn new(fake: &Fake, per_destination: usize, per_connection: usize) -> Harness {
        let dns = TestDns::start(
            Zone::new()
                .mx("fake.test", 10, "mx.fake.test")
                .a("mx.fake.test", std::net::Ipv4Addr::LOCALHOST),
        )
        .await
        .unwrap();
        let resolver =
            surel_dns::Resolver::new(&[dns.addr()], &surel_dns::Options::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let start: DateTime<Utc> = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let clock = Arc::new(TestClock::new(start));
        let settings = Settings {
            hostname: "client.test".into(),
            policy: RetryPolicy {
                retry_interval: RETRY,
                lifetime: Duration::from_secs(86_400),
                delay_warning: Duration::ZERO,
            },
            port: fake.port,
            source: None,
            poll_interval: Duration::from_secs(1),
            lease_for: Duration::from_secs(60),
            attempt_limit: Duration::from_secs(30),
            max_concurrent: 16,
            per_destination,
            per_connection,
            idle_for: Duration::from_secs(30),
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                command: Duration::from_millis(300),
                data_end: Duration::from_secs(5),
            },
        };
        let outbound = Outbound::new(store.clone() as Arc<dyn Store>);
        let worker = Worker::new(outbound, resolver, clock.clone(), settings).unwrap();
        Harness {
            _dir: dir,
            _dns: dns,
            store,
            clock,
            worker,
        }
    }

    async fn enqueue(&self, message: &[u8]) -> QueueId {
        self.store
            .enqueue(QueuedMessage {
                bytes: Arc::from(message),
                from: Some(Address::parse("alice@a.test").unwrap()),
                recipients: vec![Address::parse("bob@fake.test").unwrap()],
                arrival: surel_queue::Clock::now(&*self.clock),
                account: None,
            })
            .await
            .unwrap()
    }
}

const MESSAGE: &[u8] = b"From: alice@a.test\r\nSubject: hi\r\n\r\n.leading dot\r\nbare lf\nend";

/// One hostile behaviour: the attempt is a retry whose last error says `what`; after the
/// retry interval the same worker delivers to the peer behaving well.
async fn hostile(play: Play, what: &str) -> Fake {
    let fake = Fake::start(play).await;
    let h = Harness::new(&fake, 4, 100).await;
    let id = h.enqueue(MESSAGE).await;
    assert_eq!(h.worker.run_once().await, 1);
    let entry = h
        .store
        .queue_entry(id)
        .await
        .unwrap()
        .expect("still queued");
    let r = &entry.recipients[0];
    assert_eq!(
        (r.state, r.attempts),
        (RecipientState::Pending, 1),
        "{play:?}: {r:?}"
    );
    let error = r.last_error.clone().unwrap_or_default();
    assert!(error.contains(what), "{play:?}: last error {error:?}");
    assert!(r.status.as_deref().is_some_and(|s| s.starts_with("4.")));

    fake.play(Play::Good { chunking: false });
    h.clock.advance(RETRY);
    assert_eq!(h.worker.run_once().await, 1);
    assert!(
        h.store.queue_entry(id).await.unwrap().is_none(),
        "{play:?}: delivered on the retry"
    );
    assert_eq!(fake.received().len(), 1);
    fake
}

#[tokio::test]
async fn a_server_that_hangs_is_a_timeout_to_retry() {
    hostile(
        Play::Hang,
        "timed out waiting for the reply to the greeting",
    )
    .await;
}

#[tokio::test]
async fn a_server_that_answers_garbage_is_a_bad_reply_to_retry() {
    hostile(Play::Garbage, "bad reply: not an SMTP reply").await;
}

#[tokio::test]
async fn a_server_that_closes_mid_reply_is_a_retry() {
    hostile(Play::CloseMidReply, "the server closed the connection").await;
}

#[tokio::test]
async fn a_2_gb_reply_line_is_cut_short_and_retried() {
    let fake = hostile(Play::HugeLine, "bad reply: reply too long").await;
    let shared = fake.shared.clone();
    tokio::time::timeout(WAIT, async {
        while !shared.huge_done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the fake stops streaming once the client hangs up");
    let sent = fake.shared.huge_sent.load(Ordering::SeqCst);
    assert!(
        sent < TWO_GB,
        "the client hung up early ({sent} octets sent)"
    );
}

#[tokio::test]
async fn chunking_peers_get_one_bdat_last_chunk_others_get_dot_stuffed_data() {
    for chunking in [true, false] {
        let fake = Fake::start(Play::Good { chunking }).await;
        let h = Harness::new(&fake, 4, 100).await;
        let id = h.enqueue(MESSAGE).await;
        assert_eq!(h.worker.run_once().await, 1);
        assert!(
            h.store.queue_entry(id).await.unwrap().is_none(),
            "delivered"
        );
        let got = fake.received();
        assert_eq!(got.len(), 1);
        if chunking {
            let want = encode_bdat(MESSAGE);
            assert_eq!(got[0].command, format!("BDAT {} LAST", want.len()));
            assert_eq!(got[0].content, want);
            assert!(got[0].content.starts_with(b"From: alice@a.test\r\n"));
            assert!(
                got[0]
                    .content
                    .ends_with(b"\r\n.leading dot\r\nbare lf\r\nend\r\n")
            );
        } else {
            assert_eq!(got[0].command, "DATA");
            assert_eq!(got[0].content, encode_data(MESSAGE));
            assert!(
                got[0]
                    .content
                    .ends_with(b"\r\n..leading dot\r\nbare lf\r\nend\r\n.\r\n")
            );
        }
    }
}

#[tokio::test]
async fn messages_to_one_host_share_connections_with_rset_between() {
    let fake = Fake::start(Play::Good { chunking: true }).await;
    let h = Harness::new(&fake, 2, 100).await;
    let n = 6;
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(h.enqueue(MESSAGE).await);
    }
    assert_eq!(h.worker.run_once().await, n);
    for id in ids {
        assert!(
            h.store.queue_entry(id).await.unwrap().is_none(),
            "delivered"
        );
    }
    assert_eq!(fake.received().len(), n);
    let connections = fake.connections();
    // At most `per_destination` connections exist at once, and each is kept for the next.
    assert!((1..=2).contains(&connections), "{connections} connections");
    assert_eq!(
        fake.shared.resets.load(Ordering::SeqCst),
        n - connections,
        "RSET before every transaction but a connection's first"
    );
}

#[tokio::test]
async fn a_connection_carries_at_most_per_connection_transactions() {
    let fake = Fake::start(Play::Good { chunking: false }).await;
    let h = Harness::new(&fake, 1, 2).await;
    for _ in 0..4 {
        h.enqueue(MESSAGE).await;
    }
    assert_eq!(h.worker.run_once().await, 4);
    assert_eq!(fake.received().len(), 4);
    assert_eq!(fake.connections(), 2, "two transactions each");
    assert_eq!(fake.shared.resets.load(Ordering::SeqCst), 2);
}
