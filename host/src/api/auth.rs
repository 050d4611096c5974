//! Who may ask: with `--viewer-token`, every request except the probes needs the token, from the
//! `pitwall_token` cookie (set by opening `/?token=T` or by the [sign-in page](super::signin)
//! that a browser without it gets) or `Authorization: Bearer T`; wrong tokens are throttled per
//! client address. Without a viewer token, only requests addressed to
//! an IP address, `localhost` or a `--public-host` name are served (a DNS-rebinding page has
//! neither). `/proxy` exists only with `--admin-token`. Forwarded headers (`X-Forwarded-For`,
//! `X-Forwarded-Proto`) count only from `--trusted-proxy` peers.
//!
//! TV players (VLC, Kodi, TiviMate…) can neither keep a cookie nor send a header, so the channel
//! list and the playlists it points at also accept `?key=K`, a [`stream_key`] derived from the
//! viewer token that opens only `/live/…`, `/channels.m3u` and `/guide.xml` (never the API or the
//! web app). `/relay/…` URLs need no token: each is a sealed, expiring capability that only an
//! admitted viewer's playlist hands out.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;

use super::{error::AppError, signin};
use crate::{AppState, serve};

/// Name of the cookie that carries the viewer token.
pub const COOKIE: &str = "pitwall_token";

/// Paths that never need a token (orchestrator probes).
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Paths a [`stream_key`] opens.
fn keyed_path(path: &str) -> bool {
    path.starts_with("/live/") || path == "/channels.m3u" || path == "/guide.xml"
}

/// The key TV players use instead of the viewer token (`?key=`), or `None` without a token:
/// SHA-256 of the token under a fixed label, so the key opens streams but does not reveal the
/// token (which also opens the web app and the API).
pub fn stream_key(state: &AppState) -> Option<String> {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use sha2::{Digest, Sha256};
    let token = state.config.flags.viewer_token.as_deref()?;
    let digest =
        Sha256::new().chain_update(b"pitwall stream key v1\0").chain_update(token.as_bytes()).finalize();
    Some(URL_SAFE_NO_PAD.encode(&digest[..18]))
}

/// `?key=K` to append to pitwall URLs in an answer to a request that came with the valid key
/// `given` (so a TV player's next request carries it too); empty otherwise.
pub fn key_suffix(state: &AppState, given: Option<&str>) -> String {
    match (given, stream_key(state)) {
        (Some(given), Some(key)) if matches(given, &key) => format!("?key={key}"),
        _ => String::new(),
    }
}

/// The answer refusing `request` when a viewer token is configured and the request does not
/// carry it (or the matching stream key); `None` lets it through.
fn viewer_refusal(state: &AppState, request: &Request) -> Option<Response> {
    let expected = state.config.flags.viewer_token.as_deref()?;
    let path = request.uri().path();
    if OPEN_PATHS.contains(&path) || path.starts_with("/relay/") || path == signin::PATH {
        return None;
    }
    let client = client_ip(state, request);
    if let Some(wait) = state.throttle.blocked(client) {
        let mut response = throttled(wait);
        if signin::wants_html(request) {
            let message = format!("Too many wrong tokens; try again in {} s.", wait.as_secs().max(1));
            let retry = response.headers_mut().remove(header::RETRY_AFTER);
            response = signin::page(StatusCode::TOO_MANY_REQUESTS, &original_target(request), Some(&message));
            if let Some(retry) = retry {
                response.headers_mut().insert(header::RETRY_AFTER, retry);
            }
        }
        return Some(response);
    }
    if let Some(given) = query_param(request, "key=") {
        if keyed_path(path) && stream_key(state).is_some_and(|key| matches(given, &key)) {
            return None;
        }
        state.throttle.failed(client);
        return Some(
            AppError::Unauthorized("wrong key: take the URLs from /channels.m3u again".into())
                .into_response(),
        );
    }
    if let Some(given) = query_param(request, "token=") {
        if matches(given, expected) {
            return Some(login_redirect(request, expected, is_https(state, request)));
        }
        state.throttle.failed(client);
        if signin::wants_html(request) {
            let target = original_target(request);
            return Some(signin::page(StatusCode::UNAUTHORIZED, &target, Some("That token is not right.")));
        }
        return Some(AppError::Unauthorized("wrong token".into()).into_response());
    }
    let admin = state.config.flags.admin_token.as_deref();
    let (mut presented, mut accepted) = (false, false);
    for token in presented_tokens(request) {
        presented = true;
        accepted |= matches(token, expected) || admin.is_some_and(|a| matches(token, a));
    }
    if accepted {
        return None;
    }
    if presented {
        state.throttle.failed(client);
        if signin::wants_html(request) {
            let message = "The saved token no longer works; sign in again.";
            return Some(signin::page(StatusCode::UNAUTHORIZED, &original_target(request), Some(message)));
        }
        return Some(
            AppError::Unauthorized("wrong token: open /?token=YOUR_TOKEN once".into()).into_response(),
        );
    }
    // A person in a browser gets a page that asks for the token; programs get JSON.
    if signin::wants_html(request) {
        return Some(signin::page(StatusCode::OK, &original_target(request), None));
    }
    Some(
        AppError::Unauthorized("this pitwall needs a viewer token: open /?token=YOUR_TOKEN once".into())
            .into_response(),
    )
}

