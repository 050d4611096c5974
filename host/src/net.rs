//! Outbound HTTP: the SSRF guard every upstream request passes (schedule sources, extractor
//! `fetch`, relay) and the pooled client built around it.
//!
//! Only `http`/`https` URLs are accepted. Loopback, private, link-local, shared, documentation,
//! multicast and cloud-metadata addresses are refused after DNS resolution (in the client's
//! resolver, so every connection and every redirect hop is checked), unless the URL's host is
//! listed in `--allow-upstream` (`HOST` for any port, `HOST:PORT` for one; matched as written).
//! IPv6 forms that embed an IPv4 address (mapped, compatible, translated, 6to4, Teredo, NAT64)
//! are refused or judged by the address they embed. The client never uses a system proxy
//! (`HTTP(S)_PROXY`): a proxy would connect on our behalf, past the resolver's check.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Why an upstream URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Not an absolute http(s) URL.
    #[error("refused {0}: only absolute http and https URLs are fetched")]
    Scheme(String),
    /// The address is private, loopback, link-local or metadata.
    #[error("refused {host}: {addr} is a {kind} address (allow it with --allow-upstream {host})")]
    Blocked {
        /// Host as written in the URL.
        host: String,
        /// The address it is or resolved to.
        addr: IpAddr,
        /// What kind of address.
        kind: &'static str,
    },
    /// The host is allowed, but only on another port.
    #[error("refused {0}: --allow-upstream lists this host with another port")]
    Port(String),
}

/// One `--allow-upstream` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: String,
    port: Option<u16>,
}

/// The upstream policy: which blocked hosts are nonetheless allowed, and which names resolve to
/// a fixed address (demo mode maps `*.demo.invalid` to the in-process testbed).
#[derive(Debug, Clone, Default)]
pub struct UpstreamGuard {
    allow: Arc<Vec<AllowEntry>>,
    overrides: Arc<Vec<Override>>,
}

/// A domain (and every name under it) resolved to a fixed address, reachable on listed ports.
#[derive(Debug, Clone)]
struct Override {
    domain: String,
    ip: IpAddr,
    ports: Vec<u16>,
}

impl UpstreamGuard {
    /// Builds the guard from `--allow-upstream` entries (`HOST`, `HOST:PORT`, `[V6]:PORT`).
    pub fn new(entries: &[String]) -> Self {
        let allow = entries.iter().map(|e| parse_entry(e.trim())).collect();
        UpstreamGuard { allow: Arc::new(allow), overrides: Arc::default() }
    }

    /// Resolves `domain` and every name under it to `ip`, and allows them upstream on `ports`
    /// only (the demo's testbed ports, not every service on that address).
    pub fn with_override(mut self, domain: &str, ip: IpAddr, ports: &[u16]) -> Self {
        let mut overrides = Vec::clone(&self.overrides);
        overrides.push(Override {
            domain: domain.trim_start_matches("*.").to_ascii_lowercase(),
            ip,
            ports: ports.to_vec(),
        });
        self.overrides = Arc::new(overrides);
        self
    }

    fn overridden(&self, name: &str) -> Option<&Override> {
        let name = name.to_ascii_lowercase();
        self.overrides.iter().find(|o| name == o.domain || name.ends_with(&format!(".{}", o.domain)))
    }

    /// Checks a URL before a request or redirect hop. Host names are checked again, address by
    /// address, when the client resolves them.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(GuardError::Scheme(redact(url)));
        }
        let Some(host) = url.host_str() else { return Err(GuardError::Scheme(redact(url))) };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default();
        if let Some(o) = self.overridden(host) {
            return match port {
                Some(port) if o.ports.contains(&port) => Ok(()),
                _ => Err(GuardError::Port(format!("{host}:{}", port.unwrap_or(0)))),
            };
        }
        let mut listed = false;
        for entry in self.allow.iter() {
            if entry.host.eq_ignore_ascii_case(host) {
                listed = true;
                if entry.port.is_none() || entry.port == port {
                    return Ok(());
                }
            }
        }
        if listed {
            return Err(GuardError::Port(format!("{host}:{}", port.unwrap_or(0))));
        }
        if let Ok(addr) = host.parse::<IpAddr>()
            && let Some(kind) = blocked_kind(addr)
        {
            return Err(GuardError::Blocked { host: host.to_string(), addr, kind });
        }
        Ok(())
    }

    fn name_allowed(&self, name: &str) -> bool {
        self.allow.iter().any(|e| e.host.eq_ignore_ascii_case(name))
    }
}

