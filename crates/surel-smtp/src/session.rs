//! The SMTP state machine (RFC 5321 §4.1.4 command order). It sees typed commands and message
//! bodies, answers with replies, and never touches the socket. One state machine serves both
//! inbound port 25 and submission (RFC 6409); [`Context::submission`] tells them apart, AUTH
//! lives in [`auth`] and the submission end of data in [`submit`].

mod auth;
mod submit;

use std::net::SocketAddr;
use std::sync::Arc;

use surel_config::Limits;
use surel_ingest::{Accepted, Arrival, Ingest, Recipient};
use surel_message::Protocol;
use surel_smtp_proto::{
    BodyLimits, Command, DataViolation, EnhancedCode, Extension, ForwardPath, MailParams,
    RcptParams, Reply, ReversePath,
};
#[cfg(test)]
use surel_types::Domain;
use surel_types::{AccountId, Address};

/// What every session of one service shares.
pub struct Context {
    /// Our name in the greeting, EHLO and Received.
    pub hostname: String,
    /// Sizes, counts and timeouts.
    pub limits: Limits,
    /// Where accepted mail goes.
    pub ingest: Ingest,
    /// STARTTLS is offered (a certificate is loaded).
    pub starttls: bool,
    /// Memory for message bodies being received, shared with every other session.
    pub memory: Arc<surel_net::MemoryBudget>,
    /// Submission (RFC 6409, ports 587/465): AUTH is offered and required, remote recipients
    /// are relayed. Inbound port 25 (false) has no AUTH and refuses relaying.
    pub submission: bool,
    /// Failed-login throttling per client IP, shared by the submission listeners.
    pub throttle: Arc<surel_net::AuthThrottle>,
}

/// What the driver does after writing a step's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next command.
    Command,
    /// Read message data until `<CRLF>.<CRLF>` and call [`Session::data_end`].
    Data,
    /// Drop buffered input, do the TLS handshake, start over (RFC 3207 §4.2).
    StartTls,
    /// Read one line answering a 334 challenge and call [`Session::sasl_response`].
    SaslResponse,
    /// Close the connection.
    Close,
}

/// A reply and what to do next.
#[derive(Debug)]
pub struct Step {
    /// What to send.
    pub reply: Reply,
    /// What the driver does after sending it.
    pub next: Next,
}

impl Step {
    fn cont(reply: Reply) -> Self {
        Self {
            reply,
            next: Next::Command,
        }
    }
}

/// What the driver does with the octets of a BDAT chunk (RFC 3030 §2: they are always read,
/// even when the command fails, so the connection stays in step).
#[derive(Debug, PartialEq, Eq)]
pub enum BdatPlan {
    /// Keep them and pass them to [`Session::bdat_chunk`].
    Keep,
    /// Read and drop them, then send this reply.
    Discard(Reply),
}

struct Helo {
    name: String,
    extended: bool,
}

struct Envelope {
    from: ReversePath,
    params: MailParams,
    /// Accepted recipients as given.
    rcpts: Vec<Address>,
    /// The accounts they lead to (one copy each).
    accounts: Vec<AccountId>,
    /// Accepted recipients that are not ours (submission only): they go to the queue.
    remote: Vec<Address>,
    /// BDAT chunks so far; `None` until the first BDAT.
    chunks: Option<Vec<u8>>,
    /// RCPT commands seen, accepted or not: DATA with none is out of sequence (503), with only
    /// refused ones it has no valid recipients (554), RFC 5321 §3.3.
    rcpt_attempts: usize,
}

impl Envelope {
    /// Why DATA/BDAT cannot start yet, if it cannot.
    fn not_ready(&self) -> Option<Reply> {
        match (self.rcpts.is_empty(), self.rcpt_attempts) {
            (false, _) => None,
            (true, 0) => Some(Reply::BAD_SEQUENCE),
            (true, _) => Some(Reply::NO_VALID_RECIPIENTS),
        }
    }
}

// The envelope lives in the state (STYLE: a wrong sequence is a match arm); one per session,
// so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum State {
    Connected,
    Greeted(Helo),
    Transaction(Helo, Envelope),
}

/// One SMTP connection's protocol state.
pub struct Session {
    ctx: Arc<Context>,
    peer: SocketAddr,
    /// TLS version and cipher once encrypted.
    tls: Option<String>,
    state: State,
    /// Client errors so far; at `limits.smtp_errors` the session ends with 421.
    errors: usize,
    conn_id: String,
    transactions: u32,
    /// The account that authenticated (submission only).
    login: Option<auth::Login>,
    /// A SASL exchange waiting for the client's next line.
    sasl: Option<auth::SaslStep>,
}

impl Session {
    /// A session for a new connection (or a new one after STARTTLS, with `tls` set).
    pub fn new(ctx: Arc<Context>, peer: SocketAddr, tls: Option<String>) -> Self {
        let conn_id = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        Self {
            ctx,
            peer,
            tls,
            state: State::Connected,
            errors: 0,
            conn_id,
            transactions: 0,
            login: None,
            sasl: None,
        }
    }

