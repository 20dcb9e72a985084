//! CAPABILITY, STARTTLS, LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.1.1, §6.2; RFC 4959
//! SASL-IR; RFC 4616 PLAIN).

use surel_net::{Login, login};
use surel_types::Secret;
use surel_types::sasl::{self, SaslResponse};

use super::{Next, Outcome, Session, State, User};
use crate::response::Done;

/// What every logged-in session offers (besides APPENDLIMIT, which carries the number).
const AUTHENTICATED: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE \
UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS \
ESEARCH SEARCHRES CONDSTORE QRESYNC STATUS=SIZE";

impl Session {
    /// Whether passwords may be sent now: only under TLS, except from loopback (RFC 9051
    /// §6.2.3 LOGINDISABLED; RFC 8314 §3.3 prefers TLS for every password).
    pub(crate) fn login_allowed(&self) -> bool {
        self.tls || self.peer.ip().is_loopback()
    }

    /// The capability list for the current state, space-separated.
    pub(crate) fn capabilities(&self) -> String {
        if self.is_authenticated() {
            return format!(
                "{AUTHENTICATED} APPENDLIMIT={} BINARY UTF8=ACCEPT",
                self.ctx.append_limit
            );
        }
        let mut caps = String::from("IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE");
        if !self.tls && self.ctx.tls_available {
            caps.push_str(" STARTTLS");
        }
        if self.login_allowed() {
            caps.push_str(" AUTH=PLAIN");
        } else {
            // RFC 9051 §6.2.3: LOGIN (and here any password) is refused until STARTTLS.
            caps.push_str(" LOGINDISABLED");
        }
        caps
    }

    pub(super) fn starttls(&mut self) -> Outcome {
        if self.tls {
            return Done::bad("TLS is already active").into();
        }
        if !self.ctx.tls_available {
            return Done::bad("STARTTLS is not available").into();
        }
        Outcome {
            done: Done::ok("Begin TLS negotiation now"),
            next: Next::StartTls,
        }
    }

    fn privacy_required() -> Done {
        Done::no("use STARTTLS (or the implicit TLS port) before sending a password")
            .with_code("PRIVACYREQUIRED")
    }

    pub(super) async fn login_command(&mut self, username: &[u8], password: &[u8]) -> Outcome {
        if !self.login_allowed() {
            return Self::privacy_required().into();
        }
        let (Ok(name), Ok(password)) =
            (std::str::from_utf8(username), std::str::from_utf8(password))
        else {
            return self.login_failed(
                Done::no("invalid user name or password").with_code("AUTHENTICATIONFAILED"),
            );
        };
        self.login(name, Secret::new(password.to_string()), "LOGIN")
            .await
    }

    pub(super) async fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) -> Outcome {
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return Done::no("unsupported authentication mechanism").into();
        }
        if !self.login_allowed() {
            return Self::privacy_required().into();
        }
        match initial {
            // RFC 4959 §3: the initial response came with the command.
            Some(message) => self.plain(&message).await,
            None => {
                self.start_sasl(tag);
                Outcome {
                    done: Done::ok(""),
                    next: Next::SaslResponse,
                }
            }
        }
    }

    pub(super) async fn sasl_line(&mut self, line: &[u8]) -> Outcome {
        match sasl::parse_response(line) {
            // RFC 9051 §6.2.2: a cancelled exchange is answered with a tagged BAD.
            Ok(SaslResponse::Cancel) => Done::bad("authentication cancelled").into(),
            Ok(SaslResponse::Data(message)) => self.plain(&message).await,
            Err(e) => Done::bad(format!("authentication response: {e}")).into(),
        }
    }

    async fn plain(&mut self, message: &[u8]) -> Outcome {
        let plain = match sasl::decode_plain(message) {
            Ok(plain) => plain,
            Err(e) => return Done::bad(format!("AUTHENTICATE PLAIN: {e}")).into(),
        };
        // No proxy authorization: the authzid must be empty or the login itself.
        if !plain.authzid.is_empty() && plain.authzid != plain.authcid {
            return self.login_failed(
                Done::no("authorization identity not permitted").with_code("AUTHORIZATIONFAILED"),
            );
        }
        self.login(&plain.authcid, plain.password, "AUTHENTICATE")
            .await
    }

    /// Checks the credentials: not authenticated → authenticated, or `NO` after the
    /// throttle's delay.
    async fn login(&mut self, name: &str, password: Secret<String>, command: &str) -> Outcome {
        let store = &*self.ctx.store;
        let account = match login(store, &self.ctx.throttle, self.peer.ip(), name, password).await {
            Login::Accepted(account) => account,
            Login::LockedOut(_) => {
                return self.login_failed(
                    Done::no("too many failed logins; try again later").with_code("UNAVAILABLE"),
                );
            }
            Login::Refused => {
                return self.login_failed(
                    Done::no("invalid user name or password").with_code("AUTHENTICATIONFAILED"),
                );
            }
            Login::Unavailable => {
                return Done::no("try again later").with_code("UNAVAILABLE").into();
            }
        };
        self.state = State::Authenticated(User {
            account: account.id,
            address: account.address.to_string(),
        });
        // RFC 9051 §6.2.3: the OK may carry the capabilities, which change at login.
        Done::ok(format!("{command} completed"))
            .with_code(format!("CAPABILITY {}", self.capabilities()))
            .into()
    }
}
