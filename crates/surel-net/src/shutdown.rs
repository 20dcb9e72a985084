use tokio::sync::watch;

/// Tells every listener and session that the server is stopping.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// A cheap handle to learn whether, or wait until, shutdown was asked for.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A trigger and the first handle.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// True once shutdown was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when shutdown is triggered (at once if it already was, or if the trigger is gone).
    pub async fn wait(&mut self) {
        // An error means the trigger was dropped: treat that as shutdown too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

impl ShutdownTrigger {
    /// Starts the shutdown.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_after_trigger() {
        let (trigger, mut shutdown) = Shutdown::new();
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        shutdown.wait().await;
        assert!(shutdown.is_triggered());
    }
}
