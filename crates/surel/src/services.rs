//! Start-up of the mail-reading services, one function each, so `serve` stays a list of calls.

use std::sync::Arc;

use surel_config::Config;
use surel_net::{ConnectionLimiter, Shutdown, TlsAcceptor};
use surel_store::Store;
use tokio_util::task::TaskTracker;

/// Binds `listen.pop3` (STLS) and `listen.pop3s` (implicit TLS); returns the summary lines.
pub(crate) async fn start_pop3(
    config: &Config,
    store: Arc<dyn Store>,
    tls: &TlsAcceptor,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<String>> {
    if config.listen.pop3.is_empty() && config.listen.pop3s.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = Arc::new(surel_pop3::Context::new(
        config.hostname.clone(),
        store,
        config.limits.pop3_timeout,
        config.limits.command_line,
    ));
    let limiter = Arc::new(ConnectionLimiter::new(
        config.limits.connections,
        config.limits.connections_per_ip,
    ));
    Ok(surel_pop3::listen(
        ctx,
        &config.listen.pop3,
        &config.listen.pop3s,
        tls.clone(),
        limiter,
        tracker,
        shutdown,
    )
    .await?)
}
