//! The delivery client: one SMTP session to one host, from greeting to QUIT, carrying one or
//! more mail transactions (RSET between them, RFC 5321 §4.1.1.5).
//!
//! Why not mail-send (STACK): we need a per-recipient outcome from a single transaction,
//! PIPELINING, opportunistic STARTTLS without certificate checks, and hard bounds on what a
//! hostile server can make us buffer (a 2 GB reply line). A small client over our own reply
//! reader ([`crate::reply`]) and `surel_smtp_proto::Reply` gives all of that in a few hundred
//! lines, with no second SMTP grammar in the tree.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use surel_smtp_proto::{EnhancedCode, Reply};
use surel_types::Address;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::outcome::{Outcome, Trouble};
use crate::reply::{self, Parsed};

/// How long each step may take (RFC 5321 §4.5.3.2 gives the minimums: 5 minutes for the
/// greeting, MAIL and RCPT, 2 for DATA's 354, 10 for the final reply).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// The greeting and every command's reply (RFC 5321 §4.5.3.2.1-4).
    pub command: Duration,
    /// Writing the message and reading its final reply (RFC 5321 §4.5.3.2.6).
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(300),
            data_end: Duration::from_secs(600),
        }
    }
}

/// What the session fails on as a whole (before any recipient has its own answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// Not a reply: the network or the peer misbehaved.
    Trouble(Trouble),
    /// A reply that refuses the whole session or transaction (greeting, EHLO, MAIL, DATA).
    Refused(Reply),
}

impl SessionError {
    /// The outcome for every recipient of the transaction.
    pub fn outcome(&self, host: &str) -> Outcome {
        match self {
            SessionError::Trouble(t) => Outcome::of_trouble(t, Some(host)),
            SessionError::Refused(r) => Outcome::of_reply(r, host),
        }
    }
}

impl From<Trouble> for SessionError {
    fn from(t: Trouble) -> Self {
        SessionError::Trouble(t)
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What the server announced in EHLO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// RFC 2920.
    pub pipelining: bool,
    /// RFC 1870, with the announced limit (0: none).
    pub size: Option<u64>,
    /// RFC 6152.
    pub eight_bit_mime: bool,
    /// RFC 6531.
    pub smtputf8: bool,
    /// RFC 3207.
    pub starttls: bool,
    /// RFC 3030: BDAT.
    pub chunking: bool,
}

impl Extensions {
    /// Reads an EHLO reply's lines after the first (RFC 5321 §4.1.1.1: keyword, parameters).
    pub fn parse(reply: &Reply) -> Self {
        let mut ext = Extensions::default();
        for line in reply.text.split('\n').skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or("").to_ascii_uppercase();
            match keyword.as_str() {
                "PIPELINING" => ext.pipelining = true,
                "SIZE" => ext.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => ext.eight_bit_mime = true,
                "SMTPUTF8" => ext.smtputf8 = true,
                "STARTTLS" => ext.starttls = true,
                "CHUNKING" => ext.chunking = true,
                _ => {}
            }
        }
        ext
    }
}

/// The message and its envelope, for one host.
pub struct Envelope<'a> {
    /// `None`: the null reverse path `<>`.
    pub from: Option<&'a Address>,
    /// The recipients at this host.
    pub recipients: &'a [Address],
    /// The message as stored.
    pub message: &'a [u8],
}

/// An open session, greeted and EHLO'd (and TLS'd when offered).
pub struct Session {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    host: String,
    ext: Extensions,
    timeouts: Timeouts,
    /// Mail transactions started on this connection.
    transactions: usize,
    /// Whether STARTTLS succeeded.
    pub tls: bool,
}

/// Where and how to connect.
pub struct Target<'a> {
    /// The MX host's name (SNI, logs, Remote-MTA).
    pub host: &'a str,
    /// The address to connect to.
    pub addr: SocketAddr,
    /// The local address to connect from.
    pub source: Option<IpAddr>,
    /// Our name for EHLO.
    pub hostname: &'a str,
}

