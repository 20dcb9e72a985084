//! An authoritative DNS server for tests: zones built in code, served on `127.0.0.1:0` over UDP
//! and TCP. Names are matched case-insensitively; a name with no records is NXDOMAIN, a name
//! with records of other types is NODATA; a name marked [`Zone::timeout`] is never answered.
//!
//! Names, owners and targets alike, are split into labels at each unescaped `.`; `\X` and
//! `\DDD` (decimal, RFC 1035 §5.1) escapes are undone and every other octet is kept as it is,
//! so `foo:bar/baz.test` and `foo\:bar\/baz.test` are one name. Whatever an SPF domain-spec
//! may hold (RFC 7208 §7.1) can so be served, as an owner or as an MX, PTR or CNAME target.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use surel_dns::test_server::{TestDns, Zone};
//! let dns = TestDns::start(Zone::new().txt("example.test", "v=spf1 -all")).await?;
//! let nameservers = [dns.addr()]; // for `[dns] nameservers`
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

/// One record of a test zone.
#[derive(Clone, Debug)]
enum Rec {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx(u16, Name),
    Txt(Vec<Vec<u8>>),
    Ptr(Name),
    Cname(Name),
    /// Queries for this name get no answer at all.
    Timeout,
}

/// Records by name, built in code.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    names: HashMap<Key, Vec<Rec>>,
    ttl: u32,
}

/// A name as the zone indexes it: its labels, lowercased.
type Key = Vec<Vec<u8>>;

fn key<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Key {
    labels.into_iter().map(<[u8]>::to_ascii_lowercase).collect()
}

/// The labels of `name` in presentation form: split at each unescaped `.` (a trailing one
/// ignored, so "." is the root), with `\X` and `\DDD` escapes undone and every other octet
/// kept as it is.
fn labels(name: &str) -> Key {
    if name == "." {
        return Vec::new();
    }
    let bytes = name.as_bytes();
    let (mut labels, mut label, mut i) = (Vec::new(), Vec::new(), 0);
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'.' => labels.push(std::mem::take(&mut label)),
            b'\\' => {
                let digits = bytes
                    .get(i..i + 3)
                    .filter(|d| d.iter().all(u8::is_ascii_digit));
                let decimal = digits
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse::<u8>().ok());
                match (decimal, bytes.get(i)) {
                    (Some(octet), _) => {
                        label.push(octet);
                        i += 3;
                    }
                    (None, Some(&next)) => {
                        label.push(next);
                        i += 1;
                    }
                    (None, None) => label.push(b),
                }
            }
            _ => label.push(b),
        }
    }
    if !label.is_empty() {
        labels.push(label);
    }
    labels
}

/// `name` (presentation form, see [`labels`]) as an absolute DNS name; `None` when a label is
/// empty or too long, or the whole name too long.
fn fqdn(name: &str) -> Option<Name> {
    let labels = labels(name);
    let mut name = Name::from_labels(labels.iter().map(Vec::as_slice)).ok()?;
    name.set_fqdn(true);
    Some(name)
}

impl Zone {
    /// An empty zone whose records have a TTL of 300 seconds.
    pub fn new() -> Self {
        Self {
            names: HashMap::new(),
            ttl: 300,
        }
    }

    /// Sets the TTL of every answer.
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    fn push(mut self, name: &str, rec: Rec) -> Self {
        self.names
            .entry(key(labels(name).iter().map(Vec::as_slice)))
            .or_default()
            .push(rec);
        self
    }

    /// Adds an A record.
    pub fn a(self, name: &str, ip: Ipv4Addr) -> Self {
        self.push(name, Rec::A(ip))
    }

    /// Adds an AAAA record.
    pub fn aaaa(self, name: &str, ip: Ipv6Addr) -> Self {
        self.push(name, Rec::Aaaa(ip))
    }

