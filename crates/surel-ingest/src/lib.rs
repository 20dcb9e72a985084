//! The path a message takes once its bytes are in: recipient routing, trace headers, delivery.
//!
//! Owns: deciding what a recipient address means (an account, an alias, a plus-address, a
//! catch-all, not ours) and which senders an account may use, running the inbound
//! authentication checks (SPF, DKIM, DMARC) and applying the configured policy to their
//! verdicts, handing an accepted message to the store with the headers we add (Received,
//! Authentication-Results, Received-SPF), and for submissions ([`Ingest::submit`]) adding Date
//! and Message-ID, DKIM signing, and routing local recipients to the MDA and remote ones to
//! the outbound queue.
//! Must not: speak a protocol or touch a socket; SMTP and (later) webmail compose both call it.
//! Invariants: `accept` and `submit` return only after every copy (and the queue entry) is
//! durable; on error, rejection or deferral of `accept` nothing is visible. Authentication-Results claiming our host name that arrive with
//! the message are removed before ours is added (RFC 8601 §5).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod router;
mod submit;

pub use router::{Recipient, Router};
pub use submit::{Submission, Submitted};

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use surel_auth::{Authenticator, Inbound, Policy, Report};
use surel_config::{DmarcPolicy, TempErrorPolicy};
use surel_message::{Protocol, Received};
use surel_store::{DeliveryTarget, NewMessage, Store, StoreResult, Stored};
use surel_types::{AccountId, MailboxName};

/// What the receiving session knows about how a message came in.
pub struct Arrival<'a> {
    /// EHLO/HELO name.
    pub helo: &'a str,
    /// The client's IP address.
    pub peer: IpAddr,
    /// How it came.
    pub protocol: Protocol,
    /// SMTPUTF8 was used.
    pub smtputf8: bool,
    /// TLS version and cipher, if encrypted.
    pub tls: Option<&'a str>,
    /// The transaction id (also in our reply and logs).
    pub id: &'a str,
    /// The MAIL FROM address; empty for the null sender.
    pub mail_from: &'a str,
    /// Run SPF/DKIM/DMARC: true for mail from the internet (port 25), false for mail an
    /// authenticated user submitted (DESIGN §1: submission is not SPF/DMARC-checked).
    pub check_auth: bool,
}

/// What became of a message handed to [`Ingest::accept`].
#[derive(Debug)]
pub enum Accepted {
    /// Stored; one entry per copy.
    Delivered(Vec<Stored>),
    /// Refused by the sender domain's DMARC `p=reject` (SMTP: `550 5.7.1`); nothing stored.
    Rejected(String),
    /// A DNS failure during the checks and `auth.temperror = "defer"` (SMTP: `451`).
    Deferred(String),
}

/// The inbound checks and what their verdicts may do.
pub struct AuthChecks {
    /// Runs SPF, DKIM and DMARC.
    pub authenticator: Arc<Authenticator>,
    /// Act on DMARC reject/quarantine, or only record.
    pub dmarc_policy: DmarcPolicy,
    /// Accept or defer on temperror.
    pub temperror: TempErrorPolicy,
}

/// Accepts messages for local delivery.
pub struct Ingest {
    store: Arc<dyn Store>,
    hostname: String,
    auth: Option<AuthChecks>,
    /// Where submitted mail for remote recipients goes.
    outbound: surel_queue::Outbound,
}

impl Ingest {
    /// An ingest path over `store`, naming itself `hostname` in trace headers.
    pub fn new(store: Arc<dyn Store>, hostname: String) -> Self {
        Self {
            outbound: surel_queue::Outbound::new(store.clone()),
            store,
            hostname,
            auth: None,
        }
    }

    /// Runs `checks` on every arrival that asks for them (without: no checks at all).
    pub fn with_auth(mut self, checks: AuthChecks) -> Self {
        self.auth = Some(checks);
        self
    }