impl Session {
    /// Connects, reads the greeting, says EHLO (HELO if EHLO is refused, RFC 5321 §3.2), and
    /// upgrades with STARTTLS when offered (opportunistic: the certificate is not verified; a
    /// failed handshake fails this host).
    pub async fn open(
        target: &Target<'_>,
        timeouts: Timeouts,
        tls: &TlsClient,
    ) -> Result<Session, SessionError> {
        let stream = connect(target, timeouts.connect).await?;
        let _ = stream.set_nodelay(true);
        let mut s = Session {
            io: Box::new(stream),
            buf: Vec::new(),
            host: target.host.to_string(),
            ext: Extensions::default(),
            timeouts,
            transactions: 0,
            tls: false,
        };
        let greeting = s.read_reply("the greeting").await?;
        if greeting.code != 220 {
            return Err(SessionError::Refused(greeting));
        }
        s.hello(target.hostname).await?;
        if s.ext.starttls {
            let reply = s.command("STARTTLS\r\n", "STARTTLS").await?;
            if reply.code == 220 {
                s.start_tls(tls).await?;
                s.hello(target.hostname).await?;
            } else {
                tracing::info!(host = %s.host, reply = %crate::outcome::reply_text(&reply), "STARTTLS refused; going on in plain text");
            }
        }
        Ok(s)
    }

    async fn hello(&mut self, hostname: &str) -> Result<(), SessionError> {
        let reply = self
            .command(&format!("EHLO {hostname}\r\n"), "EHLO")
            .await?;
        if reply.code == 250 {
            self.ext = Extensions::parse(&reply);
            return Ok(());
        }
        let reply = self
            .command(&format!("HELO {hostname}\r\n"), "HELO")
            .await?;
        if reply.code == 250 {
            self.ext = Extensions::default();
            Ok(())
        } else {
            Err(SessionError::Refused(reply))
        }
    }

