//! The end-to-end harness: a real `surel serve` process on an ephemeral loopback port with its own
//! temporary data directory, and the clients the tests talk to it with.
//!
//! Every wait here is bounded by [`WAIT`] so that a broken server fails a test instead of hanging
//! the suite; the bound is never an assertion about speed. Each test starts its own server, so the
//! tests run in parallel safely.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use surel_store::Store;
use surel_store_sqlite::SqliteStore;
use surel_types::{Address, MailboxName};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_surel");
/// The bound on every wait: generous, so only a hang can reach it.
pub const WAIT: Duration = Duration::from_secs(30);
/// The server's host name in every test config.
pub const HOSTNAME: &str = "mx.surel.test";
/// What the tests say in EHLO.
pub const CLIENT_NAME: &str = "client.surel.test";

/// Sleeps the calling test thread (never a runtime thread: the harness is synchronous).
#[allow(
    clippy::disallowed_methods,
    reason = "a plain test thread, not a runtime thread"
)]
pub fn pause(duration: Duration) {
    std::thread::sleep(duration);
}

/// One `surel serve` process and its data directory.
pub struct TestServer {
    dir: tempfile::TempDir,
    /// The server's data directory (the store).
    pub data_dir: PathBuf,
    /// The config file every command of this server uses.
    pub config_path: PathBuf,
    child: Option<Child>,
    smtp: Option<SocketAddr>,
    /// Everything the server printed on stdout and stderr, for failure messages.
    log: Arc<Mutex<String>>,
}

impl TestServer {
    /// Writes a config (SMTP on 127.0.0.1:0, every other service off, plus `extra_toml`, which
    /// may add tables such as `[limits]` but not `[listen]`) and starts the server.
    pub fn start(extra_toml: &str) -> Self {
        let mut server = Self::configure(extra_toml);
        server.spawn();
        server
    }

    /// Like [`TestServer::start`] but does not start the process: CLI commands work on the data
    /// directory, and [`TestServer::spawn`] starts the server later.
    pub fn configure(extra_toml: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("surel-test-")
            .tempdir()
            .expect("temp dir");
        let data_dir = dir.path().join("data");
        let config_path = dir.path().join("surel.toml");
        // Tests never ask the machine's resolver: without a zone of their own they get an
        // empty one, so every SPF/DKIM/DMARC lookup is answered at once, the same everywhere.
        let dns = if extra_toml.contains("[dns]") {
            String::new()
        } else {
            empty_zone().toml()
        };
        let config = format!(
            "hostname = \"{HOSTNAME}\"\n\
             data_dir = {data_dir:?}\n\
             \n\
             [listen]\n\
             smtp = [\"127.0.0.1:0\"]\n\
             submission = []\n\
             submissions = []\n\
             imap = []\n\
             imaps = []\n\
             pop3 = []\n\
             pop3s = []\n\
             http = []\n\
             https = []\n\
             \n\
             {dns}\n\
             {extra_toml}\n",
            data_dir = data_dir.to_str().expect("temp dir path is UTF-8"),
        );
        std::fs::write(&config_path, config).expect("write config");
        TestServer {
            dir,
            data_dir,
            config_path,
            child: None,
            smtp: None,
            log: Arc::default(),
        }
    }

    /// The temporary directory holding the config and the data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `surel -c CONFIG serve` and waits (bounded) for `surel: ready`, taking the SMTP
    /// address from its `surel: smtp listening on ADDR` line.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        self.note("---- surel serve starting ----\n");
        let mut command = Command::new(BIN);
        command.arg("-c").arg(&self.config_path).arg("serve");

