//! ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 §4.1.2 `Mail-parameters`).
//!
//! smtp-proto parses the values; the keywords are read again from the raw text so that the ones
//! smtp-proto understands but surel does not implement (BY, HOLDFOR, MT-PRIORITY, RRVS, …) are
//! refused with 555 rather than silently ignored, and SIZE is read with checked arithmetic
//! (smtp-proto 0.2.5 wraps values of 20 digits or more into small numbers).

use std::borrow::Cow;

use smtp_proto::{
    MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_BODY_BINARYMIME, MAIL_REQUIRETLS, MAIL_RET_FULL,
    MAIL_RET_HDRS, MAIL_SMTPUTF8, MailFrom, RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE,
    RCPT_NOTIFY_SUCCESS, RcptTo,
};

use crate::{Extension, Reply};

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `BODY=7BIT`
    SevenBit,
    /// `BODY=8BITMIME`
    EightBitMime,
    /// `BODY=BINARYMIME` (never announced, so always refused by [`MailParams::check`]).
    BinaryMime,
}

/// `RET=` (RFC 3461 §4.3): what a DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// `RET=FULL`
    Full,
    /// `RET=HDRS`
    Headers,
}

/// The parameters of MAIL FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=` (RFC 1870): the size the client declares; `u64::MAX` if it does not fit.
    pub size: Option<u64>,
    /// `BODY=`
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531): addresses and headers may be UTF-8.
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689; not implemented).
    pub requiretls: bool,
    /// `RET=` (RFC 3461, DSN; not announced).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), xtext-decoded.
    pub envid: Option<String>,
    /// `AUTH=` (RFC 4954 §5), xtext-decoded: a mailbox or `<>`.
    pub auth: Option<String>,
}

/// `NOTIFY=` (RFC 3461 §4.1); all `false` is `NOTIFY=NEVER`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notify {
    /// `SUCCESS`
    pub success: bool,
    /// `FAILURE`
    pub failure: bool,
    /// `DELAY`
    pub delay: bool,
}

/// The parameters of RCPT TO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461, DSN; not announced).
    pub notify: Option<Notify>,
    /// `ORCPT=rfc822;…` (RFC 3461), the address xtext-decoded.
    pub orcpt: Option<String>,
}

impl MailParams {
    /// Checks the parameters against the extensions the EHLO reply announced. RFC 5321 §4.1.1.11:
    /// a parameter of an extension not announced gets 555; RFC 1870 §6.1: a declared SIZE over
    /// the announced limit gets 552.
    pub fn check(&self, announced: &[Extension]) -> Result<(), Reply> {
        let has = |want: &Extension| announced.contains(want);
        if let Some(size) = self.size {
            let limit = announced.iter().find_map(|e| match e {
                Extension::Size(n) => Some(*n),
                _ => None,
            });
            match limit {
                None => return Err(Reply::parameter_not_supported("SIZE")),
                Some(max) if max > 0 && size > max => return Err(Reply::MESSAGE_TOO_BIG),
                Some(_) => {}
            }
        }
        match self.body {
            Some(Body::EightBitMime) if !has(&Extension::EightBitMime) => {
                return Err(Reply::parameter_not_supported("BODY=8BITMIME"));
            }
            Some(Body::BinaryMime) => {
                return Err(Reply::parameter_not_supported("BODY=BINARYMIME"));
            }
            _ => {}
        }
        if self.smtputf8 && !has(&Extension::SmtpUtf8) {
            return Err(Reply::parameter_not_supported("SMTPUTF8"));
        }
        if self.requiretls {
            return Err(Reply::parameter_not_supported("REQUIRETLS"));
        }
        if self.ret.is_some() {
            return Err(Reply::parameter_not_supported("RET"));
        }
        if self.envid.is_some() {
            return Err(Reply::parameter_not_supported("ENVID"));
        }
        if self.auth.is_some()
            && !announced
                .iter()
                .any(|e| matches!(e, Extension::Auth(m) if !m.is_empty()))
        {
            return Err(Reply::parameter_not_supported("AUTH"));
        }
        Ok(())
    }
}

impl RcptParams {
    /// Checks the parameters against the announced extensions: DSN is never announced, so
    /// NOTIFY and ORCPT get 555.
    pub fn check(&self, _announced: &[Extension]) -> Result<(), Reply> {
        if self.notify.is_some() {
            return Err(Reply::parameter_not_supported("NOTIFY"));
        }
        if self.orcpt.is_some() {
            return Err(Reply::parameter_not_supported("ORCPT"));
        }
        Ok(())
    }
}

/// The `keyword[=value]` items after the path, split as smtp-proto splits them (on spaces).
fn keywords(raw: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    raw.split_ascii_whitespace()
        .map(|item| match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        })
}

/// The first keyword not in `allowed`, which gets 555.
fn refuse_unknown(raw: &str, allowed: &[&str]) -> Result<(), Reply> {
    match keywords(raw).find(|(k, _)| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k))) {
        Some((k, _)) => Err(Reply::parameter_not_supported(k)),
        None => Ok(()),
    }
}