    async fn start_tls(&mut self, tls: &TlsClient) -> Result<(), SessionError> {
        // RFC 3207 §4.2: nothing the server sent before the handshake counts.
        self.buf.clear();
        let name = ServerName::try_from(self.host.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        let io = std::mem::replace(&mut self.io, Box::new(tokio::io::duplex(1).0));
        let stream = timeout(self.timeouts.command, tls.connector.connect(name, io))
            .await
            .map_err(|_| Trouble::Timeout("the TLS handshake"))?
            .map_err(|e| Trouble::Tls(e.to_string()))?;
        let (_, conn) = stream.get_ref();
        tracing::info!(
            host = %self.host,
            version = ?conn.protocol_version(),
            cipher = ?conn.negotiated_cipher_suite().map(|c| c.suite()),
            "STARTTLS established (certificate not verified: opportunistic)"
        );
        self.io = Box::new(stream);
        self.tls = true;
        Ok(())
    }

    /// What the server announced (after STARTTLS, the second EHLO's answer).
    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    /// Mail transactions started on this connection so far.
    pub fn transactions(&self) -> usize {
        self.transactions
    }

    /// Whether the connection may carry another transaction: nothing unread is waiting (a reply
    /// we did not ask for means we no longer know where the dialogue stands).
    pub fn is_clean(&self) -> bool {
        self.buf.is_empty()
    }

    /// Readies a used connection for the next transaction: RFC 5321 §4.1.1.5, RSET aborts
    /// whatever is left of the last one and must be answered `250`.
    pub async fn reset(&mut self) -> Result<(), SessionError> {
        let reply = self.command("RSET\r\n", "RSET").await?;
        if reply.code == 250 {
            Ok(())
        } else {
            Err(SessionError::Refused(reply))
        }
    }

    /// Runs one mail transaction; per-recipient outcomes in the order of `env.recipients`.
    /// The content goes with `BDAT n LAST` when the server announced CHUNKING (RFC 3030 §2, one
    /// chunk), else with DATA, dot-stuffed.
    pub async fn send(&mut self, env: &Envelope<'_>) -> Result<Vec<Outcome>, SessionError> {
        self.transactions = self.transactions.saturating_add(1);
        let chunking = self.ext.chunking;
        let host = self.host.clone();
        let size = env.message.len() as u64;
        if let Some(limit) = self.ext.size.filter(|&l| l > 0 && size > l) {
            // RFC 1870 §6.2: too big for this server; permanent (5.3.4).
            let why = format!("the message ({size} octets) exceeds the server's limit of {limit}");
            return Err(Trouble::Unsupported(EnhancedCode::new(5, 3, 4), why).into());
        }
        let needs_utf8 = env.from.is_some_and(|a| !a.to_string().is_ascii())
            || env.recipients.iter().any(|a| !a.to_string().is_ascii());
        if needs_utf8 && !self.ext.smtputf8 {
            // RFC 6531 §3.2: a non-ASCII envelope needs SMTPUTF8; 5.6.7 (RFC 6533 §3).
            let why = "the server does not support SMTPUTF8, which the addresses need".to_string();
            return Err(Trouble::Unsupported(EnhancedCode::new(5, 6, 7), why).into());
        }
        let mut mail = format!(
            "MAIL FROM:<{}>",
            env.from.map(ToString::to_string).unwrap_or_default()
        );
        if self.ext.size.is_some() {
            mail.push_str(&format!(" SIZE={size}"));
        }
        if self.ext.eight_bit_mime && !env.message.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        if needs_utf8 {
            mail.push_str(" SMTPUTF8");
        }
        mail.push_str("\r\n");
        let rcpts: Vec<String> = env
            .recipients
            .iter()
            .map(|r| format!("RCPT TO:<{r}>\r\n"))
            .collect();

        let mut outcomes = Vec::with_capacity(rcpts.len());
        let mut accepted = 0;
        if self.ext.pipelining {
            // RFC 2920 §3.1: MAIL, RCPTs and DATA may go in one group; the replies come in order.
            // BDAT waits for the RCPT replies, so its octets are never sent for nobody.
            let mut group = mail;
            for r in &rcpts {
                group.push_str(r);
            }
            if !chunking {
                group.push_str("DATA\r\n");
            }
            self.write(group.as_bytes()).await?;
            let mail_reply = self.read_reply("MAIL").await?;
            for _ in &rcpts {
                let reply = self.read_reply("RCPT").await?;
                accepted += usize::from(reply.code / 100 == 2);
                outcomes.push(Outcome::of_reply(&reply, &host));
            }
            let data = if chunking {
                None
            } else {
                Some(self.read_reply("DATA").await?)
            };
            if mail_reply.code / 100 != 2 {
                return Err(SessionError::Refused(mail_reply));
            }
            if accepted == 0 {
                return Ok(outcomes);
            }
            if let Some(data) = data.filter(|d| d.code != 354) {
                return Err(SessionError::Refused(data));
            }
        } else {
            let reply = self.command(&mail, "MAIL").await?;
            if reply.code / 100 != 2 {
                return Err(SessionError::Refused(reply));
            }
            for r in &rcpts {
                let reply = self.command(r, "RCPT").await?;
                accepted += usize::from(reply.code / 100 == 2);
                outcomes.push(Outcome::of_reply(&reply, &host));
            }
            if accepted == 0 {
                let _ = self.command("RSET\r\n", "RSET").await;
                return Ok(outcomes);
            }
            if !chunking {
                let data = self.command("DATA\r\n", "DATA").await?;
                if data.code != 354 {
                    return Err(SessionError::Refused(data));
                }
            }
        }
        if chunking {
            let body = encode_bdat(env.message);
            // RFC 3030 §2: `BDAT chunk-size LAST`, then exactly chunk-size octets.
            let command = format!("BDAT {} LAST\r\n", body.len());
            self.write_within(
                &[command.as_bytes(), &body],
                "the message",
                self.timeouts.data_end,
            )
            .await?;
        } else {
            let body = encode_data(env.message);
            self.write_within(&[&body], "the message", self.timeouts.data_end)
                .await?;
        }
        let done = self
            .read_reply_within("the end of data", self.timeouts.data_end)
            .await?;
        // The final reply decides for every recipient the RCPT step accepted.
        let final_outcome = Outcome::of_reply(&done, &host);
        for o in outcomes.iter_mut() {
            if *o == Outcome::Delivered {
                *o = final_outcome.clone();
            }
        }
        Ok(outcomes)
    }

    /// Says QUIT and waits briefly for the answer; failures do not matter any more.
    pub async fn quit(mut self) {
        if self.write(b"QUIT\r\n").await.is_ok() {
            let _ = self.read_reply_within("QUIT", Duration::from_secs(5)).await;
        }
        let _ = self.io.shutdown().await;
    }

    async fn command(&mut self, line: &str, what: &'static str) -> Result<Reply, SessionError> {
        self.write(line.as_bytes()).await?;
        self.read_reply(what).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        self.write_within(&[bytes], "a command", self.timeouts.command)
            .await
    }

    /// Writes `parts` in order and flushes them (a TLS stream holds back what is not flushed).
    async fn write_within(
        &mut self,
        parts: &[&[u8]],
        what: &'static str,
        limit: Duration,
    ) -> Result<(), SessionError> {
        let io = &mut self.io;
        timeout(limit, async {
            for part in parts {
                io.write_all(part).await?;
            }
            io.flush().await
        })
        .await
        .map_err(|_| Trouble::Timeout(what))?
        .map_err(|_| Trouble::Closed)?;
        Ok(())
    }

    async fn read_reply(&mut self, what: &'static str) -> Result<Reply, SessionError> {
        self.read_reply_within(what, self.timeouts.command).await
    }

    async fn read_reply_within(
        &mut self,
        what: &'static str,
        limit: Duration,
    ) -> Result<Reply, SessionError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match reply::parse(&self.buf) {
                Ok(Parsed::Done(reply, used)) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    return Ok(reply);
                }
                Ok(Parsed::NeedMore) => {}
                Err(e) => return Err(Trouble::Garbage(e.to_string()).into()),
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut chunk))
                .await
                .map_err(|_| Trouble::Timeout(what))?
                .map_err(|_| Trouble::Closed)?;
            if n == 0 {
                return Err(Trouble::Closed.into());
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

async fn connect(target: &Target<'_>, limit: Duration) -> Result<TcpStream, Trouble> {
    let attempt = async {
        let socket = if target.addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }?;
        if let Some(source) = target.source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        socket.connect(target.addr).await
    };
    timeout(limit, attempt)
        .await
        .map_err(|_| Trouble::Connect(format!("{}: timed out", target.addr)))?
        .map_err(|e| Trouble::Connect(format!("{}: {e}", target.addr)))
}