        let launched = launch(&mut command, &self.log);
        self.child = Some(launched.child);
        let mut smtp = None;
        for line in &launched.lines {
            if let Some(addr) = line.strip_prefix("surel: smtp listening on ") {
                let addr = addr
                    .trim()
                    .parse::<SocketAddr>()
                    .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}\n{}", self.logs()));
                smtp.get_or_insert(addr);
            }
        }
        self.smtp =
            Some(smtp.unwrap_or_else(|| panic!("no `smtp listening on` line\n{}", self.logs())));
    }

    /// The SMTP listener of the running server.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp.expect("server started")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// True while the server process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit()
    }

    /// Sends a signal (`TERM`, `INT`, …) to the server without waiting.
    pub fn signal(&self, name: &str) {
        signal(self.pid(), name);
    }

    /// Waits (bounded) for the server to exit by itself, e.g. after [`TestServer::signal`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        match wait_bounded(&mut child, WAIT * 3) {
            Some(status) => {
                self.note(&format!("---- surel serve exited: {status} ----\n"));
                status
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "surel serve did not exit within {:?}\n{}",
                    WAIT * 3,
                    self.logs()
                );
            }
        }
    }

    /// SIGKILL: the process dies at once, as in a crash or power cut of the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.note("---- surel serve killed (SIGKILL) ----\n");
        }
    }

    /// What the server printed so far (stdout and stderr), for failure messages.
    pub fn logs(&self) -> String {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        // The end is what matters; keep failure output readable.
        const KEEP: usize = 16 * 1024;
        if log.len() > KEEP {
            let mut start = log.len() - KEEP;
            while !log.is_char_boundary(start) {
                start += 1;
            }
            format!(
                "---- server log (last {KEEP} bytes) ----\n{}",
                &log[start..]
            )
        } else {
            format!("---- server log ----\n{log}")
        }
    }

    fn note(&self, text: &str) {
        push_log(&self.log, text);
    }

    // ---- the CLI ----

    /// Runs `surel -c CONFIG ARGS…` (with `stdin` if given) and returns its output, bounded.
    pub fn cli_output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(BIN);
        command.arg("-c").arg(&self.config_path).args(args);
        run_bounded(&mut command, stdin.map(str::as_bytes), WAIT * 2)
    }

    /// Runs a CLI command that must succeed; returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_output(args, None);
        assert_success(args, &out);
        String::from_utf8(out.stdout).expect("CLI stdout is UTF-8")
    }

    /// Runs a CLI command that must fail as the CLI fails (exit 1, `surel: error: …` on stderr);
    /// returns the stderr text.
    pub fn cli_err(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli_output(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "`surel {}` should fail with exit code 1; stdout:\n{}\nstderr:\n{stderr}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains("surel: error: "),
            "error not in the `surel: error:` form:\n{stderr}"
        );
        stderr
    }

    /// `surel domain add DOMAIN`
    pub fn add_domain(&self, domain: &str) {
        self.cli(&["domain", "add", domain]);
    }

    /// `surel account add ADDRESS --password-stdin` with `password`.
    pub fn add_account(&self, address: &str, password: &str) {
        let args = ["account", "add", address, "--password-stdin"];
        let out = self.cli_output(&args, Some(&format!("{password}\n")));
        assert_success(&args, &out);
    }

    /// `surel alias add SOURCE TARGET…`
    pub fn add_alias(&self, source: &str, targets: &[&str]) {
        let mut args = vec!["alias", "add", source];
        args.extend_from_slice(targets);
        self.cli(&args);
    }

    // ---- the store ----

    /// The bytes of every message in the INBOX of `address`, ascending by UID, read through the
    /// store (works while the server runs).
    pub fn inbox(&self, address: &str) -> Vec<Vec<u8>> {
        inbox_in(&self.data_dir, address)
    }

    /// The stored password hash of an account (None: no such account).
    pub fn password_hash(&self, address: &str) -> Option<String> {
        let data_dir = self.data_dir.clone();
        let address =
            Address::parse(address).unwrap_or_else(|e| panic!("bad address {address}: {e}"));
        block_on(async move {
            let store = SqliteStore::open(&data_dir).expect("open the store");
            store
                .account(&address)
                .await
                .expect("look up the account")
                .map(|a| a.password_hash)
        })
    }

    // ---- clients ----

    /// A raw SMTP connection that has read the 220 greeting.
    pub fn smtp(&self) -> RawSmtp {
        let mut client = RawSmtp::connect(self.smtp_addr());
        client.expect("220");
        client
    }

    /// A raw SMTP connection after the greeting and EHLO.
    pub fn smtp_ehlo(&self) -> RawSmtp {
        let mut client = self.smtp();
        client.ehlo();
        client
    }

    /// Runs `tests/clients/SCRIPT` with Python 3 and parses its stdout as JSON.
    pub fn run_py(&self, script: &str, args: &[&str]) -> serde_json::Value {
        run_py(script, args)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking {
            eprintln!("{}", self.logs());
        }
        if let Some(mut child) = self.child.take() {
            // Never panic here while unwinding: that aborts the whole test binary.
            let terminated = try_signal(child.id(), "TERM").is_ok();
            if !terminated || wait_bounded(&mut child, WAIT * 3).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // DESIGN §4: the process never panics on network input. Checked for every test.
        if !panicking {
            // Let the log copy catch up with the process's last words.
            pause(Duration::from_millis(50));
            let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
            if log.contains("panicked at") {
                panic!("the server panicked during this test\n{}", self.logs());
            }
        }
    }
}

