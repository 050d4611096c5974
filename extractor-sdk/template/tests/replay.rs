//! Replay tests: `extract` against exchanges recorded from the site (`fixtures/`), no network.
//! Record new ones with pitwall's `extractor-sdk/tools/recorder.py` (see its `--help`).

use my_site::MySite;
use pitwall_extractor_sdk::replay::{self, Replay};
use pitwall_extractor_sdk::{Extractor, Settings, Step};

const PAGE: &str = "http://www.example.com/live";

#[test]
fn finds_the_playlist_on_the_watch_page() {
    let replay = Replay::from_file("fixtures/live.json").expect("fixture loads");
    let found = replay.run(|| MySite::extract(replay::session(), Settings::from_pairs(&[("page", PAGE)])));
    let found = found.expect("extracts");
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    assert_eq!(found[0].url, "http://www.example.com/hls/live/master.m3u8?token=abc");
    assert_eq!(found[0].headers, [("Referer".to_string(), PAGE.to_string())]);
}

#[test]
fn a_page_without_a_playlist_fails_at_url_extraction() {
    let replay = Replay::from_file("fixtures/offline.json").expect("fixture loads");
    let result = replay.run(|| MySite::extract(replay::session(), Settings::from_pairs(&[("page", PAGE)])));
    assert_eq!(result.expect_err("nothing to find").step, Step::UrlExtraction);
}
