//! `demo-site` extractor: Demo TV, the testbed's browser-only streaming site, and the model for
//! real sites that guard their playlist behind a session, a CSRF token and obfuscation.
//!
//! Flow (each step fails with its own [`Step`]):
//! 1. `GET settings.page` (a watch page, e.g. `http://tv.demo.invalid/demo-tv/watch/main`); the
//!    host keeps the session cookie it sets. Non-2xx or fetch failure: `request`.
//! 2. Read the CSRF token from `<meta name="csrf-token">`. Missing: `token-parse`.
//! 3. `POST` the page's token API (`/demo-tv/api/token`) with `{"feed": …}`, the cookie (added by
//!    the host), `X-CSRF-Token` and the watch page as `Referer`. Non-2xx: `request`; not JSON:
//!    `token-parse`.
//! 4. Decode `player` (`var _0x4f2a = "<reversed base64 of the URL>"`). Missing or undecodable:
//!    `url-extraction`.
//!
//! The candidate carries the watch page as `Referer` and a browser `User-Agent`, which the CDN
//! demands for some feeds (`onboard-2`, `pitlane`), and the token's `expires_at`.
//! Settings: `page` (required), `label` (optional; default `Demo TV <feed>`).

use pitwall_extractor_sdk::prelude::*;
use pitwall_extractor_sdk::serde_json::{Value, json};
use pitwall_extractor_sdk::url;

/// Name of the JS variable the token API hides the playlist URL in.
const PLAYER_VAR: &str = "_0x4f2a";
/// Where the token API lives when the page does not say.
const DEFAULT_TOKEN_API: &str = "/demo-tv/api/token";

/// The Demo TV extractor.
pub struct DemoSite;