/// The bytes of every message in the INBOX of `address` in the store at `data_dir`, ascending by
/// UID. Each message's recorded size must match its bytes.
pub fn inbox_in(data_dir: &Path, address: &str) -> Vec<Vec<u8>> {
    messages_in(data_dir, address, "INBOX")
        .unwrap_or_else(|| panic!("{address} has no INBOX"))
        .into_iter()
        .map(|(bytes, _)| bytes)
        .collect()
}

/// Every message of `address`'s mailbox `mailbox` at `data_dir`, ascending by UID, with the
/// Authentication-Results value the store kept for it; `None` if there is no such mailbox. Each
/// stored size must match its bytes.
fn messages_in(
    data_dir: &Path,
    address: &str,
    mailbox: &str,
) -> Option<Vec<(Vec<u8>, Option<String>)>> {
    let data_dir = data_dir.to_path_buf();
    let address = Address::parse(address).unwrap_or_else(|e| panic!("bad address {address}: {e}"));
    let name = MailboxName::parse(mailbox).expect("mailbox name");
    block_on(async move {
        let store = SqliteStore::open(&data_dir).expect("open the store");
        let account = store
            .account(&address)
            .await
            .expect("look up the account")
            .unwrap_or_else(|| panic!("no account {address}"));
        let found = store.mailbox(account.id, &name).await.expect("mailbox")?;
        let mut messages = Vec::new();
        for meta in store.messages(found.id).await.expect("list") {
            let bytes = store.read_blob(&meta.blob).await.expect("read a message");
            assert_eq!(
                meta.size,
                bytes.len() as u64,
                "stored size of UID {:?} of {address}",
                meta.uid
            );
            messages.push((bytes, meta.auth_results));
        }
        Some(messages)
    })
}

/// A `surel serve` process that has printed `surel: ready`.
pub struct Launched {
    /// The process; its stdout and stderr keep being copied into the log.
    pub child: Child,
    /// The stdout lines up to and including `surel: ready`.
    pub lines: Vec<String>,
}

/// Starts `command` (a `surel … serve`), copying its output into `log`, and waits (bounded) for
/// `surel: ready`. Fails with the log if the process ends or stays silent instead.
pub fn launch(command: &mut Command, log: &Arc<Mutex<String>>) -> Launched {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout piped");
    let out_log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            push_log(&out_log, &format!("[stdout] {line}\n"));
            // The receiver is gone once start-up is over; keep draining so the server never
            // blocks on a full pipe.
            let _ = lines_tx.send(line);
        }
    });
    let mut stderr = child.stderr.take().expect("stderr piped");
    let err_log = log.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            push_log(&err_log, &String::from_utf8_lossy(&chunk[..n]));
        }
    });

    let show = |log: &Arc<Mutex<String>>| log.lock().map(|l| l.clone()).unwrap_or_default();
    let deadline = Instant::now() + WAIT;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => {
                let ready = line.trim() == "surel: ready";
                lines.push(line);
                if ready {
                    return Launched { child, lines };
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{command:?} did not print `surel: ready` within {WAIT:?}\n{}",
                    show(log)
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = wait_bounded(&mut child, WAIT);
                // Let the stderr copy catch up so the log shows why.
                pause(Duration::from_millis(100));
                panic!(
                    "{command:?} ended before it was ready ({status:?})\n{}",
                    show(log)
                );
            }
        }
    }
}

