//! The config file: TOML text in, a typed [`Config`] out. Every default lives here.
//!
//! Owns: the file's shape (DESIGN §3), its defaults (production ones for a file, loopback ones for
//! [`Config::zero_config`]), and the duration and size notations ([`parse_duration`],
//! [`parse_size`]). Must not: depend on tokio, the store or sockets, or hold anything that belongs
//! in the store (domains, accounts, aliases, keys).
//!
//! Invariants a change must keep:
//! - Key names are a contract with users, tests and benchmarks: add keys freely, rename none.
//! - Every key has a default; a file that sets some keys gets production defaults for the rest.
//! - An unknown key is an error that names it, its table and its line; a bad value names its full
//!   key (`limits.message_size`). Nothing is silently ignored.
//! - A [`Config`] from [`Config::parse`] or [`Config::load`] respects every minimum checked here, so
//!   callers never re-check a limit.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod error;
mod reader;
mod units;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;
pub use units::{parse_duration, parse_size};

use reader::{Doc, Value};

/// Everything the config file says, with a default for each key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's name: EHLO, `Received` headers, DSN `Reporting-MTA`, the self-signed
    /// certificate. Default: the system host name (`/etc/hostname`), else `localhost`.
    pub hostname: String,
    /// Where the store keeps its database and message files.
    pub data_dir: PathBuf,
    /// The addresses each service listens on.
    pub listen: Listen,
    /// The certificate to serve; `None`: the server makes a self-signed one for `hostname`.
    pub tls: Option<TlsFiles>,
    /// How names are resolved.
    pub dns: Dns,
    /// Outbound delivery timing.
    pub queue: Queue,
    /// Caps on connections, commands and messages.
    pub limits: Limits,
    /// What inbound SPF/DKIM/DMARC verdicts do to a message.
    pub auth: Auth,
}

/// The addresses each service listens on; an empty list disables the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// SMTP from the internet (25).
    pub smtp: Vec<SocketAddr>,
    /// Message submission with STARTTLS (587).
    pub submission: Vec<SocketAddr>,
    /// Message submission over implicit TLS (465, RFC 8314).
    pub submissions: Vec<SocketAddr>,
    /// IMAP with STARTTLS (143).
    pub imap: Vec<SocketAddr>,
    /// IMAP over implicit TLS (993).
    pub imaps: Vec<SocketAddr>,
    /// POP3 with STLS (110).
    pub pop3: Vec<SocketAddr>,
    /// POP3 over implicit TLS (995).
    pub pop3s: Vec<SocketAddr>,
    /// Webmail, admin, autoconfig and metrics over HTTP (80).
    pub http: Vec<SocketAddr>,
    /// The same over HTTPS (443).
    pub https: Vec<SocketAddr>,
}

/// A certificate chain and its private key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
}

/// Name resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    /// Nameservers to ask (a bare IP means port 53); empty: the system resolver.
    pub nameservers: Vec<SocketAddr>,
}

/// What inbound mail authentication (SPF, DKIM, DMARC) does with its verdicts (DESIGN §1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Auth {
    /// Whether a DMARC `p=reject`/`p=quarantine` failure is acted on or only recorded.
    pub dmarc_policy: DmarcPolicy,
    /// What a DNS failure during the checks (`temperror`) does to the message.
    pub temperror: TempErrorPolicy,
}

/// `auth.dmarc_policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// `"enforce"`: `p=reject` is refused with 550, `p=quarantine` goes to Junk.
    #[default]
    Enforce,
    /// `"record"`: the verdict is only written into Authentication-Results.
    Record,
}

/// `auth.temperror`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TempErrorPolicy {
    /// `"accept"`: deliver and record the temperror.
    #[default]
    Accept,
    /// `"defer"`: answer `451` so the sender retries later.
    Defer,
}

