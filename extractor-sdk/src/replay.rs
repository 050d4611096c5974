//! Replay harness (native targets only): run an extractor in a plain `cargo test` against HTTP
//! exchanges recorded in a fixture file, with no network and no host.
//!
//! ```ignore
//! use pitwall_extractor_sdk::replay::{self, Replay};
//!
//! #[test]
//! fn finds_the_main_feed() -> Result<(), Box<dyn std::error::Error>> {
//!     let replay = Replay::from_file("fixtures/watch-main.json")?;
//!     let settings = Settings::from_pairs(&[("page", "http://tv.demo.invalid/demo-tv/watch/main")]);
//!     let found = replay.run(|| MySite::extract(replay::session(), settings))?;
//!     assert_eq!(found.len(), 1);
//!     assert!(replay.unused().is_empty(), "{:?}", replay.unused());
//!     Ok(())
//! }
//! ```
//!
//! While [`Replay::run`] runs, [`crate::http`] answers from the fixture on the current thread.
//! A fixture is a JSON array of exchanges:
//!
//! ```json
//! [{"note": "optional, ignored",
//!   "request": {"method": "POST", "url": "http://tv.demo.invalid/demo-tv/api/token",
//!               "headers": {"x-csrf-token": "abc", "cookie": "dtv_session=s1"}},
//!   "response": {"status": 200, "headers": {"content-type": "application/json"},
//!                "body": "{\"player\": \"…\"}", "final_url": "http://…"}}]
//! ```
//!
//! - A request matches an exchange by method (case-insensitive) and exact URL, then by the
//!   recorded request `headers`, which are the *required subset*: names case-insensitive, values
//!   exact, except `cookie`, where every recorded `name=value` pair must be present.
//! - Among matches the first not yet used wins; once all are used, the first is replayed again.
//! - Response `headers` map lower-case names to a string or an array of strings (several
//!   `set-cookie` lines); the body is `body` (text) or `body_base64`; `final_url` defaults to the
//!   request URL (redirects are the host's business, so record the final answer only).
//! - Like the host, the harness keeps one cookie jar per [`Replay::run`]: `set-cookie` from a
//!   response (its `Path` honoured, `Max-Age=0` deleting) becomes a `cookie` header on later
//!   requests to the same host, so a fixture can require the session cookie.
//! - A request no exchange matches fails with `FetchError::Transport("no recorded exchange for
//!   GET url")` (plus which required header differed, when the URL was recorded);
//!   [`Replay::unused`] lists exchanges the run never asked for.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::rc::Rc;

use serde::Deserialize;

use crate::{FetchError, Request, Response, SessionRef, codec};

