//! The IMAP state machine (RFC 9051 §3): not authenticated → authenticated → selected →
//! logout. It sees typed commands, writes responses into the driver's buffer, and never touches
//! the socket. The commands of a selected mailbox are `Selected`'s; this file routes to them.
//!
//! One file per group of commands: `auth` (CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE),
//! `mailboxes` (ENABLE, SELECT, CREATE, DELETE, RENAME, SUBSCRIBE, LIST, LSUB, STATUS),
//! `append`, `messages` (the selected-state dispatch and IDLE).

mod append;
mod auth;
mod mailboxes;
mod messages;
#[cfg(test)]
pub(crate) mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use surel_imap_proto::{Command, CommandBody, ParseError};
use surel_net::AuthThrottle;
use surel_store::{Change, Store, StoreError};
use surel_types::{AccountId, MailboxName};
use tokio::sync::broadcast;

use crate::output::Output;
use crate::response::{Done, Enabled, Kind};
use crate::selected::Selected;

/// What every session of the service shares.
pub struct Context {
    /// Our name, for logs.
    pub hostname: String,
    /// Where the mailboxes are.
    pub store: Arc<dyn Store>,
    /// Idle time allowed once logged in (RFC 9051 §5.4: at least 30 minutes).
    pub timeout: Duration,
    /// Time allowed to log in (DESIGN §4: 60 seconds).
    pub login_timeout: Duration,
    /// Largest message APPEND accepts (RFC 7889 APPENDLIMIT); also the largest literal.
    pub append_limit: u64,
    /// Longest command line without its literals, octets.
    pub max_line: usize,
    /// BAD answers in a row before the session is closed with `* BYE`.
    pub max_bad: usize,
    /// Failed logins in one session before it is closed.
    pub max_failed_logins: usize,
    /// STARTTLS can be offered (a certificate is loaded).
    pub tls_available: bool,
    /// Failed logins per client IP: delays and lockouts.
    pub throttle: Arc<AuthThrottle>,
}

impl Context {
    /// A context with the defaults for the limits not given.
    pub fn new(
        hostname: String,
        store: Arc<dyn Store>,
        timeout: Duration,
        login_timeout: Duration,
        append_limit: u64,
    ) -> Self {
        Self {
            hostname,
            store,
            timeout,
            login_timeout,
            append_limit,
            max_line: DEFAULT_LINE,
            max_bad: 20,
            max_failed_logins: 3,
            tls_available: true,
            throttle: Arc::new(AuthThrottle::default()),
        }
    }
}

/// Longest command line (without literals). RFC 9051 §4 asks clients to keep lines under 8000
/// octets and RFC 7162 §4 servers to take at least 8192; UID sets of large mailboxes sent by
/// real clients (STORE/FETCH of thousands of non-contiguous UIDs) reach tens of KiB.
pub const DEFAULT_LINE: usize = 64 << 10;

/// What the driver does after writing a step's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next command.
    Command,
    /// `+ ` was written: read one SASL response line for [`Session::sasl_response`].
    SaslResponse,
    /// Drop buffered input, do the TLS handshake, go on with [`Session::restart_with_tls`].
    StartTls,
    /// `+ idling` was written: wait for a line ([`Session::idle_line`]) or a change in the
    /// selected mailbox ([`Session::next_change`], then [`Session::idle_refresh`]).
    Idle,
    /// Close the connection.
    Close,
}

/// The logged-in user.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) account: AccountId,
    pub(crate) address: String,
}

pub(crate) enum State {
    /// RFC 9051 §3.1.
    NotAuthenticated,
    /// RFC 9051 §3.2.
    Authenticated(User),
    /// RFC 9051 §3.3.
    Selected(User, Box<Selected>),
    /// RFC 9051 §3.4: LOGOUT was answered; nothing more is read.
    Logout,
}

/// A command waiting for more client input (a SASL response, or IDLE's `DONE`).
enum Pending {
    Sasl { tag: String },
    Idle { tag: String },
}

/// One IMAP connection's protocol state.
pub struct Session {
    pub(crate) ctx: Arc<Context>,
    pub(crate) peer: SocketAddr,
    pub(crate) tls: bool,
    pub(crate) state: State,
    pub(crate) enabled: Enabled,
    pending: Option<Pending>,
    /// The account's change feed while IDLE waits.
    feed: Option<broadcast::Receiver<Change>>,
    /// BAD answers in a row; any other answer resets it.
    bad_in_a_row: usize,
    failed_logins: usize,
    id: String,
}