impl Extractor for DemoSite {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "demo-site".into(),
            name: "Demo TV".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: ["tv.demo.invalid", "*.demo.invalid", "127.0.0.1", "localhost"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn extract(_session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        let page_url = settings.require("page")?;
        if !is_http_url(page_url) {
            return Err(error(Step::Other, format!("setting `page` is not an http(s) URL: {page_url:?}")));
        }
        let ua = http::BROWSER_USER_AGENT;
        let page = http::get(page_url, &[("User-Agent", ua), ("Accept", "text/html")])?.ensure_success()?;
        let watch_url = page.final_url.clone();
        let html = page.text();
        let csrf = csrf_token(&html, &watch_url)?;
        let feed = feed_name(&html, &watch_url)?;
        let api = token_api_url(&html, &watch_url)?;
        let origin = url::origin(&watch_url).unwrap_or_default();
        let answer = http::post_json(
            &api,
            &[
                ("User-Agent", ua),
                ("Accept", "application/json"),
                ("X-CSRF-Token", &csrf),
                ("Referer", &watch_url),
                ("Origin", &origin),
            ],
            &json!({ "feed": feed }),
        )?
        .ensure_success()?
        .json(Step::TokenParse)?;
        let (playlist, expires_at) = playlist_from_answer(&answer)?;
        Ok(vec![StreamCandidate {
            url: playlist,
            label: settings.get("label").map_or_else(|| format!("Demo TV {feed}"), str::to_string),
            headers: vec![("Referer".into(), watch_url), ("User-Agent".into(), ua.into())],
            expires_at,
        }])
    }
}

export_extractor!(DemoSite);

/// The CSRF token of a watch page.
pub fn csrf_token(html: &str, page: &str) -> Result<String, ExtractError> {
    find::meta_content(html, "csrf-token").filter(|t| !t.is_empty()).ok_or_else(|| {
        error(
            Step::TokenParse,
            format!("no CSRF token (<meta name=\"csrf-token\">) in {}", url::redact(page)),
        )
    })
}

/// The channel a watch page plays: the player's `data-channel`, else the page URL's last segment.
pub fn feed_name(html: &str, page: &str) -> Result<String, ExtractError> {
    let from_player = find::attr_values(html, "video", "data-channel").into_iter().next();
    let from_url = || {
        let path = page.split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().filter(|s| !s.is_empty() && !s.contains(':')).map(str::to_string)
    };
    from_player
        .or_else(from_url)
        .ok_or_else(|| error(Step::Other, format!("cannot tell which channel {} plays", url::redact(page))))
}

/// The token API the page's script calls (`fetch('…/api/token'`), absolute.
pub fn token_api_url(html: &str, page: &str) -> Result<String, ExtractError> {
    let path = find::between(html, "fetch('", "'")
        .or_else(|| find::between(html, "fetch(\"", "\""))
        .filter(|p| p.contains("token"))
        .unwrap_or(DEFAULT_TOKEN_API);
    url::join(page, path).ok_or_else(|| error(Step::Other, format!("bad token API path {path:?}")))
}

/// The playlist URL and its expiry from the token API's answer.
pub fn playlist_from_answer(answer: &Value) -> Result<(String, Option<u64>), ExtractError> {
    let player = answer.get("player").and_then(Value::as_str).ok_or_else(|| {
        error(Step::UrlExtraction, "token API answer has no `player` (the obfuscated playlist URL)")
    })?;
    let blob = find::js_string_var(player, PLAYER_VAR)
        .or_else(|| find::between(player, "\"", "\"").map(str::to_string))
        .ok_or_else(|| error(Step::UrlExtraction, "`player` assigns no string"))?;
    let url = codec::base64_decode_str(&codec::reverse(&blob))
        .filter(|u| is_http_url(u))
        .ok_or_else(|| error(Step::UrlExtraction, "`player` string is not a reversed base64 http(s) URL"))?;
    Ok((url, answer.get("expires_at").and_then(Value::as_u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_token_feed_and_api_from_a_page() {
        let html = r#"<meta name="csrf-token" content="t0k"><video data-channel="pitlane"></video>
            <script>fetch('/demo-tv/api/token', {method: 'POST'})</script>"#;
        let page = "http://tv.demo.invalid/demo-tv/watch/pitlane?x=1";
        assert_eq!(csrf_token(html, page).unwrap(), "t0k");
        assert_eq!(feed_name(html, page).unwrap(), "pitlane");
        assert_eq!(feed_name("", page).unwrap(), "pitlane?x=1".split('?').next().unwrap());
        assert_eq!(token_api_url(html, page).unwrap(), "http://tv.demo.invalid/demo-tv/api/token");
        assert_eq!(token_api_url("", page).unwrap(), "http://tv.demo.invalid/demo-tv/api/token");
        let e = csrf_token("<meta name=\"other\" content=\"x\">", page).unwrap_err();
        assert_eq!(e.step, Step::TokenParse);
        assert!(!e.detail.contains("x=1"), "query redacted: {}", e.detail);
    }

    #[test]
    fn decodes_the_player_snippet() {
        // reverse(base64("http://tv.demo.invalid/cdn/main/master.m3u8?token=1.a"))
        let blob = codec::reverse("aHR0cDovL3R2LmRlbW8uaW52YWxpZC9jZG4vbWFpbi9tYXN0ZXIubTN1OD90b2tlbj0xLmE=");
        let answer =
            json!({"feed": "main", "expires_at": 42, "player": format!("var _0x4f2a = \"{blob}\";")});
        let (url, exp) = playlist_from_answer(&answer).unwrap();
        assert_eq!(url, "http://tv.demo.invalid/cdn/main/master.m3u8?token=1.a");
        assert_eq!(exp, Some(42));
        let missing = playlist_from_answer(&json!({"expires_at": 42})).unwrap_err();
        assert_eq!(missing.step, Step::UrlExtraction);
        let garbage = playlist_from_answer(&json!({"player": "var _0x4f2a = \"!!!\";"})).unwrap_err();
        assert_eq!(garbage.step, Step::UrlExtraction);
    }

    #[test]
    fn declares_its_hosts() {
        let info = DemoSite::info();
        assert_eq!(info.id, "demo-site");
        assert!(info.allowed_hosts.iter().all(|h| h != "*"));
        assert!(info.allowed_hosts.contains(&"*.demo.invalid".to_string()));
    }
}