/// Why a fixture could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError(String);

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplayError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeFile {
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    request: RequestFile,
    response: ResponseFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFile {
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, HeaderValues>,
    body: Option<String>,
    body_base64: Option<String>,
    final_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

/// One recorded exchange, ready to answer.
struct Exchange {
    method: String,
    url: String,
    required: Vec<(String, String)>,
    response: Response,
}

struct Cookie {
    host: String,
    path: String,
    name: String,
    value: String,
}

#[derive(Default)]
struct State {
    exchanges: Vec<Exchange>,
    used: Vec<bool>,
    jar: Vec<Cookie>,
    seen: Vec<Request>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// Recorded HTTP exchanges that answer [`crate::http`] calls made inside [`Replay::run`].
pub struct Replay {
    state: Rc<RefCell<State>>,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Replay")
            .field("exchanges", &state.exchanges.len())
            .field("requests", &state.seen.len())
            .finish()
    }
}

impl Replay {
    /// Loads a fixture file; relative paths are relative to the current directory, which
    /// `cargo test` sets to the crate's root (so `"fixtures/x.json"` works).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Replay, ReplayError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReplayError(format!("cannot read fixture {}: {e}", path.display())))?;
        Replay::from_json(&text).map_err(|e| ReplayError(format!("fixture {}: {e}", path.display())))
    }

    /// Parses fixture text (a JSON array of exchanges, see the module docs).
    pub fn from_json(text: &str) -> Result<Replay, ReplayError> {
        let files: Vec<ExchangeFile> =
            serde_json::from_str(text).map_err(|e| ReplayError(format!("not a list of exchanges: {e}")))?;
        let exchanges = files
            .into_iter()
            .enumerate()
            .map(|(i, f)| exchange(f).map_err(|e| ReplayError(format!("exchange {i}: {e}"))));
        let exchanges = exchanges.collect::<Result<Vec<_>, _>>()?;
        let used = vec![false; exchanges.len()];
        Ok(Replay { state: Rc::new(RefCell::new(State { exchanges, used, ..State::default() })) })
    }

    /// Runs `f` (typically `|| MySite::extract(session, settings)`) with [`crate::http`] answered
    /// from this replay on the current thread, with a fresh cookie jar, as one host call.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        self.state.borrow_mut().jar.clear();
        let previous = ACTIVE.with(|a| a.borrow_mut().replace(Rc::clone(&self.state)));
        // Restores the previous replay even if `f` panics (a failing assertion inside).
        struct Restore(Option<Rc<RefCell<State>>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                ACTIVE.with(|a| *a.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(previous);
        f()
    }

    /// `METHOD url` of every recorded exchange no request has matched yet.
    pub fn unused(&self) -> Vec<String> {
        let state = self.state.borrow();
        let pairs = state.exchanges.iter().zip(&state.used);
        pairs.filter(|(_, used)| !**used).map(|(e, _)| format!("{} {}", e.method, e.url)).collect()
    }

    /// Every request made so far, as sent (the jar's `cookie` header included).
    pub fn requests(&self) -> Vec<Request> {
        self.state.borrow().seen.clone()
    }
}

/// A plausible session to pass to `extract` in tests: the demo season's live race.
pub fn session() -> SessionRef {
    SessionRef {
        id: "9999-01-race".into(),
        kind: "race".into(),
        season: 9999,
        round: 1,
        event_name: "Demo Grand Prix".into(),
        start: None,
    }
}

fn exchange(f: ExchangeFile) -> Result<Exchange, String> {
    let body = match (f.response.body, f.response.body_base64) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(b64)) => codec::base64_decode(&b64).ok_or("`body_base64` is not base64")?,
        (None, None) => Vec::new(),
        (Some(_), Some(_)) => return Err("give `body` or `body_base64`, not both".into()),
    };
    let mut headers = Vec::new();
    for (name, values) in f.response.headers {
        let name = name.to_ascii_lowercase();
        match values {
            HeaderValues::One(v) => headers.push((name, v)),
            HeaderValues::Many(vs) => headers.extend(vs.into_iter().map(|v| (name.clone(), v))),
        }
    }
    let final_url = f.response.final_url.unwrap_or_else(|| f.request.url.clone());
    Ok(Exchange {
        method: f.request.method.to_ascii_uppercase(),
        url: f.request.url,
        required: f.request.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
        response: Response { status: f.response.status, final_url, headers, body },
    })
}

