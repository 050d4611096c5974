//! Replay tests: the whole Demo TV flow against exchanges recorded from the testbed
//! (`fixtures/record.py`), one fixture per outcome, no network.

use demo_site::DemoSite;
use pitwall_extractor_sdk::replay::{self, Replay};
use pitwall_extractor_sdk::{ExtractError, Extractor, Settings, Step, StreamCandidate};

const WATCH_MAIN: &str = "http://tv.demo.invalid/demo-tv/watch/main";

fn run(fixture: &str, settings: &[(&str, &str)]) -> (Replay, Result<Vec<StreamCandidate>, ExtractError>) {
    let replay = Replay::from_file(format!("fixtures/{fixture}")).expect("fixture loads");
    let result = replay.run(|| DemoSite::extract(replay::session(), Settings::from_pairs(settings)));
    (replay, result)
}

fn fails_at(fixture: &str, page: &str) -> ExtractError {
    let (replay, result) = run(fixture, &[("page", page)]);
    assert!(replay.unused().is_empty(), "every recorded step is reached: {:?}", replay.unused());
    result.expect_err("the flow fails")
}

#[test]
fn main_feed_with_cookie_csrf_and_referer() {
    let (replay, result) = run("watch-main.json", &[("page", WATCH_MAIN)]);
    let found = result.expect("extracts");
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert!(c.url.starts_with("http://tv.demo.invalid/cdn/main/master.m3u8?token="), "{}", c.url);
    assert_eq!(c.label, "Demo TV main");
    assert_eq!(c.expires_at, Some(1795668337));
    assert!(c.headers.contains(&("Referer".into(), WATCH_MAIN.into())));
    // The token call carried what the testbed checks (the fixture requires it too).
    let token_call = &replay.requests()[1];
    assert_eq!(token_call.method, "POST");
    assert_eq!(token_call.body.as_deref(), Some(br#"{"feed":"main"}"#.as_slice()));
}

#[test]
fn pitlane_candidate_carries_referer_and_browser_user_agent() {
    let page = "http://tv.demo.invalid/demo-tv/watch/pitlane";
    let (replay, result) = run("watch-pitlane.json", &[("page", page), ("label", "Pit lane")]);
    let found = result.expect("extracts");
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    let c = &found[0];
    assert!(c.url.starts_with("http://tv.demo.invalid/cdn/pitlane/master.m3u8?token="), "{}", c.url);
    assert_eq!(c.label, "Pit lane");
    let header = |name: &str| c.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // What the testbed CDN demands for this feed: a demo-tv Referer and `Mozilla/5.0 …`.
    assert!(header("Referer").is_some_and(|r| r.starts_with("http://tv.demo.invalid/demo-tv/")));
    assert!(header("User-Agent").is_some_and(|ua| ua.starts_with("Mozilla/5.0")));
}

#[test]
fn unknown_channel_fails_at_request() {
    let e = fails_at("watch-unknown.json", "http://tv.demo.invalid/demo-tv/watch/nope");
    assert_eq!(e.step, Step::Request);
    assert!(e.detail.contains("/demo-tv/watch/nope answered 404"), "{}", e.detail);
}

#[test]
fn page_without_csrf_fails_at_token_parse() {
    let e = fails_at("fault-no-csrf.json", WATCH_MAIN);
    assert_eq!(e.step, Step::TokenParse);
    assert!(e.detail.contains("no CSRF token"), "{}", e.detail);
}

#[test]
fn truncated_token_answer_fails_at_token_parse() {
    let e = fails_at("fault-bad-token-json.json", WATCH_MAIN);
    assert_eq!(e.step, Step::TokenParse);
    assert!(e.detail.contains("invalid JSON"), "{}", e.detail);
}

#[test]
fn answer_without_url_fails_at_url_extraction() {
    let e = fails_at("fault-no-url.json", WATCH_MAIN);
    assert_eq!(e.step, Step::UrlExtraction);
    assert!(e.detail.contains("no `player`"), "{}", e.detail);
}

#[test]
fn missing_or_bad_page_setting_fails_before_any_fetch() {
    let (replay, result) = run("watch-main.json", &[]);
    assert_eq!(result.unwrap_err().step, Step::Other);
    let (_, bad) = run("watch-main.json", &[("page", "file:///etc/passwd")]);
    assert_eq!(bad.unwrap_err().step, Step::Other);
    assert!(replay.requests().is_empty());
}

#[test]
fn a_token_call_without_the_session_cookie_would_not_match() {
    // Guards the fixture itself: the recorded token call requires the cookie the page set, so
    // a flow that lost the cookie (or skipped the page) cannot pass.
    let replay = Replay::from_file("fixtures/watch-main.json").unwrap();
    let e = replay
        .run(|| {
            pitwall_extractor_sdk::http::post_json(
                "http://tv.demo.invalid/demo-tv/api/token",
                &[("X-CSRF-Token", "x"), ("Referer", WATCH_MAIN)],
                &pitwall_extractor_sdk::serde_json::json!({"feed": "main"}),
            )
        })
        .unwrap_err();
    assert_eq!(e.step, Step::Request);
    assert!(e.detail.contains("no recorded exchange"), "{}", e.detail);
}
