//! The offline sub-commands: `detect`, `eval`, `model ...` and `healthcheck`. Each returns
//! the process exit code: 0 success, 1 failure, 2 bad input or usage.

use crate::config::Settings;
use crate::runtime::now_ms;
use lookout::detect::{
    run_detect_with, run_eval_with, DetectOptions, EvalMode, LiveConfig, ModelRegistry, Protocol,
    Sensitivity, TrainParams,
};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::exit_with as fail;

/// `lookout healthcheck`: GET /healthz on the local server; 0 when it answers 200, else 1.
/// The Docker HEALTHCHECK runs it, so the image needs no curl. It connects to the configured
/// bind address (so `PORT` counts), or to loopback when that is a wildcard address, and
/// speaks https when native TLS is on, accepting exactly the configured `tls.cert`.
pub fn healthcheck(settings: &Settings) -> u8 {
    let addr = health_addr(settings.bind);
    let tls = settings.edge.tls.is_some();
    let url = format!("{}://{addr}/healthz", if tls { "https" } else { "http" });
    let timeout = Duration::from_secs(4);
    let status = TcpStream::connect_timeout(&addr, timeout).and_then(|tcp| {
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        if tls {
            let mut stream = pinned_tls(Path::new(settings.config.tls.cert.trim()), tcp)?;
            http_status(&mut stream, addr, "/healthz")
        } else {
            let mut tcp = tcp;
            http_status(&mut tcp, addr, "/healthz")
        }
    });
    match status {
        Ok(200) => {
            println!("ok");
            0
        }
        Ok(status) => fail(1, format!("GET {url}: HTTP {status}")),
        Err(e) => fail(1, format!("GET {url}: {e}")),
    }
}

