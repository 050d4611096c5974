//! What guests may call: `fetch`, `log` and `now`, and the per-call store state behind them.
//!
//! `fetch` is the guest's only way out. The host follows redirects itself so that every hop is
//! checked: http/https only, the plugin's declared hosts plus the operator's grants for the source
//! the call runs for ([`HostGrants`]), and the SSRF guard (address checks after DNS) unless
//! `--allow-upstream` lists the host — grants never lift it. One cookie jar lives for one call. Bodies
//! are decoded (gzip/deflate) and capped; every request has a timeout bounded by the call's
//! remaining wall time, and runs on the shared runtime as a task that is aborted when the call
//! is dropped at its deadline. Errors handed to the guest or logged never carry a URL's query.
//!
//! `log` writes at most [`caps::MAX_LOG_LINES`] lines per call, each escaped (no newlines or
//! control characters) and cut to [`caps::MAX_LINE_BYTES`]; the rest are counted and reported in
//! one line when the call ends.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use reqwest::{cookie::CookieStore, header::HeaderValue};
use url::Url;
use wasmtime::{StoreLimits, component::ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::{
    bindings::{FetchError, Level, Request, Response, pitwall::extractor},
    caps,
};
use crate::net::{Failure, UpstreamGuard, redact};

/// Redirect hops the host follows for one `fetch`.
const MAX_REDIRECTS: usize = 10;

/// What one call may do, fixed by the engine.
#[derive(Clone)]
pub struct FetchPolicy {
    /// Shared outbound client (no automatic redirects; the host follows them).
    pub client: reqwest::Client,
    /// SSRF guard.
    pub guard: UpstreamGuard,
    /// Largest body handed to a guest.
    pub max_body: usize,
    /// Longest single request.
    pub timeout: Duration,
    /// Most requests one call may make.
    pub max_requests: u32,
}

/// Store data of one call: WASI (with nothing granted), limits, and the host-API context.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and instance limits enforced by the store.
    pub limits: StoreLimits,
    host: HostContext,
}

/// The host-API side of one call.
struct HostContext {
    plugin: String,
    fetcher: Arc<Fetcher>,
    deadline: Instant,
    requests: u32,
    /// The shared runtime, where `fetch` runs (its connection pool lives there).
    runtime: tokio::runtime::Handle,
    /// Log lines written by this call.
    logged: u32,
    /// Log lines dropped over the cap.
    dropped: u64,
}

/// The hosts one call may fetch from: what the plugin declares in `info()`, plus what the
/// operator granted the source it runs for (`allow_hosts` of its `[[source]]`; `"*"` is any
/// public host). A call for one source never gets another source's grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostGrants {
    /// The plugin's `allowed-hosts`.
    pub declared: Vec<String>,
    /// The source's `allow_hosts`.
    pub granted: Vec<String>,
    /// The source's id, named in refusals.
    pub source: Option<String>,
}

impl HostGrants {
    /// Whether `host` may be fetched (before the SSRF guard, which always applies).
    pub fn allows(&self, host: &str) -> bool {
        host_allowed(&self.declared, host)
            || self.granted.iter().any(|g| g == "*")
            || host_allowed(&self.granted, host)
    }

    /// Every host pattern in effect, declared first.
    pub fn effective(&self) -> Vec<String> {
        let mut all = self.declared.clone();
        all.extend(self.granted.iter().filter(|g| !self.declared.contains(g)).cloned());
        all
    }

    /// Why `host` was refused, naming the key that would allow it.
    fn refusal(&self, host: &str) -> String {
        match &self.source {
            Some(source) => format!(
                "{host} (neither declared by the plugin nor granted to source {source:?}; to allow it add \"{host}\" to allow_hosts in that [[source]])"
            ),
            None => format!(
                "{host} (not declared by the plugin; grant it with --allow-host {host}, or allow_hosts in a [[source]])"
            ),
        }
    }
}

/// What a `fetch` needs, owned, so it can run as a task on the shared runtime.
struct Fetcher {
    grants: HostGrants,
    policy: FetchPolicy,
    jar: Arc<reqwest::cookie::Jar>,
}

