//! DNS for surel: one resolver built from `[dns] nameservers`, and (feature `test-server`) an
//! in-process authoritative server that tests fill with zones built in code.
//!
//! Owns: how surel asks DNS (which servers, which ports, timeouts, the TTL-honouring cache).
//! Must not: interpret records for a protocol (SPF/DKIM/DMARC parsing is surel-auth's, MX
//! ordering is the queue's); it answers "which records, or which failure".
//! Invariants: one `Resolver` (and so one cache) is shared by every session of a server; a
//! cached answer is never served past its TTL (hickory's cache keys expiry on the record TTL,
//! and negative answers on the SOA minimum, RFC 2308 §5).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

#[cfg(feature = "test-server")]
pub mod test_server;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

pub use hickory_resolver::TokioResolver;

/// Why a lookup gave no records.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist, or has no records of the type (NXDOMAIN / NODATA).
    #[error("no such record: {0}")]
    NotFound(String),
    /// The servers did not answer usefully (timeout, SERVFAIL, refused): worth retrying.
    #[error("DNS failure: {0}")]
    Temporary(String),
    /// The resolver could not be set up.
    #[error("cannot set up the resolver: {0}")]
    Setup(String),
}

impl From<NetError> for DnsError {
    fn from(e: NetError) -> Self {
        if e.is_no_records_found() || e.is_nx_domain() {
            DnsError::NotFound(e.to_string())
        } else {
            DnsError::Temporary(e.to_string())
        }
    }
}

/// Resolver settings beyond the nameserver list (tests shorten the timeout).
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one query to one server may take.
    pub timeout: Duration,
    /// Tries per query before a temporary failure.
    pub attempts: usize,
    /// Cached answers kept (hickory's TTL-honouring cache).
    pub cache_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            attempts: 2,
            cache_size: 4096,
        }
    }
}

/// The resolver every DNS user in the server shares; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    /// Asks `nameservers` (each with its own port, over UDP with TCP fallback), or the system's
    /// resolvers (`/etc/resolv.conf`) when the list is empty.
    pub fn new(nameservers: &[SocketAddr], options: &Options) -> Result<Self, DnsError> {
        let (config, mut opts) = if nameservers.is_empty() {
            hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| DnsError::Setup(e.to_string()))?
        } else {
            let servers = nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            (
                ResolverConfig::from_parts(None, vec![], servers),
                ResolverOpts::default(),
            )
        };
        opts.timeout = options.timeout;
        opts.attempts = options.attempts;
        opts.cache_size = options.cache_size;
        // Mail names are always absolute: never append a search domain.
        opts.ndots = 0;
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| DnsError::Setup(e.to_string()))?;
        Ok(Self { inner })
    }

    /// The hickory resolver underneath, for libraries that take one (mail-auth).
    pub fn hickory(&self) -> &TokioResolver {
        &self.inner
    }

    /// The TXT records of `name`, each record's strings joined (RFC 7208 §3.3).
    pub async fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
        let lookup = self.inner.txt_lookup(absolute(name)).await?;
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The MX records of `name` as (preference, exchange without the trailing dot).
    pub async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsError> {
        let lookup = self.inner.mx_lookup(absolute(name)).await?;
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some((mx.preference, relative(&mx.exchange.to_ascii()))),
                _ => None,
            })
            .collect())
    }

    /// The A and AAAA addresses of `name`.
    pub async fn ips(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        let lookup = self.inner.lookup_ip(absolute(name)).await?;
        Ok(lookup.iter().collect())
    }
}

/// `name` as a fully qualified name, so no search list applies.
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn relative(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_string()
}

#[cfg(all(test, feature = "test-server"))]
mod tests {
    use super::*;
    use crate::test_server::{TestDns, Zone};

    fn quick() -> Options {
        Options {
            timeout: Duration::from_millis(300),
            attempts: 1,
            ..Options::default()
        }
    }

    #[tokio::test]
    async fn resolves_from_the_in_process_server_on_its_port() {
        let zone = Zone::new()
            .txt("example.test", "v=spf1 -all")
            .txt_parts("split.example.test", &["v=spf1 ", "ip4:192.0.2.1 -all"])
            .mx("example.test", 10, "mx.example.test")
            .a("mx.example.test", "192.0.2.25".parse().unwrap())
            .aaaa("mx.example.test", "2001:db8::25".parse().unwrap());
        let dns = TestDns::start(zone).await.unwrap();
        let resolver = Resolver::new(&[dns.addr()], &quick()).unwrap();
        assert_eq!(
            resolver.txt("example.test").await.unwrap(),
            vec![b"v=spf1 -all".to_vec()]
        );
        assert_eq!(
            resolver.txt("split.example.test").await.unwrap(),
            vec![b"v=spf1 ip4:192.0.2.1 -all".to_vec()]
        );
        assert_eq!(
            resolver.mx("example.test").await.unwrap(),
            vec![(10, "mx.example.test".to_string())]
        );
        let mut ips = resolver.ips("mx.example.test").await.unwrap();
        ips.sort();
        assert_eq!(ips.len(), 2);
        assert!(matches!(
            resolver.txt("nothing.example.test").await,
            Err(DnsError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_silent_name_is_a_temporary_failure() {
        let zone = Zone::new().timeout("slow.example.test");
        let dns = TestDns::start(zone).await.unwrap();
        let resolver = Resolver::new(&[dns.addr()], &quick()).unwrap();
        assert!(matches!(
            resolver.txt("slow.example.test").await,
            Err(DnsError::Temporary(_))
        ));
    }

    #[tokio::test]
    async fn answers_are_cached_for_their_ttl() {
        let zone = Zone::new().txt("cached.example.test", "one");
        let dns = TestDns::start(zone).await.unwrap();
        let resolver = Resolver::new(&[dns.addr()], &quick()).unwrap();
        resolver.txt("cached.example.test").await.unwrap();
        resolver.txt("cached.example.test").await.unwrap();
        assert_eq!(dns.queries(), 1, "the second lookup came from the cache");
        // Negative answers are cached too (RFC 2308), for the SOA minimum.
        let _ = resolver.txt("missing.example.test").await;
        let _ = resolver.txt("missing.example.test").await;
        assert_eq!(dns.queries(), 2, "the NXDOMAIN came from the cache");
    }
}
