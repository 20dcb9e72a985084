//! The submission path (RFC 6409): what an authenticated user sends is completed (Date,
//! Message-ID), DKIM-signed for its From domain, then routed: local recipients to the MDA,
//! remote ones to the outbound queue.

use chrono::Utc;
use surel_queue::Outbound;
use surel_store::{QueueId, QueuedMessage, StoreResult, Stored};
use surel_types::{AccountId, Address};

use crate::{Arrival, Ingest};

/// A submitted message and where it goes.
pub struct Submission<'a> {
    /// How it came (`check_auth` is ignored: submissions are never SPF/DMARC-checked).
    pub arrival: Arrival<'a>,
    /// The authenticated account.
    pub account: AccountId,
    /// The envelope sender; `None` for `<>`.
    pub sender: Option<&'a Address>,
    /// The accounts of the local recipients.
    pub local: &'a [AccountId],
    /// The remote recipients, in the order given.
    pub remote: &'a [Address],
    /// The recipient when there was exactly one (Received `for`).
    pub single_rcpt: Option<&'a str>,
}

/// What became of a submission: every part is durable.
#[derive(Debug)]
pub struct Submitted {
    /// The local copies, one per account.
    pub stored: Vec<Stored>,
    /// The queue entry for the remote recipients, if there were any.
    pub queued: Option<QueueId>,
}

impl Ingest {
    /// Shares `outbound` (the worker's handle, so a queued message wakes it at once).
    pub fn with_outbound(mut self, outbound: Outbound) -> Self {
        self.outbound = outbound;
        self
    }

    /// Completes, signs and routes a submitted message. Returns once the queue entry (remote
    /// recipients) and the local copies are durable, committed together; on error nothing of it
    /// was kept and the message must not be acknowledged.
    pub async fn submit(&self, submission: &Submission<'_>, body: &[u8]) -> StoreResult<Submitted> {
        let now = Utc::now();
        let arrival = &submission.arrival;
        let mut message = self.complete(body, now);
        if let Some(signature) = self.dkim_signature(&message, arrival.id).await {
            // RFC 6376 §5.6: the DKIM-Signature header field is prepended to the message.
            message = surel_message::prepend_header(&signature, &message);
        }
        let received = self.received(arrival, submission.single_rcpt, now);
        let bytes: std::sync::Arc<[u8]> = surel_message::prepend_header(&received, &message).into();
        let remote = (!submission.remote.is_empty()).then(|| QueuedMessage {
            bytes: bytes.clone(),
            from: submission.sender.cloned(),
            recipients: submission.remote.to_vec(),
            arrival: now,
            account: Some(submission.account),
        });
        let (message, targets) = self.copies(
            bytes,
            submission.local,
            surel_types::MailboxName::inbox(),
            None,
            now,
        );
        // DESIGN §1: the acknowledgement covers local copies and queued recipients alike, so
        // both commit together; a failure leaves neither, and the client's retry doubles nothing.
        let (stored, queued) = match remote {
            None => (self.store.deliver(message, &targets).await?, None),
            Some(remote) if targets.is_empty() => {
                (Vec::new(), Some(self.outbound.enqueue(remote).await?))
            }
            Some(remote) => {
                let (stored, id) = self
                    .outbound
                    .deliver_and_enqueue(message, &targets, remote)
                    .await?;
                (stored, Some(id))
            }
        };
        Ok(Submitted { stored, queued })
    }

    /// Adds `Date` (RFC 6409 §8.3) and `Message-ID` (§8.3, RFC 5322 §3.6.4) when missing.
    fn complete(&self, body: &[u8], now: chrono::DateTime<Utc>) -> Vec<u8> {
        let mut added = String::new();
        if surel_message::header_values(body, "Date").is_empty() {
            added.push_str(&format!("Date: {}\r\n", surel_message::rfc5322_date(now)));
        }
        if surel_message::header_values(body, "Message-ID").is_empty() {
            let unique = format!(
                "{}.{:016x}",
                now.format("%Y%m%d%H%M%S"),
                rand::random::<u64>()
            );
            added.push_str(&format!("Message-ID: <{unique}@{}>\r\n", self.hostname));
        }
        surel_message::prepend_header(&added, body)
    }

    /// The DKIM-Signature fields for the message's From domain, or `None` (logged) when the
    /// domain has no keys or signing failed: the message then goes out unsigned.
    async fn dkim_signature(&self, message: &[u8], id: &str) -> Option<String> {
        let from = surel_message::header_values(message, "From")
            .first()
            .and_then(|value| surel_message::mailbox_addresses(value).into_iter().next())?;
        let domain = Address::parse(&from).ok().map(|a| a.domain().clone())?;
        let keys = match self.store.dkim_keys(&domain).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(id, %domain, error = %e, "cannot read DKIM keys; sending unsigned");
                return None;
            }
        };
        if keys.is_empty() {
            tracing::warn!(id, %domain, "no DKIM key for the From domain; sending unsigned");
            return None;
        }
        let signed = surel_auth::DkimSigner::new(
            domain.as_str(),
            keys.iter()
                .map(|k| (k.selector.as_str(), k.private_key.expose().as_str())),
        )
        .and_then(|signer| signer.sign(message));
        match signed {
            Ok(signature) => Some(signature),
            Err(e) => {
                tracing::warn!(id, %domain, error = %e, "DKIM signing failed; sending unsigned");
                None
            }
        }
    }
}