/// A spawned task that is aborted when this handle is dropped (the call hit its deadline).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl GuestState {
    /// State for one call of `plugin`, allowed to fetch what `grants` allow until `deadline`.
    pub fn new(
        plugin: &str,
        grants: HostGrants,
        policy: FetchPolicy,
        limits: StoreLimits,
        deadline: Instant,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        // Nothing inherited: no environment, arguments, stdio, preopened directories or sockets.
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        GuestState {
            wasi,
            table: ResourceTable::new(),
            limits,
            host: HostContext {
                plugin: plugin.to_string(),
                fetcher: Arc::new(Fetcher { grants, policy, jar: Arc::new(reqwest::cookie::Jar::default()) }),
                deadline,
                requests: 0,
                runtime,
                logged: 0,
                dropped: 0,
            },
        }
    }
}

impl Drop for GuestState {
    /// Reports dropped log lines once, however the call ended (deadline included).
    fn drop(&mut self) {
        if self.host.dropped > 0 {
            tracing::warn!(
                plugin = %self.host.plugin, dropped = self.host.dropped, limit = caps::MAX_LOG_LINES,
                "guest log lines over the per-call limit were dropped"
            );
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl extractor::types::Host for GuestState {}

impl extractor::host::Host for GuestState {
    async fn fetch(&mut self, req: Request) -> Result<Response, FetchError> {
        let host = &mut self.host;
        host.requests += 1;
        if host.requests > host.fetcher.policy.max_requests {
            return Err(FetchError::Transport(format!(
                "more than {} requests in one call",
                host.fetcher.policy.max_requests
            )));
        }
        let remaining = host.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(FetchError::Timeout);
        }
        // When the call's deadline comes first, it ends the call (and aborts this task); the
        // fetch's own limit only decides when it is the shorter one.
        let timeout = host.fetcher.policy.timeout.min(remaining + Duration::from_millis(500));
        let started = Instant::now();
        let fetcher = host.fetcher.clone();
        let task = host.runtime.spawn(async move {
            tokio::time::timeout(timeout, fetch(&fetcher, req)).await.unwrap_or(Err(FetchError::Timeout))
        });
        let mut task = AbortOnDrop(task);
        let result = (&mut task.0)
            .await
            .unwrap_or_else(|e| Err(FetchError::Transport(format!("fetch task ended: {e}"))));
        match &result {
            Ok(r) => {
                tracing::debug!(plugin = %host.plugin, status = r.status, bytes = r.body.len(), url = %redact_str(&r.final_url), elapsed = ?started.elapsed(), "guest fetch")
            }
            Err(e) => tracing::info!(plugin = %host.plugin, error = ?e, "guest fetch refused or failed"),
        }
        result
    }

    fn log(&mut self, level: Level, message: String) {
        let host = &mut self.host;
        if host.logged >= caps::MAX_LOG_LINES {
            host.dropped += 1;
            return;
        }
        host.logged += 1;
        let plugin = &host.plugin;
        let message = caps::escape_line(&message, caps::MAX_LINE_BYTES);
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now(&mut self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A URL for logs and messages: query and fragment redacted, even when it does not parse.
pub fn redact_str(url: &str) -> String {
    Url::parse(url).map_or_else(|_| without_query(url), |u| redact(&u))
}

/// A URL that did not parse, for messages: cut at `?` or `#` (tokens live there), escaped, capped.
fn without_query(url: &str) -> String {
    let cut = url.find(['?', '#']).map_or(url, |i| &url[..i]);
    let shown = caps::escape_line(cut, 200);
    if cut.len() < url.len() { format!("{shown}?…") } else { shown }
}

/// Whether `host` matches one of the plugin's declared hosts (`*.example.com` matches subdomains).
pub fn host_allowed(allowed: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == pattern,
        }
    })
}

/// Checks one hop: scheme, declared and granted hosts, SSRF guard.
fn check_hop(host: &Fetcher, url: &Url) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidUrl(format!("only http and https: {}", redact(url))));
    }
    let name = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    if !host.grants.allows(name) {
        return Err(FetchError::HostNotAllowed(host.grants.refusal(name)));
    }
    host.policy.guard.check_url(url).map_err(|e| FetchError::AddressBlocked(e.to_string()))
}

