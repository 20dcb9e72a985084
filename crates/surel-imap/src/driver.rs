//! The socket loop: the only code that reads or writes an IMAP connection.
//!
//! Input is framed by `surel_imap_proto::Framer` (lines plus literals, limits enforced before
//! grammar), except the two places where the client sends plain lines outside the command
//! grammar: the SASL response after `+ ` and IDLE's `DONE`. Output is collected and written
//! when the input runs dry (so a pipelined group gets one write back), at a synchronising
//! literal's `+`, and whenever more than [`FLUSH_AT`] is waiting.
//!
//! Responses are built in memory per command, except FETCH, which spills to the socket as it
//! goes (crate::output), so a FETCH of many large bodies never holds them all.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use surel_imap_proto::{Framed, Framer, Limits, parse_command};
use surel_net::{Accepted, MaybeTls, Shutdown, TlsAcceptor};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tracing::Instrument;

use crate::output::Output;
use crate::session::{Context, Next, Session};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Output is written once this much is waiting.
const FLUSH_AT: usize = 1 << 20;
/// Literals may add this many lines' worth of command text around them (several literals
/// in one command, e.g. LOGIN {n} {m}).
const LINES_PER_COMMAND: u64 = 4;

/// The connection is over (closed by either side, failed, timed out or shut down).
#[derive(Debug)]
pub(crate) struct Closed;

/// Runs one connection to its end. `implicit_tls` is true on the imaps port: the handshake
/// comes first. `tls` is the acceptor for STARTTLS (and imaps); `None` offers no TLS.
pub async fn run(
    ctx: Arc<Context>,
    tls: Option<TlsAcceptor>,
    implicit_tls: bool,
    accepted: Accepted,
    shutdown: Shutdown,
) {
    let Accepted {
        stream,
        peer,
        permit,
        ..
    } = accepted;
    let mut conn = Conn::new(MaybeTls::Plain(stream), &ctx, shutdown);
    let _permit = match permit {
        Ok(permit) => permit,
        Err(hit) => {
            tracing::info!(%peer, ?hit, "connection refused: limit");
            if !implicit_tls {
                // RFC 9051 §7.1.5: a BYE greeting refuses the connection.
                conn.out.extend_from_slice(
                    b"* BYE [UNAVAILABLE] Too many connections; try again later\r\n",
                );
                let _ = conn.flush().await;
            }
            return;
        }
    };
    if implicit_tls {
        let Some(acceptor) = &tls else { return };
        conn = match conn.start_tls(acceptor).await {
            Some(conn) => conn,
            None => return,
        };
    }
    let session = Session::new(ctx, peer, implicit_tls);
    let service = if implicit_tls { "imaps" } else { "imap" };
    let span = tracing::info_span!("imap", session_id = %session.id(), %peer, service);
    converse(conn, session, tls).instrument(span).await;
}

/// The conversation from the greeting to the end of the connection.
async fn converse(mut conn: Conn<MaybeTls>, mut session: Session, tls: Option<TlsAcceptor>) {
    tracing::debug!("connected");
    session.greeting(&mut conn.out);
    conn.reframe(&session);
    while let Ok(Next::StartTls) = conn.serve(&mut session).await {
        let Some(acceptor) = &tls else { break };
        conn = match conn.start_tls(acceptor).await {
            Some(conn) => conn,
            None => return,
        };
        session.restart_with_tls();
        conn.reframe(&session);
    }
    let _ = conn.stream.shutdown().await;
    tracing::debug!("disconnected");
}

/// What woke an IDLE wait.
enum Woken {
    Input(Result<usize, ()>),
    Change,
    Timeout,
    Shutdown,
}

pub(crate) struct Conn<S> {
    pub(crate) stream: S,
    /// Read but not yet consumed.
    buf: BytesMut,
    /// Output not yet written.
    pub(crate) out: Vec<u8>,
    framer: Framer,
    /// The literal limit the framer was built with (it grows at login).
    framed_literal: u64,
    max_line: usize,
    write_timeout: Duration,
    shutdown: Shutdown,
}