fn push_log(log: &Mutex<String>, text: &str) {
    if let Ok(mut log) = log.lock() {
        log.push_str(text);
    }
}

/// Sends a signal (`TERM`, `KILL`, …) to a process.
pub fn signal(pid: u32, name: &str) {
    if let Err(why) = try_signal(pid, name) {
        panic!("kill -{name} {pid} failed: {why}");
    }
}

/// Sends a signal; the error says why it could not.
pub fn try_signal(pid: u32, name: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

/// Waits up to `limit` for a child to exit.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        if Instant::now() >= deadline {
            return None;
        }
        pause(Duration::from_millis(20));
    }
}

/// Runs a command to its end with piped output, killing it (and failing) after `limit`.
pub fn run_bounded(command: &mut Command, stdin: Option<&[u8]>, limit: Duration) -> Output {
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("stdout piped")));
    let stderr = collect(Box::new(child.stderr.take().expect("stderr piped")));
    let Some(status) = wait_bounded(&mut child, limit) else {
        let _ = child.kill();
        let _ = child.wait();
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        panic!(
            "{command:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn assert_success(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "`surel {}` failed ({}); stdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Where the Python client scripts live.
pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients")
}

/// Runs `tests/clients/SCRIPT ARGS…` with `python3`, which must exit 0 and print one JSON value.
pub fn run_py(script: &str, args: &[&str]) -> serde_json::Value {
    require_tool("python3", &["--version"]);
    let mut command = Command::new("python3");
    command.arg(clients_dir().join(script)).args(args);
    let out = run_bounded(&mut command, None, WAIT * 4);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{script} printed no JSON ({e}):\nstdout:\n{stdout}\nstderr:\n{stderr}")
    })
}

/// Fails (never skips) when a client program the tests need is not installed.
pub fn require_tool(program: &str, version_args: &[&str]) {
    match Command::new(program)
        .args(version_args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!(
                "`{program}` is not installed: run scripts/test, which installs what the tests need"
            )
        }
        Err(e) => panic!("cannot run `{program}`: {e}"),
    }
}

// ---- messages ----

/// A small RFC 5322 message with CRLF line endings, ending in CRLF.
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> String {
    let mut text = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{}@{CLIENT_NAME}>\r\n\
         Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n",
        subject.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    for line in body.lines() {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

/// Dot-stuffs message text for DATA (RFC 5321 §4.5.2) and appends the end-of-data line.
pub fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Checks that `stored` is `sent`, byte for byte, behind header fields the server prepended,
/// the first of which is `Received:`; returns the prepended part.
pub fn assert_delivered(stored: &[u8], sent: &[u8]) -> String {
    assert!(
        stored.ends_with(sent),
        "the stored message does not end with the message as sent\nstored:\n{}\nsent:\n{}",
        String::from_utf8_lossy(stored),
        String::from_utf8_lossy(sent)
    );
    let added = String::from_utf8_lossy(&stored[..stored.len() - sent.len()]).into_owned();
    assert_trace_headers(&added);
    added
}

/// Checks that `added` is header fields only, the first being `Received:`, each line ending in
/// CRLF.
pub fn assert_trace_headers(added: &str) {
    assert!(
        added.starts_with("Received: "),
        "no Received header first:\n{added}"
    );
    assert!(
        added.ends_with("\r\n"),
        "prepended headers do not end with CRLF:\n{added:?}"
    );
    for line in added.split_inclusive("\r\n") {
        let body = line.strip_suffix("\r\n").unwrap_or(line);
        assert!(
            !body.contains(['\r', '\n']),
            "bare CR or LF in prepended headers: {added:?}"
        );
        let folded = body.starts_with([' ', '\t']);
        let field = body.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        });
        assert!(folded || field, "not a header line: {line:?} in\n{added}");
    }
}