/// Builds our parameters from smtp-proto's, `raw` being the text after the path's `>`.
pub(crate) fn mail_params(from: &MailFrom<Cow<'_, str>>, raw: &str) -> Result<MailParams, Reply> {
    refuse_unknown(
        raw,
        &[
            "SIZE",
            "BODY",
            "SMTPUTF8",
            "REQUIRETLS",
            "RET",
            "ENVID",
            "AUTH",
        ],
    )?;
    let mut size = None;
    for (k, v) in keywords(raw) {
        if k.eq_ignore_ascii_case("SIZE") {
            let v = v.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
            // RFC 1870: 1*20DIGIT; a larger number is simply bigger than any limit.
            size = Some(
                v.ok_or_else(|| Reply::invalid_parameter("SIZE"))?
                    .parse::<u64>()
                    .unwrap_or(u64::MAX),
            );
        }
    }
    let flags = from.flags;
    let body = if flags & MAIL_BODY_BINARYMIME != 0 {
        Some(Body::BinaryMime)
    } else if flags & MAIL_BODY_8BITMIME != 0 {
        Some(Body::EightBitMime)
    } else if flags & MAIL_BODY_7BIT != 0 {
        Some(Body::SevenBit)
    } else {
        None
    };
    let ret = if flags & MAIL_RET_FULL != 0 {
        Some(Ret::Full)
    } else if flags & MAIL_RET_HDRS != 0 {
        Some(Ret::Headers)
    } else {
        None
    };
    Ok(MailParams {
        size,
        body,
        smtputf8: flags & MAIL_SMTPUTF8 != 0,
        requiretls: flags & MAIL_REQUIRETLS != 0,
        ret,
        envid: from.env_id.as_ref().map(|s| s.to_string()),
        auth: from.auth.as_ref().map(|s| s.to_string()),
    })
}

/// Builds our parameters from smtp-proto's, `raw` being the text after the path's `>`.
pub(crate) fn rcpt_params(to: &RcptTo<Cow<'_, str>>, raw: &str) -> Result<RcptParams, Reply> {
    refuse_unknown(raw, &["NOTIFY", "ORCPT"])?;
    let has_notify = keywords(raw).any(|(k, _)| k.eq_ignore_ascii_case("NOTIFY"));
    let notify = has_notify.then_some(Notify {
        success: to.flags & RCPT_NOTIFY_SUCCESS != 0,
        failure: to.flags & RCPT_NOTIFY_FAILURE != 0,
        delay: to.flags & RCPT_NOTIFY_DELAY != 0,
    });
    Ok(RcptParams {
        notify,
        orcpt: to.orcpt.as_ref().map(|s| s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announced() -> Vec<Extension> {
        vec![
            Extension::Pipelining,
            Extension::Size(1000),
            Extension::EightBitMime,
            Extension::SmtpUtf8,
            Extension::Auth(vec!["PLAIN".into()]),
        ]
    }

    #[test]
    fn check_against_announced_extensions() {
        let ok = MailParams {
            size: Some(1000),
            body: Some(Body::EightBitMime),
            smtputf8: true,
            ..Default::default()
        };
        assert_eq!(ok.check(&announced()), Ok(()));
        assert_eq!(MailParams::default().check(&[]), Ok(()));

        let too_big = MailParams {
            size: Some(1001),
            ..Default::default()
        };
        assert_eq!(too_big.check(&announced()), Err(Reply::MESSAGE_TOO_BIG));
        let no_limit = MailParams {
            size: Some(u64::MAX),
            ..Default::default()
        };
        assert_eq!(no_limit.check(&[Extension::Size(0)]), Ok(()));

        let cases: &[(MailParams, &str)] = &[
            (
                MailParams {
                    size: Some(1),
                    ..Default::default()
                },
                "SIZE",
            ),
            (
                MailParams {
                    body: Some(Body::EightBitMime),
                    ..Default::default()
                },
                "BODY=8BITMIME",
            ),
            (
                MailParams {
                    smtputf8: true,
                    ..Default::default()
                },
                "SMTPUTF8",
            ),
            (
                MailParams {
                    auth: Some("<>".into()),
                    ..Default::default()
                },
                "AUTH",
            ),
        ];
        for (params, name) in cases {
            assert_eq!(params.check(&[]), Err(Reply::parameter_not_supported(name)));
        }
        let never: &[(MailParams, &str)] = &[
            (
                MailParams {
                    body: Some(Body::BinaryMime),
                    ..Default::default()
                },
                "BODY=BINARYMIME",
            ),
            (
                MailParams {
                    requiretls: true,
                    ..Default::default()
                },
                "REQUIRETLS",
            ),
            (
                MailParams {
                    ret: Some(Ret::Full),
                    ..Default::default()
                },
                "RET",
            ),
            (
                MailParams {
                    envid: Some("x".into()),
                    ..Default::default()
                },
                "ENVID",
            ),
        ];
        for (params, name) in never {
            assert_eq!(
                params.check(&announced()),
                Err(Reply::parameter_not_supported(name))
            );
        }
        assert_eq!(
            MailParams {
                body: Some(Body::SevenBit),
                ..Default::default()
            }
            .check(&[]),
            Ok(())
        );
    }

    #[test]
    fn rcpt_dsn_params_are_refused() {
        assert_eq!(RcptParams::default().check(&announced()), Ok(()));
        let p = RcptParams {
            notify: Some(Notify::default()),
            orcpt: None,
        };
        assert_eq!(
            p.check(&announced()),
            Err(Reply::parameter_not_supported("NOTIFY"))
        );
        let p = RcptParams {
            notify: None,
            orcpt: Some("a@b".into()),
        };
        assert_eq!(
            p.check(&announced()),
            Err(Reply::parameter_not_supported("ORCPT"))
        );
    }

    #[test]
    fn keywords_split_on_spaces() {
        let got: Vec<_> = keywords("  SIZE=10  BODY=8BITMIME SMTPUTF8 ").collect();
        assert_eq!(
            got,
            vec![
                ("SIZE", Some("10")),
                ("BODY", Some("8BITMIME")),
                ("SMTPUTF8", None)
            ]
        );
    }
}
