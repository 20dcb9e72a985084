//! Time for the queue: the real clock in the server, a clock the test owns in unit tests, so no
//! test waits for a retry to come due.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Where the queue reads the time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    /// Starts at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        TestClock(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
