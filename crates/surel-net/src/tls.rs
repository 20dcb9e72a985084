//! The server's TLS configuration: the configured certificate files, or a self-signed
//! certificate for `hostname` made on first start and kept in the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use surel_config::Config;

use crate::NetError;

/// Accepts TLS handshakes with the server's certificate.
pub type TlsAcceptor = tokio_rustls::TlsAcceptor;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The server side of a TLS handshake on `tcp` (after STARTTLS/STLS, or first thing on an
/// implicit-TLS port), bounded in time; `None` (logged) if it failed or timed out, and the
/// connection is then dropped.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: tokio::net::TcpStream,
) -> Option<crate::MaybeTls> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => {
            let stream = crate::MaybeTls::Tls(Box::new(tls));
            tracing::debug!(
                tls = stream.tls_summary().unwrap_or_default(),
                "TLS started"
            );
            Some(stream)
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::info!("TLS handshake timed out");
            None
        }
    }
}

/// Where the self-signed certificate and key are kept.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("self-signed.crt"), dir.join("self-signed.key"))
}

/// Builds the acceptor from `[tls]`, or from the self-signed pair (made now if missing).
/// Returns the acceptor and a line saying which certificate it uses.
pub fn acceptor(config: &Config) -> Result<(TlsAcceptor, String), NetError> {
    let (cert, key, what) = match &config.tls {
        Some(files) => (
            files.cert.clone(),
            files.key.clone(),
            format!("certificate {}", files.cert.display()),
        ),
        None => {
            let (cert, key) = self_signed_paths(&config.data_dir);
            if !cert.exists() || !key.exists() {
                make_self_signed(&config.hostname, &cert, &key)?;
            }
            let what = format!(
                "self-signed certificate for {} ({})",
                config.hostname,
                cert.display()
            );
            (cert, key, what)
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| NetError::Tls(format!("cannot read {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(NetError::Tls(format!(
            "{} holds no certificate",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| NetError::Tls(format!("cannot read {}: {e}", key.display())))?;
    let server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            NetError::Tls(format!(
                "{} and {} do not fit: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    Ok((TlsAcceptor::from(Arc::new(server)), what))
}

fn make_self_signed(hostname: &str, cert: &Path, key: &Path) -> Result<(), NetError> {
    let mut names = vec![hostname.to_string()];
    if hostname != "localhost" {
        names.push("localhost".to_string());
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| NetError::Tls(format!("cannot make a certificate: {e}")))?;
    let dir = cert.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| NetError::Tls(format!("cannot create {}: {e}", dir.display())))?;
    write_private(key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert, made.cert.pem())
        .map_err(|e| NetError::Tls(format!("cannot write {}: {e}", cert.display())))?;
    tracing::info!(cert = %cert.display(), "made a self-signed certificate");
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), NetError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| NetError::Tls(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(bytes)
        .map_err(|e| NetError::Tls(format!("cannot write {}: {e}", path.display())))
}