    /// Adds an A or AAAA record.
    pub fn ip(self, name: &str, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.a(name, v4),
            IpAddr::V6(v6) => self.aaaa(name, v6),
        }
    }

    /// Adds an MX record; an `exchange` no DNS name can hold (an empty or 64-octet label) is
    /// skipped.
    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Self {
        match fqdn(exchange) {
            Some(exchange) => self.push(name, Rec::Mx(preference, exchange)),
            None => self,
        }
    }

    /// Adds a TXT record of one string (split into 255-octet strings as DNS requires).
    pub fn txt(self, name: &str, text: &str) -> Self {
        let parts = text
            .as_bytes()
            .chunks(255)
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>();
        let parts = if parts.is_empty() {
            vec![Vec::new()]
        } else {
            parts
        };
        self.push(name, Rec::Txt(parts))
    }

    /// Adds a TXT record made of several strings. With none, the record goes out as RFC 1035
    /// forbids, with an empty RDATA; hickory's decoder refuses a whole response holding one
    /// (`InvalidEmptyRecord`), so a resolver built on it sees a failed lookup.
    pub fn txt_parts(self, name: &str, parts: &[&str]) -> Self {
        let parts = parts.iter().map(|p| p.as_bytes().to_vec()).collect();
        self.push(name, Rec::Txt(parts))
    }

    /// Adds a PTR record; a `target` no DNS name can hold is skipped.
    pub fn ptr(self, name: &str, target: &str) -> Self {
        match fqdn(target) {
            Some(target) => self.push(name, Rec::Ptr(target)),
            None => self,
        }
    }

    /// Adds a CNAME record; a `target` no DNS name can hold is skipped.
    pub fn cname(self, name: &str, target: &str) -> Self {
        match fqdn(target) {
            Some(target) => self.push(name, Rec::Cname(target)),
            None => self,
        }
    }

    /// Makes every query for `name` go unanswered (the client times out).
    pub fn timeout(self, name: &str) -> Self {
        self.push(name, Rec::Timeout)
    }

    /// Makes sure `name` exists (NODATA rather than NXDOMAIN for every type).
    pub fn exists(mut self, name: &str) -> Self {
        self.names
            .entry(key(labels(name).iter().map(Vec::as_slice)))
            .or_default();
        self
    }

    /// The answer for one query: `None` when it must go unanswered.
    fn answer(&self, qname: &Name, qtype: RecordType) -> Option<(ResponseCode, Vec<Record>)> {
        let mut records = Vec::new();
        let mut name = qname.clone();
        // Follow CNAMEs inside the zone, a few steps at most.
        for _ in 0..8 {
            let Some(recs) = self.names.get(&key(name.iter())) else {
                let code = if records.is_empty() {
                    ResponseCode::NXDomain
                } else {
                    ResponseCode::NoError
                };
                return Some((code, records));
            };
            if recs.iter().any(|r| matches!(r, Rec::Timeout)) {
                return None;
            }
            let cname = recs.iter().find_map(|r| match r {
                Rec::Cname(target) if qtype != RecordType::CNAME => Some(target.clone()),
                _ => None,
            });
            if let Some(target) = cname {
                records.push(Record::from_rdata(
                    name.clone(),
                    self.ttl,
                    RData::CNAME(CNAME(target.clone())),
                ));
                name = target;
                continue;
            }
            for rec in recs {
                let data = match (rec, qtype) {
                    (Rec::A(ip), RecordType::A) => RData::A(A(*ip)),
                    (Rec::Aaaa(ip), RecordType::AAAA) => RData::AAAA(AAAA(*ip)),
                    (Rec::Mx(pref, exchange), RecordType::MX) => {
                        RData::MX(MX::new(*pref, exchange.clone()))
                    }
                    (Rec::Txt(parts), RecordType::TXT) => {
                        RData::TXT(TXT::from_bytes(parts.iter().map(Vec::as_slice).collect()))
                    }
                    (Rec::Ptr(target), RecordType::PTR) => RData::PTR(PTR(target.clone())),
                    (Rec::Cname(target), RecordType::CNAME) => RData::CNAME(CNAME(target.clone())),
                    _ => continue,
                };
                records.push(Record::from_rdata(name.clone(), self.ttl, data));
            }
            return Some((ResponseCode::NoError, records));
        }
        Some((ResponseCode::ServFail, Vec::new()))
    }
}