/// The header section of a message (up to the first empty line), lossily decoded.
pub fn header_section(message: &[u8]) -> String {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |p| p + 2);
    String::from_utf8_lossy(&message[..end]).into_owned()
}

/// A deterministic byte generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

// ---- a raw SMTP client ----

/// One SMTP reply: its code and its lines (without CRLF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// Every line as received, e.g. `250-PIPELINING`.
    pub lines: Vec<String>,
}

impl Reply {
    /// The lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The text after the code on the first line (`2.0.0 OK`).
    pub fn first_text(&self) -> &str {
        self.lines.first().and_then(|l| l.get(4..)).unwrap_or("")
    }

    /// True if every line's text starts with an enhanced status code whose class matches the
    /// reply code (RFC 2034 §4 / RFC 3463).
    pub fn has_enhanced_code(&self) -> bool {
        let class = char::from(b'0' + (self.code / 100) as u8);
        self.lines.iter().all(|line| {
            let text = line.get(4..).unwrap_or("");
            let code = text.split(' ').next().unwrap_or("");
            let parts: Vec<&str> = code.split('.').collect();
            parts.len() == 3
                && parts[0].len() == 1
                && parts[0].starts_with(class)
                && parts[1..]
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// True if this reply matches `prefix`: a code (`"250"`), a code and an enhanced code
    /// (`"550 5.1.1"`), or any longer start of the first line.
    pub fn matches(&self, prefix: &str) -> bool {
        let first = self.lines.first().map(String::as_str).unwrap_or("");
        match (prefix.get(..3), prefix.get(3..)) {
            (Some(code), Some(rest)) if !rest.is_empty() => {
                // `250-2.0.0 …` on the first line of a multi-line reply matches `250 2.0.0`.
                first.get(..3) == Some(code)
                    && first
                        .get(3..)
                        .is_some_and(|r| r.get(1..).unwrap_or("").starts_with(&rest[1..]))
            }
            _ => first.starts_with(prefix),
        }
    }
}

/// How reading a reply ended without one.
#[derive(Debug)]
pub enum NoReply {
    /// The server closed the connection (or reset it).
    Closed,
    /// Nothing complete arrived within [`WAIT`].
    Timeout,
    /// Some other socket error.
    Error(std::io::Error),
}

/// A line-level SMTP client for edge cases: sends exactly the bytes given and reads whole
/// (multi-line) replies. Every read is bounded by [`WAIT`]; failures show the transcript.
pub struct RawSmtp {
    stream: TcpStream,
    buf: Vec<u8>,
    transcript: String,
}

impl RawSmtp {
    /// Connects; reads nothing yet.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Self::from_stream(stream)
    }

    /// Connects from a chosen loopback address (127.0.0.2, …) so a test can be several clients.
    pub fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> Self {
        let stream = block_on(async move {
            let socket = match local {
                std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
            }
            .expect("socket");
            socket
                .bind(SocketAddr::new(local, 0))
                .unwrap_or_else(|e| panic!("bind {local}: {e}"));
            let stream = tokio::time::timeout(WAIT, socket.connect(addr))
                .await
                .unwrap_or_else(|_| panic!("connect to {addr} timed out"))
                .unwrap_or_else(|e| panic!("connect from {local} to {addr}: {e}"));
            stream.into_std().expect("into std")
        });
        stream.set_nonblocking(false).expect("blocking");
        Self::from_stream(stream)
    }

    /// Wraps a connected socket.
    pub fn from_stream(stream: TcpStream) -> Self {
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawSmtp {
            stream,
            buf: Vec::new(),
            transcript: String::new(),
        }
    }

    /// The conversation so far, for failure messages.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Writes `bytes` in one write.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        self.log_sent(bytes);
        if let Err(e) = self.stream.write_all(bytes) {
            panic!("send failed: {e}\n{}", self.transcript);
        }
    }

    /// Writes `bytes`, returning the error instead of failing (the server may have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        let bytes = bytes.as_ref();
        self.log_sent(bytes);
        self.stream.write_all(bytes)
    }

