//! The socket loop: the only code that reads or writes a POP3 connection.
//!
//! Responses to pipelined commands (RFC 2449 §6.6) are collected and written when the input
//! buffer runs dry, so a client that sends a group gets one write back; RETR and TOP are encoded
//! piece by piece and written whenever the output passes [`FLUSH_AT`], so memory stays bounded
//! however many messages are asked for at once.

use std::sync::Arc;
use std::time::Duration;

use surel_net::{Accepted, MaybeTls, Shutdown, TlsAcceptor};
use surel_pop3_proto::{
    BodyEncoder, Decoded, LineFramer, Reply, RespCode, encode_continuation, encode_lines,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::Instrument;

use crate::session::{Context, Next, Response, Session};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Message text is encoded this much at a time.
const ENCODE_CHUNK: usize = 64 * 1024;
/// Output is written once this much is waiting, even mid-message.
const FLUSH_AT: usize = 256 * 1024;

/// The connection is over (closed by either side, failed, or timed out).
#[derive(Debug)]
pub(crate) struct Closed;

/// Runs one connection to its end. `implicit_tls` is true on the pop3s port: the handshake
/// comes first. `tls` is the acceptor for STLS (and pop3s); `None` offers no TLS.
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
                Reply::err_code(RespCode::SysTemp, "too many connections; try again later")
                    .encode(&mut conn.out);
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
    let service = if implicit_tls { "pop3s" } else { "pop3" };
    let span = tracing::info_span!("pop3", session_id = %session.id(), %peer, service);
    converse(conn, session, tls).instrument(span).await;
}

/// The conversation from the greeting to the end of the connection.
async fn converse(mut conn: Conn<MaybeTls>, mut session: Session, tls: Option<TlsAcceptor>) {
    tracing::debug!("connected");
    session.greeting().encode(&mut conn.out);
    while let Ok(Next::Stls) = conn.serve(&mut session).await {
        let Some(acceptor) = &tls else { break };
        conn = match conn.start_tls(acceptor).await {
            Some(conn) => conn,
            None => return,
        };
        session = session.restart_with_tls();
    }
    let _ = conn.stream.shutdown().await;
    tracing::debug!("disconnected");
}

pub(crate) struct Conn<S> {
    pub(crate) stream: S,
    /// Read but not yet consumed.
    buf: Vec<u8>,
    /// Output not yet written.
    pub(crate) out: Vec<u8>,
    framer: LineFramer,
    shutdown: Shutdown,
    timeout: Duration,
}

