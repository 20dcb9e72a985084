//! The POP3 state machine (RFC 1939 §3: AUTHORIZATION, TRANSACTION, UPDATE). It sees typed
//! commands, answers with replies, and never touches the socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use surel_net::{AuthThrottle, Login, login};
use surel_pop3_proto::sasl::{self, SaslResponse};
use surel_pop3_proto::{Capability, Command, CommandError, Reply, RespCode, wire_size};
use surel_store::Store;
use surel_types::{AccountId, BlobId, MailboxId, MailboxName, Secret, Uid};

use crate::lock::{MaildropLock, MaildropLocks};

/// What every session of the service shares.
pub struct Context {
    /// Our name, for logs and the greeting.
    pub hostname: String,
    /// Where the maildrops are.
    pub store: Arc<dyn Store>,
    /// Idle time allowed between commands (DESIGN §4: 10 minutes; RFC 1939 §3 asks at least 10).
    pub timeout: Duration,
    /// Longest command line in octets, CRLF included (RFC 2449 §4: at least 255).
    pub max_line: usize,
    /// Client errors in one session before it is closed.
    pub max_errors: usize,
    /// Failed logins in one session before it is closed.
    pub max_failed_logins: usize,
    /// STLS can be offered (a certificate is loaded).
    pub tls_available: bool,
    /// Failed logins per client IP: delays and lockouts.
    pub throttle: Arc<AuthThrottle>,
    /// Which maildrops have a session now (RFC 1939 §8: one session per maildrop).
    pub locks: MaildropLocks,
}

impl Context {
    /// A context with the defaults for the limits not given.
    pub fn new(
        hostname: String,
        store: Arc<dyn Store>,
        timeout: Duration,
        max_line: usize,
    ) -> Self {
        Self {
            hostname,
            store,
            timeout,
            max_line: max_line.max(MIN_LINE),
            max_errors: 10,
            max_failed_logins: 3,
            tls_available: true,
            throttle: Arc::new(AuthThrottle::default()),
            locks: MaildropLocks::default(),
        }
    }
}

/// RFC 2449 §4: commands may be 255 octets long, CRLF included.
const MIN_LINE: usize = 255;

/// What to send for one step.
#[derive(Debug)]
pub enum Response {
    /// One status line.
    Line(Reply),
    /// A `+OK` line, then these lines as a multi-line response (RFC 1939 §3).
    Lines(Reply, Vec<String>),
    /// A `+OK` line, then the message (all of it, or TOP's part) dot-stuffed and terminated.
    Message {
        /// The status line.
        reply: Reply,
        /// The stored message.
        bytes: Vec<u8>,
        /// `Some(n)`: TOP with n body lines.
        top: Option<u32>,
    },
    /// RFC 5034 §4: `+ ` and an empty challenge; the next line is a SASL response.
    Continue,
}

/// What the driver does after writing a step's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next command.
    Command,
    /// Read a SASL response line and call [`Session::sasl_response`].
    SaslResponse,
    /// Drop buffered input, do the TLS handshake, and go on with [`Session::restart_with_tls`].
    Stls,
    /// Close the connection.
    Close,
}

/// A response and what to do next.
#[derive(Debug)]
pub struct Step {
    /// What to send.
    pub response: Response,
    /// What the driver does after sending it.
    pub next: Next,
}

impl Step {
    fn line(reply: Reply) -> Self {
        Self {
            response: Response::Line(reply),
            next: Next::Command,
        }
    }

    fn close(reply: Reply) -> Self {
        Self {
            response: Response::Line(reply),
            next: Next::Close,
        }
    }

    /// The status line of the step.
    pub fn reply(&self) -> Option<&Reply> {
        match &self.response {
            Response::Line(r) | Response::Lines(r, _) | Response::Message { reply: r, .. } => {
                Some(r)
            }
            Response::Continue => None,
        }
    }
}

/// One message of the maildrop as it stood at login.
#[derive(Clone, Debug)]
struct Entry {
    uid: Uid,
    /// Octets as RETR sends them (the store keeps CRLF text, so this is the stored size).
    size: u64,
    blob: BlobId,
    /// DELE marked it; QUIT expunges it (RFC 1939 §5).
    deleted: bool,
}

struct Maildrop {
    address: String,
    mailbox: MailboxId,
    uid_validity: u32,
    /// Message n is `messages[n - 1]`; the numbering never changes during the session.
    messages: Vec<Entry>,
    /// Held while the session lives; dropping it frees the maildrop.
    _lock: MaildropLock,
}

