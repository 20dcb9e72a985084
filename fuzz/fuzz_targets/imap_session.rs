//! Arbitrary client input to a real IMAP session (logged in, INBOX selected, over a real store
//! in a temporary directory), driven the way the socket driver drives it: framed, parsed, and
//! handed to the session, SASL and IDLE lines included. The session must never panic, and must
//! always end a command with a tagged, untagged or continuation response it can name.

#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, Version};
use libfuzzer_sys::fuzz_target;
use surel_imap::output::Output;
use surel_imap::{Context, Next, Session};
use surel_imap_proto::{BytesMut, Framed, Framer, Limits, parse_command};
use surel_store::{DeliveryTarget, NewMessage, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::{Address, Domain, MailboxName};

struct World {
    runtime: tokio::runtime::Runtime,
    ctx: Arc<Context>,
    _dir: tempfile::TempDir,
}

const LOGIN: &[u8] = b"L LOGIN fuzz@fuzz.test secret\r\nS SELECT INBOX\r\n";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("store");
        // A cheap Argon2id hash (the PHC string carries its parameters), so every iteration
        // can log in without spending 40 ms on the production parameters.
        let params = Params::new(8, 1, 1, None).expect("params");
        let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(b"secret", b"fuzzsaltfuzzsalt")
            .expect("hash")
            .to_string();
        let store: Arc<dyn Store> = Arc::new(store);
        runtime.block_on(async {
            let domain = Domain::parse("fuzz.test").expect("domain");
            store.add_domain(&domain).await.expect("domain");
            let address = Address::parse("fuzz@fuzz.test").expect("address");
            let account = store.add_account(&address, &hash).await.expect("account");
            for i in 0..3 {
                let bytes = format!(
                    "From: a@b.test\r\nSubject: m{i}\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello {i}\r\n--x--\r\n"
                );
                let message = NewMessage {
                    bytes: Arc::from(bytes.into_bytes()),
                    internal_date: chrono_now(),
                    flags: Vec::new(),
                    auth_results: None,
                };
                let target = DeliveryTarget {
                    account,
                    mailbox: MailboxName::inbox(),
                };
                store.deliver(message, &[target]).await.expect("deliver");
            }
        });
        let ctx = Arc::new(Context::new(
            "fuzz.test".into(),
            store,
            Duration::from_secs(1800),
            Duration::from_secs(60),
            1 << 20,
        ));
        World {
            runtime,
            ctx,
            _dir: dir,
        }
    })
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("date")
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    world.runtime.block_on(async {
        let peer: SocketAddr = "127.0.0.1:143".parse().expect("addr");
        let mut session = Session::new(world.ctx.clone(), peer, false);
        let mut framer = Framer::new(Limits {
            line: 4096,
            literal: 1 << 16,
            command: 1 << 17,
        });
        let mut buf = BytesMut::from(LOGIN);
        buf.extend_from_slice(data);
        let mut next = Next::Command;
        let mut steps = 0;
        while steps < 200 {
            steps += 1;
            let mut out = Output::buffer();
            next = match next {
                Next::SaslResponse | Next::Idle => {
                    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
                        break;
                    };
                    let mut line = buf.split_to(end + 1).to_vec();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if next == Next::Idle {
                        session.idle_line(&line, &mut out).await
                    } else {
                        session.sasl_response(&line, &mut out).await
                    }
                }
                Next::Command => match framer.next(&mut buf) {
                    None => break,
                    Some(Framed::Command(bytes)) => match parse_command(&bytes) {
                        Ok(command) => session.handle(command, &mut out).await,
                        Err(e) => session.parse_error(e, &mut out),
                    },
                    Some(Framed::Continue) => Next::Command,
                    Some(Framed::TooBig { tag }) => session.literal_too_big(tag.as_deref(), &mut out),
                    Some(Framed::LineTooLong { tag }) => {
                        session.line_too_long(tag.as_deref(), &mut out)
                    }
                },
                Next::StartTls | Next::Close => break,
            };
            let out = out.into_inner();
            // Every answer is whole lines (a literal's data may hold anything, so only the end
            // is checked).
            assert!(out.is_empty() || out.ends_with(b"\r\n"), "unterminated response");
        }
    });
});