impl Conn<MaybeTls> {
    /// The TLS handshake (after `+OK` to STLS, or first thing on pop3s); `None` if it failed.
    async fn start_tls(mut self, acceptor: &TlsAcceptor) -> Option<Self> {
        // RFC 2595 §4 (as RFC 3207 §4.2): anything pipelined behind STLS is discarded.
        self.buf.clear();
        self.framer.reset();
        let MaybeTls::Plain(tcp) = self.stream else {
            return None;
        };
        self.stream = surel_net::tls::handshake(acceptor, tcp).await?;
        Some(self)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub(crate) fn new(stream: S, ctx: &Context, shutdown: Shutdown) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            out: Vec::new(),
            framer: LineFramer::new(ctx.max_line),
            shutdown,
            timeout: ctx.timeout,
        }
    }

    /// Serves commands until the session closes or asks for STLS.
    pub(crate) async fn serve(&mut self, session: &mut Session) -> Result<Next, Closed> {
        loop {
            let step = self.next_step(session).await?;
            self.write_response(step.response).await?;
            if matches!(step.next, Next::Stls | Next::Close) {
                self.flush().await?;
                return Ok(step.next);
            }
        }
    }

    /// Reads the next line and lets the session handle it.
    async fn next_step(&mut self, session: &mut Session) -> Result<crate::Step, Closed> {
        loop {
            if session.expects_sasl() {
                match self.framer.decode_line(&self.buf) {
                    Ok(Decoded::Done(line, n)) => {
                        let line = line.to_vec();
                        self.buf.drain(..n);
                        return Ok(session.sasl_response(&line).await);
                    }
                    Ok(Decoded::Skip(n)) => {
                        self.buf.drain(..n);
                    }
                    Ok(Decoded::NeedMore) => self.fill().await?,
                    Err((e, n)) => {
                        self.buf.drain(..n.min(self.buf.len()));
                        return Ok(session.syntax_error(&e));
                    }
                }
                continue;
            }
            match self.framer.decode(&self.buf) {
                Ok(Decoded::Done(command, n)) => {
                    self.buf.drain(..n);
                    return Ok(session.handle(command).await);
                }
                Ok(Decoded::Skip(n)) => {
                    self.buf.drain(..n);
                }
                Ok(Decoded::NeedMore) => self.fill().await?,
                Err((e, n)) => {
                    self.buf.drain(..n.min(self.buf.len()));
                    return Ok(session.syntax_error(&e));
                }
            }
        }
    }

    async fn write_response(&mut self, response: Response) -> Result<(), Closed> {
        match response {
            Response::Line(reply) => reply.encode(&mut self.out),
            Response::Lines(reply, lines) => {
                reply.encode(&mut self.out);
                encode_lines(&lines, &mut self.out);
            }
            Response::Message { reply, bytes, top } => {
                reply.encode(&mut self.out);
                let mut encoder = BodyEncoder::new(top);
                for piece in bytes.chunks(ENCODE_CHUNK) {
                    if !encoder.feed(piece, &mut self.out) {
                        break;
                    }
                    if self.out.len() >= FLUSH_AT {
                        self.flush().await?;
                    }
                }
                encoder.finish(&mut self.out);
            }
            Response::Continue => encode_continuation("", &mut self.out),
        }
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is pending (RFC 2449 §6.6: responses to a pipelined group go out when the
    /// input runs dry), then reads more; closes on end of input, idle timeout or shutdown.
    async fn fill(&mut self) -> Result<(), Closed> {
        self.flush().await?;
        if self.shutdown.is_triggered() {
            return self.shutting_down().await;
        }
        let mut chunk = [0u8; READ_CHUNK];
        let mut shutdown = self.shutdown.clone();
        let read = tokio::select! {
            read = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk)) => read,
            _ = shutdown.wait() => return self.shutting_down().await,
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Closed),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                Ok(())
            }
            Err(_) => {
                // RFC 1939 §3: the autologout timer closes without UPDATE and without a reply.
                tracing::debug!("idle timeout");
                Err(Closed)
            }
        }
    }

    async fn shutting_down(&mut self) -> Result<(), Closed> {
        Reply::err_code(RespCode::SysTemp, "server shutting down").encode(&mut self.out);
        let _ = self.flush().await;
        Err(Closed)
    }

    pub(crate) async fn flush(&mut self) -> Result<(), Closed> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written = tokio::time::timeout(self.timeout, self.stream.write_all(&self.out)).await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::{Fixture, M1, M2, PASSWORD, USER};
    use tokio::io::DuplexStream;

    /// Runs a session over an in-memory pipe; returns the client end and the server task.
    fn start(f: &Fixture) -> (DuplexStream, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (trigger, shutdown) = Shutdown::new();
        let ctx = f.ctx.clone();
        let task = tokio::spawn(async move {
            let _trigger = trigger;
            let mut conn = Conn::new(server, &ctx, shutdown);
            let mut session = Session::new(ctx, "127.0.0.1:9".parse().unwrap(), false);
            session.greeting().encode(&mut conn.out);
            let _ = conn.serve(&mut session).await;
            let _ = conn.stream.shutdown().await;
        });
        (client, task)
    }

    async fn read_all(client: &mut DuplexStream) -> String {
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn pipelined_group_gets_every_answer_and_exact_message_text() {
        let f = Fixture::new(&[M1, M2]).await;
        let (mut client, task) = start(&f);
        let script = format!(
            "CAPA\r\nUSER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nRETR 1\r\nTOP 2 0\r\nBOGUS\r\n\
             DELE 2\r\nQUIT\r\n"
        );
        client.write_all(script.as_bytes()).await.unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        let want_retr = format!(
            "+OK {} octets\r\nSubject: one\r\n\r\nfirst\r\n..dot\r\n.\r\n",
            M1.len()
        );
        assert!(wire.contains(&want_retr), "{wire}");
        assert!(
            wire.contains("+OK top of message follows\r\nSubject: two\r\n\r\n.\r\n"),
            "{wire}"
        );
        assert!(wire.contains("-ERR unknown command\r\n"), "{wire}");
        assert!(
            wire.ends_with("+OK signing off (1 messages deleted)\r\n"),
            "{wire}"
        );
        assert_eq!(f.inbox_uids().await, [1]);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_closes_without_deleting() {
        let f = Fixture::new(&[M1]).await;
        let (mut client, task) = start(&f);
        let script = format!("USER {USER}\r\nPASS {PASSWORD}\r\nDELE 1\r\n");
        client.write_all(script.as_bytes()).await.unwrap();
        // Nothing more is sent: the paused clock runs to the 10-minute timeout.
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        assert!(wire.ends_with("+OK message 1 deleted\r\n"), "{wire}");
        assert_eq!(f.inbox_uids().await, [1]);
        assert!(!f.ctx.locks.is_locked(f.account));
    }

    #[tokio::test]
    async fn over_long_line_is_answered_and_the_session_goes_on() {
        let f = Fixture::new(&[]).await;
        let (mut client, task) = start(&f);
        let long = "X".repeat(5000);
        client
            .write_all(format!("USER {long}\r\nNOOP\r\nQUIT\r\n").as_bytes())
            .await
            .unwrap();
        let wire = read_all(&mut client).await;
        task.await.unwrap();
        let lines: Vec<&str> = wire.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "-ERR line too long",
                "-ERR command not valid in this state",
                "+OK surel POP3 server signing off"
            ],
            "{wire}"
        );
    }
}