impl Maildrop {
    fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i + 1, e))
    }

    fn totals(&self) -> (usize, u64) {
        self.live()
            .fold((0, 0), |(n, size), (_, e)| (n + 1, size + e.size))
    }

    /// RFC 1939 §3: a message number names a message that is not marked deleted.
    fn entry(&self, msg: u32) -> Result<&Entry, Reply> {
        let index = usize::try_from(msg).ok().and_then(|m| m.checked_sub(1));
        match index.and_then(|i| self.messages.get(i)) {
            Some(e) if !e.deleted => Ok(e),
            Some(_) => Err(Reply::err("message is deleted")),
            None => Err(Reply::err("no such message")),
        }
    }

    /// RFC 1939 §7: a unique-id is 1 to 70 characters 0x21..0x7E, the same for a message in
    /// every session. UIDVALIDITY and UID together name a message forever in the store.
    fn unique_id(&self, entry: &Entry) -> String {
        format!("{:08x}{:08x}", self.uid_validity, entry.uid.0)
    }
}

enum State {
    /// RFC 1939 §4; `user` is the name from USER awaiting PASS.
    Authorization { user: Option<String> },
    /// RFC 5034 §4: AUTH PLAIN sent `+ `; the next line is the client's response.
    SaslPlain,
    /// RFC 1939 §5.
    Transaction(Maildrop),
    /// RFC 1939 §6: QUIT was answered; nothing more is read.
    Update,
}

/// One POP3 connection's protocol state.
pub struct Session {
    ctx: Arc<Context>,
    peer: SocketAddr,
    tls: bool,
    /// RFC 6856 §2: the client sent UTF8.
    utf8: bool,
    state: State,
    /// Client errors so far; at `ctx.max_errors` the session ends.
    errors: usize,
    failed_logins: usize,
    id: String,
}

impl Session {
    /// A session for a new connection; `tls` is true on the implicit-TLS port.
    pub fn new(ctx: Arc<Context>, peer: SocketAddr, tls: bool) -> Self {
        Self {
            ctx,
            peer,
            tls,
            utf8: false,
            state: State::Authorization { user: None },
            errors: 0,
            failed_logins: 0,
            id: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
        }
    }

    /// The session after the STLS handshake: RFC 2595 §4 starts AUTHORIZATION over.
    pub fn restart_with_tls(self) -> Self {
        Self {
            tls: true,
            utf8: false,
            state: State::Authorization { user: None },
            ..self
        }
    }