    /// Reads one whole reply.
    pub fn try_reply(&mut self) -> Result<Reply, NoReply> {
        let mut lines = Vec::new();
        let mut first_code = None;
        loop {
            let line = self.read_line()?;
            self.transcript.push_str(&format!("S: {line}\n"));
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
            let Some(code) = code.and_then(|c| c.parse::<u16>().ok()) else {
                panic!("malformed reply line {line:?}\n{}", self.transcript);
            };
            let separator = line.as_bytes().get(3).copied();
            assert!(
                matches!(separator, None | Some(b' ') | Some(b'-')),
                "malformed reply line {line:?}\n{}",
                self.transcript
            );
            if *first_code.get_or_insert(code) != code {
                panic!(
                    "reply code changed inside a multi-line reply\n{}",
                    self.transcript
                );
            }
            lines.push(line);
            if separator != Some(b'-') {
                return Ok(Reply { code, lines });
            }
        }
    }

    /// Reads one whole reply; fails if the connection closes or nothing arrives.
    pub fn reply(&mut self) -> Reply {
        match self.try_reply() {
            Ok(reply) => reply,
            Err(why) => panic!("expected a reply, got {why:?}\n{}", self.transcript),
        }
    }

    /// Reads one reply and checks it against `prefix` (see [`Reply::matches`]); returns its text.
    pub fn expect(&mut self, prefix: &str) -> String {
        let reply = self.reply();
        assert!(
            reply.matches(prefix),
            "expected `{prefix}`, got:\n{}\n---- transcript ----\n{}",
            reply.text(),
            self.transcript
        );
        reply.text()
    }

    /// Sends one command line (CRLF added) and checks its reply.
    ///
    /// Also checks RFC 2034 §3: every 2xx, 4xx and 5xx reply other than the answer to HELO or
    /// EHLO carries an enhanced status code.
    pub fn cmd(&mut self, line: &str, prefix: &str) -> String {
        self.send(format!("{line}\r\n"));
        let reply = self.reply();
        assert!(
            reply.matches(prefix),
            "expected `{prefix}`, got:\n{}\n---- transcript ----\n{}",
            reply.text(),
            self.transcript
        );
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let exempt = verb == "EHLO" || verb == "HELO" || reply.code / 100 == 3;
        assert!(
            exempt || reply.has_enhanced_code(),
            "reply to {line:?} has no enhanced status code\n{}",
            self.transcript
        );
        reply.text()
    }

    /// Sends one command line (CRLF added) and returns its reply, whatever it is.
    pub fn reply_to(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n"));
        self.reply()
    }

    /// `EHLO client.surel.test`, expecting 250; returns the reply text.
    pub fn ehlo(&mut self) -> String {
        self.cmd(&format!("EHLO {CLIENT_NAME}"), "250")
    }

    /// One whole transaction: MAIL, each RCPT (all must be accepted), DATA, the message
    /// (dot-stuffed here), and returns the reply to the end of data.
    pub fn send_mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> Reply {
        self.cmd(&format!("MAIL FROM:<{from}>"), "250");
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>"), "250");
        }
        self.cmd("DATA", "354");
        self.send(dot_stuffed(message));
        let reply = self.reply();
        assert!(
            reply.has_enhanced_code(),
            "reply to end of data has no enhanced status code\n{}",
            self.transcript
        );
        reply
    }

    /// Checks that the server closes the connection with no further reply.
    pub fn expect_closed(&mut self) {
        match self.try_reply() {
            Err(NoReply::Closed) => {}
            Ok(reply) => panic!(
                "expected the connection to close, got:\n{}\n{}",
                reply.text(),
                self.transcript
            ),
            Err(why) => panic!(
                "expected the connection to close, got {why:?}\n{}",
                self.transcript
            ),
        }
    }

    /// Closes the sending direction (the server sees end of input).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// The socket, e.g. to change its timeouts.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    fn read_line(&mut self) -> Result<String, NoReply> {
        loop {
            if let Some(lf) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=lf).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    if !self.buf.is_empty() {
                        let rest = String::from_utf8_lossy(&self.buf).into_owned();
                        self.transcript
                            .push_str(&format!("S (unterminated): {rest:?}\n"));
                    }
                    self.transcript.push_str("S: <closed>\n");
                    return Err(NoReply::Closed);
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.transcript
                        .push_str("S: <nothing within the wait bound>\n");
                    return Err(NoReply::Timeout);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    self.transcript.push_str("S: <reset>\n");
                    return Err(NoReply::Closed);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(NoReply::Error(e)),
            }
        }
    }

    fn log_sent(&mut self, bytes: &[u8]) {
        const SHOW: usize = 300;
        let shown = &bytes[..bytes.len().min(SHOW)];
        let more = if bytes.len() > SHOW {
            format!(" …({} bytes in all)", bytes.len())
        } else {
            String::new()
        };
        self.transcript
            .push_str(&format!("C: {}{more}\n", shown.escape_ascii()));
    }
}