/// Outbound delivery timing (DESIGN §1: retry every 15 minutes, give up after 5 days).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// Time between delivery attempts of a recipient that got a temporary failure.
    pub retry_interval: Duration,
    /// How long a message may wait before its undelivered recipients fail with a DSN.
    pub lifetime: Duration,
    /// After this long undelivered, one delay DSN goes to the sender; zero disables it.
    pub delay_warning: Duration,
    /// The port outbound delivery connects to (tests change it).
    pub delivery_port: u16,
    /// The local IP outbound delivery connects from; `None`: the OS picks.
    pub source_address: Option<IpAddr>,
    /// How often the delivery worker looks for due entries besides being woken (entries written
    /// by another process, retries coming due).
    pub poll_interval: Duration,
}

/// Caps that keep one client or one message from taking the server down (DESIGN §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, in octets (announced in EHLO `SIZE`).
    pub message_size: u64,
    /// Most recipients per message. RFC 5321 §4.5.3.1.8 asks a server to accept at least 100.
    pub recipients: usize,
    /// Most open connections of one service (all its listeners together).
    pub connections: usize,
    /// Most open connections of one service from one client IP.
    pub connections_per_ip: usize,
    /// Idle time allowed per SMTP command (RFC 5321 §4.5.3.2.7 suggests 5 minutes).
    pub smtp_timeout: Duration,
    /// Idle time allowed between POP3 commands (RFC 1939 §3: at least 10 minutes).
    pub pop3_timeout: Duration,
    /// Idle time allowed in a logged-in IMAP session, IDLE included (RFC 9051 §5.4: at least
    /// 30 minutes); then `* BYE Autologout`.
    pub imap_timeout: Duration,
    /// Time an IMAP client has to log in (DESIGN §4: 60 seconds).
    pub imap_login_timeout: Duration,
    /// Bad commands in one SMTP session before `421` and close.
    pub smtp_errors: usize,
    /// Longest command line in octets, CRLF included. RFC 5321 §4.5.3.1.4 says 512; RFC 1869
    /// parameters (SIZE, BODY, SMTPUTF8, …) extend it, so more is allowed.
    pub command_line: usize,
    /// Longest line of message text in octets, CRLF included. RFC 5321 §4.5.3.1.6 says 1000, but
    /// real senders exceed it, so the default is far larger.
    pub text_line: usize,
    /// Octets of message bodies all sessions together may hold in memory while receiving; past
    /// it a message gets a temporary `452 4.3.1` instead of exhausting memory.
    pub inflight_memory: u64,
}

impl Listen {
    /// No service listens anywhere; tests start from this and enable what they need.
    pub fn none() -> Self {
        Self::with(|_, _| Vec::new())
    }

    /// Production: every service on all IPv4 interfaces at its standard port.
    fn production() -> Self {
        Self::with(|port, _| vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)])
    }

    /// No config file: every service on loopback only (the demo account must not be reachable
    /// from the network), at an unprivileged port.
    fn zero_config() -> Self {
        Self::with(|_, port| vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)])
    }

    /// Builds each service's list from (production port, port with no config file): DESIGN §3.
    fn with(addrs: impl Fn(u16, u16) -> Vec<SocketAddr>) -> Self {
        Self {
            smtp: addrs(25, 2525),
            submission: addrs(587, 5587),
            submissions: addrs(465, 5465),
            imap: addrs(143, 1143),
            imaps: addrs(993, 1993),
            pop3: addrs(110, 1110),
            pop3s: addrs(995, 1995),
            http: addrs(80, 8080),
            https: addrs(443, 8443),
        }
    }

    /// Each service's config key with its addresses, in the order of the file.
    pub fn services(&self) -> [(&'static str, &[SocketAddr]); 9] {
        [
            ("smtp", &self.smtp),
            ("submission", &self.submission),
            ("submissions", &self.submissions),
            ("imap", &self.imap),
            ("imaps", &self.imaps),
            ("pop3", &self.pop3),
            ("pop3s", &self.pop3s),
            ("http", &self.http),
            ("https", &self.https),
        ]
    }
}