    /// The connection id used in logs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True once the client sent UTF8 (RFC 6856 §2). Nothing we send changes: messages are
    /// never down-converted, and status text is ASCII.
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// True once the session has logged in (TRANSACTION state).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Transaction(_))
    }

    /// RFC 1939 §4: the greeting. No APOP timestamp: we keep no plaintext passwords.
    pub fn greeting(&self) -> Reply {
        Reply::ok(format!("surel POP3 server ready on {}", self.ctx.hostname))
    }

    /// True when the next line is a SASL response, not a command.
    pub fn expects_sasl(&self) -> bool {
        matches!(self.state, State::SaslPlain)
    }

    /// Whether USER/PASS and AUTH may be used now: only under TLS, except from loopback
    /// (RFC 2595 §2.1 lets a server refuse plaintext passwords without TLS).
    fn login_allowed(&self) -> bool {
        self.tls || self.peer.ip().is_loopback()
    }

    /// Handles one command.
    pub async fn handle(&mut self, command: Command) -> Step {
        tracing::debug!(verb = command.verb(), "command");
        let authorization = matches!(self.state, State::Authorization { .. });
        match command {
            Command::Capa => self.capa(),
            Command::Quit if authorization => {
                self.state = State::Update;
                Step::close(Reply::ok("surel POP3 server signing off"))
            }
            Command::Quit if self.is_authenticated() => self.quit().await,
            Command::User(name) if authorization => {
                if !self.login_allowed() {
                    return self.fault(plaintext_refused());
                }
                // The name is checked with the password, so USER never says whether it exists.
                self.state = State::Authorization { user: Some(name) };
                Step::line(Reply::ok("send PASS"))
            }
            Command::Pass(password) if authorization => {
                let user = match &mut self.state {
                    State::Authorization { user } => user.take(),
                    _ => None,
                };
                match user {
                    Some(name) => self.login(&name, password).await,
                    None => self.fault(Reply::err("send USER first")),
                }
            }
            Command::Auth { mechanism, initial } if authorization => {
                self.auth(mechanism, initial).await
            }
            Command::Stls if authorization => self.stls(),
            Command::Utf8 if authorization => {
                // RFC 6856 §2: valid only before login; user names and passwords may be UTF-8.
                self.state = State::Authorization { user: None };
                self.utf8 = true;
                Step::line(Reply::ok("UTF8 enabled"))
            }
            command => {
                let State::Transaction(drop) = &mut self.state else {
                    return self.fault(Reply::err("command not valid in this state"));
                };
                match transaction(drop, &self.ctx, command).await {
                    Ok(step) => step,
                    Err(TransactionError::Client(reply)) => self.fault(reply),
                    Err(TransactionError::Server(reply)) => Step::line(reply),
                }
            }
        }
    }

    /// A line that did not parse: `-ERR`, counted as a client error.
    pub fn syntax_error(&mut self, error: &CommandError) -> Step {
        tracing::debug!(%error, "bad command line");
        let text = match error {
            CommandError::LineTooLong => "line too long",
            CommandError::Empty => "empty command",
            CommandError::Unknown => "unknown command",
            CommandError::BadArguments { why, .. } => why,
        };
        // Back to commands: a bad line ends a SASL exchange too.
        if matches!(self.state, State::SaslPlain) {
            self.state = State::Authorization { user: None };
        }
        self.fault(Reply::err(text))
    }

    /// The client's line after `+ ` in AUTH PLAIN.
    pub async fn sasl_response(&mut self, line: &[u8]) -> Step {
        if !matches!(self.state, State::SaslPlain) {
            return self.fault(Reply::err("no authentication in progress"));
        }
        self.state = State::Authorization { user: None };
        match sasl::parse_response(line) {
            // RFC 5034 §4: a cancelled exchange is answered with -ERR.
            Ok(SaslResponse::Cancel) => self.fault(Reply::err("authentication cancelled")),
            Ok(SaslResponse::Data(message)) => self.auth_plain(&message).await,
            Err(e) => self.fault(Reply::err(e.to_string())),
        }
    }

    /// Counts a client error; past the limit the session closes.
    fn fault(&mut self, reply: Reply) -> Step {
        self.errors += 1;
        if self.errors >= self.ctx.max_errors {
            tracing::info!(peer = %self.peer, errors = self.errors, "too many errors; closing");
            return Step::close(Reply::err("too many errors; closing"));
        }
        Step::line(reply)
    }

    fn capa(&self) -> Step {
        let mut caps = vec![
            Capability::Top,
            Capability::Uidl,
            Capability::RespCodes,
            Capability::AuthRespCode,
            Capability::Pipelining,
            Capability::Utf8,
        ];
        let authorization = matches!(self.state, State::Authorization { .. });
        if authorization && self.login_allowed() {
            caps.push(Capability::User);
            caps.push(Capability::Sasl(vec!["PLAIN"]));
        }
        // RFC 2595 §4: STLS only in AUTHORIZATION, and not once TLS is on.
        if authorization && self.ctx.tls_available && !self.tls {
            caps.push(Capability::Stls);
        }
        caps.push(Capability::Implementation("surel"));
        Step {
            response: Response::Lines(
                Reply::ok("capability list follows"),
                caps.iter().map(ToString::to_string).collect(),
            ),
            next: Next::Command,
        }
    }

    fn stls(&mut self) -> Step {
        if self.tls {
            return self.fault(Reply::err("TLS is already active"));
        }
        if !self.ctx.tls_available {
            return self.fault(Reply::err("STLS not available"));
        }
        Step {
            response: Response::Line(Reply::ok("begin TLS negotiation")),
            next: Next::Stls,
        }
    }

    async fn auth(&mut self, mechanism: Option<String>, initial: Option<String>) -> Step {
        let Some(mechanism) = mechanism else {
            // The pre-RFC 5034 listing form, still sent by some clients.
            return Step {
                response: Response::Lines(
                    Reply::ok("SASL mechanisms follow"),
                    vec!["PLAIN".to_string()],
                ),
                next: Next::Command,
            };
        };
        if !self.login_allowed() {
            return self.fault(plaintext_refused());
        }
        if mechanism != "PLAIN" {
            return self.fault(Reply::err("unsupported SASL mechanism"));
        }
        match initial {
            None => {
                self.state = State::SaslPlain;
                Step {
                    response: Response::Continue,
                    next: Next::SaslResponse,
                }
            }
            Some(initial) => match sasl::decode_initial(&initial) {
                Ok(message) => self.auth_plain(&message).await,
                Err(e) => self.fault(Reply::err(e.to_string())),
            },
        }
    }

    async fn auth_plain(&mut self, message: &[u8]) -> Step {
        let plain = match sasl::decode_plain(message) {
            Ok(plain) => plain,
            Err(e) => return self.fault(Reply::err(e.to_string())),
        };
        // No proxy authorization: the authzid must be empty or the login itself.
        if !plain.authzid.is_empty() && plain.authzid != plain.authcid {
            return self.fault(Reply::err_code(
                RespCode::Auth,
                "authorization identity not permitted",
            ));
        }
        self.login(&plain.authcid, plain.password).await
    }

    /// Checks the credentials, takes the maildrop lock and the snapshot: AUTHORIZATION to
    /// TRANSACTION (RFC 1939 §4), or `-ERR` and AUTHORIZATION again.
    async fn login(&mut self, name: &str, password: Secret<String>) -> Step {
        let store = &*self.ctx.store;
        let account = match login(store, &self.ctx.throttle, self.peer.ip(), name, password).await {
            Login::Accepted(account) => account,
            Login::LockedOut(_) => {
                self.failed_logins += 1;
                return self.login_failed(Reply::err_code(
                    RespCode::SysTemp,
                    "too many failed logins; try again later",
                ));
            }
            Login::Refused => {
                self.failed_logins += 1;
                return self.login_failed(Reply::err_code(
                    RespCode::Auth,
                    "invalid user name or password",
                ));
            }
            Login::Unavailable => {
                return Step::line(Reply::err_code(RespCode::SysTemp, "try again later"));
            }
        };
        // RFC 2449 §8.1.2: another session holds the maildrop.
        let Some(lock) = self.ctx.locks.try_lock(account.id) else {
            return Step::line(Reply::err_code(
                RespCode::InUse,
                "maildrop is locked by another POP3 session",
            ));
        };
        match snapshot(
            &*self.ctx.store,
            account.id,
            account.address.to_string(),
            lock,
        )
        .await
        {
            Ok(drop) => {
                let (n, size) = drop.totals();
                tracing::info!(account = %drop.address, messages = n, "logged in");
                self.state = State::Transaction(drop);
                Step::line(Reply::ok(format!(
                    "maildrop has {n} messages ({size} octets)"
                )))
            }
            Err(reply) => Step::line(reply),
        }
    }

    fn login_failed(&mut self, reply: Reply) -> Step {
        if self.failed_logins >= self.ctx.max_failed_logins {
            return Step::close(reply);
        }
        Step::line(reply)
    }

    /// RFC 1939 §6: the UPDATE state: the marked messages are removed, then the session ends.
    async fn quit(&mut self) -> Step {
        let State::Transaction(drop) = std::mem::replace(&mut self.state, State::Update) else {
            return Step::close(Reply::ok("signing off"));
        };
        let uids: Vec<Uid> = drop
            .messages
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect();
        if uids.is_empty() {
            return Step::close(Reply::ok("signing off"));
        }
        match self.ctx.store.expunge(drop.mailbox, &uids).await {
            Ok(removed) => {
                tracing::info!(account = %drop.address, removed = removed.len(), "expunged");
                Step::close(Reply::ok(format!(
                    "signing off ({} messages deleted)",
                    uids.len()
                )))
            }
            Err(e) => {
                tracing::error!(account = %drop.address, error = %e, "expunge failed");
                // RFC 1939 §6: -ERR when some deleted messages could not be removed.
                Step::close(Reply::err_code(
                    RespCode::SysTemp,
                    "some deleted messages not removed",
                ))
            }
        }
    }
}