fn parse_entry(entry: &str) -> AllowEntry {
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return AllowEntry { host: addr.ip().to_string(), port: Some(addr.port()) };
    }
    if let Some((host, port)) = entry.rsplit_once(':')
        && !host.contains(':')
        && let Ok(port) = port.parse()
    {
        return AllowEntry { host: host.to_string(), port: Some(port) };
    }
    AllowEntry { host: entry.trim_start_matches('[').trim_end_matches(']').to_string(), port: None }
}

/// Why `addr` may not be reached, or `None` when it is a public unicast address.
pub fn blocked_kind(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return blocked_v4(v4);
            }
            let seg = v6.segments();
            if seg[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                // ::a.b.c.d, deprecated "IPv4-compatible": some stacks still route it as IPv4.
                Some("IPv4-compatible")
            } else if seg[..4] == [0; 4] && seg[4] == 0xffff && seg[5] == 0 {
                // ::ffff:0:a.b.c.d, "IPv4-translated" (SIIT).
                Some("IPv4-translated")
            } else if seg[0] == 0x2002 {
                // 6to4 embeds any IPv4 address, private ones included.
                Some("6to4")
            } else if seg[0] == 0x2001 && seg[1] == 0 {
                Some("Teredo")
            } else if seg[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if seg[0] == 0x0100 && seg[1..4] == [0; 3] {
                Some("discard-only")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else if seg[0] == 0x64 && seg[1] == 0xff9b {
                // NAT64 can reach IPv4 private space.
                Some("NAT64")
            } else if v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) {
                Some("metadata")
            } else {
                None
            }
        }
    }
}

fn blocked_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = v4.octets();
    if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if v4.is_link_local() {
        // 169.254.0.0/16 includes the cloud metadata address 169.254.169.254.
        Some(if v4 == Ipv4Addr::new(169, 254, 169, 254) { "metadata" } else { "link-local" })
    } else if v4.is_private() {
        Some("private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if v4.is_multicast()
        || v4.is_broadcast()
        || a >= 240
        || v4.is_documentation()
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && v4.octets()[2] == 0)
        || (a == 192 && b == 88 && v4.octets()[2] == 99)
    {
        // 192.0.0.0/24: IETF protocol assignments (DS-Lite, NAT64 discovery); 192.88.99.0/24:
        // the retired 6to4 relay anycast.
        Some("reserved")
    } else {
        None
    }
}

/// Resolver that drops blocked addresses for hosts not listed in `--allow-upstream`.
struct GuardedResolver {
    guard: UpstreamGuard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            if let Some(o) = guard.overridden(&host) {
                return Ok(Box::new(std::iter::once(SocketAddr::new(o.ip, 0))) as Addrs);
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if guard.name_allowed(&host) {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let total = addrs.len();
            let allowed: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| blocked_kind(a.ip()).is_none()).collect();
            if allowed.is_empty() {
                let addr = addrs.first().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), SocketAddr::ip);
                let kind = blocked_kind(addr).unwrap_or("unresolvable");
                let error = GuardError::Blocked { host, addr, kind };
                return Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
            }
            if allowed.len() < total {
                tracing::warn!(host, "dropped blocked addresses from a DNS answer");
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A client builder with the guard in its resolver and redirect policy, and sane timeouts.
pub fn client_builder(guard: &UpstreamGuard) -> reqwest::ClientBuilder {
    let redirect_guard = guard.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects (10)");
        }
        match redirect_guard.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(e) => attempt.error(e),
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { guard: guard.clone() }))
        .redirect(policy)
        .no_proxy()
        // A Referer on a redirect would carry the previous URL, token and all, to the next host.
        .referer(false)
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(15))
        .user_agent(concat!("pitwall/", env!("CARGO_PKG_VERSION")))
}