impl Default for Listen {
    /// Production defaults.
    fn default() -> Self {
        Self::production()
    }
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            retry_interval: Duration::from_secs(15 * 60),
            lifetime: Duration::from_secs(5 * 24 * 3600),
            delay_warning: Duration::from_secs(4 * 3600),
            delivery_port: 25,
            source_address: None,
            poll_interval: Duration::from_secs(30),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            message_size: 50 << 20,
            recipients: 100,
            connections: 1000,
            connections_per_ip: 20,
            smtp_timeout: Duration::from_secs(5 * 60),
            smtp_errors: 10,
            pop3_timeout: Duration::from_secs(10 * 60),
            imap_timeout: Duration::from_secs(30 * 60),
            imap_login_timeout: Duration::from_secs(60),
            command_line: 2048,
            text_line: 64 << 10,
            inflight_memory: 1 << 30,
        }
    }
}

impl Default for Config {
    /// Production defaults: what a config file gets for every key it leaves out.
    fn default() -> Self {
        Self {
            hostname: system_hostname(),
            data_dir: PathBuf::from("/var/lib/surel"),
            listen: Listen::default(),
            tls: None,
            dns: Dns::default(),
            queue: Queue::default(),
            limits: Limits::default(),
            auth: Auth::default(),
        }
    }
}

// RFC 5321 §4.5.3.1.4 and §4.5.3.1.6: the shortest lines a server must accept.
const MIN_COMMAND_LINE: usize = 512;
const MIN_TEXT_LINE: usize = 1000;

impl Config {
    /// Reads and parses a config file; every error names the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Self::parse(&text).map_err(|error| ConfigError::InFile {
            path: path.to_path_buf(),
            error: Box::new(error),
        })
    }

    /// Parses config text; a key left out gets its production default.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut root = Doc::new(text).root()?;
        let mut c = Config::default();
        root.read("hostname", &mut c.hostname, hostname)?;
        root.read("data_dir", &mut c.data_dir, Value::path)?;

        if let Some(mut t) = root.table("listen")? {
            let l = &mut c.listen;
            for (key, slot) in [
                ("smtp", &mut l.smtp),
                ("submission", &mut l.submission),
                ("submissions", &mut l.submissions),
                ("imap", &mut l.imap),
                ("imaps", &mut l.imaps),
                ("pop3", &mut l.pop3),
                ("pop3s", &mut l.pop3s),
                ("http", &mut l.http),
                ("https", &mut l.https),
            ] {
                t.read(key, slot, |v| v.socket_addrs(None))?;
            }
            t.finish()?;
        }

        if let Some(mut t) = root.table("tls")? {
            let cert = t.take("cert").ok_or_else(|| t.missing("cert"))?.path()?;
            let key = t.take("key").ok_or_else(|| t.missing("key"))?.path()?;
            t.finish()?;
            c.tls = Some(TlsFiles { cert, key });
        }

        if let Some(mut t) = root.table("dns")? {
            t.read("nameservers", &mut c.dns.nameservers, |v| {
                v.socket_addrs(Some(53))
            })?;
            t.finish()?;
        }

        if let Some(mut t) = root.table("queue")? {
            let q = &mut c.queue;
            let positive = Duration::from_millis(1);
            t.read("retry_interval", &mut q.retry_interval, |v| {
                v.duration(positive)
            })?;
            t.read("lifetime", &mut q.lifetime, |v| v.duration(positive))?;
            t.read("delay_warning", &mut q.delay_warning, |v| {
                v.duration(Duration::ZERO)
            })?;
            t.read("delivery_port", &mut q.delivery_port, Value::port)?;
            t.read("source_address", &mut q.source_address, |v| {
                v.ip().map(Some)
            })?;
            t.read("poll_interval", &mut q.poll_interval, |v| {
                v.duration(positive)
            })?;
            t.finish()?;
        }

        if let Some(mut t) = root.table("limits")? {
            let l = &mut c.limits;
            t.read("message_size", &mut l.message_size, |v| v.size(1))?;
            t.read("recipients", &mut l.recipients, |v| v.count(1))?;
            t.read("connections", &mut l.connections, |v| v.count(1))?;
            t.read("connections_per_ip", &mut l.connections_per_ip, |v| {
                v.count(1)
            })?;
            t.read("smtp_timeout", &mut l.smtp_timeout, |v| {
                v.duration(Duration::from_secs(1))
            })?;
            t.read("smtp_errors", &mut l.smtp_errors, |v| v.count(1))?;
            t.read("pop3_timeout", &mut l.pop3_timeout, |v| {
                v.duration(Duration::from_secs(1))
            })?;
            t.read("imap_timeout", &mut l.imap_timeout, |v| {
                v.duration(Duration::from_secs(1))
            })?;
            t.read("imap_login_timeout", &mut l.imap_login_timeout, |v| {
                v.duration(Duration::from_secs(1))
            })?;
            t.read("command_line", &mut l.command_line, |v| {
                v.size_usize(MIN_COMMAND_LINE)
            })?;
            t.read("text_line", &mut l.text_line, |v| {
                v.size_usize(MIN_TEXT_LINE)
            })?;
            t.read("inflight_memory", &mut l.inflight_memory, |v| v.size(1))?;
            t.finish()?;
        }

        if let Some(mut t) = root.table("auth")? {
            if let Some(v) = t.take("dmarc_policy") {
                c.auth.dmarc_policy = match v.string()?.as_str() {
                    "enforce" => DmarcPolicy::Enforce,
                    "record" => DmarcPolicy::Record,
                    _ => return Err(v.invalid("expected \"enforce\" or \"record\"")),
                };
            }
            if let Some(v) = t.take("temperror") {
                c.auth.temperror = match v.string()?.as_str() {
                    "accept" => TempErrorPolicy::Accept,
                    "defer" => TempErrorPolicy::Defer,
                    _ => return Err(v.invalid("expected \"accept\" or \"defer\"")),
                };
            }
            t.finish()?;
        }

        root.finish()?;
        Ok(c)
    }

    /// The configuration with no config file (DESIGN §3): data in `./surel-data`, host name
    /// `localhost`, every service on 127.0.0.1 at an unprivileged port (the demo account must not
    /// be reachable from the network), production values for everything else.
    pub fn zero_config() -> Config {
        Config {
            hostname: "localhost".to_string(),
            data_dir: PathBuf::from("./surel-data"),
            listen: Listen::zero_config(),
            ..Config::default()
        }
    }
}