/// What [`crate::http::fetch`] does on native targets.
pub(crate) fn fetch(request: &Request) -> Result<Response, FetchError> {
    let state = ACTIVE.with(|a| a.borrow().clone()).ok_or_else(|| {
        FetchError::Transport(format!(
            "no replay active for {} {} (native builds answer fetches from replay::Replay::run)",
            request.method, request.url
        ))
    })?;
    let mut state = state.borrow_mut();
    let url = ::url::Url::parse(&request.url)
        .map_err(|e| FetchError::InvalidUrl(format!("{}: {e}", request.url)))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let mut sent = request.clone();
    let cookies: Vec<String> = state
        .jar
        .iter()
        .filter(|c| c.host == host && url.path().starts_with(&c.path))
        .map(|c| format!("{}={}", c.name, c.value))
        .collect();
    if !cookies.is_empty() {
        sent.headers.push(("cookie".into(), cookies.join("; ")));
    }
    state.seen.push(sent.clone());

    let method = request.method.to_ascii_uppercase();
    let same_url: Vec<usize> = (0..state.exchanges.len())
        .filter(|&i| state.exchanges[i].method == method && state.exchanges[i].url == request.url)
        .collect();
    let matching: Vec<usize> =
        same_url.iter().copied().filter(|&i| missing_header(&state.exchanges[i], &sent).is_none()).collect();
    let Some(&index) = matching.iter().find(|&&i| !state.used[i]).or(matching.first()) else {
        let mut why = format!("no recorded exchange for {method} {}", request.url);
        if let Some(&i) = same_url.first()
            && let Some(difference) = missing_header(&state.exchanges[i], &sent)
        {
            why.push_str(&format!(" with these headers ({difference})"));
        }
        return Err(FetchError::Transport(why));
    };
    state.used[index] = true;
    let response = state.exchanges[index].response.clone();
    for line in response.headers.iter().filter(|(k, _)| k == "set-cookie") {
        store_cookie(&mut state.jar, &host, &line.1);
    }
    Ok(response)
}

/// The first required header `sent` lacks, described; `None` if all are there.
fn missing_header(exchange: &Exchange, sent: &Request) -> Option<String> {
    let values = |name: &str| -> Vec<&str> {
        sent.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    };
    exchange.required.iter().find_map(|(name, want)| {
        let have = values(name);
        let ok = if name == "cookie" {
            let pairs: Vec<&str> = have.iter().flat_map(|v| v.split(';')).map(str::trim).collect();
            want.split(';').map(str::trim).filter(|p| !p.is_empty()).all(|p| pairs.contains(&p))
        } else {
            have.contains(&want.as_str())
        };
        (!ok).then(|| match have.as_slice() {
            [] => format!("missing {name}: {want}"),
            _ => format!("{name} is {:?}, recorded {want:?}", have.join(", ")),
        })
    })
}