/// The message as DATA sends it: every line ending CRLF (a bare CR or LF becomes CRLF, RFC 5321
/// §2.3.8), lines starting with `.` doubled (§4.5.2), and the terminating `.` line.
pub fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = canonical(message, true);
    out.extend_from_slice(b".\r\n");
    out
}

/// The message as one BDAT chunk carries it: every line ending CRLF (RFC 5321 §2.3.8), the last
/// line ended too, and nothing stuffed or appended (RFC 3030 §2: the octets are taken as they are).
pub fn encode_bdat(message: &[u8]) -> Vec<u8> {
    canonical(message, false)
}

/// Lines ended with CRLF, the last one included; with `stuff_dots`, a leading `.` doubled.
fn canonical(message: &[u8], stuff_dots: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 8);
    let mut at_line_start = true;
    let mut i = 0;
    while let Some(&b) = message.get(i) {
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                // CRLF is one line ending; a CR or LF alone is one too.
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                if stuff_dots && at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The TLS side of the client: opportunistic, so any certificate is accepted (STACK pitfall:
/// MX delivery without MTA-STS/DANE cannot require a valid one); signatures are still checked,
/// so the handshake itself is sound.
#[derive(Clone)]
pub struct TlsClient {
    connector: tokio_rustls::TlsConnector,
}

impl TlsClient {
    /// Builds the connector over aws-lc-rs.
    pub fn new() -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        Ok(TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }
}

#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_crlf_only_dot_stuffed_and_terminated() {
        let table: [(&[u8], &[u8]); 6] = [
            (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
            (b"a\nb", b"a\r\nb\r\n.\r\n"),
            (b"a\rb\r\n", b"a\r\nb\r\n.\r\n"),
            (b".x\r\n..y\r\n.\r\n", b"..x\r\n...y\r\n..\r\n.\r\n"),
            (b"", b".\r\n"),
            (b"a\r\n\r\n", b"a\r\n\r\n.\r\n"),
        ];
        for (input, want) in table {
            assert_eq!(
                encode_data(input),
                want,
                "{:?}",
                input.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn bdat_content_is_crlf_only_and_never_stuffed() {
        let table: [(&[u8], &[u8]); 5] = [
            (b"a\r\nb\r\n", b"a\r\nb\r\n"),
            (b"a\nb", b"a\r\nb\r\n"),
            (b"a\rb\r\n", b"a\r\nb\r\n"),
            (b".x\r\n.\r\n", b".x\r\n.\r\n"),
            (b"", b""),
        ];
        for (input, want) in table {
            assert_eq!(encode_bdat(input), want, "{}", input.escape_ascii());
        }
    }

    #[test]
    fn ehlo_keywords_are_read() {
        let reply = Reply::new(
            250,
            None,
            "mx.b.test Hello\nPIPELINING\nsize 1000\n8BITMIME\nSTARTTLS\nSMTPUTF8\nCHUNKING"
                .to_string(),
        );
        assert_eq!(
            Extensions::parse(&reply),
            Extensions {
                pipelining: true,
                size: Some(1000),
                eight_bit_mime: true,
                smtputf8: true,
                starttls: true,
                chunking: true,
            }
        );
    }
}
