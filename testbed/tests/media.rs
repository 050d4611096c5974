//! Media checks with ffprobe: one segment of every feed and variant decodes as H.264 + AAC-LC,
//! and matches the RESOLUTION and CODECS its master playlist advertises. Skipped with a note
//! when ffprobe is not installed (CI installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use pitwall_testbed::{FEEDS, Testbed, TestbedConfig};
use reqwest::header;
use serde_json::Value;

fn ffprobe_available() -> bool {
    Command::new("ffprobe").arg("-version").output().is_ok_and(|o| o.status.success())
}

fn resolve(base: &str, uri: &str) -> String {
    let path_end = base.find('?').unwrap_or(base.len());
    let dir = &base[..=base[..path_end].rfind('/').unwrap()];
    format!("{dir}{uri}")
}

fn probe(file: &Path, extra: &[&str]) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(extra)
        .args(["-show_entries", "stream=codec_type,codec_name,profile,level,width,height", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn attr<'a>(stream_inf: &'a str, name: &str) -> &'a str {
    let at = stream_inf.find(&format!(",{name}=")).or_else(|| stream_inf.find(&format!(":{name}="))).unwrap();
    let rest = &stream_inf[at + name.len() + 2..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next().unwrap()
    } else {
        rest.split(',').next().unwrap()
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn every_feed_and_variant_is_h264_and_aac() {
    if !ffprobe_available() {
        println!("NOTE: ffprobe not found; skipping the media probe test");
        return;
    }
    let dir = TempDir(std::env::temp_dir().join(format!("pitwall-testbed-probe-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let tb = Testbed::start(TestbedConfig::default()).await.unwrap();
    let client = reqwest::Client::builder()
        .default_headers(
            [
                (header::REFERER, format!("{}/demo-tv/watch/x", tb.url()).parse().unwrap()),
                (header::USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64)".parse().unwrap()),
            ]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let get = async |url: &str| {
        let r = client.get(url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap()
    };
    let mut probed = 0;
    for feed in FEEDS {
        let token: Value = client
            .get(format!("{}/_control/token?feed={feed}", tb.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Follows the redirect feed to the second origin; the final URL is the base.
        let r = client.get(token["url"].as_str().unwrap()).send().await.unwrap();
        let master_url = r.url().to_string();
        let master = r.text().await.unwrap();
        let lines: Vec<&str> = master.lines().collect();
        for pair in lines.windows(2) {
            let Some(inf) = pair[0].strip_prefix("#EXT-X-STREAM-INF:") else {
                continue;
            };
            let inf = format!(":{inf}");
            let media_url = resolve(&master_url, pair[1]);
            let media = String::from_utf8(get(&media_url).await.to_vec()).unwrap();
            let seg_uri = media.lines().find(|l| !l.starts_with('#') && !l.is_empty()).unwrap();
            let seg_url = resolve(&media_url, seg_uri);
            let name = format!("{feed}-{}", pair[1].split('/').next().unwrap());
            let (file, extra): (PathBuf, Vec<&str>) = if let Some(map) =
                media.lines().find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
            {
                let mut bytes = get(&resolve(&media_url, map.trim_end_matches('"'))).await.to_vec();
                bytes.extend_from_slice(&get(&seg_url).await);
                let file = dir.0.join(format!("{name}.mp4"));
                std::fs::write(&file, bytes).unwrap();
                (file, vec![])
            } else if let Some(range) = media.lines().find_map(|l| l.strip_prefix("#EXT-X-BYTERANGE:")) {
                let (len, off) = range.split_once('@').unwrap();
                let (len, off): (u64, u64) = (len.parse().unwrap(), off.parse().unwrap());
                let r = client
                    .get(&seg_url)
                    .header(header::RANGE, format!("bytes={off}-{}", off + len - 1))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), reqwest::StatusCode::PARTIAL_CONTENT);
                let file = dir.0.join(format!("{name}.ts"));
                std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
                (file, vec![])
            } else if let Some(key) = media.lines().find_map(|l| l.strip_prefix("#EXT-X-KEY:")) {
                // Decrypt through ffmpeg's own HLS reader: a local playlist, key and segment.
                let key_uri = key.split('"').nth(1).unwrap();
                let iv = key.split("IV=").nth(1).unwrap();
                std::fs::write(dir.0.join(format!("{name}.key")), get(&resolve(&media_url, key_uri)).await)
                    .unwrap();
                std::fs::write(dir.0.join(format!("{name}.ts")), get(&seg_url).await).unwrap();
                let playlist = format!(
                    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"{name}.key\",IV={iv}\n#EXTINF:2.0,\n{name}.ts\n#EXT-X-ENDLIST\n"
                );
                let file = dir.0.join(format!("{name}.m3u8"));
                std::fs::write(&file, playlist).unwrap();
                (file, vec!["-allowed_extensions", "ALL", "-protocol_whitelist", "file,crypto"])
            } else {
                let file = dir.0.join(format!("{name}.ts"));
                std::fs::write(&file, get(&seg_url).await).unwrap();
                (file, vec![])
            };
            let info = probe(&file, &extra);
            let streams = info["streams"].as_array().unwrap();
            let video = streams
                .iter()
                .find(|s| s["codec_type"] == "video")
                .unwrap_or_else(|| panic!("{name}: {info}"));
            let audio = streams
                .iter()
                .find(|s| s["codec_type"] == "audio")
                .unwrap_or_else(|| panic!("{name}: {info}"));
            assert_eq!(video["codec_name"], "h264", "{name}");
            assert_eq!(audio["codec_name"], "aac", "{name}");
            assert_eq!(audio["profile"], "LC", "{name}");
            let resolution = format!("{}x{}", video["width"], video["height"]);
            assert_eq!(resolution, attr(&inf, "RESOLUTION"), "{name}");
            // CODECS avc1.PPCCLL: profile_idc 0x4d = Main, level_idc = ffprobe's level.
            let codecs = attr(&inf, "CODECS");
            let avc = codecs.split(',').next().unwrap().strip_prefix("avc1.").unwrap();
            let profile_idc = u8::from_str_radix(&avc[0..2], 16).unwrap();
            let level_idc = u8::from_str_radix(&avc[4..6], 16).unwrap();
            let profile = match profile_idc {
                66 => "Baseline",
                77 => "Main",
                100 => "High",
                _ => "other",
            };
            assert!(video["profile"].as_str().unwrap().ends_with(profile), "{name}: {}", video["profile"]);
            assert_eq!(video["level"], i64::from(level_idc), "{name}");
            assert!(codecs.ends_with(",mp4a.40.2"));
            probed += 1;
        }
    }
    assert_eq!(probed, 4 * 3 + 5);
    tb.shutdown().await;
}