fn store_cookie(jar: &mut Vec<Cookie>, host: &str, line: &str) {
    let mut parts = line.split(';');
    let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { return };
    let (name, value) = (name.trim().to_string(), value.trim().to_string());
    let mut path = "/".to_string();
    let mut delete = false;
    for attribute in parts {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "path" if val.trim().starts_with('/') => path = val.trim().to_string(),
            "max-age" => delete = val.trim().parse::<i64>().is_ok_and(|s| s <= 0),
            _ => {}
        }
    }
    jar.retain(|c| !(c.host == host && c.path == path && c.name == name));
    if !delete {
        jar.push(Cookie { host: host.to_string(), path, name, value });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{self, ResponseExt};

    const FIXTURE: &str = r#"[
      {"request": {"method": "GET", "url": "http://tv.demo.invalid/watch"},
       "response": {"status": 200,
                    "headers": {"Set-Cookie": ["sid=s1; Path=/; HttpOnly", "other=o; Path=/elsewhere"],
                                "content-type": "text/html"},
                    "body": "<meta name=\"csrf-token\" content=\"c1\">"}},
      {"request": {"method": "post", "url": "http://tv.demo.invalid/api",
                   "headers": {"X-CSRF-Token": "c1", "Cookie": "sid=s1"}},
       "response": {"status": 200, "body_base64": "eyJvayI6dHJ1ZX0=",
                    "final_url": "http://tv.demo.invalid/api?v=2"}},
      {"request": {"method": "GET", "url": "http://tv.demo.invalid/never"},
       "response": {"status": 404}}
    ]"#;

    #[test]
    fn replays_with_cookies_and_required_headers() {
        let replay = Replay::from_json(FIXTURE).unwrap();
        let answer = replay.run(|| {
            let page = http::get("http://tv.demo.invalid/watch", &[]).unwrap();
            assert_eq!(page.header("content-type"), Some("text/html"));
            let csrf = crate::find::meta_content(&page.text(), "csrf-token").unwrap();
            http::post_json("http://tv.demo.invalid/api", &[("x-csrf-token", &csrf)], &serde_json::json!({}))
                .unwrap()
        });
        assert_eq!(answer.text(), r#"{"ok":true}"#);
        assert_eq!(answer.final_url, "http://tv.demo.invalid/api?v=2");
        assert_eq!(replay.unused(), ["GET http://tv.demo.invalid/never"]);
        let sent = replay.requests();
        assert_eq!(sent.len(), 2);
        assert!(sent[1].headers.contains(&("cookie".into(), "sid=s1".into())), "{:?}", sent[1].headers);
        assert!(!sent[0].headers.iter().any(|(k, _)| k == "cookie"));
    }

    #[test]
    fn each_run_is_one_call_with_a_fresh_jar() {
        let replay = Replay::from_json(FIXTURE).unwrap();
        replay.run(|| http::get("http://tv.demo.invalid/watch", &[]).unwrap());
        // The cookie from the first run is gone: the API exchange no longer matches.
        let err = replay
            .run(|| http::post_json("http://tv.demo.invalid/api", &[("X-CSRF-Token", "c1")], &1))
            .unwrap_err();
        assert_eq!(err.step, crate::Step::Request);
        assert!(
            err.detail.contains("no recorded exchange for POST http://tv.demo.invalid/api"),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("missing cookie: sid=s1"), "{}", err.detail);
    }

    #[test]
    fn unmatched_requests_are_transport_errors() {
        let replay = Replay::from_json(FIXTURE).unwrap();
        let e = replay.run(|| http::fetch(&http::request("GET", "http://tv.demo.invalid/nope", &[], None)));
        assert!(
            matches!(e, Err(FetchError::Transport(ref m)) if m == "no recorded exchange for GET http://tv.demo.invalid/nope"),
            "{e:?}"
        );
        let header_differs = replay.run(|| {
            http::get("http://tv.demo.invalid/watch", &[]).unwrap();
            http::fetch(&http::request("POST", "http://tv.demo.invalid/api", &[("x-csrf-token", "c2")], None))
        });
        let FetchError::Transport(why) = header_differs.unwrap_err() else { panic!("not transport") };
        assert!(why.ends_with(r#"(x-csrf-token is "c2", recorded "c1")"#), "{why}");
        // Outside `run` nothing answers.
        assert!(
            matches!(http::fetch(&http::request("GET", "http://a.example/", &[], None)), Err(FetchError::Transport(m)) if m.contains("no replay active"))
        );
    }

    #[test]
    fn bad_fixtures_say_why() {
        assert!(Replay::from_json("{}").unwrap_err().to_string().contains("not a list"));
        let both = r#"[{"request": {"method": "GET", "url": "http://a/"},
                        "response": {"status": 200, "body": "x", "body_base64": "eA=="}}]"#;
        assert!(Replay::from_json(both).unwrap_err().to_string().contains("exchange 0"));
        let missing = Replay::from_file("fixtures/does-not-exist.json").unwrap_err().to_string();
        assert!(missing.contains("does-not-exist.json"), "{missing}");
    }

    #[test]
    fn cookies_respect_path_and_deletion() {
        let mut jar = Vec::new();
        store_cookie(&mut jar, "a.example", "sid=1; Path=/demo-tv; HttpOnly");
        store_cookie(&mut jar, "a.example", "sid=2; Path=/demo-tv");
        assert_eq!(jar.len(), 1);
        assert_eq!((jar[0].path.as_str(), jar[0].value.as_str()), ("/demo-tv", "2"));
        store_cookie(&mut jar, "a.example", "sid=; Path=/demo-tv; Max-Age=0");
        assert!(jar.is_empty());
    }
}