/// A host name usable in EHLO: a valid ASCII domain name.
fn hostname(v: &Value<'_>) -> Result<String, ConfigError> {
    let s = v.string()?;
    check_hostname(&s).map_err(|why| v.invalid(format!("{s:?} is not a host name: {why}")))?;
    Ok(s)
}

fn check_hostname(s: &str) -> Result<(), String> {
    if !s.is_ascii() {
        return Err("write it in ASCII (the xn-- form)".to_string());
    }
    match surel_types::Domain::parse(s) {
        Ok(d) if d.is_literal() => Err("an address literal is not a name".to_string()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The first line of `/etc/hostname` if it is a usable host name, else `localhost`.
fn system_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .and_then(|text| {
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))?;
            check_hostname(line).is_ok().then(|| line.to_string())
        })
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"
hostname = "mail.example.com"        # EHLO name, Received headers, DSN reporting MTA
data_dir = "/var/lib/surel"

[listen]                             # each a list of "addr:port"; an empty list disables it
smtp = ["0.0.0.0:25"]
submission = ["0.0.0.0:587"]         # STARTTLS
submissions = ["0.0.0.0:465"]        # implicit TLS
imap = ["0.0.0.0:143"]
imaps = ["0.0.0.0:993"]
pop3 = ["0.0.0.0:110"]
pop3s = ["0.0.0.0:995"]
http = ["0.0.0.0:80"]
https = ["0.0.0.0:443"]

[tls]                                # absent: a self-signed certificate for `hostname`
cert = "/etc/surel/fullchain.pem"
key = "/etc/surel/key.pem"

[dns]                                # absent: the system resolver
nameservers = ["127.0.0.1:5353"]

[queue]
retry_interval = "15m"
lifetime = "5d"
delay_warning = "4h"                 # "0s" disables the delay DSN
delivery_port = 25                   # the port outbound delivery connects to (tests change it)
source_address = "192.0.2.25"        # the local IP outbound delivery connects from (absent: the OS picks)

[limits]
message_size = "50MiB"
recipients = 100
"#;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn err(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn design_example_parses() {
        let c = Config::parse(DESIGN_EXAMPLE).unwrap();
        assert_eq!(c.hostname, "mail.example.com");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/surel"));
        assert_eq!(c.listen.smtp, vec![addr("0.0.0.0:25")]);
        assert_eq!(c.listen.submission, vec![addr("0.0.0.0:587")]);
        assert_eq!(c.listen.submissions, vec![addr("0.0.0.0:465")]);
        assert_eq!(c.listen.imap, vec![addr("0.0.0.0:143")]);
        assert_eq!(c.listen.imaps, vec![addr("0.0.0.0:993")]);
        assert_eq!(c.listen.pop3, vec![addr("0.0.0.0:110")]);
        assert_eq!(c.listen.pop3s, vec![addr("0.0.0.0:995")]);
        assert_eq!(c.listen.http, vec![addr("0.0.0.0:80")]);
        assert_eq!(c.listen.https, vec![addr("0.0.0.0:443")]);
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "/etc/surel/fullchain.pem".into(),
                key: "/etc/surel/key.pem".into()
            })
        );
        assert_eq!(c.dns.nameservers, vec![addr("127.0.0.1:5353")]);
        assert_eq!(
            c.queue,
            Queue {
                retry_interval: Duration::from_secs(900),
                lifetime: Duration::from_secs(432_000),
                delay_warning: Duration::from_secs(14_400),
                delivery_port: 25,
                source_address: Some("192.0.2.25".parse().unwrap()),
                poll_interval: Duration::from_secs(30),
            }
        );
        assert_eq!(c.limits.message_size, 52_428_800);
        assert_eq!(c.limits.recipients, 100);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn empty_file_is_production_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/surel"));
        assert_eq!(c.listen.smtp, vec![addr("0.0.0.0:25")]);
        assert_eq!(c.listen.https, vec![addr("0.0.0.0:443")]);
        assert_eq!(c.tls, None);
        assert!(c.dns.nameservers.is_empty());
        assert_eq!(c.queue.retry_interval, Duration::from_secs(15 * 60));
        assert_eq!(c.queue.lifetime, Duration::from_secs(5 * 86_400));
        assert_eq!(c.queue.delay_warning, Duration::from_secs(4 * 3600));
        assert_eq!(c.queue.delivery_port, 25);
        assert_eq!(c.queue.source_address, None);
        assert_eq!(
            c.limits,
            Limits {
                message_size: 50 * 1024 * 1024,
                recipients: 100,
                connections: 1000,
                connections_per_ip: 20,
                smtp_timeout: Duration::from_secs(300),
                smtp_errors: 10,
                pop3_timeout: Duration::from_secs(600),
                imap_timeout: Duration::from_secs(1800),
                imap_login_timeout: Duration::from_secs(60),
                command_line: 2048,
                text_line: 65_536,
                inflight_memory: 1 << 30,
            }
        );
        assert!(check_hostname(&c.hostname).is_ok(), "{}", c.hostname);
    }

    #[test]
    fn partial_file_gets_production_defaults_not_zero_config() {
        let c =
            Config::parse("data_dir = \"/srv/mail\"\n[listen]\nsmtp = [\"[::]:25\"]\nimap = []\n")
                .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/mail"));
        assert_eq!(c.listen.smtp, vec![addr("[::]:25")]);
        assert!(c.listen.imap.is_empty());
        assert_eq!(c.listen.submission, vec![addr("0.0.0.0:587")]);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn unknown_key_at_top_level_is_named() {
        let e = err("hostname = \"a.example\"\nhost_name = \"b\"\n");
        assert_eq!(e, "line 2: unknown key \"host_name\" at the top level");
    }

    #[test]
    fn unknown_key_in_a_table_is_named_with_its_table() {
        let e = err("[limits]\nrecipients = 5\nrecipents = 5\n");
        assert_eq!(e, "line 3: unknown key \"recipents\" in [limits]");
        let e = err("[queue]\nretry = \"1m\"\n");
        assert_eq!(e, "line 2: unknown key \"retry\" in [queue]");
        let e = err("limits.recipents = 5\n");
        assert_eq!(e, "line 1: unknown key \"recipents\" in [limits]");
        let e = err("[listen]\nsmtp = []\n[listen.extra]\n");
        assert!(e.contains("unknown key \"extra\" in [listen]"), "{e}");
        let e = err("[bogus]\n");
        assert_eq!(e, "line 1: unknown key \"bogus\" at the top level");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, expected) in [
            (
                "[limits]\nmessage_size = \"50 potatoes\"",
                "line 2: limits.message_size: \"50 potatoes\" is not a size",
            ),
            (
                "[limits]\nrecipients = 0",
                "line 2: limits.recipients: 0 is too small (the least is 1)",
            ),
            (
                "[limits]\nrecipients = -3",
                "limits.recipients: -3 is not a whole number",
            ),
            (
                "[limits]\nrecipients = \"100\"",
                "limits.recipients: expected a whole number, found string",
            ),
            (
                "[limits]\nmessage_size = 0",
                "limits.message_size: 0 is too small",
            ),
            (
                "[limits]\ncommand_line = 100",
                "limits.command_line: 100 is too small (the least is 512)",
            ),
            (
                "[limits]\ntext_line = \"512B\"",
                "limits.text_line: \"512B\" is too small (the least is 1000)",
            ),
            (
                "[limits]\nsmtp_timeout = \"0s\"",
                "limits.smtp_timeout: \"0s\" is too short",
            ),
            (
                "[queue]\nretry_interval = 15",
                "queue.retry_interval: expected a duration string",
            ),
            (
                "[queue]\nretry_interval = \"0s\"",
                "queue.retry_interval: \"0s\" is too short",
            ),
            (
                "[queue]\nlifetime = \"5 days\"",
                "queue.lifetime: \"5 days\" is not a duration",
            ),
            (
                "[queue]\ndelivery_port = 0",
                "queue.delivery_port: 0 is not a port",
            ),
            (
                "[queue]\ndelivery_port = 70000",
                "queue.delivery_port: 70000 is not a port",
            ),
            (
                "[queue]\nsource_address = \"mail\"",
                "queue.source_address: \"mail\" is not an IP address",
            ),
            (
                "[listen]\nsmtp = [\"0.0.0.0\"]",
                "listen.smtp: \"0.0.0.0\" is not an address with a port",
            ),
            (
                "[listen]\nsmtp = 25",
                "listen.smtp: expected a list of \"addr:port\" strings, found integer",
            ),
            (
                "[listen]\nsmtp = [25]",
                "listen.smtp: expected \"addr:port\" strings, found integer in the list",
            ),
            (
                "[dns]\nnameservers = [\"resolver\"]",
                "dns.nameservers: \"resolver\" is not an address",
            ),
            (
                "[tls]\ncert = \"/c.pem\"",
                "line 1: tls.key: is required when [tls] is present",
            ),
            (
                "[tls]\ncert = \"\"\nkey = \"k\"",
                "tls.cert: the path is empty",
            ),
            (
                "hostname = \"bad host\"",
                "hostname: \"bad host\" is not a host name",
            ),
            (
                "hostname = \"[192.0.2.1]\"",
                "hostname: \"[192.0.2.1]\" is not a host name",
            ),
            ("hostname = 5", "hostname: expected a string, found integer"),
            ("data_dir = \"\"", "data_dir: the path is empty"),
            (
                "limits = 5",
                "limits: expected a table ([limits]), found integer",
            ),
        ] {
            let e = err(text);
            assert!(
                e.contains(expected),
                "{text:?}\n  gave {e:?}\n  want {expected:?}"
            );
        }
    }

    #[test]
    fn toml_syntax_error_says_where() {
        let e = err("hostname = \"x\"\n[limits\n");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn sizes_accept_integers_and_strings_and_other_notations() {
        let c = Config::parse(
            "[limits]\nmessage_size = 1_000_000\ntext_line = \"2KB\"\ncommand_line = 0x400\n\
             [dns]\nnameservers = [\"192.0.2.53\", \"[2001:db8::53]:5353\"]\n\
             [listen]\nsmtp = \"127.0.0.1:25\"\n[queue]\ndelay_warning = \"0s\"\n",
        )
        .unwrap();
        assert_eq!(c.limits.message_size, 1_000_000);
        assert_eq!(c.limits.text_line, 2000);
        assert_eq!(c.limits.command_line, 1024);
        assert_eq!(
            c.dns.nameservers,
            vec![addr("192.0.2.53:53"), addr("[2001:db8::53]:5353")]
        );
        assert_eq!(c.listen.smtp, vec![addr("127.0.0.1:25")]);
        assert_eq!(c.queue.delay_warning, Duration::ZERO);
    }

    #[test]
    fn auth_policies_default_to_enforce_and_accept_and_can_be_changed() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.auth.dmarc_policy, DmarcPolicy::Enforce);
        assert_eq!(c.auth.temperror, TempErrorPolicy::Accept);
        let c = Config::parse("[auth]\ndmarc_policy = \"record\"\ntemperror = \"defer\"").unwrap();
        assert_eq!(c.auth.dmarc_policy, DmarcPolicy::Record);
        assert_eq!(c.auth.temperror, TempErrorPolicy::Defer);
        let err = Config::parse("[auth]\ntemperror = \"bounce\"").unwrap_err();
        assert!(err.to_string().contains("auth.temperror"), "{err}");
        let err = Config::parse("[auth]\nspf = true").unwrap_err();
        assert!(err.to_string().contains("spf"), "{err}");
    }

    #[test]
    fn inline_tables_work_like_headers() {
        let c = Config::parse("limits = { recipients = 7 }\ntls = { cert = \"c\", key = \"k\" }\n")
            .unwrap();
        assert_eq!(c.limits.recipients, 7);
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "c".into(),
                key: "k".into()
            })
        );
    }

    #[test]
    fn zero_config_is_loopback_on_unprivileged_ports() {
        let c = Config::zero_config();
        assert_eq!(c.hostname, "localhost");
        assert_eq!(c.data_dir, PathBuf::from("./surel-data"));
        let expected = [
            ("smtp", 2525),
            ("submission", 5587),
            ("submissions", 5465),
            ("imap", 1143),
            ("imaps", 1993),
            ("pop3", 1110),
            ("pop3s", 1995),
            ("http", 8080),
            ("https", 8443),
        ];
        for ((name, addrs), (want_name, port)) in c.listen.services().into_iter().zip(expected) {
            assert_eq!(name, want_name);
            assert_eq!(
                addrs,
                [SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)],
                "{name}"
            );
        }
        assert_eq!(c.tls, None);
        assert_eq!(c.queue, Queue::default());
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn listen_none_disables_everything() {
        assert!(
            Listen::none()
                .services()
                .iter()
                .all(|(_, addrs)| addrs.is_empty())
        );
    }

    #[test]
    fn imap_timeouts_are_read_and_checked() {
        let c = Config::parse("[limits]\nimap_timeout = \"2s\"\nimap_login_timeout = \"1s\"\n")
            .unwrap();
        assert_eq!(c.limits.imap_timeout, Duration::from_secs(2));
        assert_eq!(c.limits.imap_login_timeout, Duration::from_secs(1));
        assert!(Config::parse("[limits]\nimap_timeout = \"0s\"\n").is_err());
        assert!(Config::parse("[limits]\nimap_login_timeout = \"0s\"\n").is_err());
    }

    #[test]
    fn pop3_timeout_is_read_and_checked() {
        let c = Config::parse("[limits]\npop3_timeout = \"2s\"\n").unwrap();
        assert_eq!(c.limits.pop3_timeout, Duration::from_secs(2));
        assert!(Config::parse("[limits]\npop3_timeout = \"0s\"\n").is_err());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surel.toml");
        std::fs::write(&path, "[limits]\nrecipents = 5\n").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: line 2: unknown key \"recipents\" in [limits]",
                path.display()
            )
        );
        std::fs::write(&path, "[limits]\nrecipients = 5\n").unwrap();
        assert_eq!(Config::load(&path).unwrap().limits.recipients, 5);
        let missing = dir.path().join("missing.toml");
        let e = Config::load(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cannot read config file {}: ", missing.display())),
            "{e}"
        );
    }
}
