//! `my-site` extractor: the live stream of a www.example.com watch page.
//!
//! Settings: `page` (required), the watch page's URL. Steps, each failing with its own step:
//! 1. `GET page` (`request`);
//! 2. the first `.m3u8` URL in it, resolved against the page (`url-extraction`);
//! 3. one candidate, with the page as `Referer` (CDNs often check it).
//!
//! Build: `cargo build --release --target wasm32-wasip2` → `target/wasm32-wasip2/release/my_site.wasm`;
//! drop that file into pitwall's plugins directory. Test: `cargo test` replays `fixtures/`.

use pitwall_extractor_sdk::prelude::*;

/// The extractor.
pub struct MySite;

impl Extractor for MySite {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "my-site".into(),
            name: "My site".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            // The hosts this plugin may always fetch. An operator can grant a source more with
            // `allow_hosts` in its `[[source]]`.
            allowed_hosts: vec!["www.example.com".into()],
        }
    }

    fn extract(_session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        let page = settings.require("page")?;
        let html = http::get(page, &[("Accept", "text/html")])?.ensure_success()?.text();
        let found = find::m3u8_urls(&html)
            .into_iter()
            .chain(find::m3u8_refs(&html))
            .next()
            .ok_or_else(|| error(Step::UrlExtraction, "no .m3u8 URL on the page"))?;
        let url = pitwall_extractor_sdk::url::join(page, &found)
            .ok_or_else(|| error(Step::UrlExtraction, format!("cannot resolve {found:?}")))?;
        Ok(vec![StreamCandidate {
            url,
            label: "My site".into(),
            headers: vec![("Referer".into(), page.into())],
            expires_at: None,
        }])
    }
}

export_extractor!(MySite);