/// An error with its sources, e.g. `error sending request: refused …: loopback address`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// How a failed outbound request failed: refused by the guard (in the resolver), timed out, or
/// anything else; each carries the error chain.
pub enum Failure {
    /// The SSRF guard refused the address.
    Refused(String),
    /// Connect or read timeout.
    Timeout,
    /// Connection, TLS or protocol failure.
    Transport(String),
}

/// Classifies a reqwest error (one place for every outbound client).
pub fn classify(e: &reqwest::Error) -> Failure {
    let chain = error_chain(e);
    if chain.contains("refused ") && chain.contains("address") {
        Failure::Refused(chain)
    } else if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transport(chain)
    }
}

/// A URL for logs: query values and user info replaced, so tokens never reach a log line.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    shown.set_query(None);
    let mut text = shown.to_string();
    if url.query().is_some() {
        let names: Vec<String> = url.query_pairs().map(|(k, _)| format!("{k}=…")).collect();
        text.push('?');
        text.push_str(&names.join("&"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(guard: &UpstreamGuard, url: &str) -> Result<(), GuardError> {
        guard.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn refuses_non_http_and_blocked_literals() {
        let g = UpstreamGuard::default();
        assert!(matches!(check(&g, "file:///etc/passwd"), Err(GuardError::Scheme(_))));
        assert!(matches!(check(&g, "ftp://example.com/x"), Err(GuardError::Scheme(_))));
        for url in [
            "http://127.0.0.1:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.5.4/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[::10.0.0.1]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a00:1::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fec0::1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[100::1]/",
            "http://192.0.0.170/",
            "http://192.0.0.8/",
        ] {
            assert!(matches!(check(&g, url), Err(GuardError::Blocked { .. })), "{url}");
        }
        assert_eq!(check(&g, "https://api.jolpi.ca/ergast/f1/2026.json"), Ok(()));
        assert_eq!(check(&g, "http://8.8.8.8/"), Ok(()));
    }

    #[test]
    fn allow_list_matches_host_as_written_and_port() {
        let g = UpstreamGuard::new(&["127.0.0.1:9000".into(), "localhost".into(), "[::1]:7000".into()]);
        assert_eq!(check(&g, "http://127.0.0.1:9000/x"), Ok(()));
        assert!(matches!(check(&g, "http://127.0.0.1:9001/x"), Err(GuardError::Port(_))));
        assert_eq!(check(&g, "http://localhost:1234/x"), Ok(()));
        assert_eq!(check(&g, "http://[::1]:7000/x"), Ok(()));
        assert!(matches!(check(&g, "http://127.0.0.2/x"), Err(GuardError::Blocked { .. })));
    }

    #[tokio::test]
    async fn overrides_resolve_and_allow_a_domain() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let g = UpstreamGuard::default().with_override(
            "*.demo.invalid",
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &[port],
        );
        assert_eq!(check(&g, &format!("http://tv.demo.invalid:{port}/x")), Ok(()));
        assert_eq!(check(&g, &format!("http://demo.invalid:{port}/x")), Ok(()));
        assert!(matches!(check(&g, "http://tv.demo.invalid:22/x"), Err(GuardError::Port(_))), "another port");
        assert!(matches!(check(&g, "http://demo.invalid/x"), Err(GuardError::Port(_))), "the default port");
        assert!(matches!(check(&g, "http://127.0.0.1/x"), Err(GuardError::Blocked { .. })));
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.unwrap();
        });
        let client = client_builder(&g).build().unwrap();
        let body = client
            .get(format!("http://cdn.demo.invalid:{port}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "ok");
    }

    #[test]
    fn redaction_hides_query_values_and_credentials() {
        let url = Url::parse("https://user:pw@cdn.example/live.m3u8?token=abc&exp=1").unwrap();
        assert_eq!(redact(&url), "https://cdn.example/live.m3u8?token=…&exp=…");
    }

    #[tokio::test]
    async fn resolver_blocks_names_that_resolve_to_loopback() {
        let g = UpstreamGuard::default();
        let client = client_builder(&g).build().unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        let chain = format!("{:?}", err);
        assert!(chain.contains("loopback"), "{chain}");
    }
}