/// The path and query the browser asked for, to return to after signing in, without any
/// `token=` or `key=` (never echoed into the page, and useless once the cookie is set).
fn original_target(request: &Request) -> String {
    let path = request.uri().path();
    let query: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token=") && !kv.starts_with("key="))
        .collect();
    if query.is_empty() { path.to_string() } else { format!("{path}?{}", query.join("&")) }
}

/// Without a viewer token, serve only requests addressed to an IP address,
/// `localhost`, or a `--public-host` name. A page on another site that rebinds its own name to
/// this address sends its own name as `Host`, so it is refused.
fn host_refusal(state: &AppState, request: &Request) -> Option<Response> {
    if state.config.flags.viewer_token.is_some() || OPEN_PATHS.contains(&request.uri().path()) {
        return None;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    if known_host(host, &state.config.flags.public_host) {
        return None;
    }
    Some(
        AppError::MisdirectedRequest(format!(
            "this pitwall does not answer to the host name {:?}; add --public-host {} if that is its name",
            host.chars().take(100).collect::<String>(),
            host_name(host).chars().take(100).collect::<String>(),
        ))
        .into_response(),
    )
}

/// The answer refusing `request` (a host it does not answer to, then a missing or wrong
/// viewer token); `None` lets it through.
pub fn refusal(state: &AppState, request: &Request) -> Option<Response> {
    host_refusal(state, request).or_else(|| viewer_refusal(state, request))
}

/// The name part of a `Host` header (no port, no IPv6 brackets).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':')
        .map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host })
}

fn known_host(host: &str, public: &[String]) -> bool {
    let name = host_name(host).trim_end_matches('.');
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || public.iter().any(|p| host_name(p).trim_end_matches('.').eq_ignore_ascii_case(name))
}

/// Middleware for `/proxy`: an admin route that exists only when an admin token is set.
pub async fn require_proxy_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.config.flags.admin_token.is_none() {
        return AppError::Forbidden(
            "/proxy is off: it relays any URL, so it needs an admin token; start pitwall with --admin-token and send Authorization: Bearer <token>".into(),
        )
        .into_response();
    }
    if let Err(e) = require_admin(&state, request.headers()) {
        return e.into_response();
    }
    next.run(request).await
}

/// The client's address: the peer, or for a `--trusted-proxy` peer the last `X-Forwarded-For`
/// hop that is not itself a trusted proxy.
pub fn client_ip(state: &AppState, request: &Request) -> IpAddr {
    let peer = serve::peer(request).ip();
    let trusted = &state.config.flags.trusted_proxy;
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|ip| !trusted.iter().any(|net| net.contains(ip))).unwrap_or(peer)
}