fn plaintext_refused() -> Reply {
    Reply::err_code(
        RespCode::Auth,
        "plaintext authentication is not allowed without TLS; use STLS",
    )
}

/// RFC 1939 §8 (and the issue): the maildrop is INBOX as it stands at login.
async fn snapshot(
    store: &dyn Store,
    account: AccountId,
    address: String,
    lock: MaildropLock,
) -> Result<Maildrop, Reply> {
    let server = |e: surel_store::StoreError| {
        tracing::error!(error = %e, "cannot read the maildrop");
        Reply::err_code(
            RespCode::SysTemp,
            "cannot open the maildrop; try again later",
        )
    };
    let inbox = store
        .mailbox(account, &MailboxName::inbox())
        .await
        .map_err(server)?
        .ok_or_else(|| Reply::err_code(RespCode::SysPerm, "no INBOX"))?;
    let messages = store
        .messages(inbox.id)
        .await
        .map_err(server)?
        .into_iter()
        .map(|m| Entry {
            uid: m.uid,
            size: m.size,
            blob: m.blob,
            deleted: false,
        })
        .collect();
    Ok(Maildrop {
        address,
        mailbox: inbox.id,
        uid_validity: inbox.uid_validity,
        messages,
        _lock: lock,
    })
}

enum TransactionError {
    /// The client's mistake: counted.
    Client(Reply),
    /// Ours: not counted.
    Server(Reply),
}

