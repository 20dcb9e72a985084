//! SMTP AUTH for submission (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, and the
//! check that an authenticated account may use a sender address (RFC 6409 §4.3).

use surel_smtp_proto::{EnhancedCode, Reply, ReversePath};
use surel_types::sasl::{self, SaslResponse};
use surel_types::{AccountId, Address, Secret};

use super::{Next, Session, State, Step};

/// Who authenticated on this connection.
pub(super) struct Login {
    /// The account.
    pub(super) account: AccountId,
    /// Its address (the login name), for logs.
    pub(super) address: Address,
}

/// What the next SASL response line answers.
pub(super) enum SaslStep {
    /// The PLAIN message after an empty 334 (RFC 4616 §2).
    Plain,
    /// LOGIN's user name.
    LoginUser,
    /// LOGIN's password, for this user name.
    LoginPassword(String),
}

/// LOGIN's challenges: base64 of `Username:` and `Password:` (draft-murchison-sasl-login).
const LOGIN_USER_CHALLENGE: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD_CHALLENGE: &str = "UGFzc3dvcmQ6";

impl Session {
    /// Whether a password may be sent now: over TLS, or from loopback (RFC 4954 §4: a server
    /// should not offer plaintext mechanisms on an unencrypted connection).
    pub(super) fn login_allowed(&self) -> bool {
        self.tls.is_some() || self.peer.ip().is_loopback()
    }

    /// True while the next line is a SASL response, not a command.
    pub fn expects_sasl(&self) -> bool {
        self.sasl.is_some()
    }

    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    pub(super) async fn auth(
        &mut self,
        mechanism: String,
        initial: Option<Secret<String>>,
    ) -> Step {
        // RFC 4954 §4: AUTH needs EHLO first, is not allowed during a transaction, and
        // only once per session.
        if self.login.is_some() || !matches!(self.state, State::Greeted(_)) {
            return Step::cont(Reply::BAD_SEQUENCE);
        }
        if !self.login_allowed() {
            // RFC 4954 §6: 538 5.7.11 when the mechanism needs encryption first.
            return Step::cont(Reply::AUTH_ENCRYPTION_REQUIRED);
        }
        let initial = match initial.map(|text| sasl::decode_initial(text.expose())) {
            None => None,
            Some(Ok(bytes)) => Some(bytes),
            // RFC 4954 §4: an undecodable response is refused with 501.
            Some(Err(_)) => return Step::cont(Reply::SYNTAX_PARAMS),
        };
        match (mechanism.as_str(), initial) {
            ("PLAIN", Some(message)) => self.auth_plain(&message).await,
            ("PLAIN", None) => self.challenge(SaslStep::Plain, ""),
            // Outlook sends LOGIN with the user name as the initial response.
            ("LOGIN", Some(user)) => match String::from_utf8(user) {
                Ok(user) => self.challenge(SaslStep::LoginPassword(user), LOGIN_PASSWORD_CHALLENGE),
                Err(_) => Step::cont(Reply::SYNTAX_PARAMS),
            },
            ("LOGIN", None) => self.challenge(SaslStep::LoginUser, LOGIN_USER_CHALLENGE),
            // RFC 4954 §6: 504 5.5.4 for a mechanism we do not know.
            _ => Step::cont(Reply::AUTH_MECHANISM_UNSUPPORTED),
        }
    }

    fn challenge(&mut self, step: SaslStep, base64: &str) -> Step {
        self.sasl = Some(step);
        Step {
            reply: Reply::auth_challenge(base64),
            next: Next::SaslResponse,
        }
    }

    /// The client's line after a 334 challenge.
    pub async fn sasl_response(&mut self, line: &[u8]) -> Step {
        let Some(step) = self.sasl.take() else {
            return self.count_error(Step::cont(Reply::BAD_SEQUENCE));
        };
        let data = match sasl::parse_response(line) {
            // RFC 4954 §4: `*` cancels the exchange; the server answers 501.
            Ok(SaslResponse::Cancel) => {
                return self.count_error(Step::cont(Reply::AUTH_CANCELLED));
            }
            Ok(SaslResponse::Data(data)) => data,
            Err(_) => return self.count_error(Step::cont(Reply::SYNTAX_PARAMS)),
        };
        let step = match step {
            SaslStep::Plain => self.auth_plain(&data).await,
            SaslStep::LoginUser => match String::from_utf8(data) {
                Ok(user) => self.challenge(SaslStep::LoginPassword(user), LOGIN_PASSWORD_CHALLENGE),
                Err(_) => Step::cont(Reply::SYNTAX_PARAMS),
            },
            SaslStep::LoginPassword(user) => match String::from_utf8(data) {
                Ok(password) => self.login(&user, Secret::new(password)).await,
                Err(_) => Step::cont(Reply::SYNTAX_PARAMS),
            },
        };
        self.count_error(step)
    }

    /// A SASL response line that could not be read (too long): the exchange ends.
    pub fn sasl_abandoned(&mut self, reply: Reply) -> Step {
        self.sasl = None;
        self.count_error(Step::cont(reply))
    }

    async fn auth_plain(&mut self, message: &[u8]) -> Step {
        let Ok(plain) = sasl::decode_plain(message) else {
            return Step::cont(Reply::SYNTAX_PARAMS);
        };
        // RFC 4616 §2: no proxy authorization; the authzid is empty or the login itself.
        if !plain.authzid.is_empty() && !plain.authzid.eq_ignore_ascii_case(&plain.authcid) {
            return Step::cont(Reply::AUTH_FAILED);
        }
        self.login(&plain.authcid, plain.password).await
    }

    /// Checks the password of the account named `name` (its address; the local part is
    /// compared case-insensitively by the store).
    async fn login(&mut self, name: &str, password: Secret<String>) -> Step {
        let store = self.ctx.ingest.store();
        let ip = self.peer.ip();
        match surel_net::login(&**store, &self.ctx.throttle, ip, name, password).await {
            surel_net::Login::Accepted(account) => {
                self.login = Some(Login {
                    account: account.id,
                    address: account.address,
                });
                Step::cont(Reply::AUTH_SUCCEEDED)
            }
            // RFC 4954 §6: 454 4.7.0 for a temporary authentication failure.
            surel_net::Login::LockedOut(_) => Step::cont(Reply::new(
                454,
                Some(EnhancedCode::new(4, 7, 0)),
                "Too many failed logins; try again later",
            )),
            surel_net::Login::Refused => Step::cont(Reply::AUTH_FAILED),
            surel_net::Login::Unavailable => Step::cont(Reply::LOCAL_ERROR),
        }
    }

    /// Refuses a sender the account may not use (RFC 6409 §4.3, DESIGN §1).
    pub(super) async fn check_sender(
        &self,
        account: AccountId,
        sender: &ReversePath,
    ) -> Result<(), Reply> {
        let address = match sender {
            ReversePath::Address(address) => address,
            ReversePath::Null => return Err(not_yours("<>")),
        };
        match self.ctx.ingest.router().may_send_as(account, address).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_yours(&address.to_string())),
            Err(e) => {
                tracing::error!(error = %e, "sender lookup failed");
                Err(Reply::LOCAL_ERROR)
            }
        }
    }
}

/// `550 5.7.1` naming the address the account may not send as.
pub(super) fn not_yours(address: &str) -> Reply {
    let printable: String = address
        .chars()
        .filter(|c| !c.is_control())
        .take(256)
        .collect();
    Reply::new(
        550,
        Some(EnhancedCode::new(5, 7, 1)),
        format!("Sender address {printable} is not owned by the authenticated user"),
    )
}