    /// The session after a STARTTLS handshake: everything learnt before is forgotten
    /// (RFC 3207 §4.2); the connection id and transaction count carry on.
    pub fn restart_with_tls(self, tls: Option<String>) -> Self {
        Self {
            tls,
            state: State::Connected,
            login: None,
            sasl: None,
            ..self
        }
    }

    /// The connection id used in logs.
    pub fn id(&self) -> &str {
        &self.conn_id
    }

    /// The 220 greeting (RFC 5321 §4.2).
    pub fn greeting(&self) -> Reply {
        Reply::greeting(&self.ctx.hostname)
    }

    /// Handles one command.
    pub async fn handle(&mut self, command: Command) -> Step {
        let step = match command {
            Command::Ehlo(name) => self.helo(name, true),
            Command::Helo(name) => self.helo(name, false),
            Command::Mail { from, params } => self.mail(from, params).await,
            Command::Rcpt { to, params } => self.rcpt(to, params).await,
            Command::Data => self.data(),
            Command::Bdat { .. } => {
                // The driver calls `bdat_begin` for BDAT; reaching here is a driver bug.
                Step::cont(Reply::LOCAL_ERROR)
            }
            Command::Rset => {
                self.reset();
                Step::cont(Reply::OK)
            }
            Command::Noop => Step::cont(Reply::OK),
            Command::Quit => Step {
                reply: Reply::closing(&self.ctx.hostname),
                next: Next::Close,
            },
            // RFC 5321 §3.5.3: 252 when we will not say whether a user exists (no probing).
            Command::Vrfy(_) => Step::cont(Reply::VRFY_CANNOT),
            Command::Expn(_) => Step::cont(Reply::NOT_IMPLEMENTED),
            Command::Help(_) => Step::cont(Reply::HELP),
            Command::StartTls => self.starttls(),
            // RFC 4954: AUTH on submission; inbound port 25 offers none.
            Command::Auth {
                mechanism,
                initial_response,
            } if self.ctx.submission => self.auth(mechanism, initial_response).await,
            Command::Auth { .. } => Step::cont(Reply::NOT_IMPLEMENTED),
        };
        self.count_error(step)
    }

    /// A line that did not parse: the parser's reply, counted as a client error.
    pub fn syntax_error(&mut self, reply: Reply) -> Step {
        self.count_error(Step::cont(reply))
    }

    fn count_error(&mut self, step: Step) -> Step {
        // Failures that are ours (4.3.x) or that close anyway do not count against the client.
        let theirs = step.reply.code >= 500 || step.reply.code == 452;
        if theirs && step.next != Next::Close {
            self.errors += 1;
            if self.errors >= self.ctx.limits.smtp_errors {
                tracing::info!(peer = %self.peer, errors = self.errors, "too many errors; closing");
                return Step {
                    reply: Reply::TOO_MANY_ERRORS,
                    next: Next::Close,
                };
            }
        }
        step
    }

    fn helo(&mut self, name: String, extended: bool) -> Step {
        // RFC 5321 §4.1.4: EHLO/HELO also resets any transaction.
        self.state = State::Greeted(Helo {
            name: name.clone(),
            extended,
        });
        if !extended {
            return Step::cont(Reply::helo(&self.ctx.hostname, &name));
        }
        Step::cont(surel_smtp_proto::ehlo_reply(
            &self.ctx.hostname,
            &name,
            &self.extensions(),
        ))
    }

    /// What EHLO announces on this connection.
    fn extensions(&self) -> Vec<Extension> {
        let mut extensions = vec![
            Extension::Pipelining,
            Extension::Size(self.ctx.limits.message_size),
            Extension::EightBitMime,
            Extension::SmtpUtf8,
            Extension::EnhancedStatusCodes,
            Extension::Chunking,
        ];
        if self.ctx.starttls && self.tls.is_none() {
            extensions.push(Extension::StartTls);
        }
        // RFC 4954 §4 and RFC 6409 §4.3: AUTH only where a password may travel.
        if self.ctx.submission && self.login_allowed() {
            extensions.push(Extension::Auth(vec!["PLAIN".into(), "LOGIN".into()]));
        }
        extensions
    }

    fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_size: self.ctx.limits.message_size,
            max_line: self.ctx.limits.text_line,
        }
    }

    async fn mail(&mut self, from: ReversePath, params: MailParams) -> Step {
        if !matches!(self.state, State::Greeted(_)) {
            return Step::cont(Reply::BAD_SEQUENCE);
        }
        if self.ctx.submission {
            // RFC 6409 §4.3 / RFC 4954 §6: submission needs an authenticated client.
            let Some(login) = &self.login else {
                return Step::cont(Reply::AUTH_REQUIRED);
            };
            let account = login.account;
            if let Err(reply) = self.check_sender(account, &from).await {
                return Step::cont(reply);
            }
        }
        let helo = match std::mem::replace(&mut self.state, State::Connected) {
            State::Greeted(helo) => helo,
            other => {
                self.state = other;
                return Step::cont(Reply::BAD_SEQUENCE);
            }
        };
        // Parameters of extensions we did not announce (BINARYMIME, DSN, …) are refused
        // (RFC 5321 §4.1.1.11), and a declared SIZE over the limit already at MAIL (RFC 1870 §6.2).
        if let Err(reply) = params.check(&self.extensions()) {
            self.state = State::Greeted(helo);
            return Step::cont(reply);
        }
        self.state = State::Transaction(
            helo,
            Envelope {
                from,
                params,
                rcpts: Vec::new(),
                accounts: Vec::new(),
                remote: Vec::new(),
                chunks: None,
                rcpt_attempts: 0,
            },
        );
        Step::cont(Reply::SENDER_OK)
    }

    async fn rcpt(&mut self, to: ForwardPath, params: RcptParams) -> Step {
        if let Err(reply) = params.check(&self.extensions()) {
            return Step::cont(reply);
        }
        let State::Transaction(_, envelope) = &mut self.state else {
            return Step::cont(Reply::BAD_SEQUENCE);
        };
        if envelope.chunks.is_some() {
            return Step::cont(Reply::BAD_SEQUENCE);
        }
        envelope.rcpt_attempts += 1;
        // RFC 5321 §4.5.3.1.8: at least 100 must be accepted; beyond our limit, 452 (§4.5.3.1.10).
        if envelope.rcpts.len() >= self.ctx.limits.recipients {
            return Step::cont(Reply::TOO_MANY_RECIPIENTS);
        }
        let address = match to {
            ForwardPath::Address(address) => address,
            ForwardPath::Postmaster => match self
                .ctx
                .ingest
                .router()
                .postmaster(&self.ctx.hostname)
                .await
            {
                Ok(Some(address)) => address,
                Ok(None) => return Step::cont(Reply::NO_SUCH_USER),
                Err(e) => {
                    tracing::error!(error = %e, "postmaster lookup failed");
                    return Step::cont(Reply::LOCAL_ERROR);
                }
            },
        };
        match self.ctx.ingest.router().resolve(&address).await {
            Ok(Recipient::Local(accounts)) => {
                for account in accounts {
                    if !envelope.accounts.contains(&account) {
                        envelope.accounts.push(account);
                    }
                }
                envelope.rcpts.push(address);
                Step::cont(Reply::RECIPIENT_OK)
            }
            Ok(Recipient::UnknownUser) => Step::cont(Reply::NO_SUCH_USER),
            // DESIGN §1: only an authenticated submission relays; port 25 is no open relay.
            Ok(Recipient::NotLocal) if self.login.is_some() => {
                if !envelope.remote.contains(&address) {
                    envelope.remote.push(address.clone());
                }
                envelope.rcpts.push(address);
                Step::cont(Reply::RECIPIENT_OK)
            }
            Ok(Recipient::NotLocal) => Step::cont(Reply::RELAY_DENIED),
            Err(e) => {
                tracing::error!(peer = %self.peer, error = %e, "recipient lookup failed");
                Step::cont(Reply::LOCAL_ERROR)
            }
        }
    }

    fn data(&mut self) -> Step {
        let State::Transaction(_, envelope) = &self.state else {
            return Step::cont(Reply::BAD_SEQUENCE);
        };
        if envelope.chunks.is_some() {
            // RFC 3030 §3: DATA may not follow BDAT in one transaction.
            return Step::cont(Reply::BAD_SEQUENCE);
        }
        match envelope.not_ready() {
            Some(reply) => Step::cont(reply),
            None => Step {
                reply: Reply::START_DATA,
                next: Next::Data,
            },
        }
    }

    /// The end of DATA: store the message, or refuse it for the framing rule it broke.
    pub async fn data_end(&mut self, received: Result<Vec<u8>, DataViolation>) -> Step {
        let reply = match received {
            Ok(body) => self.finish(body).await,
            Err(violation) => {
                self.reset();
                tracing::info!(peer = %self.peer, %violation, "message refused at end of data");
                violation.reply()
            }
        };
        self.count_error(Step::cont(reply))
    }

    /// Limits for the DATA decoder.
    pub fn data_limits(&self) -> BodyLimits {
        self.body_limits()
    }

    /// A BDAT command (RFC 3030): decides whether its octets are kept.
    pub fn bdat_begin(&mut self, size: u64) -> BdatPlan {
        let limit = self.ctx.limits.message_size;
        let State::Transaction(_, envelope) = &mut self.state else {
            return BdatPlan::Discard(Reply::BAD_SEQUENCE);
        };
        if let Some(reply) = envelope.not_ready() {
            return BdatPlan::Discard(reply);
        }
        let so_far = envelope.chunks.as_ref().map_or(0, Vec::len) as u64;
        if so_far.saturating_add(size) > limit {
            // RFC 3030 §2: after a failed chunk the transaction is over; the client must RSET.
            self.reset();
            return BdatPlan::Discard(Reply::MESSAGE_TOO_BIG);
        }
        BdatPlan::Keep
    }

    /// The reply for a BDAT chunk that was read and dropped, counted as a client error.
    pub fn bdat_discarded(&mut self, reply: Reply) -> Step {
        self.count_error(Step::cont(reply))
    }

    /// The octets of a kept BDAT chunk; on `last`, the message is checked and stored.
    pub async fn bdat_chunk(&mut self, chunk: &[u8], last: bool) -> Step {
        let State::Transaction(_, envelope) = &mut self.state else {
            return Step::cont(Reply::BAD_SEQUENCE);
        };
        let body = envelope.chunks.get_or_insert_with(Vec::new);
        body.extend_from_slice(chunk);
        if !last {
            return Step::cont(Reply::chunk_received(chunk.len()));
        }
        let body = std::mem::take(body);
        let checked = surel_smtp_proto::check_body(&body, self.body_limits()).map(|()| body);
        self.data_end(checked).await
    }

    async fn finish(&mut self, body: Vec<u8>) -> Reply {
        let State::Transaction(helo, envelope) =
            std::mem::replace(&mut self.state, State::Connected)
        else {
            return Reply::BAD_SEQUENCE;
        };
        self.transactions += 1;
        let id = format!("{}{:04x}", self.conn_id, self.transactions);
        if let Some(login) = &self.login {
            let account = login.account;
            let reply = self
                .finish_submission(&helo, &envelope, account, &id, body)
                .await;
            // RFC 5321 §4.1.4: the transaction ends; the client stays greeted.
            self.state = State::Greeted(helo);
            return reply;
        }
        let protocol = match (helo.extended, self.tls.is_some()) {
            (false, _) => Protocol::Smtp,
            (true, false) => Protocol::Esmtp,
            (true, true) => Protocol::Esmtps,
        };
        let mail_from = match &envelope.from {
            ReversePath::Null => String::new(),
            ReversePath::Address(address) => address.to_string(),
        };
        let arrival = Arrival {
            helo: &helo.name,
            peer: self.peer.ip(),
            protocol,
            smtputf8: envelope.params.smtputf8,
            tls: self.tls.as_deref(),
            id: &id,
            mail_from: &mail_from,
            // Port 25 has no AUTH: everything here is checked. Submission (#5) passes false.
            check_auth: true,
        };
        let single = match envelope.rcpts.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        };
        let result = self
            .ctx
            .ingest
            .accept(&arrival, single.as_deref(), &envelope.accounts, &body)
            .await;
        let reply = match result {
            Ok(Accepted::Delivered(stored)) => {
                tracing::info!(
                    id = %id, from = %envelope.from, rcpts = envelope.rcpts.len(),
                    copies = stored.len(), size = body.len(), "delivered"
                );
                Reply::queued(&id)
            }
            Ok(Accepted::Rejected(why)) => {
                tracing::info!(id = %id, from = %envelope.from, reason = %why, "rejected by policy");
                // RFC 7489 §10.3: a DMARC rejection is a 5.7.1 after DATA.
                Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), why)
            }
            Ok(Accepted::Deferred(why)) => {
                tracing::info!(id = %id, from = %envelope.from, reason = %why, "deferred");
                Reply::new(451, Some(EnhancedCode::new(4, 7, 0)), why)
            }
            Err(e) => {
                tracing::error!(id = %id, peer = %self.peer, error = %e, "delivery failed; message not accepted");
                Reply::LOCAL_ERROR
            }
        };
        // RFC 5321 §4.1.4: the transaction ends; the client stays greeted.
        self.state = State::Greeted(helo);
        reply
    }

    fn starttls(&mut self) -> Step {
        if self.tls.is_some() || !self.ctx.starttls {
            return Step::cont(Reply::NOT_IMPLEMENTED);
        }
        if matches!(self.state, State::Transaction(..)) {
            return Step::cont(Reply::BAD_SEQUENCE);
        }
        Step {
            reply: Reply::READY_FOR_TLS,
            next: Next::StartTls,
        }
    }

    /// Ends the transaction without storing anything (the driver could not hold the message).
    pub fn abandon_transaction(&mut self) {
        self.reset();
    }

    fn reset(&mut self) {
        self.state = match std::mem::replace(&mut self.state, State::Connected) {
            State::Greeted(helo) | State::Transaction(helo, _) => State::Greeted(helo),
            State::Connected => State::Connected,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use surel_smtp_proto::Decoded;
    use surel_store::Store;
    use surel_store_sqlite::SqliteStore;
    use surel_types::Secret;

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        session: Session,
    }

    async fn fixture(tweak: impl FnOnce(&mut Limits)) -> Fixture {
        fixture_for(tweak, false).await
    }

    async fn fixture_for(tweak: impl FnOnce(&mut Limits), submission: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        store
            .add_domain(&Domain::parse("example.com").unwrap())
            .await
            .unwrap();
        // The password hash is irrelevant here; hashing would only slow the tests.
        store
            .add_account(&Address::parse("bob@example.com").unwrap(), "unused")
            .await
            .unwrap();
        let mut limits = surel_config::Config::zero_config().limits;
        tweak(&mut limits);
        let ctx = Arc::new(Context {
            hostname: "mx.example.com".into(),
            limits,
            ingest: Ingest::new(store.clone(), "mx.example.com".into()),
            starttls: true,
            memory: surel_net::MemoryBudget::new(u64::MAX),
            submission,
            throttle: Arc::new(surel_net::AuthThrottle::new(surel_net::ThrottlePolicy {
                base_delay: std::time::Duration::ZERO,
                ..Default::default()
            })),
        });
        let tls = submission.then(|| "TLSv1_3".to_string());
        let session = Session::new(ctx, "192.0.2.9:4000".parse().unwrap(), tls);
        Fixture {
            _dir: dir,
            store,
            session,
        }
    }

    fn cmd(line: &str) -> Command {
        match surel_smtp_proto::decode_command(format!("{line}\r\n").as_bytes(), 2048) {
            Ok(Decoded::Done(command, _)) => command,
            other => panic!("{line:?} did not parse: {other:?}"),
        }
    }

    async fn send(f: &mut Fixture, line: &str) -> (u16, String) {
        let step = f.session.handle(cmd(line)).await;
        (step.reply.code, step.reply.to_string())
    }

    async fn inbox(f: &Fixture, address: &str) -> Vec<Vec<u8>> {
        let account = f
            .store
            .account(&Address::parse(address).unwrap())
            .await
            .unwrap()
            .unwrap();
        let inbox = f
            .store
            .mailbox(account.id, &surel_types::MailboxName::inbox())
            .await
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        for meta in f.store.messages(inbox.id).await.unwrap() {
            out.push(f.store.read_blob(&meta.blob).await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn rcpt_before_mail_is_503() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO client.example.org").await;
        let (code, text) = send(&mut f, "RCPT TO:<bob@example.com>").await;
        assert_eq!(code, 503);
        assert!(text.contains("5.5.1"), "{text}");
    }

    #[tokio::test]
    async fn mail_before_helo_is_503_and_data_without_rcpt_is_refused() {
        let mut f = fixture(|_| {}).await;
        assert_eq!(send(&mut f, "MAIL FROM:<a@b.org>").await.0, 503);
        send(&mut f, "HELO client").await;
        assert_eq!(send(&mut f, "MAIL FROM:<a@b.org>").await.0, 250);
        assert_eq!(
            send(&mut f, "MAIL FROM:<a@b.org>").await.0,
            503,
            "nested MAIL"
        );
        assert_eq!(send(&mut f, "DATA").await.0, 503, "no RCPT given");
        assert_eq!(send(&mut f, "RCPT TO:<nobody@example.com>").await.0, 550);
        assert_eq!(send(&mut f, "DATA").await.0, 554, "every RCPT refused");
    }

    #[tokio::test]
    async fn unknown_user_relay_and_local_recipients() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO c").await;
        send(&mut f, "MAIL FROM:<>").await;
        let (code, text) = send(&mut f, "RCPT TO:<nobody@example.com>").await;
        assert_eq!((code, text.contains("5.1.1")), (550, true), "{text}");
        let (code, text) = send(&mut f, "RCPT TO:<someone@elsewhere.org>").await;
        assert_eq!((code, text.contains("5.7.1")), (550, true), "{text}");
        assert_eq!(send(&mut f, "RCPT TO:<Bob+news@Example.COM>").await.0, 250);
    }

    #[tokio::test]
    async fn recipient_limit_gives_452() {
        let mut f = fixture(|l| l.recipients = 2).await;
        send(&mut f, "EHLO c").await;
        send(&mut f, "MAIL FROM:<a@b.org>").await;
        assert_eq!(send(&mut f, "RCPT TO:<bob@example.com>").await.0, 250);
        assert_eq!(send(&mut f, "RCPT TO:<bob+2@example.com>").await.0, 250);
        let (code, text) = send(&mut f, "RCPT TO:<bob+3@example.com>").await;
        assert_eq!((code, text.contains("4.5.3")), (452, true), "{text}");
    }

    #[tokio::test]
    async fn declared_size_over_limit_is_552_at_mail() {
        let mut f = fixture(|l| l.message_size = 1000).await;
        send(&mut f, "EHLO c").await;
        let (code, text) = send(&mut f, "MAIL FROM:<a@b.org> SIZE=1001").await;
        assert_eq!((code, text.contains("5.3.4")), (552, true), "{text}");
        assert_eq!(send(&mut f, "MAIL FROM:<a@b.org> SIZE=1000").await.0, 250);
    }

    #[tokio::test]
    async fn accepted_message_is_stored_once_per_account_with_received() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO client.example.org").await;
        send(&mut f, "MAIL FROM:<alice@b.org>").await;
        send(&mut f, "RCPT TO:<bob@example.com>").await;
        send(&mut f, "RCPT TO:<bob+x@example.com>").await;
        let step = f.session.handle(cmd("DATA")).await;
        assert_eq!((step.reply.code, step.next), (354, Next::Data));
        let step = f
            .session
            .data_end(Ok(b"Subject: hi\r\n\r\nbody\r\n".to_vec()))
            .await;
        assert_eq!(step.reply.code, 250, "{}", step.reply);
        let messages = inbox(&f, "bob@example.com").await;
        assert_eq!(messages.len(), 1, "two RCPTs for one account give one copy");
        let text = String::from_utf8(messages[0].clone()).unwrap();
        assert!(
            text.starts_with("Received: from client.example.org ([192.0.2.9])"),
            "{text}"
        );
        assert!(text.ends_with("Subject: hi\r\n\r\nbody\r\n"));
        // The transaction is over; a new one may start without a new EHLO.
        assert_eq!(send(&mut f, "MAIL FROM:<alice@b.org>").await.0, 250);
    }

    #[tokio::test]
    async fn refused_data_stores_nothing_and_session_goes_on() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO c").await;
        send(&mut f, "MAIL FROM:<a@b.org>").await;
        send(&mut f, "RCPT TO:<bob@example.com>").await;
        f.session.handle(cmd("DATA")).await;
        let step = f.session.data_end(Err(DataViolation::BareLineEnding)).await;
        assert_eq!(step.reply.code, 500);
        assert_eq!(step.next, Next::Command);
        assert!(inbox(&f, "bob@example.com").await.is_empty());
        assert_eq!(
            send(&mut f, "RCPT TO:<bob@example.com>").await.0,
            503,
            "transaction was reset"
        );
    }

    #[tokio::test]
    async fn bdat_chunks_are_joined_and_checked() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO c").await;
        assert_eq!(
            f.session.bdat_begin(5),
            BdatPlan::Discard(Reply::BAD_SEQUENCE)
        );
        send(&mut f, "MAIL FROM:<a@b.org>").await;
        send(&mut f, "RCPT TO:<bob@example.com>").await;
        assert_eq!(f.session.bdat_begin(9), BdatPlan::Keep);
        assert_eq!(
            f.session.bdat_chunk(b"Subject: ", false).await.reply.code,
            250
        );
        assert_eq!(send(&mut f, "DATA").await.0, 503, "DATA after BDAT");
        assert_eq!(f.session.bdat_begin(10), BdatPlan::Keep);
        assert_eq!(
            f.session
                .bdat_chunk(b"x\r\n\r\nbody\r\n", true)
                .await
                .reply
                .code,
            250
        );
        let messages = inbox(&f, "bob@example.com").await;
        assert!(messages[0].ends_with(b"Subject: x\r\n\r\nbody\r\n"));
    }

    #[tokio::test]
    async fn bdat_with_bare_lf_is_refused() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO c").await;
        send(&mut f, "MAIL FROM:<a@b.org>").await;
        send(&mut f, "RCPT TO:<bob@example.com>").await;
        f.session.bdat_begin(8);
        assert_eq!(
            f.session.bdat_chunk(b"a\n.\nb\r\n", true).await.reply.code,
            500
        );
        assert!(inbox(&f, "bob@example.com").await.is_empty());
    }

    #[tokio::test]
    async fn too_many_errors_closes_with_421() {
        let mut f = fixture(|l| l.smtp_errors = 3).await;
        assert_eq!(f.session.syntax_error(Reply::SYNTAX).next, Next::Command);
        assert_eq!(send(&mut f, "RCPT TO:<bob@example.com>").await.0, 503);
        let step = f.session.syntax_error(Reply::SYNTAX);
        assert_eq!((step.reply.code, step.next), (421, Next::Close));
    }

    #[tokio::test]
    async fn starttls_only_outside_a_transaction_and_once() {
        let mut f = fixture(|_| {}).await;
        send(&mut f, "EHLO c").await;
        send(&mut f, "MAIL FROM:<a@b.org>").await;
        assert_eq!(send(&mut f, "STARTTLS").await.0, 503);
        send(&mut f, "RSET").await;
        assert_eq!(f.session.handle(cmd("STARTTLS")).await.next, Next::StartTls);
        let ctx = f.session.ctx.clone();
        let mut tls = Session::new(
            ctx,
            "192.0.2.9:4000".parse().unwrap(),
            Some("TLSv1_3".into()),
        );
        let ehlo = tls.handle(cmd("EHLO c")).await.reply.to_string();
        assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
        assert_eq!(tls.handle(cmd("STARTTLS")).await.reply.code, 502);
    }

    const PASSWORD: &str = "alice's secret";

    /// Submission over TLS: alice@example.com (password [`PASSWORD`]) with the alias
    /// info@example.com, and bob@example.com from the base fixture.
    async fn submission() -> Fixture {
        let f = fixture_for(|_| {}, true).await;
        let hash = surel_store::password::hash(&Secret::new(PASSWORD.into())).unwrap();
        f.store
            .add_account(&Address::parse("alice@example.com").unwrap(), &hash)
            .await
            .unwrap();
        f.store
            .add_alias(
                &surel_store::AliasSource::parse("info@example.com").unwrap(),
                &[Address::parse("alice@example.com").unwrap()],
            )
            .await
            .unwrap();
        f
    }

    fn b64(text: &str) -> String {
        surel_types::sasl::encode_base64(text.as_bytes())
    }

    async fn authenticated() -> Fixture {
        let mut f = submission().await;
        send(&mut f, "EHLO c").await;
        let plain = b64(&format!("\0alice@example.com\0{PASSWORD}"));
        assert_eq!(send(&mut f, &format!("AUTH PLAIN {plain}")).await.0, 235);
        f
    }

    #[tokio::test]
    async fn submission_announces_auth_and_needs_it_before_mail() {
        let mut f = submission().await;
        let (_, ehlo) = send(&mut f, "EHLO c").await;
        assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
        assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
        let (code, text) = send(&mut f, "MAIL FROM:<alice@example.com>").await;
        assert_eq!((code, text.contains("5.7.0")), (530, true), "{text}");
        // Without TLS (and not from loopback) AUTH is neither offered nor accepted.
        let mut plain = Session::new(
            f.session.ctx.clone(),
            "192.0.2.9:4000".parse().unwrap(),
            None,
        );
        let ehlo = plain.handle(cmd("EHLO c")).await.reply.to_string();
        assert!(!ehlo.contains("AUTH"), "{ehlo}");
        let step = plain.handle(cmd("AUTH PLAIN")).await;
        assert_eq!(step.reply.code, 538, "{}", step.reply);
        // Port 25 has no AUTH at all.
        let mut inbound = fixture(|_| {}).await;
        send(&mut inbound, "EHLO c").await;
        assert_eq!(send(&mut inbound, "AUTH PLAIN").await.0, 502);
    }

    #[tokio::test]
    async fn auth_plain_after_a_challenge_and_wrong_password() {
        let mut f = submission().await;
        send(&mut f, "EHLO c").await;
        let bad = b64("\0alice@example.com\0wrong");
        let (code, text) = send(&mut f, &format!("AUTH PLAIN {bad}")).await;
        assert_eq!((code, text.contains("5.7.8")), (535, true), "{text}");
        let step = f.session.handle(cmd("AUTH PLAIN")).await;
        assert_eq!((step.reply.code, step.next), (334, Next::SaslResponse));
        let good = b64(&format!("\0ALICE@example.com\0{PASSWORD}"));
        let step = f.session.sasl_response(good.as_bytes()).await;
        assert_eq!(step.reply.code, 235, "{}", step.reply);
        assert_eq!(send(&mut f, "AUTH PLAIN").await.0, 503, "only once");
    }

    #[tokio::test]
    async fn auth_login_with_and_without_initial_response_and_cancel() {
        let mut f = submission().await;
        send(&mut f, "EHLO c").await;
        let step = f.session.handle(cmd("AUTH LOGIN")).await;
        assert_eq!(step.reply.to_string(), "334 VXNlcm5hbWU6");
        let step = f.session.sasl_response(b"*").await;
        assert_eq!((step.reply.code, step.next), (501, Next::Command));
        assert!(!f.session.expects_sasl());
        // Outlook: the user name as the initial response.
        let user = b64("alice@example.com");
        let step = f.session.handle(cmd(&format!("AUTH LOGIN {user}"))).await;
        assert_eq!(step.reply.to_string(), "334 UGFzc3dvcmQ6");
        let step = f.session.sasl_response(b64(PASSWORD).as_bytes()).await;
        assert_eq!(step.reply.code, 235, "{}", step.reply);
        assert_eq!(send(&mut f, "MAIL FROM:<alice@example.com>").await.0, 250);
    }

    #[tokio::test]
    async fn senders_must_belong_to_the_account() {
        let mut f = authenticated().await;
        let (code, text) = send(&mut f, "MAIL FROM:<bob@example.com>").await;
        assert_eq!(code, 550, "{text}");
        assert!(
            text.contains("5.7.1") && text.contains("bob@example.com"),
            "{text}"
        );
        assert_eq!(
            send(&mut f, "MAIL FROM:<info@example.com>").await.0,
            250,
            "alias"
        );
        send(&mut f, "RCPT TO:<bob@example.com>").await;
        f.session.handle(cmd("DATA")).await;
        let step = f
            .session
            .data_end(Ok(b"From: Bob <bob@example.com>\r\n\r\nhi\r\n".to_vec()))
            .await;
        let text = step.reply.to_string();
        assert_eq!(step.reply.code, 550, "{text}");
        assert!(text.contains("bob@example.com"), "{text}");
        assert!(inbox(&f, "bob@example.com").await.is_empty());
    }

    #[tokio::test]
    async fn submitted_mail_gets_date_message_id_and_esmtpsa() {
        let mut f = authenticated().await;
        send(&mut f, "MAIL FROM:<alice@example.com>").await;
        assert_eq!(send(&mut f, "RCPT TO:<bob@example.com>").await.0, 250);
        assert_eq!(send(&mut f, "RCPT TO:<nobody@example.com>").await.0, 550);
        f.session.handle(cmd("DATA")).await;
        let step = f
            .session
            .data_end(Ok(
                b"From: Info <info@example.com>\r\nSubject: s\r\n\r\nhi\r\n".to_vec(),
            ))
            .await;
        assert_eq!(step.reply.code, 250, "{}", step.reply);
        let messages = inbox(&f, "bob@example.com").await;
        let text = String::from_utf8(messages[0].clone()).unwrap();
        assert!(text.starts_with("Received: from c "), "{text}");
        assert!(text.contains("with ESMTPSA"), "{text}");
        assert!(text.contains("\r\nDate: "), "{text}");
        assert!(text.contains("\r\nMessage-ID: <"), "{text}");
        // No DKIM key in this store: sent unsigned.
        assert!(!text.contains("DKIM-Signature"), "{text}");
    }

    #[tokio::test]
    async fn vrfy_never_reveals_users() {
        let mut f = fixture(|_| {}).await;
        assert_eq!(send(&mut f, "VRFY bob").await.0, 252);
        assert_eq!(send(&mut f, "VRFY nobody").await.0, 252);
    }

    /// Arbitrary lines in every state: the session never panics, and every failure reply
    /// carries an enhanced code of its own class (RFC 3463, RFC 2034).
    #[tokio::test]
    async fn arbitrary_lines_in_every_state_get_well_formed_replies() {
        const WORDS: &[&str] = &[
            "EHLO c",
            "HELO c",
            "MAIL FROM:<a@b.org>",
            "MAIL FROM:<>",
            "RCPT TO:<bob@example.com>",
            "RCPT TO:<x@elsewhere.org>",
            "RCPT TO:<Postmaster>",
            "DATA",
            "BDAT 3",
            "RSET",
            "NOOP",
            "VRFY bob",
            "EXPN list",
            "HELP",
            "STARTTLS",
            "AUTH PLAIN",
            "MAIL FROM:<a@b.org> SIZE=x",
            "RCPT TO:<bob@example.com> NOTIFY=NEVER",
            "MAIL FROM:<a@b.org> BODY=BINARYMIME",
        ];
        let mut f = fixture(|l| l.smtp_errors = usize::MAX).await;
        let mut seed: u64 = 0x5eed;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let r = next();
            let mut line: Vec<u8> = if r % 4 == 0 {
                (0..r % 40).map(|_| next() as u8).collect()
            } else {
                WORDS[(r as usize / 4) % WORDS.len()].as_bytes().to_vec()
            };
            line.extend_from_slice(b"\r\n");
            let step = match surel_smtp_proto::decode_command(&line, 2048) {
                Ok(Decoded::Done(Command::Bdat { size, last }, _)) => {
                    match f.session.bdat_begin(size) {
                        BdatPlan::Keep => f.session.bdat_chunk(b"x\r\n", last).await,
                        BdatPlan::Discard(reply) => f.session.bdat_discarded(reply),
                    }
                }
                Ok(Decoded::Done(command, _)) => f.session.handle(command).await,
                Ok(_) => continue,
                Err(e) => f.session.syntax_error(e.reply()),
            };
            let reply = &step.reply;
            assert!((200..600).contains(&reply.code), "{reply}");
            if reply.code >= 400 {
                let code = reply
                    .enhanced
                    .unwrap_or_else(|| panic!("no enhanced code: {reply}"));
                assert_eq!(u16::from(code.class), reply.code / 100, "{reply}");
            }
            match step.next {
                Next::Data => {
                    let body = if next() % 2 == 0 {
                        Ok(b"x\r\n".to_vec())
                    } else {
                        Err(DataViolation::Nul)
                    };
                    let end = f.session.data_end(body).await;
                    assert!(matches!(end.reply.code, 250 | 451 | 554), "{}", end.reply);
                }
                Next::StartTls => f.session = f.session.restart_with_tls(Some("test".into())),
                Next::SaslResponse => {
                    f.session.sasl_response(b"*").await;
                }
                Next::Close | Next::Command => {}
            }
        }
        assert!(
            !inbox(&f, "bob@example.com").await.is_empty(),
            "some transactions completed"
        );
    }
}
