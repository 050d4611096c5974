//! The sign-in page: with `--viewer-token`, a browser that opens any page without the token gets
//! a small HTML form instead of a 401 JSON error; posting the token to `/sign-in` sets the
//! viewer cookie and sends the browser back where it was going. API clients (no `text/html` in
//! `Accept`) keep getting 401 JSON from [`super::auth::refusal`].
//!
//! The page is self-contained and script-free, so it needs nothing from the web app build and
//! nothing beyond the CSP every answer carries (`form-action 'self'`, inline styles only).
//! Wrong tokens count against the same per-client throttle as every other wrong token, and the
//! comparison is constant-time. `next` only ever names a path on this host: anything that a
//! browser could read as another site (`//evil.example`, `/\evil.example`, `https://…`) becomes `/`.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::auth;
use crate::AppState;

/// Where the form posts.
pub const PATH: &str = "/sign-in";

/// Longest `next` kept; a longer one becomes `/`.
const MAX_NEXT: usize = 2048;

/// Largest form body read; a token is far shorter.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// Whether `request` is a browser opening a page: a GET or HEAD whose `Accept` names HTML.
pub fn wants_html(request: &Request) -> bool {
    (request.method() == Method::GET || request.method() == Method::HEAD)
        && request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|media| media.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html")))
}

/// The page asking for the token, to come back to `next` (the path and query the browser asked
/// for) afterwards; `error` is shown above the form.
pub fn page(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let next = local_path(next);
    let error = error.map_or_else(String::new, |e| format!("<p class=error role=alert>{}</p>", escape(e)));
    let html = format!(
        "<!doctype html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\n\
         <meta name=robots content=noindex>\n<title>Sign in · pitwall</title>\n\
         <style>\n\
         body{{font:16px/1.5 system-ui,sans-serif;background:#111;color:#eee;display:grid;place-items:center;min-height:100vh;margin:0}}\n\
         form{{background:#1c1c1c;padding:2rem;border-radius:8px;width:min(22rem,90vw);box-sizing:border-box}}\n\
         h1{{margin:0 0 1rem;font-size:1.4rem}}\n\
         label,input,button{{display:block;width:100%;box-sizing:border-box}}\n\
         input{{margin:.4rem 0 1rem;padding:.5rem;font:inherit;border-radius:4px;border:1px solid #555;background:#000;color:#eee}}\n\
         button{{padding:.6rem;font:inherit;border:0;border-radius:4px;background:#e10600;color:#fff;cursor:pointer}}\n\
         .error{{color:#ff8a80;margin:0 0 1rem}}\n\
         </style>\n</head>\n<body>\n\
         <form method=post action=\"{PATH}\">\n<h1>pitwall</h1>\n{error}\
         <label for=token>Viewer token</label>\n\
         <input id=token name=token type=password autocomplete=current-password required autofocus>\n\
         <input type=hidden name=next value=\"{next}\">\n\
         <button type=submit>Sign in</button>\n</form>\n</body>\n</html>\n",
        next = escape(&next),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html,
    )
        .into_response()
}

/// `GET /sign-in`: the page on its own (coming back to `/`, or to `?next=`).
pub async fn show(request: Request) -> Response {
    let next = request
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next").map(|(_, v)| v))
        .unwrap_or_default();
    page(StatusCode::OK, &next, None)
}

/// `POST /sign-in` (`token`, `next`, form-encoded): the right token sets the cookie and
/// redirects (303) to `next`; a wrong one shows the page again (401) and counts against the
/// client's throttle.
pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let client = auth::client_ip(&state, &request);
    let https = auth::is_https(&state, &request);
    let body = match axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(_) => return page(StatusCode::PAYLOAD_TOO_LARGE, "/", Some("That form was too large.")),
    };
    let (mut token, mut next) = (String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(&body) {
        match &*key {
            "token" => token = value.into_owned(),
            "next" => next = value.into_owned(),
            _ => {}
        }
    }
    let next = local_path(&next);
    let Some(expected) = state.config.flags.viewer_token.as_deref() else {
        // Nothing to sign in to: this pitwall is open.
        return see_other(&next, None);
    };
    if let Some(wait) = state.throttle.blocked(client) {
        let message = format!("Too many wrong tokens; try again in {} s.", wait.as_secs().max(1));
        let mut response = page(StatusCode::TOO_MANY_REQUESTS, &next, Some(&message));
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if !token.is_empty() && auth::matches(token.trim(), expected) {
        return see_other(&next, Some(&auth::viewer_cookie(expected, https)));
    }
    state.throttle.failed(client);
    page(StatusCode::UNAUTHORIZED, &next, Some("That token is not right. Ask whoever runs this pitwall."))
}

/// `303 See Other` to `location`, setting `cookie` when given.
fn see_other(location: &str, cookie: Option<&str>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `next` when it is a path on this host, else `/`. A browser reads `//host` and `/\host` as
/// another site, and control characters could split a header, so those are refused.
pub fn local_path(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= MAX_NEXT
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with(PATH);
    if local { next.to_string() } else { "/".to_string() }
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_host() {
        for ok in ["/", "/session/2026-01-race", "/watch?streams=a,b", "/a//b"] {
            assert_eq!(local_path(ok), ok);
        }
        for bad in [
            "",
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/x\\y",
            "/sign-in",
            "/sign-in?next=/x",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(MAX_NEXT))), "/");
    }

    #[test]
    fn browsers_are_told_apart_from_api_clients_by_accept() {
        let with = |method: Method, accept: Option<&str>| {
            let mut builder = Request::builder().method(method).uri("/");
            if let Some(accept) = accept {
                builder = builder.header(header::ACCEPT, accept);
            }
            builder.body(Body::empty()).unwrap()
        };
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(wants_html(&with(Method::GET, Some(firefox))));
        assert!(wants_html(&with(Method::HEAD, Some("TEXT/HTML"))));
        assert!(!wants_html(&with(Method::POST, Some(firefox))));
        assert!(!wants_html(&with(Method::GET, Some("application/json"))));
        assert!(!wants_html(&with(Method::GET, Some("*/*"))));
        assert!(!wants_html(&with(Method::GET, None)));
    }

    #[tokio::test]
    async fn the_page_escapes_what_it_echoes() {
        let response = page(StatusCode::OK, "/x?a=\"><script>", Some("<b>"));
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("value=\"/x?a=&quot;&gt;&lt;script&gt;\""), "{html}");
        assert!(html.contains("&lt;b&gt;") && !html.contains("<script"), "{html}");
        assert!(html.contains("action=\"/sign-in\"") && html.contains("name=token"), "{html}");
    }
}