impl Conn<MaybeTls> {
    /// The TLS handshake (after the OK to STARTTLS, or first thing on imaps); `None` if it
    /// failed.
    async fn start_tls(mut self, acceptor: &TlsAcceptor) -> Option<Self> {
        // RFC 9051 §6.2.1 (as RFC 3207 §4.2): anything pipelined behind STARTTLS is discarded.
        self.buf.clear();
        let MaybeTls::Plain(tcp) = self.stream else {
            return None;
        };
        self.stream = surel_net::tls::handshake(acceptor, tcp).await?;
        Some(self)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Conn<S> {
    pub(crate) fn new(stream: S, ctx: &Context, shutdown: Shutdown) -> Self {
        Self {
            stream,
            buf: BytesMut::new(),
            out: Vec::new(),
            framer: Framer::new(limits(ctx.max_line, 0)),
            framed_literal: 0,
            max_line: ctx.max_line,
            write_timeout: ctx.timeout,
            shutdown,
        }
    }

    /// A fresh framer with the session's current literal limit. Called only between commands
    /// (the framer holds nothing then).
    pub(crate) fn reframe(&mut self, session: &Session) {
        let literal = session.literal_limit();
        self.framer = Framer::new(limits(self.max_line, literal));
        self.framed_literal = literal;
    }

    /// Serves commands until the session closes or asks for STARTTLS.
    pub(crate) async fn serve(&mut self, session: &mut Session) -> Result<Next, Closed> {
        let mut next = Next::Command;
        loop {
            next = match next {
                Next::Command => self.command(session).await?,
                Next::SaslResponse => match self.line(session).await? {
                    Some(line) => session.sasl_response(&line, &mut self.out).await,
                    None => Next::Close,
                },
                Next::Idle => self.idle(session).await?,
                Next::StartTls | Next::Close => {
                    self.flush().await?;
                    return Ok(next);
                }
            };
            if session.literal_limit() != self.framed_literal {
                // Logged in: literals up to the APPEND limit from now on.
                self.reframe(session);
            }
            if self.out.len() >= FLUSH_AT {
                self.flush().await?;
            }
        }
    }

    /// Frames, parses and handles the next command (or answers what the framer refused).
    async fn command(&mut self, session: &mut Session) -> Result<Next, Closed> {
        loop {
            let Some(framed) = self.framer.next(&mut self.buf) else {
                self.fill(session).await?;
                continue;
            };
            return Ok(match framed {
                Framed::Command(bytes) => match parse_command(&bytes) {
                    Ok(command) => {
                        let waiting = std::mem::take(&mut self.out);
                        let mut out =
                            Output::streaming(waiting, &mut self.stream, self.write_timeout);
                        let next = session.handle(command, &mut out).await;
                        if out.failed() {
                            return Err(Closed);
                        }
                        self.out = out.into_inner();
                        next
                    }
                    Err(e) => session.parse_error(e, &mut self.out),
                },
                Framed::Continue => {
                    // RFC 9051 §7.5: the continuation request for a synchronising literal.
                    self.out.extend_from_slice(b"+ Ready for literal data\r\n");
                    self.flush().await?;
                    continue;
                }
                Framed::TooBig { tag } => session.literal_too_big(tag.as_deref(), &mut self.out),
                Framed::LineTooLong { tag } => session.line_too_long(tag.as_deref(), &mut self.out),
            });
        }
    }

    /// One plain line (SASL response, IDLE's DONE), CRLF removed; `None` after answering a line
    /// over the limit with `* BYE` (the connection then closes).
    async fn line(&mut self, session: &Session) -> Result<Option<Vec<u8>>, Closed> {
        loop {
            match self.take_line() {
                Ok(Some(line)) => return Ok(Some(line)),
                Ok(None) => self.fill(session).await?,
                Err(()) => {
                    self.out.extend_from_slice(b"* BYE Line too long\r\n");
                    return Ok(None);
                }
            }
        }
    }

    fn take_line(&mut self) -> Result<Option<Vec<u8>>, ()> {
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let mut line = self.buf.split_to(end + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok(Some(line))
            }
            None if self.buf.len() > self.max_line => Err(()),
            None => Ok(None),
        }
    }

    /// IDLE (RFC 2177 §3): waits for the client's line and, meanwhile, for changes in the
    /// selected mailbox, which are written at once.
    async fn idle(&mut self, session: &mut Session) -> Result<Next, Closed> {
        let mut deadline = Instant::now() + session.timeout();
        loop {
            match self.take_line() {
                Ok(Some(line)) => return Ok(session.idle_line(&line, &mut self.out).await),
                Ok(None) => {}
                Err(()) => {
                    self.out.extend_from_slice(b"* BYE Line too long\r\n");
                    return Ok(Next::Close);
                }
            }
            self.flush().await?;
            if self.shutdown.is_triggered() {
                return self.shutting_down().await;
            }
            let mut shutdown = self.shutdown.clone();
            self.buf.reserve(READ_CHUNK);
            let woken = tokio::select! {
                read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)) => {
                    match read {
                        Ok(read) => Woken::Input(read.map_err(|_| ())),
                        Err(_) => Woken::Timeout,
                    }
                }
                () = session.next_change() => Woken::Change,
                () = shutdown.wait() => Woken::Shutdown,
            };
            match woken {
                Woken::Input(Ok(0) | Err(())) => return Err(Closed),
                Woken::Input(Ok(_)) => deadline = Instant::now() + session.timeout(),
                Woken::Change => session.idle_refresh(&mut self.out).await,
                Woken::Timeout => return self.autologout().await,
                Woken::Shutdown => return self.shutting_down().await,
            }
        }
    }

    /// Writes what is pending, then reads more; closes on end of input, timeout or shutdown.
    async fn fill(&mut self, session: &Session) -> Result<(), Closed> {
        self.flush().await?;
        if self.shutdown.is_triggered() {
            self.shutting_down().await?;
        }
        let mut shutdown = self.shutdown.clone();
        self.buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            read = tokio::time::timeout(session.timeout(), self.stream.read_buf(&mut self.buf)) => read,
            () = shutdown.wait() => return self.shutting_down().await.map(|_| ()),
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Closed),
            Ok(Ok(_)) => Ok(()),
            Err(_) => self.autologout().await.map(|_| ()),
        }
    }

    /// RFC 9051 §5.4: the autologout timer ran out.
    async fn autologout(&mut self) -> Result<Next, Closed> {
        tracing::debug!("idle timeout");
        Session::autologout(&mut self.out);
        let _ = self.flush().await;
        Err(Closed)
    }

    async fn shutting_down(&mut self) -> Result<Next, Closed> {
        Session::shutting_down(&mut self.out);
        let _ = self.flush().await;
        Err(Closed)
    }

    pub(crate) async fn flush(&mut self) -> Result<(), Closed> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written =
            tokio::time::timeout(self.write_timeout, self.stream.write_all(&self.out)).await;
        self.out.clear();
        match written {
            Ok(Ok(())) => match tokio::time::timeout(self.write_timeout, self.stream.flush()).await
            {
                Ok(Ok(())) => Ok(()),
                _ => Err(Closed),
            },
            _ => Err(Closed),
        }
    }
}

