//! Real servers on 127.0.0.1 for the alert integration tests: a minimal SMTP sink
//! speaking the actual protocol over TCP (EHLO/MAIL/RCPT/DATA/QUIT), and an HTTP
//! receiver for webhooks. Each runs on its own thread and records what it got.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One message accepted by the sink.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub rcpt: Vec<String>,
    /// The DATA section, dot-unstuffed, with quoted-printable soft breaks and
    /// escapes decoded so tests can search the text.
    pub data: String,
    /// The user that authenticated on this session (None: no AUTH).
    pub auth_user: Option<String>,
    /// The session was encrypted when the message was accepted.
    pub encrypted: bool,
}

/// How the sink secures the session and whom it lets in.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Server certificate and key. With `implicit_tls` the session is TLS from the
    /// first byte (SMTPS); otherwise STARTTLS is offered and required before MAIL.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub implicit_tls: bool,
    /// Required credentials (user, password); AUTH is offered only once encrypted
    /// when `tls` is set, like real submission servers.
    pub auth: Option<(String, String)>,
    /// AUTH mechanisms offered, e.g. ["PLAIN", "LOGIN"] (default both).
    pub mechanisms: Vec<&'static str>,
}

pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    /// Every AUTH attempt: (user, accepted).
    pub auth_attempts: Arc<Mutex<Vec<(String, bool)>>>,
    /// Sessions whose TLS handshake failed (e.g. the client did not trust us).
    pub tls_failures: Arc<Mutex<usize>>,
}

impl SmtpSink {
    /// Starts a plain sink on `port` (0 = any free port), no TLS, no AUTH.
    pub fn start(port: u16) -> SmtpSink {
        SmtpSink::start_with(port, SinkOptions::default())
    }

    pub fn start_with(port: u16, opts: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let sink = SmtpSink {
            port,
            mails: Arc::default(),
            auth_attempts: Arc::default(),
            tls_failures: Arc::default(),
        };
        let shared = (
            sink.mails.clone(),
            sink.auth_attempts.clone(),
            sink.tls_failures.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (mails, auths, fails) = shared.clone();
                let opts = opts.clone();
                thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(20)));
                    let mut s = Session {
                        opts,
                        mails,
                        auths,
                        tls_failures: fails,
                    };
                    let _ = s.run(conn);
                });
            }
        });
        sink
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn auth_attempts(&self) -> Vec<(String, bool)> {
        self.auth_attempts.lock().unwrap().clone()
    }

    pub fn tls_failures(&self) -> usize {
        *self.tls_failures.lock().unwrap()
    }
}

/// A session's byte stream: plain TCP, or TLS over it after STARTTLS / on connect.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

struct Session {
    opts: SinkOptions,
    mails: Arc<Mutex<Vec<Mail>>>,
    auths: Arc<Mutex<Vec<(String, bool)>>>,
    tls_failures: Arc<Mutex<usize>>,
}

fn send(r: &mut BufReader<Conn>, text: &str) -> std::io::Result<()> {
    let w = r.get_mut();
    w.write_all(text.as_bytes())?;
    w.flush()
}

