//! HTTP through the host's `fetch`, the only way a guest reaches the network.
//!
//! In a component every request goes to the host, which enforces the plugin's declared hosts, the
//! SSRF guard, timeouts and the body cap, follows redirects itself and keeps one cookie jar per
//! call (cookies a response sets are sent again on later requests in the same call). On native
//! targets (`cargo test`) the same functions answer from the active [`crate::replay`] instead.

use serde::Serialize;

use crate::url::redact;
use crate::{ExtractError, FetchError, Request, Response, Step, error};

/// A current desktop browser's `User-Agent`, for sites and CDNs that refuse anything else.
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Sends `request` and returns the transport result as is: the host's answer in a component, the
/// active replay's on native targets (no replay active, or no recorded exchange, is a
/// [`FetchError::Transport`]).
pub fn fetch(request: &Request) -> Result<Response, FetchError> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::pitwall::extractor::host::fetch(request);
    #[cfg(not(target_arch = "wasm32"))]
    crate::replay::fetch(request)
}

/// Sends `request`; a refused or failed fetch becomes an [`ExtractError`] at step `request` naming
/// the method, the URL (query redacted) and the host's reason. Any status is returned as is: use
/// [`ResponseExt::ensure_success`] to turn non-2xx answers into errors.
pub fn send(request: &Request) -> Result<Response, ExtractError> {
    fetch(request).map_err(|e| {
        error(Step::Request, format!("{} {}: {}", request.method, redact(&request.url), describe(&e)))
    })
}

/// One readable line for a refused or failed fetch.
pub fn describe(e: &FetchError) -> String {
    match e {
        FetchError::HostNotAllowed(why) => format!("host not allowed: {why}"),
        FetchError::AddressBlocked(why) => format!("address blocked: {why}"),
        FetchError::InvalidUrl(why) => format!("invalid URL: {why}"),
        FetchError::Timeout => "timed out".into(),
        FetchError::TooLarge(cap) => format!("body larger than the host's cap of {cap} bytes"),
        FetchError::Transport(why) => format!("transport: {why}"),
    }
}

/// A request with `method`, `url`, extra `headers` and an optional `body`.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Request {
    Request {
        method: method.to_string(),
        url: url.to_string(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body,
    }
}

/// `GET url` with extra headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, ExtractError> {
    send(&request("GET", url, headers, None))
}

/// `POST url` with `body` serialised as JSON; adds `Content-Type: application/json` unless
/// `headers` has one.
pub fn post_json<T: Serialize + ?Sized>(
    url: &str,
    headers: &[(&str, &str)],
    body: &T,
) -> Result<Response, ExtractError> {
    let json = serde_json::to_vec(body)
        .map_err(|e| error(Step::Other, format!("cannot encode the JSON body for {}: {e}", redact(url))))?;
    send(&with_content_type(request("POST", url, headers, Some(json)), "application/json"))
}

/// `POST url` with `fields` as an `application/x-www-form-urlencoded` body; adds that
/// `Content-Type` unless `headers` has one.
pub fn post_form(
    url: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> Result<Response, ExtractError> {
    let body = ::url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    send(&with_content_type(
        request("POST", url, headers, Some(body.into_bytes())),
        "application/x-www-form-urlencoded",
    ))
}

fn with_content_type(mut request: Request, content_type: &str) -> Request {
    if !request.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        request.headers.push(("Content-Type".into(), content_type.into()));
    }
    request
}

/// Reading a [`Response`]: `use pitwall_extractor_sdk::http::ResponseExt;` (or the prelude).
pub trait ResponseExt: Sized {
    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    fn text(&self) -> String;
    /// The first value of header `name` (case-insensitive).
    fn header(&self, name: &str) -> Option<&str>;
    /// Every value of header `name` (case-insensitive), e.g. all `set-cookie` lines.
    fn headers_named(&self, name: &str) -> Vec<&str>;
    /// Whether the status is 2xx.
    fn is_success(&self) -> bool;
    /// The response itself if the status is 2xx, else an [`ExtractError`] at step `request`
    /// naming the URL (query redacted), the status and the start of the body.
    fn ensure_success(self) -> Result<Self, ExtractError>;
    /// The body parsed as JSON, or an [`ExtractError`] at `step` naming the URL and the parse
    /// error (the step depends on what the JSON was for, e.g. `token-parse` for a token API).
    fn json(&self, step: Step) -> Result<serde_json::Value, ExtractError>;
}

impl ResponseExt for Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn ensure_success(self) -> Result<Self, ExtractError> {
        if self.is_success() {
            return Ok(self);
        }
        let text = self.text();
        let snippet: String =
            text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(160).collect();
        let mut detail = format!("{} answered {}", redact(&self.final_url), self.status);
        if !snippet.is_empty() {
            detail.push_str(": ");
            detail.push_str(&snippet);
        }
        Err(error(Step::Request, detail))
    }

    fn json(&self, step: Step) -> Result<serde_json::Value, ExtractError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| error(step, format!("{} answered invalid JSON: {e}", redact(&self.final_url))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            final_url: "http://tv.demo.invalid/api?token=secret".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn response_helpers() {
        let ok = response(200, r#"{"a": 1}"#);
        assert_eq!(ok.text(), r#"{"a": 1}"#);
        assert_eq!(ok.header("Content-Type"), Some("application/json"));
        assert_eq!(ok.headers_named("SET-COOKIE"), ["a=1", "b=2"]);
        assert_eq!(ok.header("x-missing"), None);
        assert_eq!(ok.json(Step::TokenParse).unwrap()["a"], 1);
        let bad = response(200, "{\"a\": ").json(Step::TokenParse).unwrap_err();
        assert_eq!(bad.step, Step::TokenParse);
        assert!(bad.detail.contains("invalid JSON") && !bad.detail.contains("secret"), "{}", bad.detail);
        assert!(ok.ensure_success().is_ok());
    }

    #[test]
    fn non_2xx_names_url_and_status_not_the_token() {
        let e = response(403, "{\"error\":\n {\"code\": \"csrf_mismatch\"}}").ensure_success().unwrap_err();
        assert_eq!(e.step, Step::Request);
        assert_eq!(
            e.detail,
            r#"http://tv.demo.invalid/api?… answered 403: {"error": {"code": "csrf_mismatch"}}"#
        );
    }

    #[test]
    fn bodies_get_a_content_type_once() {
        let r = with_content_type(request("POST", "http://a.example/", &[], None), "application/json");
        assert_eq!(r.headers, [("Content-Type".to_string(), "application/json".to_string())]);
        let r = with_content_type(
            request("POST", "http://a.example/", &[("content-type", "text/plain")], None),
            "application/json",
        );
        assert_eq!(r.headers.len(), 1);
    }
}
