//! `direct` extractor: playlist URLs taken straight from the source's settings, for sources that
//! need no extraction. Settings: `url` (one URL) or `urls` (several, separated by commas or
//! whitespace), optional `label`, and optional `referer` / `user_agent` headers for the relay.

use pitwall_extractor_sdk::{
    ExtractError, Extractor, PluginInfo, SessionRef, Settings, Step, StreamCandidate, error,
    export_extractor, is_http_url,
};

/// The `direct` extractor.
pub struct Direct;

impl Extractor for Direct {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "direct".into(),
            name: "Direct URL".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: Vec::new(),
        }
    }

    fn extract(_session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        candidates(&settings)
    }
}

export_extractor!(Direct);

/// Turns settings into candidates; pure, so it is tested natively.
pub fn candidates(settings: &Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
    let urls: Vec<&str> = match (settings.get("url"), settings.get("urls")) {
        (Some(url), None) => vec![url],
        (None, Some(list)) => {
            list.split(|c: char| c == ',' || c.is_whitespace()).filter(|u| !u.is_empty()).collect()
        }
        (Some(_), Some(_)) => return Err(error(Step::Other, "set either `url` or `urls`, not both")),
        (None, None) => return Err(error(Step::Other, "missing setting `url` (or `urls`)")),
    };
    let mut headers = Vec::new();
    if let Some(referer) = settings.get("referer") {
        headers.push(("Referer".to_string(), referer.to_string()));
    }
    if let Some(ua) = settings.get("user_agent") {
        headers.push(("User-Agent".to_string(), ua.to_string()));
    }
    let label = settings.get("label").unwrap_or("Direct");
    let many = urls.len() > 1;
    urls.iter()
        .enumerate()
        .map(|(i, url)| {
            if !is_http_url(url) {
                return Err(error(Step::UrlExtraction, format!("not an absolute http(s) URL: {url:?}")));
            }
            Ok(StreamCandidate {
                url: (*url).to_string(),
                label: if many { format!("{label} {}", i + 1) } else { label.to_string() },
                headers: headers.clone(),
                expires_at: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())
    }

    #[test]
    fn one_url_with_headers() {
        let c = candidates(&settings(&[
            ("url", "https://cdn.example/main.m3u8"),
            ("label", "Main"),
            ("referer", "https://site.example/"),
        ]))
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].url, "https://cdn.example/main.m3u8");
        assert_eq!(c[0].label, "Main");
        assert_eq!(c[0].headers, vec![("Referer".to_string(), "https://site.example/".to_string())]);
    }

    #[test]
    fn several_urls_are_numbered() {
        let c =
            candidates(&settings(&[("urls", "https://a.example/1.m3u8, https://a.example/2.m3u8")])).unwrap();
        assert_eq!(c.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["Direct 1", "Direct 2"]);
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let e = candidates(&settings(&[])).unwrap_err();
        assert_eq!(e.step, Step::Other);
        let e = candidates(&settings(&[("url", "file:///etc/passwd")])).unwrap_err();
        assert_eq!(e.step, Step::UrlExtraction);
        assert!(e.detail.contains("file:///etc/passwd"));
    }
}