impl Session {
    /// Wraps `tcp` in TLS and completes the handshake now, so a client that does not
    /// trust the certificate is counted here.
    fn upgrade(&self, tcp: TcpStream) -> std::io::Result<Conn> {
        let cfg = self.opts.tls.clone().expect("TLS configured");
        let conn = rustls::ServerConnection::new(cfg).map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                *self.tls_failures.lock().unwrap() += 1;
                return Err(e);
            }
        }
        Ok(Conn::Tls(Box::new(tls)))
    }

    fn run(&mut self, tcp: TcpStream) -> std::io::Result<()> {
        let implicit = self.opts.implicit_tls && self.opts.tls.is_some();
        let conn = if implicit {
            self.upgrade(tcp)?
        } else {
            Conn::Plain(tcp)
        };
        let mut r = BufReader::new(conn);
        send(&mut r, "220 sink.test ESMTP ready\r\n")?;
        let (mut from, mut rcpt) = (String::new(), Vec::new());
        let mut user: Option<String> = None;
        let mut line = String::new();
        loop {
            let encrypted = matches!(r.get_ref(), Conn::Tls(_));
            let tls_pending = self.opts.tls.is_some() && !encrypted;
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                let mut ext = vec!["sink.test".to_string(), "8BITMIME".into()];
                if tls_pending {
                    ext.push("STARTTLS".into());
                }
                if self.opts.auth.is_some() && !tls_pending {
                    let m = if self.opts.mechanisms.is_empty() {
                        vec!["PLAIN", "LOGIN"]
                    } else {
                        self.opts.mechanisms.clone()
                    };
                    ext.push(format!("AUTH {}", m.join(" ")));
                }
                ext.push("SMTPUTF8".into());
                let n = ext.len();
                let reply: String = ext
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("250{}{e}\r\n", if i + 1 < n { "-" } else { " " }))
                    .collect();
                send(&mut r, &reply)?;
            } else if upper == "STARTTLS" && tls_pending {
                send(&mut r, "220 2.0.0 go ahead\r\n")?;
                let Conn::Plain(tcp) = r.into_inner() else {
                    unreachable!()
                };
                r = BufReader::new(self.upgrade(tcp)?);
                // RFC 3207: forget everything learnt before TLS.
                (from, rcpt, user) = (String::new(), Vec::new(), None);
            } else if upper.starts_with("AUTH ") && !tls_pending && self.opts.auth.is_some() {
                let (u, p) = self.read_auth(&mut r, &cmd)?;
                let (want_u, want_p) = self.opts.auth.clone().unwrap();
                let ok = u == want_u && p == want_p;
                self.auths.lock().unwrap().push((u.clone(), ok));
                if ok {
                    user = Some(u);
                    send(&mut r, "235 2.7.0 Authentication successful\r\n")?;
                } else {
                    send(&mut r, "535 5.7.8 Authentication credentials invalid\r\n")?;
                }
            } else if upper.starts_with("MAIL FROM:") {
                if tls_pending {
                    send(&mut r, "530 5.7.0 Must issue a STARTTLS command first\r\n")?;
                } else if self.opts.auth.is_some() && user.is_none() {
                    send(&mut r, "530 5.7.0 Authentication required\r\n")?;
                } else {
                    from = cmd[10..].trim().to_string();
                    rcpt.clear();
                    send(&mut r, "250 OK\r\n")?;
                }
            } else if upper.starts_with("RCPT TO:") {
                rcpt.push(cmd[8..].trim().to_string());
                send(&mut r, "250 OK\r\n")?;
            } else if upper == "DATA" {
                send(&mut r, "354 end with <CRLF>.<CRLF>\r\n")?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                self.mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    rcpt: rcpt.clone(),
                    data: decode_qp(&data),
                    auth_user: user.clone(),
                    encrypted,
                });
                send(&mut r, "250 OK queued\r\n")?;
            } else if upper == "QUIT" {
                send(&mut r, "221 bye\r\n")?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                send(&mut r, "250 OK\r\n")?;
            } else {
                send(&mut r, "502 not implemented\r\n")?;
            }
        }
    }

    /// AUTH PLAIN (initial response or 334 challenge) and AUTH LOGIN; returns the
    /// decoded (user, password).
    fn read_auth(&self, r: &mut BufReader<Conn>, cmd: &str) -> std::io::Result<(String, String)> {
        let mut words = cmd.split_whitespace().skip(1);
        let mech = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(String::from);
        let next_line = |r: &mut BufReader<Conn>, prompt: &str| -> std::io::Result<String> {
            send(r, &format!("334 {prompt}\r\n"))?;
            let mut l = String::new();
            r.read_line(&mut l)?;
            Ok(l.trim().to_string())
        };
        let bad = || std::io::Error::other("bad AUTH");
        match mech.as_str() {
            "PLAIN" => {
                let b64 = match initial {
                    Some(i) => i,
                    None => next_line(r, "")?,
                };
                let raw = base64_decode(&b64).ok_or_else(bad)?;
                let mut parts = raw.split(|&b| b == 0).skip(1);
                let u = String::from_utf8_lossy(parts.next().ok_or_else(bad)?).into_owned();
                let p = String::from_utf8_lossy(parts.next().ok_or_else(bad)?).into_owned();
                Ok((u, p))
            }
            "LOGIN" => {
                let u64 = match initial {
                    Some(i) => i,
                    None => next_line(r, "VXNlcm5hbWU6")?,
                };
                let p64 = next_line(r, "UGFzc3dvcmQ6")?;
                let u = base64_decode(&u64).ok_or_else(bad)?;
                let p = base64_decode(&p64).ok_or_else(bad)?;
                Ok((
                    String::from_utf8_lossy(&u).into_owned(),
                    String::from_utf8_lossy(&p).into_owned(),
                ))
            }
            _ => Err(bad()),
        }
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHA.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A private CA and a certificate it signed for `localhost` and `127.0.0.1`.
pub struct TestPki {
    /// PEM of the CA certificate (what `ca_file` points to).
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

impl TestPki {
    pub fn new() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Lookout test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP request received by [`HttpReceiver`].
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct HttpReceiver {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl HttpReceiver {
    pub fn start() -> HttpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind HTTP receiver");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let store = requests.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let store = store.clone();
                thread::spawn(move || {
                    let _ = serve(conn, &store);
                });
            }
        });
        HttpReceiver { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, store: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    store.lock().unwrap().push(Request {
        path,
        headers,
        body,
    });
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")?;
    Ok(())
}

/// A port with nothing listening on it (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
