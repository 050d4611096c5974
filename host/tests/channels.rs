//! TV players against the real binary (`pitwall --demo --viewer-token`): the channel list and its
//! guide, a key in the URLs instead of a cookie, and ffprobe — a client with no cookies and no
//! headers of ours — playing a channel end to end (master → quality → relayed segments).

mod common;

use std::{process::Command, time::Duration};

use common::{Binary, guest};

const TOKEN: &str = "viewer-token-for-the-channels-test";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = client().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `(#EXTINF line, URL)` of every channel.
fn entries(m3u: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = m3u.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXTINF:"))
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tv_player_plays_a_channel_with_the_key_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("demo-site"), plugins.join("demo_site.wasm")).unwrap();
    let plugins_arg = plugins.to_str().unwrap().to_string();
    let bin = Binary::start(
        &["--demo", "--viewer-token", TOKEN, "--plugins-dir", &plugins_arg],
        &tmp.path().join("data"),
    );
    let base = bin.url.clone();

    assert_eq!(get(&format!("{base}/channels.m3u"), None).await.0, 401, "the list needs the token");
    // Bounded (90 s: cold plugin compile, extraction, probes): the live session lists its streams.
    let mut m3u = String::new();
    for _ in 0..900 {
        let (status, text) = get(&format!("{base}/channels.m3u"), Some(TOKEN)).await;
        if status == 200 && entries(&text).iter().any(|(_, url)| url.contains("/live/st_")) {
            m3u = text;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let channels = entries(&m3u);
    assert!(!m3u.is_empty(), "no live streams in the list; log:\n{}", bin.log());
    assert!(m3u.starts_with(&format!("#EXTM3U url-tvg=\"{base}/guide.xml?key=")), "{m3u}");
    let (info, session_url) = &channels[0];
    assert!(info.contains("tvg-id=\"pitwall.9999-") && info.contains("group-title=\""), "{info}");
    assert!(session_url.starts_with(&format!("{base}/live/session/")), "{session_url}");
    let key = session_url.split("?key=").nth(1).expect("URLs carry the key").to_string();
    assert!(!m3u.contains(TOKEN), "the list never shows the viewer token itself");
    assert!(
        channels.iter().skip(1).any(|(info, url)| info.contains("(main)") && url.contains("/live/st_")),
        "{m3u}"
    );

    // What the key opens, and what it does not.
    let (status, master) = get(session_url, None).await;
    assert_eq!(status, 200, "{master}");
    let variants: Vec<&str> = master.lines().filter(|l| l.starts_with("/live/")).collect();
    assert!(!variants.is_empty(), "{master}");
    assert!(variants.iter().all(|l| l.ends_with(&format!("?key={key}"))), "{master}");
    let (status, guide) = get(&format!("{base}/guide.xml?key={key}"), None).await;
    assert_eq!(status, 200);
    let session_id = session_url.split('/').nth(5).unwrap();
    assert!(guide.contains(&format!("channel=\"pitwall.{session_id}\"")), "{guide}");
    assert_eq!(
        get(&format!("{base}/streams?session={session_id}&key={key}"), None).await.0,
        401,
        "not the API"
    );
    assert_eq!(get(&format!("{base}/?key={key}"), None).await.0, 401, "not the web app");
    assert_eq!(get(&session_url.replace(&key, "AAAAAAAAAAAAAAAAAAAAAAAA"), None).await.0, 401, "a wrong key");

    // ffprobe follows the master, a quality and relayed segments with nothing but the URL.
    let probe = tokio::task::spawn_blocking({
        let url = session_url.clone();
        move || {
            Command::new("ffprobe")
                .args(["-v", "error", "-rw_timeout", "20000000", "-show_entries", "stream=codec_type"])
                .args(["-of", "csv=p=0", &url])
                .output()
        }
    })
    .await
    .unwrap()
    .expect("ffprobe runs (Debian package ffmpeg; cargo xtask ci installs it)");
    let out = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success() && out.contains("video"),
        "ffprobe failed: {}\nstdout: {out}\nstderr: {}",
        probe.status,
        String::from_utf8_lossy(&probe.stderr)
    );
}
