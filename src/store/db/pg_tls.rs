//! TLS to the database server, read the way libpq reads `sslmode`, so a
//! studio's existing URLs and `PG*` variables mean what they always meant:
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted if the server offers it
//!   (`require`: or refused); the certificate is checked against a root
//!   certificate only when one is given (`sslrootcert` or `PGSSLROOTCERT`),
//!   as libpq does with a root file;
//! - `verify-ca`: the chain must lead to the given root (or, without one,
//!   to the system's roots); `verify-full`: that, and the certificate must
//!   name the host.
//!
//! The `postgres` crate parses only `disable`, `prefer` and `require`, and
//! no `sslrootcert`, so both are taken out of the URL here first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Not at all (encryption only: `prefer`/`require` without a root).
    Nothing,
    /// The chain leads to a trusted root (`verify-ca`, or a root given).
    Chain,
    /// The chain, and the certificate names the host (`verify-full`).
    ChainAndHost,
}

/// What the URL and environment ask of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRequest {
    /// `sslmode` for the `postgres` crate (`disable`, `prefer`, `require`).
    pub mode: &'static str,
    /// How the certificate is checked.
    pub verify: Verify,
    /// The root certificate file, if one was named.
    pub root: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of `url`'s query (falling back to
/// `PGSSLMODE` and `PGSSLROOTCERT` through `env`); returns the URL the
/// `postgres` crate can parse and what was asked.
///
/// # Errors
/// [`Error::DatabaseUrl`] for an `sslmode` libpq does not know.
pub fn split_url(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(String, TlsRequest)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let (mut mode, mut root) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => mode = Some(value.to_string()),
            Some(("sslrootcert", value)) => root = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    let mode = mode
        .or_else(|| env("PGSSLMODE"))
        .unwrap_or_else(|| "prefer".into());
    let root = root
        .or_else(|| env("PGSSLROOTCERT"))
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    let given = if root.is_some() {
        Verify::Chain
    } else {
        Verify::Nothing
    };
    let (mode, verify) = match mode.as_str() {
        "disable" | "allow" => ("disable", Verify::Nothing),
        "prefer" => ("prefer", given),
        "require" => ("require", given),
        "verify-ca" => ("require", Verify::Chain),
        "verify-full" => ("require", Verify::ChainAndHost),
        other => {
            return Err(Error::DatabaseUrl {
                reason: format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ),
            });
        }
    };
    kept.push(match mode {
        "disable" => "sslmode=disable",
        "require" => "sslmode=require",
        _ => "sslmode=prefer",
    });
    Ok((
        format!("{base}?{}", kept.join("&")),
        TlsRequest { mode, verify, root },
    ))
}

/// The connector for `request`.
///
/// # Errors
/// [`Error::DatabaseUrl`] when the root certificate file cannot be read or
/// holds no certificate.
pub fn connector(request: &TlsRequest) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    // Named, not the process default: the dependency tree compiles in two
    // providers, and rustls refuses to pick between them.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_setup(format!("TLS setup failed: {e}")))?;
    let config = match request.verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
        Verify::Chain | Verify::ChainAndHost => {
            let roots = Arc::new(roots(request.root.as_deref())?);
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots,
                provider.clone(),
            )
            .build()
            .map_err(|e| tls_setup(format!("TLS setup failed: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = if request.verify == Verify::Chain {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn tls_setup(reason: String) -> Error {
    Error::DatabaseUrl { reason }
}

/// The given root file's certificates, or the system's roots.
fn roots(root: Option<&Path>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        Some(path) => {
            let unreadable =
                |why: String| tls_setup(format!("sslrootcert {}: {why}", path.display()));
            // rustls's PEM errors print raw bytes: say it in words.
            let not_pem = |e: rustls::pki_types::pem::Error| match e {
                rustls::pki_types::pem::Error::Io(io) => unreadable(io.to_string()),
                _ => unreadable("not a readable PEM file".into()),
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(not_pem)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(not_pem)?;
            if certs.is_empty() {
                return Err(unreadable("no PEM certificate in it".into()));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| unreadable(format!("not a usable root: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(tls_setup(
                    "no system root certificates to check the server against: set sslrootcert"
                        .into(),
                ));
            }
        }
    }
    Ok(store)
}

/// Encryption without checking who answers: libpq's `require` without a
/// root file. The handshake's signatures are still checked, so the session
/// is bound to the key the server presented.
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// libpq's `verify-ca`: the chain must lead to a trusted root, whatever
/// host name the certificate carries.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `%XX` escapes in a query value (a root file path may hold spaces).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str, vars: &[(&str, &str)]) -> Result<(String, TlsRequest)> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        split_url(url, &|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn libpq_modes_map_to_what_the_postgres_crate_parses_and_a_check() {
        let cases = [
            ("disable", "disable", Verify::Nothing),
            ("allow", "disable", Verify::Nothing),
            ("prefer", "prefer", Verify::Nothing),
            ("require", "require", Verify::Nothing),
            ("verify-ca", "require", Verify::Chain),
            ("verify-full", "require", Verify::ChainAndHost),
        ];
        for (asked, mode, verify) in cases {
            let (url, request) = split(&format!("postgres://a@h/db?sslmode={asked}"), &[]).unwrap();
            assert_eq!(url, format!("postgres://a@h/db?sslmode={mode}"), "{asked}");
            assert_eq!((request.mode, request.verify), (mode, verify), "{asked}");
        }
    }

    #[test]
    fn a_root_file_makes_require_check_the_chain_as_libpq_does() {
        let (url, request) = split(
            "postgres://a@h/db?application_name=x&sslrootcert=/etc/my%20ca.pem&sslmode=require",
            &[],
        )
        .unwrap();
        assert_eq!(url, "postgres://a@h/db?application_name=x&sslmode=require");
        assert_eq!(request.verify, Verify::Chain);
        assert_eq!(request.root, Some(PathBuf::from("/etc/my ca.pem")));
    }

    #[test]
    fn the_url_wins_over_the_environment_which_wins_over_prefer() {
        let env = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "/ca.pem")];
        let (_, from_env) = split("postgres://a@h/db", &env).unwrap();
        assert_eq!(from_env.verify, Verify::ChainAndHost);
        assert_eq!(from_env.root, Some(PathBuf::from("/ca.pem")));
        let (_, from_url) = split("postgres://a@h/db?sslmode=disable", &env).unwrap();
        assert_eq!(from_url.mode, "disable");
        let (url, default) = split("postgres://a@h/db", &[]).unwrap();
        assert_eq!(url, "postgres://a@h/db?sslmode=prefer");
        assert_eq!((default.mode, default.verify), ("prefer", Verify::Nothing));
    }

    #[test]
    fn an_unknown_mode_is_refused_by_name() {
        let err = split("postgres://a@h/db?sslmode=strict", &[]).unwrap_err();
        assert!(err.to_string().contains("\"strict\""), "{err}");
    }

    #[test]
    fn a_root_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let request = TlsRequest {
            mode: "require",
            verify: Verify::Chain,
            root: Some(path),
        };
        let err = connector(&request).err().unwrap();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}
