//! Who is on the other end: the peer address, or, when the peer is a declared trusted
//! proxy (`server.trusted_proxies`), what it says in `X-Forwarded-For` and
//! `X-Forwarded-Proto`. From any other peer those headers are removed unread, so no
//! handler can be fooled by a client that sets them itself.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The effective client of a request, as a request extension (set for every request
/// by [`client_info`]). `https` is true when the connection itself is TLS, or when a
/// trusted proxy says the client used https. Read it with
/// `req.extensions().get::<ClientInfo>()` or the `Extension<ClientInfo>` extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address: the peer's, or the one a trusted proxy forwarded.
    /// `0.0.0.0` when the server was called without a socket (in-process tests).
    pub ip: IpAddr,
    pub https: bool,
}

/// Set on a request (extension) when it carried forwarding headers (`X-Forwarded-*`,
/// `Forwarded`) from a peer that is not a trusted proxy; the headers themselves are
/// removed. Open mode refuses such requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UntrustedForwarding;

/// An address block such as `10.0.0.0/8`, or one address (`/32`, `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `IP` or `IP/PREFIX` (IPv4 or IPv6).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = ip.trim().parse().map_err(|_| {
            format!("{s:?} is not an IP address or CIDR block (e.g. \"10.0.0.0/8\")")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("{s:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Cidr {
            addr: canonical(addr),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// What [`client_info`] needs to know.
#[derive(Debug, Clone, Default)]
pub struct ProxyPolicy {
    pub trusted: Vec<Cidr>,
    /// The listener itself speaks TLS.
    pub tls: bool,
}

impl ProxyPolicy {
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }

    /// The effective client from the peer address and the request's headers.
    pub fn resolve(&self, peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> ClientInfo {
        let peer_ip = peer
            .map(canonical)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if peer.is_none() || !self.is_trusted(peer_ip) {
            return ClientInfo {
                ip: peer_ip,
                https: self.tls,
            };
        }
        // X-Forwarded-For: "client, proxy1, proxy2"; each proxy appends the peer it saw.
        // Walk from the right past our own trusted proxies: the first address that is not
        // one of them is the client (anything further left could be made up by it).
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| parse_forwarded_ip(s.trim()))
            .collect();
        let ip = forwarded
            .iter()
            .rev()
            .copied()
            .find(|ip| !self.is_trusted(*ip))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(peer_ip);
        // X-Forwarded-Proto: the scheme the client used at the first proxy.
        let https = match headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            Some(proto) => proto.trim().eq_ignore_ascii_case("https"),
            None => self.tls,
        };
        ClientInfo { ip, https }
    }
}

/// "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:80" or "2001:db8::1".
fn parse_forwarded_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// Middleware: sets [`ClientInfo`] on every request; strips forwarding headers that did
/// not come from a trusted proxy.
pub async fn client_info(
    State(policy): State<Arc<ProxyPolicy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let info = policy.resolve(peer, req.headers());
    let trusted = peer.is_some_and(|p| policy.is_trusted(p));
    if !trusted {
        let mut had = false;
        for h in [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "forwarded",
        ] {
            had |= req.headers_mut().remove(h).is_some();
        }
        if had {
            req.extensions_mut().insert(UntrustedForwarding);
        }
    }
    req.extensions_mut().insert(info);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_match_their_addresses_only() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.200.3.4")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "v4-mapped v6 peer");
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten.0.0.0/8").is_err());
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_peers() {
        let policy = ProxyPolicy {
            trusted: vec![Cidr::parse("10.0.0.0/8").unwrap()],
            tls: false,
        };
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.3"),
            ("x-forwarded-proto", "https"),
        ]);
        let via_proxy = policy.resolve(Some(ip("10.0.0.2")), &h);
        assert_eq!(via_proxy.ip, ip("203.0.113.7"), "rightmost untrusted hop");
        assert!(via_proxy.https);
        let direct = policy.resolve(Some(ip("198.51.100.9")), &h);
        assert_eq!(direct.ip, ip("198.51.100.9"));
        assert!(!direct.https);
        let no_headers = policy.resolve(Some(ip("10.0.0.2")), &HeaderMap::new());
        assert_eq!(no_headers.ip, ip("10.0.0.2"));
        assert!(!no_headers.https);
    }
}
