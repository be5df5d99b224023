//! TLS for `https://` servers: certificates are verified against the OS's trust
//! store (an enterprise CA installed there works) and, when given, an extra CA
//! file. A certificate that fails is said in words, and is final: retrying
//! cannot make an untrusted or expired certificate good.

use std::path::Path;
use std::sync::Arc;

use rustls::{CertificateError, ClientConfig};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::Error;

/// The client TLS settings: the OS's trust store plus the CA certificates of `ca_file` (PEM).
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let extra: Vec<CertificateDer<'static>> = match ca_file {
        None => Vec::new(),
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| {
                Error::Certificate(format!("the CA file {} cannot be used: {e}", path.display()))
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| unreadable(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unreadable(&e))?;
            if certs.is_empty() {
                return Err(unreadable(&"it holds no PEM certificate"));
            }
            certs
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .map_err(|e| Error::Certificate(format!("the system's trust store cannot be read: {e}")))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Certificate(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificate problem inside an I/O error of a TLS handshake, in words; `None`
/// when the error is about something else (a refused connection, a timeout).
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(rustls::Error::InvalidCertificate(problem)) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(problem));
        }
        // An I/O error wraps the TLS error itself; its `source` would skip over it.
        cause = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe(problem: &CertificateError) -> String {
    let what = match problem {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "has expired".to_owned(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "is not valid yet (check this computer's clock)".to_owned()
        }
        CertificateError::UnknownIssuer => "is signed by an authority this computer does not trust; install your \
                                            organisation's CA certificate in the system's trust store, or choose \
                                            it as the CA file"
            .to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "was made for another server name".to_owned()
        }
        CertificateError::Revoked => "has been revoked".to_owned(),
        other => format!("is not acceptable ({other:?})"),
    };
    format!("the server's certificate {what}")
}