impl From<Reply> for TransactionError {
    fn from(reply: Reply) -> Self {
        TransactionError::Client(reply)
    }
}

/// The TRANSACTION-state commands (RFC 1939 §5, §7).
async fn transaction(
    drop: &mut Maildrop,
    ctx: &Context,
    command: Command,
) -> Result<Step, TransactionError> {
    let lines = |reply: Reply, lines: Vec<String>| Step {
        response: Response::Lines(reply, lines),
        next: Next::Command,
    };
    Ok(match command {
        Command::Stat => {
            let (n, size) = drop.totals();
            Step::line(Reply::ok(format!("{n} {size}")))
        }
        Command::List(None) => {
            let (n, size) = drop.totals();
            let listing = drop
                .live()
                .map(|(i, e)| format!("{i} {}", e.size))
                .collect();
            lines(Reply::ok(format!("{n} messages ({size} octets)")), listing)
        }
        Command::List(Some(msg)) => {
            let entry = drop.entry(msg)?;
            Step::line(Reply::ok(format!("{msg} {}", entry.size)))
        }
        Command::Uidl(None) => {
            let listing = drop
                .live()
                .map(|(i, e)| format!("{i} {}", drop.unique_id(e)))
                .collect();
            lines(Reply::ok("unique-id listing follows"), listing)
        }
        Command::Uidl(Some(msg)) => {
            let entry = drop.entry(msg)?;
            Step::line(Reply::ok(format!("{msg} {}", drop.unique_id(entry))))
        }
        Command::Retr(msg) => {
            let entry = drop.entry(msg)?.clone();
            let bytes = read(ctx, &entry).await?;
            Step {
                response: Response::Message {
                    reply: Reply::ok(format!("{} octets", entry.size)),
                    bytes,
                    top: None,
                },
                next: Next::Command,
            }
        }
        Command::Top { msg, lines } => {
            let entry = drop.entry(msg)?.clone();
            let bytes = read(ctx, &entry).await?;
            Step {
                response: Response::Message {
                    reply: Reply::ok("top of message follows"),
                    bytes,
                    top: Some(lines),
                },
                next: Next::Command,
            }
        }
        Command::Dele(msg) => {
            drop.entry(msg)?;
            if let Some(e) = usize::try_from(msg)
                .ok()
                .and_then(|m| drop.messages.get_mut(m.wrapping_sub(1)))
            {
                e.deleted = true;
            }
            Step::line(Reply::ok(format!("message {msg} deleted")))
        }
        Command::Noop => Step::line(Reply::ok("")),
        Command::Rset => {
            for e in &mut drop.messages {
                e.deleted = false;
            }
            let (n, size) = drop.totals();
            Step::line(Reply::ok(format!(
                "maildrop has {n} messages ({size} octets)"
            )))
        }
        _ => return Err(Reply::err("command not valid in this state").into()),
    })
}

