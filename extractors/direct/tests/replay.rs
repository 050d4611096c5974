//! Replay test: `direct` fetches nothing, so its fixture records no exchange; any request it
//! made would fail the extraction ("no recorded exchange") and show in `requests()`.

use direct::Direct;
use pitwall_extractor_sdk::replay::{self, Replay};
use pitwall_extractor_sdk::{Extractor, Settings};

#[test]
fn settings_urls_come_back_without_a_single_request() {
    let replay = Replay::from_file("fixtures/settings-only.json").expect("fixture loads");
    let settings = Settings::from_pairs(&[
        ("urls", "https://cdn.example/main.m3u8 https://cdn.example/onboard.m3u8"),
        ("label", "Feed"),
        ("referer", "https://site.example/"),
        ("user_agent", "Mozilla/5.0"),
    ]);
    let found = replay.run(|| Direct::extract(replay::session(), settings)).expect("extracts");
    assert!(replay.requests().is_empty(), "no request: {:?}", replay.requests());
    let urls: Vec<&str> = found.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(urls, ["https://cdn.example/main.m3u8", "https://cdn.example/onboard.m3u8"]);
    let labels: Vec<&str> = found.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["Feed 1", "Feed 2"]);
    for c in &found {
        assert_eq!(
            c.headers,
            [("Referer".into(), "https://site.example/".into()), ("User-Agent".into(), "Mozilla/5.0".into())]
        );
        assert_eq!(c.expires_at, None, "nothing expires that was never fetched");
    }
}