/// The result of one command's own work: its tagged completion and what comes next.
pub(crate) struct Outcome {
    pub(crate) done: Done,
    pub(crate) next: Next,
}

impl From<Done> for Outcome {
    fn from(done: Done) -> Self {
        Outcome {
            done,
            next: Next::Command,
        }
    }
}

impl Session {
    /// A session for a new connection; `tls` is true on the implicit-TLS port.
    pub fn new(ctx: Arc<Context>, peer: SocketAddr, tls: bool) -> Self {
        Self {
            ctx,
            peer,
            tls,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            pending: None,
            feed: None,
            bad_in_a_row: 0,
            failed_logins: 0,
            id: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
        }
    }

    /// After the STARTTLS handshake (RFC 9051 §6.2.1): same state (not authenticated), now TLS.
    pub fn restart_with_tls(&mut self) {
        self.tls = true;
        self.pending = None;
        self.enabled = Enabled::default();
    }

    /// The connection id used in logs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True once logged in (authenticated or selected state).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated(_) | State::Selected(..))
    }

    /// What the client enabled so far.
    pub fn enabled(&self) -> Enabled {
        self.enabled
    }

    /// How long the driver waits for the next input: 60 s before login, 30 min after
    /// (RFC 9051 §5.4 autologout).
    pub fn timeout(&self) -> Duration {
        if self.is_authenticated() {
            self.ctx.timeout
        } else {
            self.ctx.login_timeout
        }
    }

    /// The largest literal the framer should accept now: small before login (nobody may make
    /// us buffer a message-sized literal without a password), the APPEND limit after.
    pub fn literal_limit(&self) -> u64 {
        if self.is_authenticated() {
            self.ctx.append_limit
        } else {
            PRE_LOGIN_LITERAL
        }
    }

    /// RFC 9051 §7.1.1: the greeting, with our capabilities (RFC 9051 §7.1 CAPABILITY code).
    pub fn greeting(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"* OK [CAPABILITY ");
        out.extend_from_slice(self.capabilities().as_bytes());
        out.extend_from_slice(b"] surel IMAP4rev2 ready\r\n");
    }

    /// `* BYE` for a server shutdown.
    pub fn shutting_down(out: &mut Vec<u8>) {
        out.extend_from_slice(b"* BYE Server shutting down\r\n");
    }

    /// RFC 9051 §5.4: the autologout timer ran out.
    pub fn autologout(out: &mut Vec<u8>) {
        out.extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
    }

    /// Handles one command: writes its untagged responses, any unsolicited updates and the
    /// tagged completion (unless it waits for more input: AUTHENTICATE, IDLE).
    pub async fn handle(&mut self, command: Command, out: &mut Output<'_>) -> Next {
        let Command { tag, body } = command;
        let name = body.name();
        tracing::debug!(tag = %tag, command = name, "command");
        let outcome = self.dispatch(&tag, body, out).await;
        match outcome.next {
            // RFC 9051 §6.2.2: an empty challenge; the client's next line is the response.
            Next::SaslResponse => {
                out.extend_from_slice(b"+ \r\n");
                return Next::SaslResponse;
            }
            // `+ idling` is written by IDLE itself, after its catch-up.
            Next::Idle => return Next::Idle,
            _ => {}
        }
        tracing::debug!(command = name, outcome = ?outcome.done.kind, "done");
        self.complete(&tag, outcome, out)
    }

    /// A command that did not parse: `tag BAD` (or `* BAD` without a tag); the session goes on.
    pub fn parse_error(&mut self, error: ParseError, out: &mut Vec<u8>) -> Next {
        tracing::debug!(reason = %error.reason, "bad command");
        self.bad_line(error.tag.as_deref(), &error.reason, None, out)
    }

    /// A literal over the limit (RFC 7889 §4, RFC 9051 §7.1 TOOBIG): the command was skipped.
    pub fn literal_too_big(&mut self, tag: Option<&str>, out: &mut Vec<u8>) -> Next {
        let text = format!(
            "literal too big (at most {} octets here)",
            self.literal_limit()
        );
        match tag {
            Some(tag) => self.complete(tag, Done::no(text).with_code("TOOBIG").into(), out),
            None => self.bad_line(None, &text, Some("TOOBIG"), out),
        }
    }

    /// A command line over the limit: it was skipped.
    pub fn line_too_long(&mut self, tag: Option<&str>, out: &mut Vec<u8>) -> Next {
        let text = format!(
            "command line too long (at most {} octets)",
            self.ctx.max_line
        );
        self.bad_line(tag, &text, None, out)
    }

    fn bad_line(
        &mut self,
        tag: Option<&str>,
        text: &str,
        code: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Next {
        let mut done = Done::bad(text);
        if let Some(code) = code {
            done = done.with_code(code);
        }
        self.complete(tag.unwrap_or("*"), done.into(), out)
    }

    /// Writes the tagged completion (after unsolicited updates were written by the command)
    /// and counts BADs in a row.
    fn complete(&mut self, tag: &str, outcome: Outcome, out: &mut Vec<u8>) -> Next {
        outcome.done.write(out, tag);
        if outcome.done.kind == Kind::Bad {
            self.bad_in_a_row += 1;
            if self.bad_in_a_row >= self.ctx.max_bad {
                tracing::info!(peer = %self.peer, "too many bad commands; closing");
                out.extend_from_slice(b"* BYE Too many invalid commands\r\n");
                return Next::Close;
            }
        } else {
            self.bad_in_a_row = 0;
        }
        if outcome.next == Next::Close && !matches!(self.state, State::Logout) {
            out.extend_from_slice(b"* BYE Too many failed logins\r\n");
        }
        outcome.next
    }

    async fn dispatch(&mut self, tag: &str, body: CommandBody, out: &mut Output<'_>) -> Outcome {
        use CommandBody as C;
        match body {
            // ---- any state (RFC 9051 §6.1) ----
            C::Capability => {
                out.extend_from_slice(b"* CAPABILITY ");
                out.extend_from_slice(self.capabilities().as_bytes());
                out.extend_from_slice(b"\r\n");
                self.finish(Done::ok("CAPABILITY completed"), out).await
            }
            C::Noop => self.finish(Done::ok("NOOP completed"), out).await,
            C::Logout => {
                // RFC 9051 §6.1.3: BYE, then the tagged OK. Nothing is expunged.
                out.extend_from_slice(b"* BYE surel logging out\r\n");
                if let Some(user) = self.user() {
                    tracing::info!(account = %user.address, "logged out");
                }
                self.state = State::Logout;
                Outcome {
                    done: Done::ok("LOGOUT completed"),
                    next: Next::Close,
                }
            }
            C::Id(params) => {
                // RFC 2971 §3.1: the client's identification is for logs only.
                tracing::debug!(?params, "client ID");
                out.extend_from_slice(b"* ID (\"name\" \"surel\" \"version\" \"");
                out.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
                out.extend_from_slice(b"\")\r\n");
                self.finish(Done::ok("ID completed"), out).await
            }

            // ---- not authenticated (§6.2) ----
            C::StartTls | C::Authenticate { .. } | C::Login { .. } if self.is_authenticated() => {
                Done::bad("already logged in").into()
            }
            C::StartTls => self.starttls(),
            C::Login { username, password } => self.login_command(&username, &password).await,
            C::Authenticate { mechanism, initial } => {
                self.authenticate(tag, &mechanism, initial).await
            }

            // ---- authenticated (§6.3) ----
            body if !self.is_authenticated() => {
                Done::bad(format!("{} is not valid before login", body.name())).into()
            }
            C::Enable(names) => self.enable(&names, out).await,
            C::Select {
                mailbox,
                read_only,
                condstore,
                qresync,
            } => {
                self.select(&mailbox, read_only, condstore, qresync, out)
                    .await
            }
            C::Create {
                mailbox,
                special_use,
            } => {
                let done = self.create(&mailbox, &special_use).await;
                self.finish(done, out).await
            }
            C::Delete(mailbox) => {
                let done = self.delete(&mailbox).await;
                self.finish(done, out).await
            }
            C::Rename { from, to } => {
                let done = self.rename(&from, &to).await;
                self.finish(done, out).await
            }
            C::Subscribe(mailbox) => {
                let done = self.subscribe(&mailbox, true).await;
                self.finish(done, out).await
            }
            C::Unsubscribe(mailbox) => {
                let done = self.subscribe(&mailbox, false).await;
                self.finish(done, out).await
            }
            C::List {
                reference,
                patterns,
                select,
                ret,
            } => {
                let done = self
                    .list(&reference, &patterns, &select, &ret, false, out)
                    .await;
                self.finish(done, out).await
            }
            C::Lsub { reference, pattern } => {
                let done = self
                    .list(
                        &reference,
                        std::slice::from_ref(&pattern),
                        &Default::default(),
                        &Default::default(),
                        true,
                        out,
                    )
                    .await;
                self.finish(done, out).await
            }
            C::Namespace => {
                // RFC 2342 / RFC 9051 §6.3.10: one personal namespace, no others.
                out.extend_from_slice(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                self.finish(Done::ok("NAMESPACE completed"), out).await
            }
            C::Status { mailbox, items } => {
                let done = self.status(&mailbox, &items, out).await;
                self.finish(done, out).await
            }
            C::Append {
                mailbox,
                flags,
                date,
                message,
                binary,
            } => {
                let done = self.append(&mailbox, &flags, date, message, binary).await;
                self.finish(done, out).await
            }
            C::Idle => self.idle(tag, out).await,

            // ---- selected (§6.4) ----
            body => self.selected_command(tag, body, out).await,
        }
    }

    /// Catches the client up on the selected mailbox (EXPUNGE allowed), then completes.
    pub(crate) async fn finish(&mut self, done: Done, out: &mut Vec<u8>) -> Outcome {
        self.refresh(true, out).await;
        done.into()
    }

    /// `Selected::refresh` when a mailbox is selected; a failure is logged, not answered (the
    /// command itself went through).
    pub(crate) async fn refresh(&mut self, allow_expunge: bool, out: &mut Vec<u8>) {
        let State::Selected(_, selected) = &mut self.state else {
            return;
        };
        if let Err(e) = selected
            .refresh(&*self.ctx.store, &self.enabled, allow_expunge, out)
            .await
        {
            tracing::warn!(error = %e, "cannot refresh the selected mailbox");
        }
    }

    pub(crate) fn user(&self) -> Option<&User> {
        match &self.state {
            State::Authenticated(user) | State::Selected(user, _) => Some(user),
            State::NotAuthenticated | State::Logout => None,
        }
    }

    /// Mailbox names are UTF-8 on the wire once IMAP4rev2 or UTF8=ACCEPT is on (RFC 9051
    /// §5.1, RFC 6855 §3), modified UTF-7 before (RFC 3501 §5.1.3).
    pub(crate) fn utf8_names(&self) -> bool {
        self.enabled.rev2 || self.enabled.utf8
    }

    /// A name from the wire as UTF-8 text (not yet checked as a mailbox name).
    pub(crate) fn decode_name(&self, raw: &[u8]) -> Result<String, Done> {
        let text = if self.utf8_names() {
            std::str::from_utf8(raw).ok().map(str::to_string)
        } else {
            surel_imap_proto::mutf7::decode(raw)
        };
        text.ok_or_else(|| Done::no("mailbox name is not valid (encoding)").with_code("CANNOT"))
    }

    /// A mailbox name from the wire, checked.
    pub(crate) fn mailbox_name(&self, raw: &[u8]) -> Result<MailboxName, Done> {
        let text = self.decode_name(raw)?;
        MailboxName::parse(&text)
            .map_err(|_| Done::no("mailbox name is not valid").with_code("CANNOT"))
    }

    // ---- input the driver reads outside the command grammar ----

    /// The line after `+ ` in AUTHENTICATE (CRLF removed).
    pub async fn sasl_response(&mut self, line: &[u8], out: &mut Vec<u8>) -> Next {
        let Some(Pending::Sasl { tag }) = self.pending.take() else {
            return self.bad_line(None, "no authentication in progress", None, out);
        };
        let outcome = self.sasl_line(line).await;
        self.complete(&tag, outcome, out)
    }

    /// A line while IDLE (RFC 2177 §3): `DONE` ends it; anything else is BAD and ends it too.
    pub async fn idle_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Next {
        self.feed = None;
        let Some(Pending::Idle { tag }) = self.pending.take() else {
            return self.bad_line(None, "not idling", None, out);
        };
        let done = if line.eq_ignore_ascii_case(b"DONE") {
            Done::ok("IDLE terminated")
        } else {
            Done::bad("expected DONE")
        };
        let outcome = self.finish(done, out).await;
        self.complete(&tag, outcome, out)
    }

    /// Waits for a change in the selected mailbox while IDLE (never returns when nothing is
    /// selected or the feed is gone). Cancel-safe: the driver races it against the socket.
    pub async fn next_change(&mut self) {
        let mailbox = match &self.state {
            State::Selected(_, selected) => Some(selected.mailbox().id),
            _ => None,
        };
        if let (Some(mailbox), Some(feed)) = (mailbox, self.feed.as_mut()) {
            loop {
                match feed.recv().await {
                    Ok(change) if change.mailbox == mailbox => return,
                    Ok(_) => {}
                    // Missed some: catching up from the store covers them.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        std::future::pending::<()>().await
    }

    /// After [`Session::next_change`]: writes the untagged updates (RFC 2177: EXISTS,
    /// EXPUNGE, FETCH may all be sent while idling).
    pub async fn idle_refresh(&mut self, out: &mut Vec<u8>) {
        if let Some(feed) = self.feed.as_mut() {
            // Changes that came together are answered by one catch-up.
            while feed.try_recv().is_ok() {}
        }
        self.refresh(true, out).await;
    }

    pub(crate) fn start_idle(&mut self, tag: &str, feed: Option<broadcast::Receiver<Change>>) {
        self.feed = feed;
        self.pending = Some(Pending::Idle {
            tag: tag.to_string(),
        });
    }

    pub(crate) fn start_sasl(&mut self, tag: &str) {
        self.pending = Some(Pending::Sasl {
            tag: tag.to_string(),
        });
    }

    pub(crate) fn login_failed(&mut self, done: Done) -> Outcome {
        self.failed_logins += 1;
        if self.failed_logins >= self.ctx.max_failed_logins {
            return Outcome {
                done,
                next: Next::Close,
            };
        }
        done.into()
    }
}

/// Literals before login (LOGIN and AUTHENTICATE arguments) are small.
const PRE_LOGIN_LITERAL: u64 = 16 << 10;

/// A store failure as the client sees it; the cause goes to the log.
pub(crate) fn store_failure(what: &str, e: &StoreError) -> Done {
    match e {
        StoreError::NotFound(_) => {
            Done::no(format!("{what}: no such mailbox")).with_code("NONEXISTENT")
        }
        StoreError::Exists(_) => {
            Done::no(format!("{what}: mailbox already exists")).with_code("ALREADYEXISTS")
        }
        StoreError::Invalid(why) => Done::no(format!("{what}: {why}")).with_code("CANNOT"),
        StoreError::Backend(_) => {
            tracing::error!(error = %e, "{what} failed");
            Done::no(format!("{what} failed; try again later")).with_code("UNAVAILABLE")
        }
    }
}

/// Names of commands for logs and BAD texts.
trait Name {
    fn name(&self) -> &'static str;
}

impl Name for CommandBody {
    fn name(&self) -> &'static str {
        use CommandBody as C;
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::Id(_) => "ID",
            C::StartTls => "STARTTLS",
            C::Authenticate { .. } => "AUTHENTICATE",
            C::Login { .. } => "LOGIN",
            C::Enable(_) => "ENABLE",
            C::Select {
                read_only: false, ..
            } => "SELECT",
            C::Select { .. } => "EXAMINE",
            C::Create { .. } => "CREATE",
            C::Delete(_) => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe(_) => "SUBSCRIBE",
            C::Unsubscribe(_) => "UNSUBSCRIBE",
            C::List { .. } => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Namespace => "NAMESPACE",
            C::Status { .. } => "STATUS",
            C::Append { .. } => "APPEND",
            C::Idle => "IDLE",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge => "EXPUNGE",
            C::UidExpunge(_) => "UID EXPUNGE",
            C::Search { uid: false, .. } => "SEARCH",
            C::Search { .. } => "UID SEARCH",
            C::Fetch { uid: false, .. } => "FETCH",
            C::Fetch { .. } => "UID FETCH",
            C::Store { uid: false, .. } => "STORE",
            C::Store { .. } => "UID STORE",
            C::Copy { uid: false, .. } => "COPY",
            C::Copy { .. } => "UID COPY",
            C::Move { uid: false, .. } => "MOVE",
            C::Move { .. } => "UID MOVE",
        }
    }
}