    /// The store it delivers to (sessions read accounts through it for AUTH).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The router for RCPT decisions.
    pub fn router(&self) -> Router<'_> {
        Router::new(self.store.as_ref())
    }

    /// Checks the message (when the arrival asks and checks are configured), prepends
    /// `Received` (and `Authentication-Results`, `Received-SPF`), and stores one copy in each
    /// account's INBOX, or Junk for a DMARC quarantine (an account reached by several recipients
    /// gets one copy). `single_rcpt` is the recipient when there was exactly one (RFC 5321 §4.4
    /// `for` clause).
    pub async fn accept(
        &self,
        arrival: &Arrival<'_>,
        single_rcpt: Option<&str>,
        accounts: &[AccountId],
        body: &[u8],
    ) -> StoreResult<Accepted> {
        let now = Utc::now();
        let mut mailbox = MailboxName::inbox();
        let mut auth_headers = String::new();
        let mut auth_results = None;
        let mut body = std::borrow::Cow::Borrowed(body);
        if let (true, Some(checks)) = (arrival.check_auth, &self.auth) {
            // RFC 8601 §5: only we may speak for our authserv-id.
            if let std::borrow::Cow::Owned(cleaned) =
                surel_message::remove_auth_results(&body, &self.hostname)
            {
                body = std::borrow::Cow::Owned(cleaned);
            }
            let report = checks
                .authenticator
                .verify(&Inbound {
                    ip: arrival.peer,
                    helo: arrival.helo,
                    mail_from: arrival.mail_from,
                    message: &body,
                })
                .await;
            let results = report.authentication_results(&self.hostname);
            tracing::info!(id = %arrival.id, results = %results.value().replace("\r\n\t", " "), "authentication");
            match decide(&report, checks) {
                Decision::Reject(why) => return Ok(Accepted::Rejected(why)),
                Decision::Defer(why) => return Ok(Accepted::Deferred(why)),
                Decision::Quarantine => mailbox = junk(),
                Decision::Deliver => {}
            }
            auth_headers.push_str(&results.encode());
            auth_headers.push_str(&report.received_spf(&self.hostname).encode());
            auth_results = Some(results.value());
        }
        let received = self.received(arrival, single_rcpt, now);
        // Received goes on top (RFC 5321 §4.4); our results sit right under it (RFC 8601 §5).
        let headers = format!("{received}{auth_headers}");
        let bytes = surel_message::prepend_header(&headers, &body);
        Ok(Accepted::Delivered(
            self.store_copies(bytes.into(), accounts, mailbox, auth_results, now)
                .await?,
        ))
    }

    /// Our Received header field for `arrival` (RFC 5321 §4.4).
    fn received(
        &self,
        arrival: &Arrival<'_>,
        single_rcpt: Option<&str>,
        now: chrono::DateTime<Utc>,
    ) -> String {
        Received {
            helo: arrival.helo,
            peer: arrival.peer,
            by: &self.hostname,
            protocol: arrival.protocol,
            smtputf8: arrival.smtputf8,
            id: arrival.id,
            tls: arrival.tls,
            for_rcpt: single_rcpt,
            date: now,
        }
        .encode()
    }

    /// Stores one copy of `bytes` in `mailbox` of each account (once per account).
    async fn store_copies(
        &self,
        bytes: Arc<[u8]>,
        accounts: &[AccountId],
        mailbox: MailboxName,
        auth_results: Option<String>,
        now: chrono::DateTime<Utc>,
    ) -> StoreResult<Vec<Stored>> {
        let (message, targets) = self.copies(bytes, accounts, mailbox, auth_results, now);
        self.store.deliver(message, &targets).await
    }

    /// The message and one target per account (an account reached by several recipients gets
    /// one copy).
    fn copies(
        &self,
        bytes: Arc<[u8]>,
        accounts: &[AccountId],
        mailbox: MailboxName,
        auth_results: Option<String>,
        now: chrono::DateTime<Utc>,
    ) -> (NewMessage, Vec<DeliveryTarget>) {
        let mut unique = accounts.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let targets = unique
            .into_iter()
            .map(|account| DeliveryTarget {
                account,
                mailbox: mailbox.clone(),
            })
            .collect();
        let message = NewMessage {
            bytes,
            internal_date: now,
            flags: Vec::new(),
            auth_results,
        };
        (message, targets)
    }
}

/// What the verdicts and the configured policy make of a message.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Deliver,
    Quarantine,
    Reject(String),
    Defer(String),
}

/// Applies the DMARC disposition and the temperror policy (DESIGN §1).
fn decide(report: &Report, checks: &AuthChecks) -> Decision {
    if checks.dmarc_policy == DmarcPolicy::Enforce {
        match report.dmarc.disposition {
            // RFC 7489 §6.6.3 / §10.3: reject during the SMTP transaction, after DATA.
            Policy::Reject => {
                return Decision::Reject(format!(
                    "DMARC policy of {} rejects this message",
                    report.dmarc.from_domain
                ));
            }
            Policy::Quarantine => return Decision::Quarantine,
            Policy::None => {}
        }
    }
    if checks.temperror == TempErrorPolicy::Defer && report.has_temperror() {
        return Decision::Defer("temporary DNS failure while authenticating the message".into());
    }
    Decision::Deliver
}

/// The mailbox quarantined mail goes to (the store falls back to INBOX without one).
fn junk() -> MailboxName {
    MailboxName::parse("Junk").unwrap_or_else(|_| MailboxName::inbox())
}
