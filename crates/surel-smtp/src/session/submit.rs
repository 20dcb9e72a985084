//! The end of data on submission (RFC 6409): the From header must belong to the account, then
//! the message goes through `Ingest::submit` (Date, Message-ID, DKIM, local and remote routing).

use surel_ingest::{Arrival, Submission};
use surel_message::Protocol;
use surel_smtp_proto::{EnhancedCode, Reply, ReversePath};
use surel_types::{AccountId, Address};

use super::auth::not_yours;
use super::{Envelope, Helo, Session};

impl Session {
    pub(super) async fn finish_submission(
        &mut self,
        helo: &Helo,
        envelope: &Envelope,
        account: AccountId,
        id: &str,
        body: Vec<u8>,
    ) -> Reply {
        if let Err(reply) = self.check_from_header(account, &body).await {
            tracing::info!(id, "refused: From header not owned by the account");
            return reply;
        }
        // RFC 3848 §2: ESMTPA / ESMTPSA for an authenticated session.
        let protocol = match self.tls {
            Some(_) => Protocol::Esmtpsa,
            None => Protocol::Esmtpa,
        };
        let mail_from = match &envelope.from {
            ReversePath::Address(address) => address.to_string(),
            ReversePath::Null => String::new(),
        };
        let sender = match &envelope.from {
            ReversePath::Address(address) => Some(address),
            ReversePath::Null => None,
        };
        let single = match envelope.rcpts.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        };
        let submission = Submission {
            arrival: Arrival {
                helo: &helo.name,
                peer: self.peer.ip(),
                protocol,
                smtputf8: envelope.params.smtputf8,
                tls: self.tls.as_deref(),
                id,
                mail_from: &mail_from,
                // DESIGN §1: submitted mail is not SPF/DMARC-checked.
                check_auth: false,
            },
            account,
            sender,
            local: &envelope.accounts,
            remote: &envelope.remote,
            single_rcpt: single.as_deref(),
        };
        match self.ctx.ingest.submit(&submission, &body).await {
            Ok(done) => {
                let login = self.login.as_ref().map(|l| l.address.to_string());
                tracing::info!(
                    id, from = %envelope.from, user = login.unwrap_or_default(),
                    local = done.stored.len(), remote = envelope.remote.len(),
                    queue_id = ?done.queued, size = body.len(), "submitted"
                );
                Reply::queued(id)
            }
            Err(e) => {
                tracing::error!(id, peer = %self.peer, error = %e, "submission failed; message not accepted");
                Reply::LOCAL_ERROR
            }
        }
    }

    /// Every From mailbox must be one the account may use (RFC 6409 §8.1 lets the MSA refuse).
    async fn check_from_header(&self, account: AccountId, body: &[u8]) -> Result<(), Reply> {
        let values = surel_message::header_values(body, "From");
        let mailboxes: Vec<String> = values
            .iter()
            .flat_map(|v| surel_message::mailbox_addresses(v))
            .collect();
        if mailboxes.is_empty() {
            return Err(Reply::new(
                550,
                Some(EnhancedCode::new(5, 6, 0)),
                "Message has no From header field",
            ));
        }
        for mailbox in mailboxes {
            let Ok(address) = Address::parse(&mailbox) else {
                return Err(not_yours(&mailbox));
            };
            self.check_sender(account, &ReversePath::Address(address))
                .await?;
        }
        Ok(())
    }
}
