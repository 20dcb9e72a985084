//! When to try again, when to give up, when to warn (DESIGN §1: every `retry_interval` until
//! the message is `lifetime` old; one delay warning at `delay_warning`, zero disables it).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The retry schedule, from `[queue]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Time between attempts of a temporarily failing recipient.
    pub retry_interval: Duration,
    /// Age at which a message's undelivered recipients fail.
    pub lifetime: Duration,
    /// Age at which the one delay warning goes out; zero: never.
    pub delay_warning: Duration,
}

/// What follows a temporary failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The message is too old: fail the recipient now.
    Expired,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl RetryPolicy {
    /// When a message that arrived at `arrival` gives up.
    pub fn expires(&self, arrival: DateTime<Utc>) -> DateTime<Utc> {
        arrival
            .checked_add_signed(delta(self.lifetime))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// After a temporary failure at `now`: the next attempt, never later than the expiry (so
    /// the last attempt happens at the end of the lifetime), or `Expired` once that has passed.
    /// RFC 5321 §4.5.4.1: retry after at least the interval; give up after the lifetime.
    pub fn after_temporary(&self, arrival: DateTime<Utc>, now: DateTime<Utc>) -> Next {
        let expires = self.expires(arrival);
        if now >= expires {
            return Next::Expired;
        }
        let next = now
            .checked_add_signed(delta(self.retry_interval))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Next::RetryAt(next.min(expires))
    }

    /// Whether the delay warning is due now: enabled, not sent yet, the message old enough,
    /// and not about to expire anyway (a warning at or past the lifetime would only precede
    /// the failure report).
    pub fn warn_now(&self, arrival: DateTime<Utc>, now: DateTime<Utc>, warned: bool) -> bool {
        !warned
            && !self.delay_warning.is_zero()
            && self.delay_warning < self.lifetime
            && now >= arrival + delta(self.delay_warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    const POLICY: RetryPolicy = RetryPolicy {
        retry_interval: Duration::from_secs(15 * 60),
        lifetime: Duration::from_secs(5 * 86_400),
        delay_warning: Duration::from_secs(4 * 3600),
    };

    #[test]
    fn retries_every_interval_until_the_lifetime_then_expires() {
        let table = [
            (0, Next::RetryAt(at(900))),
            (100, Next::RetryAt(at(1000))),
            // The last retry is pulled in to the expiry instant.
            (5 * 86_400 - 60, Next::RetryAt(at(5 * 86_400))),
            (5 * 86_400, Next::Expired),
            (6 * 86_400, Next::Expired),
        ];
        for (now, want) in table {
            assert_eq!(POLICY.after_temporary(at(0), at(now)), want, "at +{now}s");
        }
    }

    #[test]
    fn the_default_schedule_makes_about_480_attempts() {
        let (mut now, mut attempts) = (at(0), 1);
        while let Next::RetryAt(next) = POLICY.after_temporary(at(0), now) {
            now = next;
            attempts += 1;
        }
        assert_eq!(attempts, 5 * 24 * 4 + 1);
    }

    #[test]
    fn warns_once_after_the_delay_unless_disabled() {
        let table = [
            (POLICY, 4 * 3600 - 1, false, false),
            (POLICY, 4 * 3600, false, true),
            (POLICY, 4 * 3600, true, false),
            (
                RetryPolicy {
                    delay_warning: Duration::ZERO,
                    ..POLICY
                },
                10 * 3600,
                false,
                false,
            ),
            (
                RetryPolicy {
                    delay_warning: POLICY.lifetime,
                    ..POLICY
                },
                6 * 86_400,
                false,
                false,
            ),
        ];
        for (policy, now, warned, want) in table {
            assert_eq!(
                policy.warn_now(at(0), at(now), warned),
                want,
                "{policy:?} +{now}"
            );
        }
    }
}
