//! The socket loop: the only code that reads or writes an SMTP connection.
//!
//! Replies to pipelined commands (RFC 2920) are collected and written when the input buffer runs
//! dry, so a client that sends a group gets one write back. SASL responses after a 334 are read
//! as raw lines ([`Next::SaslResponse`]); on an implicit-TLS port the handshake comes first.

use std::sync::Arc;

use surel_net::{Accepted, LimitHit, MaybeTls, Reservation, Shutdown, TlsAcceptor};
use surel_smtp_proto::{
    Command, DataDecoder, DataProgress, DataViolation, Decoded, LineFramer, Reply,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Instrument;

use crate::session::{BdatPlan, Context, Next, Session, Step};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Why a connection ended early.
enum Stop {
    /// The peer closed, the socket failed, or we decided to close (the reply was written).
    Closed,
}

/// Runs one connection (port 25, or submission with STARTTLS on 587) to its end.
pub async fn run(
    ctx: Arc<Context>,
    tls: Option<TlsAcceptor>,
    accepted: Accepted,
    shutdown: Shutdown,
) {
    start(ctx, tls, accepted, shutdown, false).await;
}

/// Runs one connection on an implicit-TLS port (465, RFC 8314 §3.3): the TLS handshake comes
/// first, then the same session as on 587, already encrypted.
pub async fn run_implicit_tls(
    ctx: Arc<Context>,
    tls: TlsAcceptor,
    accepted: Accepted,
    shutdown: Shutdown,
) {
    start(ctx, Some(tls), accepted, shutdown, true).await;
}

async fn start(
    ctx: Arc<Context>,
    tls: Option<TlsAcceptor>,
    accepted: Accepted,
    shutdown: Shutdown,
    implicit_tls: bool,
) {
    let Accepted {
        stream,
        peer,
        permit,
        ..
    } = accepted;
    let mut conn = Conn {
        stream: MaybeTls::Plain(stream),
        buf: Vec::new(),
        out: Vec::new(),
        framer: LineFramer::new(ctx.limits.command_line),
        bdat_held: None,
        shutdown,
        ctx: ctx.clone(),
    };
    let _permit = match permit {
        Ok(permit) => permit,
        Err(hit) => {
            let reply = match hit {
                LimitHit::Total => Reply::TOO_MANY_CONNECTIONS,
                LimitHit::PerIp => Reply::TOO_MANY_CONNECTIONS_FROM_IP,
            };
            tracing::info!(%peer, ?hit, "connection refused: limit");
            reply.encode(&mut conn.out);
            let _ = conn.flush().await;
            return;
        }
    };
    let mut tls_summary = None;
    if implicit_tls {
        let Some(acceptor) = &tls else { return };
        conn = match conn.start_tls(acceptor).await {
            Some(conn) => conn,
            None => return,
        };
        tls_summary = conn.stream.tls_summary();
    }
    let session = Session::new(ctx, peer, tls_summary);
    let span = tracing::info_span!("smtp", session_id = %session.id(), %peer);
    // A span entered with `enter()` must not live across an await on a multi-thread runtime.
    converse(conn, session, tls).instrument(span).await;
}

/// The conversation from the greeting to the end of the connection.
async fn converse(mut conn: Conn, mut session: Session, tls: Option<TlsAcceptor>) {
    tracing::debug!("connected");
    session.greeting().encode(&mut conn.out);
    while let Ok(Next::StartTls) = conn.serve(&mut session).await {
        let Some(acceptor) = &tls else { break };
        conn = match conn.start_tls(acceptor).await {
            Some(conn) => conn,
            None => return,
        };
        // RFC 3207 §4.2: the session starts over; the client must EHLO again.
        session = session.restart_with_tls(conn.stream.tls_summary());
    }
    let _ = conn.stream.shutdown().await;
    tracing::debug!("disconnected");
}

struct Conn {
    stream: MaybeTls,
    /// Read but not yet consumed.
    buf: Vec<u8>,
    /// Replies not yet written.
    out: Vec<u8>,
    framer: LineFramer,
    /// The memory held for the BDAT chunks of the current transaction.
    bdat_held: Option<Reservation>,
    shutdown: Shutdown,
    ctx: Arc<Context>,
}

impl Conn {
    /// The TLS handshake after `220 Ready to start TLS`; `None` if it failed (the connection is
    /// then dropped).
    async fn start_tls(mut self, acceptor: &TlsAcceptor) -> Option<Conn> {
        // RFC 3207 §4.2: anything the client pipelined behind STARTTLS is discarded.
        self.buf.clear();
        self.framer.reset();
        let MaybeTls::Plain(tcp) = self.stream else {
            return None;
        };
        self.stream = surel_net::tls::handshake(acceptor, tcp).await?;
        Some(self)
    }

    /// Serves commands until the session closes or asks for STARTTLS.
    async fn serve(&mut self, session: &mut Session) -> Result<Next, Stop> {
        loop {
            let mut step = self.next_command(session).await?;
            loop {
                step.reply.encode(&mut self.out);
                step = match step.next {
                    Next::Command => break,
                    Next::Data => self.read_data(session).await?,
                    Next::SaslResponse => self.read_sasl(session).await?,
                    Next::StartTls | Next::Close => {
                        self.flush().await?;
                        return Ok(step.next);
                    }
                };
            }
        }
    }

    /// Reads and handles the next command line (BDAT with its chunk).
    async fn next_command(&mut self, session: &mut Session) -> Result<Step, Stop> {
        loop {
            match self.framer.decode(&self.buf) {
                Ok(Decoded::Done(Command::Bdat { size, last }, consumed)) => {
                    self.buf.drain(..consumed);
                    return self.read_bdat(session, size, last).await;
                }
                Ok(Decoded::Done(command, consumed)) => {
                    self.buf.drain(..consumed);
                    tracing::debug!(verb = command.verb(), "command");
                    return Ok(session.handle(command).await);
                }
                Ok(Decoded::Skip(n)) => {
                    self.buf.drain(..n);
                }
                Ok(Decoded::NeedMore) => {
                    if self.shutdown.is_triggered() {
                        Reply::SHUTTING_DOWN.encode(&mut self.out);
                        self.flush().await?;
                        return Err(Stop::Closed);
                    }
                    self.fill(true).await?;
                }
                Err(e) => {
                    self.buf.drain(..e.skip().min(self.buf.len()));
                    return Ok(session.syntax_error(e.reply()));
                }
            }
        }
    }

    /// Reads the line answering a 334 challenge (RFC 4954 §4) and hands it to the session.
    async fn read_sasl(&mut self, session: &mut Session) -> Result<Step, Stop> {
        loop {
            match self.framer.decode_line(&self.buf) {
                Ok(Decoded::Done(line, consumed)) => {
                    self.buf.drain(..consumed);
                    return Ok(session.sasl_response(&line).await);
                }
                Ok(Decoded::Skip(n)) => {
                    self.buf.drain(..n);
                }
                Ok(Decoded::NeedMore) => self.fill(true).await?,
                Err(e) => {
                    self.buf.drain(..e.skip().min(self.buf.len()));
                    return Ok(session.sasl_abandoned(e.reply()));
                }
            }
        }
    }

    /// Reads message data after 354 up to the end-of-data line.
    async fn read_data(&mut self, session: &mut Session) -> Result<Step, Stop> {
        self.flush().await?;
        let mut decoder = DataDecoder::new(session.data_limits());
        // Held until the message is stored: its bytes are in memory until then.
        let mut held = self.ctx.memory.reservation();
        loop {
            match decoder.feed(&self.buf) {
                DataProgress::NeedMore => {
                    // The decoder keeps what it needs; everything fed is consumed.
                    self.buf.clear();
                    if decoder.violation().is_none() && !held.grow_to(decoder.size()) {
                        tracing::warn!(octets = decoder.size(), "memory budget for messages spent");
                        decoder.abandon(DataViolation::NoStorage);
                    }
                    self.fill(false).await?;
                }
                DataProgress::Done {
                    consumed,
                    violation,
                } => {
                    self.buf.drain(..consumed);
                    // The last piece arrived with the end of data: hold it too.
                    let violation = violation.or_else(|| {
                        (!held.grow_to(decoder.size())).then_some(DataViolation::NoStorage)
                    });
                    let received = match violation {
                        Some(violation) => Err(violation),
                        None => Ok(decoder.into_message()),
                    };
                    return Ok(session.data_end(received).await);
                }
            }
        }
    }

    /// Reads the octets of a BDAT chunk (always all of them) and hands them to the session.
    async fn read_bdat(
        &mut self,
        session: &mut Session,
        size: u64,
        last: bool,
    ) -> Result<Step, Stop> {
        let mut plan = session.bdat_begin(size);
        if plan == BdatPlan::Keep {
            let held = self
                .bdat_held
                .get_or_insert_with(|| self.ctx.memory.reservation());
            if !held.grow_to(held.octets().saturating_add(size)) {
                tracing::warn!(octets = size, "memory budget for messages spent");
                session.abandon_transaction();
                plan = BdatPlan::Discard(Reply::STORAGE_FULL);
            }
        }
        let mut remaining = size;
        let mut chunk = Vec::new();
        loop {
            let take = remaining.min(self.buf.len() as u64) as usize;
            if plan == BdatPlan::Keep {
                chunk.extend_from_slice(&self.buf[..take]);
            }
            self.buf.drain(..take);
            remaining -= take as u64;
            if remaining == 0 {
                break;
            }
            self.fill(false).await?;
        }
        let step = match plan {
            BdatPlan::Keep => session.bdat_chunk(&chunk, last).await,
            BdatPlan::Discard(reply) => session.bdat_discarded(reply),
        };
        if last || step.reply.code != 250 {
            // The message is stored or refused: its chunks are no longer held.
            self.bdat_held = None;
        }
        Ok(step)
    }

    /// Reads more input. `between_commands` is true when waiting for a command: then pending
    /// replies are written first (RFC 2920 §3.1) and shutdown is honoured.
    async fn fill(&mut self, between_commands: bool) -> Result<(), Stop> {
        if between_commands || !self.out.is_empty() {
            self.flush().await?;
        }
        let timeout = self.ctx.limits.smtp_timeout;
        let mut chunk = [0u8; READ_CHUNK];
        let mut shutdown = self.shutdown.clone();
        let read = tokio::select! {
            read = tokio::time::timeout(timeout, self.stream.read(&mut chunk)) => read,
            _ = shutdown.wait(), if between_commands => {
                Reply::SHUTTING_DOWN.encode(&mut self.out);
                self.flush().await?;
                return Err(Stop::Closed);
            }
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Closed),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(_) => {
                tracing::debug!("idle timeout");
                Reply::TIMEOUT.encode(&mut self.out);
                let _ = self.flush().await;
                Err(Stop::Closed)
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written = tokio::time::timeout(
            self.ctx.limits.smtp_timeout,
            self.stream.write_all(&self.out),
        )
        .await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop::Closed),
        }
    }
}