/// The DNS server of tests that bring no zone: knows no name at all.
pub fn empty_zone() -> &'static TestZone {
    static EMPTY: std::sync::OnceLock<TestZone> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| TestZone::start(surel_dns::test_server::Zone::new()))
}

/// An in-process test DNS server (surel-dns) on a runtime of its own, for `[dns] nameservers`.
pub struct TestZone {
    /// The server; dropped before the runtime that drives it.
    pub dns: surel_dns::test_server::TestDns,
    _runtime: tokio::runtime::Runtime,
}

impl TestZone {
    /// Serves `zone` on 127.0.0.1 until dropped.
    pub fn start(zone: surel_dns::test_server::Zone) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dns = runtime
            .block_on(surel_dns::test_server::TestDns::start(zone))
            .expect("start the test DNS server");
        TestZone {
            dns,
            _runtime: runtime,
        }
    }

    /// The config table pointing surel at this server.
    pub fn toml(&self) -> String {
        format!("[dns]\nnameservers = [\"{}\"]\n", self.dns.addr())
    }
}

/// Every message in mailbox `mailbox` of `address` at `data_dir`, ascending by UID, with the
/// Authentication-Results value the store kept for it.
pub fn mailbox_in(data_dir: &Path, address: &str, mailbox: &str) -> Vec<(Vec<u8>, Option<String>)> {
    messages_in(data_dir, address, mailbox).unwrap_or_default()
}

/// Creates mailbox `mailbox` for `address` in the store at `data_dir`.
pub fn create_mailbox_in(data_dir: &Path, address: &str, mailbox: &str) {
    let data_dir = data_dir.to_path_buf();
    let address = Address::parse(address).unwrap_or_else(|e| panic!("bad address {address}: {e}"));
    let name = MailboxName::parse(mailbox).expect("mailbox name");
    block_on(async move {
        let store = SqliteStore::open(&data_dir).expect("open the store");
        let account = store
            .account(&address)
            .await
            .expect("look up the account")
            .unwrap_or_else(|| panic!("no account {address}"));
        store
            .create_mailbox(account.id, &name, None)
            .await
            .expect("create the mailbox");
    });
}

// ---- more listeners (POP3, …) ----

impl TestServer {
    /// Like [`TestServer::start`], with POP3 (STLS) and POP3S also on 127.0.0.1:0.
    pub fn start_pop3(extra_toml: &str) -> Self {
        let mut server = Self::configure(extra_toml);
        server.enable_listener("pop3");
        server.enable_listener("pop3s");
        server.spawn();
        server
    }

    /// Turns on `service` (`pop3`, `imaps`, …) on 127.0.0.1:0 in the config; call before
    /// [`TestServer::spawn`].
    pub fn enable_listener(&self, service: &str) {
        let config = std::fs::read_to_string(&self.config_path).expect("read config");
        let off = format!("\n{service} = []\n");
        assert!(config.contains(&off), "no `{service} = []` in the config");
        let on = format!("\n{service} = [\"127.0.0.1:0\"]\n");
        std::fs::write(&self.config_path, config.replacen(&off, &on, 1)).expect("write config");
    }