/// Where a local client reaches a server bound to `bind`.
pub fn health_addr(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// The status code of a plain HTTP/1.1 GET (no HTTP client in the binary).
fn http_status(stream: &mut impl ReadWrite, addr: SocketAddr, path: &str) -> io::Result<u16> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: lookout-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|s| s.parse().ok())) {
        (Some(v), Some(status)) if v.starts_with("HTTP/1.") => Ok(status),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the answer is not an HTTP response",
        )),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A TLS client stream that accepts exactly the server certificate in `cert_file` (the
/// configured `tls.cert`): the health check talks to its own server on loopback, where no
/// name or CA would mean anything, but a different certificate would.
fn pinned_tls(cert_file: &Path, tcp: TcpStream) -> io::Result<impl ReadWrite> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, StreamOwned};
    let other = |e: String| io::Error::other(e);
    let leaf = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| other(format!("tls.cert {}: {e}", cert_file.display())))?
        .next()
        .ok_or_else(|| other(format!("tls.cert {}: no certificate", cert_file.display())))?
        .map_err(|e| other(format!("tls.cert {}: {e}", cert_file.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedCert {
        leaf,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| other(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").map_err(|e| other(e.to_string()))?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| other(e.to_string()))?;
    Ok(StreamOwned::new(conn, tcp))
}

#[derive(Debug)]
struct PinnedCert {
    leaf: rustls_pki_types::CertificateDer<'static>,
    provider: Arc<tokio_rustls::rustls::crypto::CryptoProvider>,
}

mod pinned {
    use super::PinnedCert;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tokio_rustls::rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
    use tokio_rustls::rustls::{DigitallySignedStruct, Error, SignatureScheme};

    impl ServerCertVerifier for PinnedCert {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            if end_entity.as_ref() == self.leaf.as_ref() {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(Error::General(
                    "the server's certificate is not the configured tls.cert".into(),
                ))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}

/// `lookout detect [--train TRAIN.csv] [--events] < TEST.csv > SCORES.csv`: the server's
/// pipeline on the CSV's own time; what could not be scored is said on stderr.
pub fn detect(train_file: Option<&Path>, events: bool, sensitivity: &str, adapt_after: &str) -> u8 {
    let sensitivity = match Sensitivity::parse(sensitivity) {
        Ok(s) => s,
        Err(e) => return fail(2, format!("--sensitivity: {e}")),
    };
    let adapt_after = match lookout::time::parse_duration(adapt_after).ok() {
        Some(d) if d.as_secs() >= 60 => d.as_secs() as i64,
        _ => {
            return fail(
                2,
                format!(
                    "--adapt-after {adapt_after:?}: write a duration of 1m or more, e.g. \"30m\""
                ),
            )
        }
    };
    let train_input = match train_file.map(File::open).transpose() {
        Ok(f) => f.map(BufReader::new),
        Err(e) => return fail(2, format!("cannot read --train file: {e}")),
    };
    let options = DetectOptions {
        events,
        surprise: false,
        config: LiveConfig {
            sensitivity,
            adapt_after_secs: adapt_after,
            ..LiveConfig::default()
        },
    };
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    match run_detect_with(train_input, stdin, stdout, &options) {
        Ok(summary) => {
            for line in summary.lines() {
                eprintln!("lookout detect: {line}");
            }
            0
        }
        Err(e) => fail(2, e),
    }
}

/// `lookout eval --data DIR --labels LABELS.json [--plain-forest] [--protocol online|nab]`
pub fn eval(data: &Path, labels: &Path, plain_forest: bool, protocol: &str) -> u8 {
    let mode = if plain_forest {
        EvalMode::PlainForest
    } else {
        EvalMode::Ensemble
    };
    let protocol = match protocol {
        "online" => Protocol::Online,
        "nab" => Protocol::Nab,
        other => return fail(2, format!("--protocol {other:?}: allowed: online, nab")),
    };
    match run_eval_with(data, labels, mode, protocol) {
        Ok(report) => {
            println!("{report}");
            0
        }
        Err(e) => fail(2, e),
    }
}

fn registry(settings: &Settings) -> Result<ModelRegistry, u8> {
    ModelRegistry::open(&settings.detector.models_dir, settings.detector.keep_models).map_err(|e| {
        fail(
            1,
            format!(
                "cannot open models folder {}: {e}",
                settings.detector.models_dir.display()
            ),
        )
    })
}

/// `lookout model list`
pub fn model_list(settings: &Settings) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let (infos, warnings) = reg.list();
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if infos.is_empty() {
        println!("no models in {}", settings.detector.models_dir.display());
        return 0;
    }
    println!(
        "{:>7}  {:<24}  {:>9}  {:<20}  file",
        "version", "trained at (UTC)", "samples", "members"
    );
    for i in infos {
        println!(
            "{:>7}  {:<24}  {:>9}  {:<20}  {}{}",
            format!("v{}", i.version),
            utc(i.trained_at),
            i.samples,
            i.members.join(","),
            i.path.display(),
            i.rolled_back_from
                .map(|v| format!(" (rollback of v{v})"))
                .unwrap_or_default()
        );
    }
    0
}

/// `lookout model show VERSION`: the metadata as JSON (no model weights).
pub fn model_show(settings: &Settings, version: u64) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    match reg.load(version) {
        Ok(m) => {
            let meta = serde_json::json!({
                "version": m.version,
                "format_version": m.format_version,
                "trained_at": m.trained_at,
                "trained_at_utc": utc(m.trained_at),
                "window": [m.window.0, m.window.1],
                "samples": m.samples,
                "metrics": m.metrics,
                "features": m.features,
                "members": m.member_names(),
                "params": m.params,
                "calibration": m.calibration,
                "bands": m.bands,
                "expected": m.expected,
                "eval": m.eval,
                "rolled_back_from": m.rolled_back_from,
                "warnings": m.warnings,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&meta).unwrap_or_default()
            );
            0
        }
        Err(e) => fail(1, format!("model v{version}: {e}")),
    }
}

/// `lookout model rollback VERSION`: the old version becomes the newest; a running
/// server switches to it within 30 s.
pub fn model_rollback(settings: &Settings, version: u64) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    match reg.rollback(version) {
        Ok(m) => {
            println!("rolled back: v{} is now a copy of v{version}", m.version);
            0
        }
        Err(e) => fail(1, format!("cannot roll back to v{version}: {e}")),
    }
}

/// `lookout model train`: trains on the store's recent window and saves a version;
/// a running server picks it up within 30 s.
pub fn model_train(settings: &Settings) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let store = match crate::open_store(settings) {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };
    let now = now_ms();
    let from = now - settings.detector.training_window.as_millis() as i64;
    // What the server's scheduled training reads: the configured window up to now.
    let plan = lookout::detect::TrainingPlan {
        from,
        to: now,
        expected: Vec::new(),
        anomalous: Vec::new(),
        params: TrainParams {
            members: settings.detector.members,
            metric_names: lookout::model::detector_metric_names(),
            ..TrainParams::default()
        },
    };
    let started = std::time::Instant::now();
    let mut model = match lookout::detect::train_from_store(&store, plan) {
        Ok(m) => m,
        Err(e) => return fail(1, e),
    };
    match reg.save(&mut model) {
        Ok(v) => {
            let _ = reg.prune();
            println!(
                "trained v{v} on {} samples in {:.2} s ({})",
                model.samples,
                started.elapsed().as_secs_f64(),
                model.member_names().join(", ")
            );
            0
        }
        Err(e) => fail(1, format!("cannot save the model: {e}")),
    }
}

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS" (UTC).
pub fn utc(ms: i64) -> String {
    let t = lookout::alert::render::format_time(ms);
    t.trim_end_matches(" UTC").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_795_623_471_073), "2026-11-25 16:17:51");
    }

    #[test]
    fn healthcheck_reaches_a_wildcard_bind_on_loopback() {
        let at = |s: &str| super::health_addr(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:3000"), "127.0.0.1:3000");
        assert_eq!(at("[::]:8080"), "[::1]:8080");
        assert_eq!(at("10.1.2.3:3000"), "10.1.2.3:3000");
        assert_eq!(at("127.0.0.1:9"), "127.0.0.1:9");
    }
}