/// Whether the client reached us over HTTPS, as told by a `--trusted-proxy` peer.
pub fn is_https(state: &AppState, request: &Request) -> bool {
    let peer = serve::peer(request).ip();
    state.config.flags.trusted_proxy.iter().any(|net| net.contains(&peer))
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// Wrong-token attempts per client address: past [`LoginThrottle::MAX_FAILURES`] in one
/// window, the client gets 429 until the window ends.
#[derive(Default)]
pub struct LoginThrottle {
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginThrottle {
    /// Wrong tokens allowed per client and window.
    pub const MAX_FAILURES: u32 = 10;
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(300);
    /// Clients remembered at once; past it, the expired entries go, then the oldest.
    const CAPACITY: usize = 65_536;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `client` must wait, when it is throttled.
    pub fn blocked(&self, client: IpAddr) -> Option<Duration> {
        let clients = self.lock();
        let (since, failures) = clients.get(&client)?;
        let left = Self::WINDOW.checked_sub(since.elapsed())?;
        (*failures >= Self::MAX_FAILURES).then_some(left)
    }

    /// Counts a wrong token from `client`.
    pub fn failed(&self, client: IpAddr) {
        let mut clients = self.lock();
        if clients.len() >= Self::CAPACITY {
            clients.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
            if clients.len() >= Self::CAPACITY
                && let Some(oldest) = clients.iter().min_by_key(|(_, (since, _))| *since).map(|(ip, _)| *ip)
            {
                clients.remove(&oldest);
            }
        }
        let entry = clients.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Self::WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        if entry.1 == Self::MAX_FAILURES {
            tracing::warn!(client = %client, window = ?Self::WINDOW, "too many wrong tokens; throttling this client");
        }
    }
}

fn throttled(wait: Duration) -> Response {
    let mut response =
        AppError::TooManyRequests(format!("too many wrong tokens; try again in {} s", wait.as_secs().max(1)))
            .into_response();
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// With `--admin-token`, requires `Authorization: Bearer <admin token>`.
pub fn require_admin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), AppError> {
    let Some(expected) = state.config.flags.admin_token.as_deref() else { return Ok(()) };
    match bearer(headers) {
        Some(given) if matches(given, expected) => Ok(()),
        Some(_) => Err(AppError::Forbidden("wrong admin token".into())),
        None => {
            Err(AppError::Unauthorized("this route needs the admin token (Authorization: Bearer …)".into()))
        }
    }
}

/// Constant-time comparison of a presented token with the expected one.
pub(crate) fn matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn presented_tokens(request: &Request) -> impl Iterator<Item = &str> {
    let cookies = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    bearer(request.headers()).into_iter().chain(cookies)
}

/// A query parameter (`name` with its `=`), as sent.
fn query_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.uri().query()?.split('&').find_map(|kv| kv.strip_prefix(name))
}

/// Sets the cookie and redirects to the same path without the token in the address bar. The
/// path is made local (`//evil.example/` would be another site to a browser), and the cookie is
/// `Secure` when the client came over HTTPS.
fn login_redirect(request: &Request, token: &str, https: bool) -> Response {
    let path = format!("/{}", request.uri().path().trim_start_matches(['/', '\\']));
    let cookie = viewer_cookie(token, https);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, path)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The `Set-Cookie` value that keeps the viewer token: HttpOnly, SameSite=Lax, for a year, and
/// `Secure` when the client came over HTTPS.
pub(crate) fn viewer_cookie(token: &str, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}")
}

#[cfg(test)]
mod tests {
    use std::{net::SocketAddr, sync::Arc};

    use axum::{Router, body::Body, extract::ConnectInfo, middleware, routing::get};
    use tower::ServiceExt as _;

    use super::*;
    use crate::{Config, Readiness, net::UpstreamGuard, schedule::SystemClock};

    const VIEWER: &str = "viewer-token-for-tests";
    const ADMIN: &str = "admin-token-for-tests";

    /// An `AppState` over `config` with nothing running: the middleware reads only the config
    /// and the throttle.
    fn state(config: Config) -> AppState {
        let guard = UpstreamGuard::default();
        let engine =
            crate::extract::ExtractorEngine::new(crate::extract::Limits::default(), &guard, None).unwrap();
        let relay = crate::relay::Relay {
            rewritten: Default::default(),
            opened: Default::default(),
            key: crate::relay::token::RelayKey::load_or_create(&config.flags.data_dir, None).unwrap(),
            upstream: Arc::new(
                crate::relay::upstream::Upstream::new(&guard, 1 << 20, Default::default()).unwrap(),
            ),
        };
        crate::AppParts {
            schedule: Arc::new(crate::schedule_service(&config, &guard, Arc::new(SystemClock)).unwrap()),
            plugins: Arc::new(crate::extract::PluginRegistry::new(engine, config.flags.plugins_dir.clone())),
            config: Arc::new(config),
            metrics: Arc::default(),
            readiness: Readiness::default(),
            store: Arc::new(crate::store::memory::MemoryStore::default()),
            relay: Arc::new(relay),
            shutdown: Default::default(),
            throttle: Arc::default(),
            sessions: Arc::default(),
            masters: Arc::default(),
            refresh: Arc::default(),
            media_errors: Arc::default(),
            clock: Arc::new(SystemClock),
        }
        .into()
    }

