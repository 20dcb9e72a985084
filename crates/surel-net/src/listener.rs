use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::{ConnectionLimiter, ConnectionPermit, LimitHit, NetError, Shutdown};

/// One accepted connection, with its place under the caps (or which cap refused it: the
/// protocol answers with its own "too many connections" reply and closes).
pub struct Accepted {
    /// The socket.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// The connection's place, or the cap it hit.
    pub permit: Result<ConnectionPermit, LimitHit>,
}

/// A bound TCP listener of one service.
pub struct Listener {
    inner: TcpListener,
    local: SocketAddr,
    limiter: Arc<ConnectionLimiter>,
}

impl Listener {
    /// Binds `addr`; connections count against `limiter`, which the service's listeners share.
    pub async fn bind(addr: SocketAddr, limiter: Arc<ConnectionLimiter>) -> Result<Self, NetError> {
        let inner = TcpListener::bind(addr)
            .await
            .map_err(|source| NetError::Bind { addr, source })?;
        let local = inner
            .local_addr()
            .map_err(|source| NetError::Bind { addr, source })?;
        Ok(Self {
            inner,
            local,
            limiter,
        })
    }

    /// The address actually bound (the port is known here when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts until shutdown, running `handler` for each connection as a task on `tracker`.
    pub fn spawn<F, Fut>(self, tracker: &TaskTracker, mut shutdown: Shutdown, handler: F)
    where
        F: Fn(Accepted) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let sessions = tracker.clone();
        tracker.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = shutdown.wait() => break,
                    accepted = self.inner.accept() => accepted,
                };
                match accepted {
                    Ok((stream, peer)) => {
                        // Replies are small and often pipelined: do not let Nagle hold them back.
                        let _ = stream.set_nodelay(true);
                        let permit = self.limiter.try_acquire(peer.ip());
                        sessions.spawn(handler(Accepted {
                            stream,
                            peer,
                            local: self.local,
                            permit,
                        }));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little instead of spinning.
                        tracing::warn!(listener = %self.local, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            tracing::debug!(listener = %self.local, "listener stopped");
        });
    }
}

/// Binds a service's plain listeners (`plain`, e.g. POP3 with STLS) and implicit-TLS ones
/// (`implicit`, e.g. POP3S) on one connection limiter and serves them on `tracker` until
/// `shutdown`, running `handler(accepted, implicit_tls)` for each connection. Returns one
/// `NAME listening on ADDR` line per listener for the start-up summary (`names` = the plain and
/// the implicit-TLS service names).
pub async fn serve_pair<F, Fut>(
    names: (&str, &str),
    plain: &[SocketAddr],
    implicit: &[SocketAddr],
    limiter: Arc<ConnectionLimiter>,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
    handler: F,
) -> Result<Vec<String>, NetError>
where
    F: Fn(Accepted, bool) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut lines = Vec::new();
    let services = plain
        .iter()
        .map(|a| (a, false))
        .chain(implicit.iter().map(|a| (a, true)));
    for (addr, implicit_tls) in services {
        let listener = Listener::bind(*addr, limiter.clone()).await?;
        let name = if implicit_tls { names.1 } else { names.0 };
        lines.push(format!("{name} listening on {}", listener.local_addr()));
        let handler = handler.clone();
        listener.spawn(tracker, shutdown.clone(), move |accepted| {
            handler(accepted, implicit_tls)
        });
    }
    Ok(lines)
}
