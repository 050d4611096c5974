//! Replay tests: every page shape of the testbed's `/pages/`, recorded by `fixtures/record.py`,
//! run through the whole extractor with no network. Each fixture also records the fetch that
//! verifies the candidate is a playlist, so `unused()` being empty proves it was verified.

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

/// One test per hidden shape: (fixture and page name, label of the first candidate).
const HIDDEN: &[(&str, &str)] = &[
    ("packed", "packed → JW Player"),
    ("packed-nested", "packed → packed → hls.js"),
    ("escaped", "script"),
    ("entities", "page"),
    ("protocol-relative", "source"),
    ("base-href", "hls.js"),
    ("base64-attr", "base64 attribute"),
    ("concat", "script"),
    ("join", "script"),
    ("reverse", "script"),
    ("jwplayer", "JW Player"),
    ("clappr", "Clappr"),
    ("videojs", "Video.js"),
    ("plyr", "Plyr"),
    ("dplayer", "DPlayer"),
    ("flowplayer", "Flowplayer"),
    ("shaka", "Shaka"),
    ("hlsjs", "hls.js"),
];

fn hidden(shape: &str) {
    let label = HIDDEN.iter().find(|(s, _)| *s == shape).map(|(_, l)| *l).expect("listed");
    let page = format!("/pages/{shape}");
    finds_one(&format!("{shape}.json"), &page, "main", label, &page);
}

#[test]
fn packed_script() {
    hidden("packed");
}

#[test]
fn packed_script_inside_a_packed_script() {
    hidden("packed-nested");
}

#[test]
fn js_escapes() {
    hidden("escaped");
}

#[test]
fn html_entities() {
    hidden("entities");
}

#[test]
fn protocol_relative_url_takes_the_page_scheme() {
    let c = finds_one(
        "protocol-relative.json",
        "/pages/protocol-relative",
        "main",
        "source",
        "/pages/protocol-relative",
    );
    assert!(c.url.starts_with("http://"), "{}", c.url);
}

#[test]
fn relative_url_resolves_against_base_href_not_the_page() {
    // `master.m3u8?…` under `<base href="/cdn/main/">`: finds_one checks /cdn/main/, not /pages/.
    hidden("base-href");
}

#[test]
fn base64_attribute() {
    hidden("base64-attr");
}

#[test]
fn string_concatenation() {
    hidden("concat");
}

#[test]
fn array_join() {
    hidden("join");
}

#[test]
fn reversed_string() {
    hidden("reverse");
}

#[test]
fn jw_player_setup() {
    hidden("jwplayer");
}

#[test]
fn clappr_setup() {
    hidden("clappr");
}

#[test]
fn videojs_setup() {
    hidden("videojs");
}

#[test]
fn plyr_source() {
    hidden("plyr");
}

#[test]
fn dplayer_setup() {
    hidden("dplayer");
}

#[test]
fn flowplayer_setup() {
    hidden("flowplayer");
}

#[test]
fn shaka_load() {
    hidden("shaka");
}

#[test]
fn hlsjs_load_source() {
    hidden("hlsjs");
}

#[test]
fn every_hidden_shape_is_tested() {
    let fixtures: Vec<String> = std::fs::read_dir("fixtures")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for (shape, _) in HIDDEN {
        assert!(fixtures.contains(&format!("{shape}.json")), "{shape}");
    }
}

#[test]
fn playlist_url_encoded_in_the_iframe_query() {
    finds_one("iframe-query.json", "/pages/iframe-query", "main", "iframe ?src=", "/pages/iframe-query");
}

#[test]
fn playlist_url_encoded_twice_in_the_iframe_fragment() {
    finds_one(
        "iframe-fragment.json",
        "/pages/iframe-fragment",
        "main",
        "iframe ?src=",
        "/pages/iframe-fragment",
    );
}

#[test]
fn decoy_in_a_comment_ranks_last_and_is_dropped_by_verification() {
    let (replay, result) = run("decoy.json", &[("page", &format!("{SITE}/pages/decoy"))]);
    let found = result.expect("extracts");
    // Both were fetched: the real one first (player setup outranks a comment), the dead one second.
    let asked: Vec<String> = replay.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked[1].starts_with(&format!("{SITE}/cdn/main/master.m3u8?token=")), "{asked:?}");
    assert_eq!(asked[2], format!("{SITE}/pages/old/live.m3u8"));
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].label, "JW Player");
}

#[test]
fn only_dead_candidates_fail_at_url_extraction_naming_them() {
    let fixture = r#"[
      {"request": {"method": "GET", "url": "http://site.demo.invalid/p"},
       "response": {"status": 200, "body": "<!-- <video src=\"/old.m3u8\"> --><a href=\"/gone.m3u8\">x</a>"}},
      {"request": {"method": "GET", "url": "http://site.demo.invalid/old.m3u8"},
       "response": {"status": 200, "headers": {"content-type": "text/html"}, "body": "<h1>ended</h1>"}},
      {"request": {"method": "GET", "url": "http://site.demo.invalid/gone.m3u8"},
       "response": {"status": 404}}
    ]"#;
    let replay = Replay::from_json(fixture).unwrap();
    let settings = Settings::from_pairs(&[("page", "http://site.demo.invalid/p")]);
    let e = replay.run(|| GenericPage::extract(replay::session(), settings)).unwrap_err();
    assert_eq!(e.step, Step::UrlExtraction);
    assert!(e.detail.contains("/old.m3u8 (answered 200 without #EXTM3U)"), "{}", e.detail);
    assert!(e.detail.contains("/gone.m3u8 (answered 404)"), "{}", e.detail);
}

#[test]
fn unverifiable_candidates_are_kept_after_verified_ones() {
    let fixture = r#"[
      {"request": {"method": "GET", "url": "http://site.demo.invalid/p"},
       "response": {"status": 200, "body": "<script>hls.loadSource('/forbidden.m3u8')</script><a href=\"/ok.m3u8\">x</a>"}},
      {"request": {"method": "GET", "url": "http://site.demo.invalid/forbidden.m3u8"},
       "response": {"status": 403}},
      {"request": {"method": "GET", "url": "http://site.demo.invalid/ok.m3u8"},
       "response": {"status": 200, "body": "\ufeff\n#EXTM3U\n"}}
    ]"#;
    let replay = Replay::from_json(fixture).unwrap();
    let settings = Settings::from_pairs(&[("page", "http://site.demo.invalid/p")]);
    let found = replay.run(|| GenericPage::extract(replay::session(), settings)).unwrap();
    let urls: Vec<&str> = found.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(urls, ["http://site.demo.invalid/ok.m3u8", "http://site.demo.invalid/forbidden.m3u8"]);
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
    let unused = replay.unused();
    assert_eq!(unused.len(), 2, "{unused:?}");
    assert_eq!(unused[0], format!("GET {SITE}/pages/embed/player?feed=main"));
    assert!(unused[1].starts_with(&format!("GET {SITE}/cdn/main/master.m3u8?token=")), "{unused:?}");
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
    assert!(c.expires_at.is_some_and(|t| c.url.contains(&format!("token={t}."))), "{c:?}");
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