async fn read(ctx: &Context, entry: &Entry) -> Result<Vec<u8>, TransactionError> {
    match ctx.store.read_blob(&entry.blob).await {
        Ok(bytes) => {
            let sent = wire_size(&bytes);
            if sent != entry.size {
                // The store keeps CRLF text (SMTP refuses anything else), so this means a
                // writer broke that rule; the listed size is then off by the line endings.
                tracing::warn!(uid = %entry.uid, listed = entry.size, sent, "size mismatch");
            }
            Ok(bytes)
        }
        Err(e) => {
            tracing::error!(uid = %entry.uid, error = %e, "cannot read a message");
            Err(TransactionError::Server(Reply::err_code(
                RespCode::SysTemp,
                "cannot read the message; try again later",
            )))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use surel_pop3_proto::sasl::encode_base64;
    use surel_store::{DeliveryTarget, NewMessage};
    use surel_store_sqlite::SqliteStore;
    use surel_types::{Address, Domain};

    pub(crate) const PASSWORD: &str = "correct horse";
    pub(crate) const USER: &str = "pat@pop.test";

    pub(crate) struct Fixture {
        pub(crate) _dir: tempfile::TempDir,
        pub(crate) store: Arc<SqliteStore>,
        pub(crate) ctx: Arc<Context>,
        pub(crate) account: AccountId,
    }

    impl Fixture {
        pub(crate) async fn new(messages: &[&str]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
            store
                .add_domain(&Domain::parse("pop.test").unwrap())
                .await
                .unwrap();
            let hash = surel_store::password::hash(&Secret::new(PASSWORD.into())).unwrap();
            let account = store
                .add_account(&Address::parse(USER).unwrap(), &hash)
                .await
                .unwrap();
            let ctx = Arc::new(Context::new(
                "pop.test".into(),
                store.clone() as Arc<dyn Store>,
                Duration::from_secs(600),
                512,
            ));
            let f = Fixture {
                _dir: dir,
                store,
                ctx,
                account,
            };
            for m in messages {
                f.deliver(m).await;
            }
            f
        }

        pub(crate) async fn deliver(&self, text: &str) {
            let message = NewMessage {
                bytes: Arc::from(text.as_bytes()),
                internal_date: chrono::Utc::now(),
                flags: Vec::new(),
                auth_results: None,
            };
            let target = DeliveryTarget {
                account: self.account,
                mailbox: MailboxName::inbox(),
            };
            self.store.deliver(message, &[target]).await.unwrap();
        }

        pub(crate) async fn inbox_uids(&self) -> Vec<u32> {
            let inbox = self
                .store
                .mailbox(self.account, &MailboxName::inbox())
                .await
                .unwrap()
                .unwrap();
            let messages = self.store.messages(inbox.id).await.unwrap();
            messages.iter().map(|m| m.uid.0).collect()
        }

        fn session(&self, peer: &str, tls: bool) -> Session {
            Session::new(self.ctx.clone(), peer.parse().unwrap(), tls)
        }

        async fn logged_in(&self) -> Session {
            let mut s = self.session("127.0.0.1:50000", false);
            ok(&mut s, Command::User(USER.into())).await;
            ok(&mut s, Command::Pass(Secret::new(PASSWORD.into()))).await;
            assert!(s.is_authenticated());
            s
        }
    }

    pub(crate) const M1: &str = "Subject: one\r\n\r\nfirst\r\n.dot\r\n";
    pub(crate) const M2: &str = "Subject: two\r\n\r\nsecond body\r\nline 2\r\nline 3\r\n";

    fn text(step: &Step) -> String {
        step.reply().map(ToString::to_string).unwrap_or_default()
    }

    async fn ok(s: &mut Session, command: Command) -> Step {
        let step = s.handle(command).await;
        assert!(step.reply().is_some_and(|r| r.ok), "{}", text(&step));
        step
    }

    async fn err(s: &mut Session, command: Command) -> String {
        let step = s.handle(command).await;
        assert!(step.reply().is_some_and(|r| !r.ok), "{}", text(&step));
        text(&step)
    }

    fn lines(step: &Step) -> Vec<String> {
        match &step.response {
            Response::Lines(_, lines) => lines.clone(),
            other => panic!("not a multi-line response: {other:?}"),
        }
    }

    #[tokio::test]
    async fn transaction_commands_and_quit_commits_deletions() {
        let f = Fixture::new(&[M1, M2]).await;
        let mut s = f.logged_in().await;
        let total = M1.len() + M2.len();
        let stat = ok(&mut s, Command::Stat).await;
        assert_eq!(text(&stat), format!("+OK 2 {total}"));
        let list = ok(&mut s, Command::List(None)).await;
        assert_eq!(
            lines(&list),
            [format!("1 {}", M1.len()), format!("2 {}", M2.len())]
        );
        assert_eq!(
            text(&ok(&mut s, Command::List(Some(2))).await),
            format!("+OK 2 {}", M2.len())
        );
        assert_eq!(
            err(&mut s, Command::List(Some(3))).await,
            "-ERR no such message"
        );
        let uidl = lines(&ok(&mut s, Command::Uidl(None)).await);
        assert_eq!(uidl.len(), 2);
        assert!(uidl.iter().all(|l| l.len() == 2 + 16), "{uidl:?}");
        match ok(&mut s, Command::Retr(1)).await.response {
            Response::Message { reply, bytes, top } => {
                assert_eq!(reply.to_string(), format!("+OK {} octets", M1.len()));
                assert_eq!(bytes, M1.as_bytes());
                assert_eq!(top, None);
            }
            other => panic!("{other:?}"),
        }
        match ok(&mut s, Command::Top { msg: 2, lines: 1 }).await.response {
            Response::Message { top, .. } => assert_eq!(top, Some(1)),
            other => panic!("{other:?}"),
        }
        ok(&mut s, Command::Dele(1)).await;
        assert_eq!(
            err(&mut s, Command::Dele(1)).await,
            "-ERR message is deleted"
        );
        assert_eq!(
            err(&mut s, Command::Retr(1)).await,
            "-ERR message is deleted"
        );
        assert_eq!(
            text(&ok(&mut s, Command::Stat).await),
            format!("+OK 1 {}", M2.len())
        );
        assert_eq!(lines(&ok(&mut s, Command::Uidl(None)).await), uidl[1..]);
        ok(&mut s, Command::Rset).await;
        assert_eq!(
            text(&ok(&mut s, Command::Stat).await),
            format!("+OK 2 {total}")
        );
        ok(&mut s, Command::Dele(2)).await;
        ok(&mut s, Command::Noop).await;
        let quit = ok(&mut s, Command::Quit).await;
        assert_eq!(quit.next, Next::Close);
        assert_eq!(f.inbox_uids().await, [1]);
        assert!(!f.ctx.locks.is_locked(f.account));
    }

    #[tokio::test]
    async fn dropped_session_deletes_nothing_and_frees_the_lock() {
        let f = Fixture::new(&[M1, M2]).await;
        let mut s = f.logged_in().await;
        ok(&mut s, Command::Dele(1)).await;
        ok(&mut s, Command::Dele(2)).await;
        assert!(f.ctx.locks.is_locked(f.account));
        drop(s);
        assert_eq!(f.inbox_uids().await, [1, 2]);
        assert!(!f.ctx.locks.is_locked(f.account));
    }

    #[tokio::test]
    async fn second_session_gets_in_use_until_the_first_ends() {
        let f = Fixture::new(&[M1]).await;
        let first = f.logged_in().await;
        let mut second = f.session("127.0.0.1:50001", false);
        ok(&mut second, Command::User(USER.into())).await;
        let e = err(&mut second, Command::Pass(Secret::new(PASSWORD.into()))).await;
        assert!(e.starts_with("-ERR [IN-USE]"), "{e}");
        assert!(!second.is_authenticated());
        drop(first);
        ok(&mut second, Command::User(USER.into())).await;
        ok(&mut second, Command::Pass(Secret::new(PASSWORD.into()))).await;
    }

    #[tokio::test]
    async fn snapshot_hides_later_mail_and_unique_ids_are_stable() {
        let f = Fixture::new(&[M1]).await;
        let mut s = f.logged_in().await;
        f.deliver(M2).await;
        assert_eq!(
            text(&ok(&mut s, Command::Stat).await),
            format!("+OK 1 {}", M1.len())
        );
        let first = lines(&ok(&mut s, Command::Uidl(None)).await);
        ok(&mut s, Command::Quit).await;
        let mut s = f.logged_in().await;
        let again = lines(&ok(&mut s, Command::Uidl(None)).await);
        assert_eq!(again.len(), 2);
        assert_eq!(again[0], first[0]);
        assert_ne!(again[0], again[1]);
    }

    #[tokio::test]
    async fn plaintext_login_needs_tls_except_on_loopback() {
        let f = Fixture::new(&[]).await;
        let mut remote = f.session("192.0.2.7:4000", false);
        let capa = lines(&ok(&mut remote, Command::Capa).await);
        assert!(capa.contains(&"STLS".to_string()), "{capa:?}");
        assert!(!capa.iter().any(|c| c == "USER" || c.starts_with("SASL")));
        let e = err(&mut remote, Command::User(USER.into())).await;
        assert!(e.starts_with("-ERR [AUTH]"), "{e}");
        let auth = Command::Auth {
            mechanism: Some("PLAIN".into()),
            initial: None,
        };
        assert!(err(&mut remote, auth).await.starts_with("-ERR [AUTH]"));
        let stls = ok(&mut remote, Command::Stls).await;
        assert_eq!(stls.next, Next::Stls);
        let mut secured = remote.restart_with_tls();
        let capa = lines(&ok(&mut secured, Command::Capa).await);
        assert!(capa.contains(&"USER".to_string()), "{capa:?}");
        assert!(capa.contains(&"SASL PLAIN".to_string()), "{capa:?}");
        assert!(!capa.contains(&"STLS".to_string()), "{capa:?}");
        assert!(err(&mut secured, Command::Stls).await.starts_with("-ERR"));
        ok(&mut secured, Command::User(USER.into())).await;
        ok(&mut secured, Command::Pass(Secret::new(PASSWORD.into()))).await;
        let capa = lines(&ok(&mut secured, Command::Capa).await);
        assert!(!capa.contains(&"USER".to_string()), "{capa:?}");
    }

    #[tokio::test]
    async fn auth_plain_with_initial_response_and_after_a_challenge() {
        let f = Fixture::new(&[M1]).await;
        let creds = encode_base64(format!("\0{USER}\0{PASSWORD}").as_bytes());
        let mut s = f.session("127.0.0.1:1", false);
        ok(
            &mut s,
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some(creds.clone()),
            },
        )
        .await;
        assert!(s.is_authenticated());
        drop(s);

        let mut s = f.session("127.0.0.1:1", false);
        let step = s
            .handle(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: None,
            })
            .await;
        assert!(matches!(step.response, Response::Continue));
        assert_eq!(step.next, Next::SaslResponse);
        assert!(s.expects_sasl());
        let step = s.sasl_response(b"*").await;
        assert_eq!(text(&step), "-ERR authentication cancelled");
        assert!(!s.expects_sasl());
        s.handle(Command::Auth {
            mechanism: Some("PLAIN".into()),
            initial: None,
        })
        .await;
        let step = s.sasl_response(creds.as_bytes()).await;
        assert!(step.reply().is_some_and(|r| r.ok), "{}", text(&step));
        assert!(s.is_authenticated());
        drop(s);

        let mut s = f.session("127.0.0.1:1", false);
        let other = encode_base64(format!("root@pop.test\0{USER}\0{PASSWORD}").as_bytes());
        let e = err(
            &mut s,
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some(other),
            },
        )
        .await;
        assert!(e.starts_with("-ERR [AUTH]"), "{e}");
        let e = err(
            &mut s,
            Command::Auth {
                mechanism: Some("CRAM-MD5".into()),
                initial: None,
            },
        )
        .await;
        assert_eq!(e, "-ERR unsupported SASL mechanism");
    }

    #[tokio::test(start_paused = true)]
    async fn failed_logins_are_delayed_and_the_third_closes() {
        let f = Fixture::new(&[]).await;
        let mut s = f.session("127.0.0.1:2", false);
        for round in 1..=3 {
            ok(&mut s, Command::User(USER.into())).await;
            let before = tokio::time::Instant::now();
            let step = s.handle(Command::Pass(Secret::new("wrong".into()))).await;
            assert!(tokio::time::Instant::now() - before >= Duration::from_millis(500));
            assert!(text(&step).starts_with("-ERR [AUTH]"), "{}", text(&step));
            let closes = step.next == Next::Close;
            assert_eq!(closes, round == 3, "round {round}");
        }
        // An unknown user gets the same answer.
        let mut s = f.session("127.0.0.1:3", false);
        ok(&mut s, Command::User("nobody@pop.test".into())).await;
        let e = err(&mut s, Command::Pass(Secret::new(PASSWORD.into()))).await;
        assert!(e.starts_with("-ERR [AUTH]"), "{e}");
    }

    #[tokio::test]
    async fn wrong_state_and_bad_lines_are_errors_until_too_many() {
        let f = Fixture::new(&[M1]).await;
        let mut s = f.session("127.0.0.1:4", false);
        assert_eq!(
            err(&mut s, Command::Stat).await,
            "-ERR command not valid in this state"
        );
        assert_eq!(
            err(&mut s, Command::Pass(Secret::new("x".into()))).await,
            "-ERR send USER first"
        );
        assert_eq!(
            err(&mut s, Command::Noop).await,
            "-ERR command not valid in this state"
        );
        let mut s = f.logged_in().await;
        assert!(
            err(&mut s, Command::User(USER.into()))
                .await
                .starts_with("-ERR")
        );
        assert!(err(&mut s, Command::Stls).await.starts_with("-ERR"));
        assert!(err(&mut s, Command::Utf8).await.starts_with("-ERR"));
        for _ in 3..9 {
            let step = s.syntax_error(&CommandError::Unknown);
            assert_eq!(step.next, Next::Command);
        }
        let step = s.syntax_error(&CommandError::Unknown);
        assert_eq!(step.next, Next::Close);
        assert_eq!(text(&step), "-ERR too many errors; closing");
        drop(s);
        assert_eq!(f.inbox_uids().await, [1]);
    }

    #[tokio::test]
    async fn utf8_is_accepted_before_login_only() {
        let f = Fixture::new(&[]).await;
        let mut s = f.session("127.0.0.1:5", false);
        let capa = lines(&ok(&mut s, Command::Capa).await);
        assert!(capa.contains(&"UTF8 USER".to_string()));
        assert!(capa.contains(&"RESP-CODES".to_string()));
        assert!(capa.contains(&"PIPELINING".to_string()));
        assert!(
            !capa
                .iter()
                .any(|c| c.starts_with("APOP") || c.starts_with("EXPIRE"))
        );
        ok(&mut s, Command::Utf8).await;
        assert!(s.is_utf8());
        assert!(s.greeting().to_string().starts_with("+OK "));
        assert!(!s.greeting().to_string().contains('<'), "no APOP timestamp");
    }
}
