//! A hostile extractor, built from source by pitwall's tests. `settings.mode` picks the abuse:
//! `ok`, `panic`, `loop`, `bomb` (allocate until the memory cap), `fetch` (GET `settings.url`;
//! used for huge bodies, loopback and cookies), `host` (a host it did not declare).

use pitwall_extractor_sdk::{
    ExtractError, Extractor, PluginInfo, SessionRef, Settings, Step, StreamCandidate, error,
    export_extractor, http,
};

/// The hostile extractor.
pub struct Abuse;

impl Extractor for Abuse {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "abuse".into(),
            name: "Abuse test".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
        }
    }

    fn extract(session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        match settings.get("mode").unwrap_or("ok") {
            "ok" => Ok(vec![candidate(&format!("https://cdn.example/{}.m3u8", session.id), "ok")]),
            "panic" => panic!("abuse: deliberate panic"),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "fetch" => {
                let url = settings.require("url")?;
                let response = http::get(url, &[])?;
                Ok(vec![candidate(
                    url,
                    &format!("{} bytes, status {}", response.body.len(), response.status),
                )])
            }
            "host" => {
                http::get("https://not-declared.example/", &[])?;
                Err(error(Step::Other, "fetch to an undeclared host succeeded"))
            }
            other => Err(error(Step::Other, format!("unknown mode {other:?}"))),
        }
    }
}

fn candidate(url: &str, label: &str) -> StreamCandidate {
    StreamCandidate { url: url.into(), label: label.into(), headers: Vec::new(), expires_at: None }
}

export_extractor!(Abuse);
