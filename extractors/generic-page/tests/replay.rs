//! Replay tests: every page shape of the testbed's `/pages/`, recorded by `fixtures/record.py`,
//! run through the whole extractor with no network.

use generic_page::GenericPage;
use pitwall_extractor_sdk::replay::{self, Replay};
use pitwall_extractor_sdk::{ExtractError, Extractor, Settings, Step, StreamCandidate};

const SITE: &str = "http://site.demo.invalid";

fn run(fixture: &str, settings: &[(&str, &str)]) -> (Replay, Result<Vec<StreamCandidate>, ExtractError>) {
    let replay = Replay::from_file(format!("fixtures/{fixture}")).expect("fixture loads");
    let result = replay.run(|| GenericPage::extract(replay::session(), Settings::from_pairs(settings)));
    (replay, result)
}

/// Extracts `page` with `fixture` and checks the one candidate: feed, label and Referer.
fn finds_one(fixture: &str, page: &str, feed: &str, label: &str, referer: &str) -> StreamCandidate {
    let (replay, result) = run(fixture, &[("page", &format!("{SITE}{page}"))]);
    let found = result.unwrap_or_else(|e| panic!("{fixture}: {e:?}"));
    assert!(replay.unused().is_empty(), "{fixture}: unused {:?}", replay.unused());
    assert_eq!(found.len(), 1, "{fixture}: {found:?}");
    let c = found.into_iter().next().unwrap();
    let master = format!("{SITE}/cdn/{feed}/master.m3u8?token=");
    assert!(c.url.starts_with(&master), "{fixture}: {}", c.url);
    assert_eq!(c.label, label, "{fixture}");
    assert_eq!(c.headers, [("Referer".to_string(), format!("{SITE}{referer}"))], "{fixture}");
    c
}

#[test]
fn video_src() {
    finds_one("video.json", "/pages/video", "main", "video", "/pages/video");
}

#[test]
fn source_src() {
    finds_one("source.json", "/pages/source", "main", "source", "/pages/source");
}

#[test]
fn json_ld_content_url() {
    finds_one("jsonld.json", "/pages/jsonld", "main", "JSON-LD", "/pages/jsonld");
}

#[test]
fn js_variable() {
    finds_one("jsvar.json", "/pages/jsvar", "main", "script", "/pages/jsvar");
}

#[test]
fn atob_argument() {
    finds_one("atob.json", "/pages/atob", "main", "atob()", "/pages/atob");
}

#[test]
fn iframes_two_levels_deep_with_each_frame_as_referer() {
    let c = finds_one(
        "iframe.json",
        "/pages/iframe",
        "main",
        "iframe → iframe → video",
        "/pages/embed/player?feed=main",
    );
    assert_eq!(c.expires_at, None);
}

#[test]
fn iframes_beyond_max_depth_are_not_followed() {
    let (replay, result) =
        run("iframe.json", &[("page", &format!("{SITE}/pages/iframe")), ("max_depth", "1")]);
    let e = result.unwrap_err();
    assert_eq!(e.step, Step::UrlExtraction);
    assert!(e.detail.contains("iframes 1 deep"), "{}", e.detail);
    assert_eq!(replay.unused(), [format!("GET {SITE}/pages/embed/player?feed=main")]);
}

#[test]
fn json_api_the_page_script_fetches() {
    let c = finds_one(
        "api.json",
        "/pages/api?feed=pitlane",
        "pitlane",
        "fetch() JSON",
        "/pages/api?feed=pitlane",
    );
    assert_eq!(c.expires_at, Some(1795668458));
}

#[test]
fn json_api_from_settings() {
    let api = format!("{SITE}/pages/api/stream.json?feed=onboard-1");
    let (replay, result) =
        run("api-setting.json", &[("page", &format!("{SITE}/pages/")), ("api", &api), ("label", "Fallback")]);
    let found = result.expect("extracts");
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    assert_eq!(found.len(), 1);
    assert!(found[0].url.starts_with(&format!("{SITE}/cdn/onboard-1/master.m3u8?token=")));
    assert_eq!(found[0].label, "Fallback (JSON API)");
    assert_eq!(found[0].headers, [("Referer".to_string(), format!("{SITE}/pages/"))]);
    assert!(found[0].expires_at.is_some());
}

#[test]
fn a_page_without_playlists_fails_at_url_extraction() {
    let (_, result) = run("nothing.json", &[("page", &format!("{SITE}/pages/"))]);
    let e = result.unwrap_err();
    assert_eq!(e.step, Step::UrlExtraction);
    assert!(e.detail.contains("no HLS playlist in http://site.demo.invalid/pages/"), "{}", e.detail);
}

#[test]
fn an_unreachable_page_fails_at_request() {
    let (_, result) = run("nothing.json", &[("page", &format!("{SITE}/pages/gone"))]);
    let e = result.unwrap_err();
    assert_eq!(e.step, Step::Request);
    assert!(e.detail.contains("no recorded exchange for GET"), "{}", e.detail);
}

#[test]
fn bad_settings_fail_at_other() {
    for settings in [
        vec![],
        vec![("page", "ftp://site.demo.invalid/")],
        vec![("page", "http://site.demo.invalid/"), ("max_depth", "99")],
        vec![("page", "http://site.demo.invalid/"), ("api", "/relative")],
    ] {
        let (replay, result) = run("nothing.json", &settings);
        assert_eq!(result.unwrap_err().step, Step::Other, "{settings:?}");
        assert!(replay.requests().is_empty());
    }
}