async fn fetch(host: &Fetcher, req: Request) -> Result<Response, FetchError> {
    let mut url = Url::parse(&req.url)
        .map_err(|e| FetchError::InvalidUrl(format!("{}: {e}", without_query(&req.url))))?;
    let mut method =
        reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            FetchError::InvalidUrl(format!("bad method \"{}\"", caps::escape_line(&req.method, 40)))
        })?;
    let mut body = req.body;
    for _ in 0..=MAX_REDIRECTS {
        check_hop(host, &url)?;
        let mut builder = host.policy.client.request(method.clone(), url.clone());
        for (name, value) in &req.headers {
            if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(cookies) = host.jar.cookies(&url) {
            builder = builder.header(reqwest::header::COOKIE, cookies);
        }
        if let Some(b) = &body {
            builder = builder.body(b.clone());
        }
        let response = builder.send().await.map_err(transport)?;
        let mut set_cookies = response.headers().get_all(reqwest::header::SET_COOKIE).iter();
        host.jar.set_cookies(&mut set_cookies as &mut dyn Iterator<Item = &HeaderValue>, &url);
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            let location =
                location.to_str().map_err(|_| FetchError::InvalidUrl("non-ASCII Location".into()))?;
            url = url.join(location).map_err(|e| {
                FetchError::InvalidUrl(format!("bad redirect {}: {e}", without_query(location)))
            })?;
            if status == reqwest::StatusCode::SEE_OTHER
                || ((status == reqwest::StatusCode::MOVED_PERMANENTLY
                    || status == reqwest::StatusCode::FOUND)
                    && method == reqwest::Method::POST)
            {
                method = reqwest::Method::GET;
                body = None;
            }
            continue;
        }
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let final_url = response.url().to_string();
        let cap = host.policy.max_body;
        if response.content_length().is_some_and(|len| len as usize > cap) {
            return Err(FetchError::TooLarge(cap as u64));
        }
        let mut bytes = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(transport)?;
            if bytes.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge(cap as u64));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Response { status: status.as_u16(), final_url, headers, body: bytes });
    }
    Err(FetchError::Transport(format!("more than {MAX_REDIRECTS} redirects")))
}

/// A failed request as the guest sees it; the URL (and its query, where tokens live) is removed
/// from the error first.
fn transport(e: reqwest::Error) -> FetchError {
    match crate::net::classify(&e.without_url()) {
        Failure::Refused(chain) => FetchError::AddressBlocked(chain),
        Failure::Timeout => FetchError::Timeout,
        Failure::Transport(chain) => FetchError::Transport(chain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_hosts_and_wildcards() {
        let allowed = vec!["tv.demo.invalid".to_string(), "*.cdn.example".to_string()];
        assert!(host_allowed(&allowed, "tv.demo.invalid"));
        assert!(host_allowed(&allowed, "TV.Demo.Invalid"));
        assert!(host_allowed(&allowed, "edge1.cdn.example"));
        assert!(!host_allowed(&allowed, "cdn.example"), "a wildcard needs a subdomain");
        assert!(!host_allowed(&allowed, "evilcdn.example"));
        assert!(!host_allowed(&allowed, "tv.demo.invalid.evil.example"));
    }

    #[test]
    fn grants_add_to_what_the_plugin_declares_and_name_the_source_when_refusing() {
        let mut grants = HostGrants {
            declared: vec!["tv.demo.invalid".into()],
            granted: vec!["*.example.com".into()],
            source: Some("my-site".into()),
        };
        assert!(grants.allows("tv.demo.invalid") && grants.allows("cdn.example.com"));
        assert!(!grants.allows("example.net"));
        let refusal = grants.refusal("example.net");
        assert!(refusal.contains("\"my-site\"") && refusal.contains("allow_hosts"), "{refusal}");
        assert_eq!(grants.effective(), ["tv.demo.invalid", "*.example.com"]);
        grants.granted = vec!["*".into()];
        assert!(grants.allows("anything.example.org"), "* is any host (the SSRF guard still applies)");
        assert!(!HostGrants::default().allows("example.net"));
    }

    #[test]
    fn unparsed_urls_lose_their_query() {
        assert_eq!(without_query("htp:/x.example/a?token=secret"), "htp:/x.example/a?…");
        assert_eq!(without_query("no query\n"), "no query\\n");
        assert_eq!(redact_str("nonsense#sig=secret"), "nonsense?…");
        assert_eq!(redact_str("https://a.example/p?token=secret"), "https://a.example/p?token=…");
    }
}
