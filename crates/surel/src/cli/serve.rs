//! `surel serve`: runs the server until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use surel::{Shutdown, serve};
use surel_config::Config;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// How long tasks still running after `serve` returns may take before the process exits anyway.
const RUNTIME_GRACE: Duration = Duration::from_secs(10);

/// Runs the server; `zero_config` (no config file) first makes the demo account on a fresh store.
pub fn run(config: Config, zero_config: bool) -> Result<()> {
    // Err only means a provider is installed already, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_tracing("info")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("surel")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        if zero_config {
            surel::ensure_demo_account(&config).await?;
        }
        serve_until_signal(config).await
    });
    runtime.shutdown_timeout(RUNTIME_GRACE);
    result
}

/// The first SIGINT or SIGTERM starts a graceful shutdown; a second one stops at once.
async fn serve_until_signal(config: Config) -> Result<()> {
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let (trigger, shutdown) = Shutdown::new();
    let server = serve(config, shutdown);
    tokio::pin!(server);

    let name = tokio::select! {
        result = &mut server => return result,
        _ = sigint.recv() => "SIGINT",
        _ = sigterm.recv() => "SIGTERM",
    };
    tracing::info!("{name}: shutting down (send it again to stop at once)");
    trigger.trigger();

    tokio::select! {
        result = &mut server => result,
        _ = sigint.recv() => anyhow::bail!("stopped by a second SIGINT before shutdown finished"),
        _ = sigterm.recv() => anyhow::bail!("stopped by a second SIGTERM before shutdown finished"),
    }
}

/// Logs go to stderr; `RUST_LOG` (e.g. `surel=debug,info`) overrides the default level.
pub fn init_tracing(default: &str) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec:?} is not a valid log filter"))?,
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