/// Framing limits: lines up to `line`, literals up to `literal`, a whole command up to a few
/// lines beyond its literal.
fn limits(line: usize, literal: u64) -> Limits {
    let line64 = u64::try_from(line).unwrap_or(u64::MAX);
    Limits {
        line,
        literal,
        command: literal.saturating_add(line64.saturating_mul(LINES_PER_COMMAND)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::{Fixture, PASSWORD, USER};
    use surel_net::ShutdownTrigger;
    use tokio::io::DuplexStream;

    /// Runs a session over an in-memory pipe from loopback; returns the client end, the
    /// shutdown trigger and the server task.
    fn start(f: &Fixture) -> (DuplexStream, ShutdownTrigger, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (trigger, shutdown) = Shutdown::new();
        let ctx = f.ctx.clone();
        let task = tokio::spawn(async move {
            let mut conn = Conn::new(server, &ctx, shutdown);
            let mut session = Session::new(ctx, "127.0.0.1:9".parse().unwrap(), false);
            session.greeting(&mut conn.out);
            conn.reframe(&session);
            let _ = conn.serve(&mut session).await;
            let _ = conn.stream.shutdown().await;
        });
        (client, trigger, task)
    }

    async fn read_all(client: &mut DuplexStream) -> String {
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Reads until the output ends with `end`.
    async fn read_until(client: &mut DuplexStream, end: &str) -> String {
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&out).ends_with(end) {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed before {end:?}: {}",
                String::from_utf8_lossy(&out)
            );
            out.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn pipelined_group_with_garbage_and_literals() {
        let f = Fixture::new().await;
        let (mut client, _trigger, task) = start(&f);
        let script = format!(
            "a1 CAPABILITY\r\nzzz\r\na2 BOGUS\r\na3 LOGIN {USER} {{{}+}}\r\n{PASSWORD}\r\n\
             a4 CREATE Work\r\na5 LOGOUT\r\n",
            PASSWORD.len()
        );
        client.write_all(script.as_bytes()).await.unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        let lines: Vec<&str> = wire.lines().collect();
        assert!(lines[0].starts_with("* OK [CAPABILITY "), "{wire}");
        assert!(lines[1].starts_with("* CAPABILITY "), "{wire}");
        assert_eq!(lines[2], "a1 OK CAPABILITY completed", "{wire}");
        assert!(lines[3].contains(" BAD "), "{wire}");
        assert!(lines[4].starts_with("a2 BAD "), "{wire}");
        assert!(lines[5].starts_with("a3 OK [CAPABILITY "), "{wire}");
        assert_eq!(lines[6], "a4 OK CREATE completed", "{wire}");
        assert_eq!(
            lines[7..],
            ["* BYE surel logging out", "a5 OK LOGOUT completed"]
        );
    }

    #[tokio::test]
    async fn synchronising_literal_gets_a_continuation_and_oversize_is_refused_first() {
        let f = Fixture::new().await;
        let (mut client, _trigger, task) = start(&f);
        read_until(&mut client, "ready\r\n").await;
        client
            .write_all(format!("a1 LOGIN {USER} {{{}}}\r\n", PASSWORD.len()).as_bytes())
            .await
            .unwrap();
        read_until(&mut client, "+ Ready for literal data\r\n").await;
        client
            .write_all(format!("{PASSWORD}\r\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut client, "LOGIN completed\r\n").await;
        // Over the APPEND limit (1 MiB here): refused before a single octet is sent.
        client
            .write_all(b"a2 APPEND INBOX {2000000}\r\n")
            .await
            .unwrap();
        let wire = read_until(&mut client, "\r\n").await;
        assert!(wire.starts_with("a2 NO [TOOBIG] "), "{wire}");
        let message = b"Subject: hi\r\n\r\nhello\r\n";
        client
            .write_all(format!("a3 APPEND INBOX (\\Seen) {{{}}}\r\n", message.len()).as_bytes())
            .await
            .unwrap();
        read_until(&mut client, "+ Ready for literal data\r\n").await;
        client.write_all(message).await.unwrap();
        client.write_all(b"\r\na4 LOGOUT\r\n").await.unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert!(wire.starts_with("a3 OK [APPENDUID "), "{wire}");
    }

    #[tokio::test]
    async fn big_literal_before_login_is_refused() {
        let f = Fixture::new().await;
        let (mut client, _trigger, task) = start(&f);
        client
            .write_all(format!("a1 LOGIN {USER} {{100000}}\r\na2 LOGOUT\r\n").as_bytes())
            .await
            .unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert!(wire.contains("\r\na1 NO [TOOBIG] "), "{wire}");
        assert!(wire.ends_with("a2 OK LOGOUT completed\r\n"), "{wire}");
    }

    #[tokio::test]
    async fn authenticate_continuation_and_idle_done() {
        let f = Fixture::new().await;
        let (mut client, _trigger, task) = start(&f);
        client
            .write_all(b"a1 AUTHENTICATE PLAIN\r\n")
            .await
            .unwrap();
        read_until(&mut client, "+ \r\n").await;
        let token = surel_types::sasl::encode_base64(format!("\0{USER}\0{PASSWORD}").as_bytes());
        client
            .write_all(format!("{token}\r\na2 SELECT INBOX\r\na3 IDLE\r\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut client, "+ idling\r\n").await;
        f.deliver("Subject: x\r\n\r\nbody\r\n").await;
        let wire = read_until(&mut client, "EXISTS\r\n").await;
        assert!(wire.ends_with("* 1 EXISTS\r\n"), "{wire}");
        client.write_all(b"DONE\r\na4 LOGOUT\r\n").await.unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert!(wire.starts_with("a3 OK IDLE terminated\r\n"), "{wire}");
    }

    #[tokio::test(start_paused = true)]
    async fn login_timeout_and_autologout() {
        let f = Fixture::new().await;
        let (mut client, _trigger, task) = start(&f);
        // Nothing is sent: the paused clock runs to the 60-second login timeout.
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert!(
            wire.ends_with("* BYE Autologout; idle for too long\r\n"),
            "{wire}"
        );

        let (mut client, _trigger, task) = start(&f);
        client
            .write_all(format!("a1 LOGIN {USER} \"{PASSWORD}\"\r\na2 IDLE\r\n").as_bytes())
            .await
            .unwrap();
        read_until(&mut client, "+ idling\r\n").await;
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert_eq!(wire, "* BYE Autologout; idle for too long\r\n");
    }

    #[tokio::test]
    async fn shutdown_says_bye() {
        let f = Fixture::new().await;
        let (mut client, trigger, task) = start(&f);
        read_until(&mut client, "ready\r\n").await;
        trigger.trigger();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert_eq!(wire, "* BYE Server shutting down\r\n");
    }
}