/// The SOA sent with NXDOMAIN/NODATA, owned by the root so it covers every name.
fn negative_soa(ttl: u32) -> Record {
    let soa = SOA::new(Name::root(), Name::root(), 1, 3600, 600, 86400, ttl);
    Record::from_rdata(Name::root(), ttl, RData::SOA(soa))
}

struct Handler {
    zone: Arc<RwLock<Zone>>,
    queries: Arc<AtomicUsize>,
}

fn failed(metadata: Metadata) -> ResponseInfo {
    let mut metadata = metadata;
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        let Ok(info) = request.request_info() else {
            return failed(metadata);
        };
        let qname: Name = info.query.name().into();
        let qtype = info.query.query_type();
        let answer = match self.zone.read() {
            Ok(zone) => zone.answer(&qname, qtype),
            Err(_) => Some((ResponseCode::ServFail, Vec::new())),
        };
        let Some((code, records)) = answer else {
            return failed(metadata);
        };
        metadata.authoritative = true;
        metadata.response_code = code;
        // RFC 2308 §3: a negative answer carries an SOA whose minimum is its cache time.
        let soa = match (records.is_empty(), self.zone.read()) {
            (true, Ok(zone)) => vec![negative_soa(zone.ttl)],
            _ => Vec::new(),
        };
        let builder = MessageResponseBuilder::from_message_request(request);
        let response = builder.build(metadata, records.iter(), [], soa.iter(), []);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => failed(metadata),
        }
    }
}

/// A running test DNS server; stops when dropped.
pub struct TestDns {
    addr: SocketAddr,
    zone: Arc<RwLock<Zone>>,
    queries: Arc<AtomicUsize>,
    server: Server<Handler>,
}

impl TestDns {
    /// Serves `zone` on 127.0.0.1 (one port, UDP and TCP).
    pub async fn start(zone: Zone) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1".parse().map_err(std::io::Error::other)?, zone).await
    }

    /// Serves `zone` on `ip`, a free port.
    pub async fn start_on(ip: IpAddr, zone: Zone) -> std::io::Result<Self> {
        // Same port for both: bind UDP first, then TCP on its port (retrying a few times if
        // something else holds the TCP side).
        let mut last_err = None;
        for _ in 0..10 {
            let udp = tokio::net::UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            let addr = udp.local_addr()?;
            match tokio::net::TcpListener::bind(addr).await {
                Ok(tcp) => {
                    let zone = Arc::new(RwLock::new(zone));
                    let queries = Arc::new(AtomicUsize::new(0));
                    let mut server = Server::new(Handler {
                        zone: zone.clone(),
                        queries: queries.clone(),
                    });
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(5), 64 << 10);
                    return Ok(Self {
                        addr,
                        zone,
                        queries,
                        server,
                    });
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| std::io::Error::other("no free port")))
    }

    /// Where it listens (for `[dns] nameservers`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the zone it serves.
    pub fn set_zone(&self, zone: Zone) {
        if let Ok(mut z) = self.zone.write() {
            *z = zone;
        }
    }

    /// Queries received so far (answered or not).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.server.shutdown_token().cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_unescaped_dots_and_keep_other_octets() {
        let raw = labels("foo:bar/baz.Example.com.");
        assert_eq!(raw, [&b"foo:bar/baz"[..], b"Example", b"com"]);
        assert_eq!(labels(r"foo\:bar\/baz.Example.com"), raw);
        assert_eq!(labels(r"a\.b\032c.test"), [&b"a.b c"[..], b"test"]);
        assert!(labels(".").is_empty());
        assert_eq!(fqdn("."), Some(Name::root()));
        assert_eq!(fqdn("a..test"), None);
    }
}
