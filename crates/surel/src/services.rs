//! Start-up of the services besides port 25, one function each, so `serve` stays a list of calls.

use std::sync::Arc;

use surel_config::Config;
use surel_net::{ConnectionLimiter, Listener, MemoryBudget, Shutdown, TlsAcceptor};
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

/// Binds `listen.imap` (STARTTLS) and `listen.imaps` (implicit TLS); returns the summary
/// lines. Their own connection caps and failed-login throttle, as for POP3.
pub(crate) async fn start_imap(
    config: &Config,
    store: Arc<dyn Store>,
    tls: &TlsAcceptor,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<String>> {
    if config.listen.imap.is_empty() && config.listen.imaps.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = Arc::new(surel_imap::Context::new(
        config.hostname.clone(),
        store,
        config.limits.imap_timeout,
        config.limits.imap_login_timeout,
        config.limits.message_size,
    ));
    let limiter = Arc::new(ConnectionLimiter::new(
        config.limits.connections,
        config.limits.connections_per_ip,
    ));
    Ok(surel_imap::listen(
        ctx,
        &config.listen.imap,
        &config.listen.imaps,
        tls.clone(),
        limiter,
        tracker,
        shutdown,
    )
    .await?)
}

/// Binds `listen.submission` (STARTTLS) and `listen.submissions` (implicit TLS), RFC 6409 /
/// RFC 8314; returns the summary lines. Both share one failed-login throttle and their own
/// connection caps, so a flood on port 25 does not lock users out of sending.
pub(crate) async fn start_submission(
    config: &Config,
    store: Arc<dyn Store>,
    outbound: surel_queue::Outbound,
    memory: Arc<MemoryBudget>,
    tls: &TlsAcceptor,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<String>> {
    let ctx = Arc::new(surel_smtp::Context {
        hostname: config.hostname.clone(),
        limits: config.limits.clone(),
        ingest: surel_ingest::Ingest::new(store, config.hostname.clone()).with_outbound(outbound),
        starttls: true,
        memory,
        submission: true,
        throttle: Arc::new(surel_net::AuthThrottle::default()),
    });
    let limiter = Arc::new(ConnectionLimiter::new(
        config.limits.connections,
        config.limits.connections_per_ip,
    ));
    let mut summary = Vec::new();
    for (addr, implicit) in config
        .listen
        .submission
        .iter()
        .map(|a| (a, false))
        .chain(config.listen.submissions.iter().map(|a| (a, true)))
    {
        let listener = Listener::bind(*addr, limiter.clone()).await?;
        let name = if implicit {
            "submissions"
        } else {
            "submission"
        };
        summary.push(format!("{name} listening on {}", listener.local_addr()));
        let (ctx, tls, stop) = (ctx.clone(), tls.clone(), shutdown.clone());
        listener.spawn(tracker, shutdown.clone(), move |accepted| {
            let (ctx, tls, stop) = (ctx.clone(), tls.clone(), stop.clone());
            async move {
                if implicit {
                    surel_smtp::driver::run_implicit_tls(ctx, tls, accepted, stop).await;
                } else {
                    surel_smtp::driver::run(ctx, Some(tls), accepted, stop).await;
                }
            }
        });
    }
    Ok(summary)
}