    /// The address of the running server's first `surel: SERVICE listening on ADDR` line.
    pub fn listening_on(&self, service: &str) -> SocketAddr {
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let prefix = format!("[stdout] surel: {service} listening on ");
        log.lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .filter_map(|addr| addr.trim().parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no `{service} listening on` line\n{}", self.logs()))
    }
}

// ---- the outbound queue ----

impl TestServer {
    /// Moves the SMTP listener to `addr` (e.g. 127.0.0.2 with a fixed port, so the server can be
    /// stopped and started again at the same place); call before [`TestServer::spawn`].
    pub fn set_smtp_listen(&self, addr: SocketAddr) {
        let config = std::fs::read_to_string(&self.config_path).expect("read config");
        let on = format!("\nsmtp = [\"{addr}\"]\n");
        let config = config.replacen("\nsmtp = [\"127.0.0.1:0\"]\n", &on, 1);
        std::fs::write(&self.config_path, config).expect("write config");
    }
}

/// A port free on `ip` just now (bound and released), for a server to listen on later.
pub fn free_port(ip: std::net::IpAddr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Queues a message in the store at `data_dir` (as the submission path will), from `from`
/// (`None`: `<>`) to `to`; returns its queue id.
pub fn enqueue_in(data_dir: &Path, from: Option<&str>, to: &[&str], message: &[u8]) -> i64 {
    let data_dir = data_dir.to_path_buf();
    let from = from.map(|f| Address::parse(f).expect("sender"));
    let recipients = to
        .iter()
        .map(|t| Address::parse(t).expect("recipient"))
        .collect();
    let bytes: Arc<[u8]> = Arc::from(message);
    block_on(async move {
        let store = SqliteStore::open(&data_dir).expect("open the store");
        store
            .enqueue(surel_store::QueuedMessage {
                bytes,
                from,
                recipients,
                arrival: chrono::Utc::now(),
                account: None,
            })
            .await
            .expect("enqueue")
            .0
    })
}

/// The queue entries in the store at `data_dir`.
pub fn queue_in(data_dir: &Path) -> Vec<surel_store::QueueEntry> {
    let data_dir = data_dir.to_path_buf();
    block_on(async move {
        let store = SqliteStore::open(&data_dir).expect("open the store");
        store.queue_entries().await.expect("list the queue")
    })
}

/// Waits (bounded by [`WAIT`]) until `done` holds; panics with `what` otherwise.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "gave up waiting: {what}");
        pause(Duration::from_millis(100));
    }
}

/// One `NAME IN TXT ( "…" … ) ; comment` line, read back: the name and its strings.
pub fn parse_txt_line(line: &str) -> (String, Vec<String>) {
    let (name, rest) = line.split_once(" IN TXT ").expect("a TXT line");
    let rest = rest.split(" ; ").next().expect("record text");
    let strings = rest
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    (name.to_string(), strings)
}

/// The `._domainkey.` lines of CLI output.
pub fn dkim_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.contains("._domainkey."))
        .collect()
}

/// `zone` plus the DKIM key records of `domain` as `surel dkim show` prints them.
pub fn publish_dkim(
    mut zone: surel_dns::test_server::Zone,
    server: &TestServer,
    domain: &str,
) -> surel_dns::test_server::Zone {
    for line in dkim_lines(&server.cli(&["dkim", "show", domain])) {
        let (name, strings) = parse_txt_line(line);
        let parts: Vec<&str> = strings.iter().map(String::as_str).collect();
        zone = zone.txt_parts(name.trim_end_matches('.'), &parts);
    }
    zone
}

/// Points the server's `listen.<service>` (one of the lists the test config leaves empty)
/// at `addr`.
pub fn set_listen(server: &TestServer, service: &str, addr: SocketAddr) {
    let config = std::fs::read_to_string(&server.config_path).expect("read config");
    let config = config.replacen(
        &format!("\n{service} = []\n"),
        &format!("\n{service} = [\"{addr}\"]\n"),
        1,
    );
    std::fs::write(&server.config_path, config).expect("write config");
}