    /// A config with the given tokens over a fresh data dir (kept alive by the returned guard).
    fn config(viewer: Option<&str>, admin: Option<&str>) -> (Config, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path());
        config.flags.viewer_token = viewer.map(str::to_string);
        config.flags.admin_token = admin.map(str::to_string);
        (config, dir)
    }

    /// Every path answers 200 "through" unless [`refusal`] refuses it, as in `api::edge`.
    fn app(state: &AppState) -> Router {
        async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
            match refusal(&state, &request) {
                Some(refused) => refused,
                None => next.run(request).await,
            }
        }
        Router::new()
            .fallback(get(|| async { "through" }))
            .layer(middleware::from_fn_with_state(state.clone(), admit))
    }

    /// A request from `peer` (as `serve` records it) with `headers`.
    fn request(uri: &str, peer: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::get(uri).header(header::HOST, "127.0.0.1:8080");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder.body(Body::empty()).unwrap();
        let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    }

    async fn send(app: &Router, request: Request) -> Response {
        app.clone().oneshot(request).await.unwrap()
    }

    async fn status(app: &Router, uri: &str, headers: &[(&str, &str)]) -> StatusCode {
        send(app, request(uri, "192.0.2.10", headers)).await.status()
    }

    #[tokio::test]
    async fn the_viewer_token_is_accepted_from_a_cookie_or_a_bearer_header() {
        let (config, _dir) = config(Some(VIEWER), Some(ADMIN));
        let state = state(config);
        let app = app(&state);
        let cookie = format!("other=1; {COOKIE}={VIEWER}");
        let bearer = format!("Bearer {VIEWER}");
        assert_eq!(status(&app, "/api/schedule", &[("cookie", &cookie)]).await, StatusCode::OK);
        assert_eq!(status(&app, "/api/schedule", &[("authorization", &bearer)]).await, StatusCode::OK);
        let admin = format!("Bearer {ADMIN}");
        assert_eq!(status(&app, "/api/schedule", &[("authorization", &admin)]).await, StatusCode::OK);
        assert_eq!(status(&app, "/api/schedule", &[]).await, StatusCode::UNAUTHORIZED, "no token");
        let wrong = format!("{COOKIE}=nope");
        assert_eq!(status(&app, "/api/schedule", &[("cookie", &wrong)]).await, StatusCode::UNAUTHORIZED);
        let prefixed = format!("Bearer {VIEWER}x");
        assert_eq!(status(&app, "/", &[("authorization", &prefixed)]).await, StatusCode::UNAUTHORIZED);
        // Probes and sealed relay URLs need none.
        for open in ["/healthz", "/readyz", "/relay/s/abc/seg.ts"] {
            assert_eq!(status(&app, open, &[]).await, StatusCode::OK, "{open}");
        }
    }

    #[tokio::test]
    async fn a_token_in_the_address_sets_the_cookie_and_redirects_it_out_of_the_address() {
        let (mut config, _dir) = config(Some(VIEWER), None);
        config.flags.trusted_proxy = vec!["10.0.0.0/8".parse().unwrap()];
        let state = state(config);
        let app = app(&state);
        let response = send(&app, request(&format!("/session/x?token={VIEWER}"), "192.0.2.10", &[])).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/session/x");
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.starts_with(&format!("{COOKIE}={VIEWER};")) && cookie.contains("HttpOnly"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        // Never to another site, and `Secure` when a trusted proxy says the client used HTTPS.
        let https = [("x-forwarded-proto", "https")];
        let response =
            send(&app, request(&format!("//evil.example/?token={VIEWER}"), "10.1.2.3", &https)).await;
        assert_eq!(response.headers()[header::LOCATION], "/evil.example/");
        assert!(response.headers()[header::SET_COOKIE].to_str().unwrap().contains("; Secure"));
        // An untrusted peer's forwarded proto is ignored.
        let response = send(&app, request(&format!("/?token={VIEWER}"), "192.0.2.10", &https)).await;
        assert!(!response.headers()[header::SET_COOKIE].to_str().unwrap().contains("Secure"));
        assert_eq!(status(&app, "/?token=wrong", &[]).await, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn wrong_tokens_are_throttled_per_client_after_ten() {
        let (config, _dir) = config(Some(VIEWER), None);
        let state = state(config);
        let app = app(&state);
        let good = format!("Bearer {VIEWER}");
        for n in 0..LoginThrottle::MAX_FAILURES {
            let wrong = [("authorization", "Bearer wrong")];
            let response = send(&app, request("/api/streams", "192.0.2.66", &wrong)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
        }
        // The client is now refused even with the right token, and told when to come back.
        let response = send(&app, request("/api/streams", "192.0.2.66", &[("authorization", &good)])).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=LoginThrottle::WINDOW.as_secs()).contains(&retry), "{retry}");
        // Wrong `?token=` and `?key=` count too, on their own client; others are not affected.
        for n in 0..LoginThrottle::MAX_FAILURES {
            let uri = if n % 2 == 0 { "/?token=wrong" } else { "/live/st_1/master.m3u8?key=wrong" };
            assert_eq!(send(&app, request(uri, "192.0.2.77", &[])).await.status(), StatusCode::UNAUTHORIZED);
        }
        let response = send(&app, request(&format!("/?token={VIEWER}"), "192.0.2.77", &[])).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let response = send(&app, request("/api/streams", "192.0.2.10", &[("authorization", &good)])).await;
        assert_eq!(response.status(), StatusCode::OK, "another client is not throttled");
    }

    #[tokio::test]
    async fn the_stream_key_opens_live_and_the_channel_list_only() {
        let (config, _dir) = config(Some(VIEWER), None);
        let state = state(config);
        let app = app(&state);
        let key = stream_key(&state).unwrap();
        assert_ne!(key, VIEWER, "the key is not the token");
        for path in [
            "/live/st_1/master.m3u8",
            "/live/session/9999-01-race/master.m3u8",
            "/channels.m3u",
            "/guide.xml",
        ] {
            assert_eq!(status(&app, &format!("{path}?key={key}"), &[]).await, StatusCode::OK, "{path}");
        }
        for path in ["/api/streams", "/api/schedule", "/", "/session/x", "/proxy", "/livex"] {
            assert_eq!(
                status(&app, &format!("{path}?key={key}"), &[]).await,
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
        assert_eq!(status(&app, "/channels.m3u?key=wrong", &[]).await, StatusCode::UNAUTHORIZED);
        assert_eq!(key_suffix(&state, Some(&key)), format!("?key={key}"));
        assert_eq!(key_suffix(&state, Some("wrong")), "");
        // The token itself is no key, and without a viewer token there is no key at all.
        assert_eq!(status(&app, &format!("/channels.m3u?key={VIEWER}"), &[]).await, StatusCode::UNAUTHORIZED);
        let (config, _dir) = self::config(None, None);
        assert_eq!(stream_key(&self::state(config)), None);
    }

    #[tokio::test]
    async fn without_a_viewer_token_only_known_host_names_are_served() {
        let (mut config, _dir) = config(None, None);
        config.flags.public_host = vec!["f1.example.net".into()];
        let state = state(config);
        let app = app(&state);
        let with_host = |host: &'static str, path: &str| {
            let mut r = request(path, "192.0.2.10", &[]);
            r.headers_mut().insert(header::HOST, HeaderValue::from_static(host));
            r
        };
        for host in ["127.0.0.1:8080", "localhost:8080", "f1.example.net", "[::1]:8080"] {
            assert_eq!(send(&app, with_host(host, "/api/streams")).await.status(), StatusCode::OK, "{host}");
        }
        let refused = send(&app, with_host("rebound.evil.example", "/api/streams")).await;
        assert_eq!(refused.status(), StatusCode::MISDIRECTED_REQUEST);
        // Probes still answer whatever the name (orchestrators use theirs).
        assert_eq!(send(&app, with_host("rebound.evil.example", "/healthz")).await.status(), StatusCode::OK);
        // A viewer token replaces the host check: the token is the defence then.
        let (config, _dir) = self::config(Some(VIEWER), None);
        let state = self::state(config);
        let app = self::app(&state);
        let mut r = with_host("rebound.evil.example", "/api/streams");
        r.headers_mut()
            .insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {VIEWER}")).unwrap());
        assert_eq!(send(&app, r).await.status(), StatusCode::OK);
    }

    #[test]
    fn known_hosts_are_addresses_localhost_and_public_names() {
        let public = vec!["f1.example.net".to_string()];
        for host in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.0.0.5",
            "localhost:8080",
            "LOCALHOST",
            "f1.example.net",
            "F1.example.net.:443",
        ] {
            assert!(known_host(host, &public), "{host}");
        }
        for host in ["evil.example", "evil.example:8080", "localhost.evil.example", "", "f1.example.net.evil"]
        {
            assert!(!known_host(host, &public), "{host}");
        }
    }

    #[test]
    fn throttle_blocks_after_the_limit_only_that_client() {
        let throttle = LoginThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..LoginThrottle::MAX_FAILURES - 1 {
            throttle.failed(a);
        }
        assert_eq!(throttle.blocked(a), None);
        throttle.failed(a);
        assert!(throttle.blocked(a).is_some());
        assert_eq!(throttle.blocked(b), None);
    }
}
