//! URLs: resolve links found in a page against the page's final URL, and name a URL's origin.

/// Resolves `relative` (absolute, scheme-relative `//host/x`, root-relative `/x` or relative `x`)
/// against `base`, as a browser does. `None` if `base` is not an absolute URL or the result is
/// not `http(s)` (e.g. `javascript:` or `data:` links).
pub fn join(base: &str, relative: &str) -> Option<String> {
    let base = ::url::Url::parse(base).ok()?;
    let joined = base.join(relative.trim()).ok()?;
    matches!(joined.scheme(), "http" | "https").then(|| joined.to_string())
}

/// `scheme://host[:port]` of `url` (what a browser sends as `Origin`), if it is absolute.
pub fn origin(url: &str) -> Option<String> {
    let url = ::url::Url::parse(url).ok()?;
    url.has_host().then(|| url.origin().ascii_serialization())
}

/// The host name of `url`, lower-case, without port.
pub fn host(url: &str) -> Option<String> {
    ::url::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

/// `url` with the query reduced to `?…`, for error details and logs: CDN tokens and signatures
/// usually live in the query and must not be shown in full.
pub fn redact(url: &str) -> String {
    match url.split_once('?') {
        Some((head, _)) => format!("{head}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_a_browser() {
        let base = "http://tv.demo.invalid/pages/embed/outer?feed=main";
        assert_eq!(
            join(base, "player?feed=main").unwrap(),
            "http://tv.demo.invalid/pages/embed/player?feed=main"
        );
        assert_eq!(
            join(base, "/cdn/main/master.m3u8").unwrap(),
            "http://tv.demo.invalid/cdn/main/master.m3u8"
        );
        assert_eq!(join(base, "//cdn.example/x.m3u8").unwrap(), "http://cdn.example/x.m3u8");
        assert_eq!(join(base, "https://other.example/a").unwrap(), "https://other.example/a");
        assert_eq!(join(base, "javascript:void(0)"), None);
        assert_eq!(join("/relative/base", "x"), None);
    }

    #[test]
    fn origin_host_and_redaction() {
        assert_eq!(origin("http://127.0.0.1:8080/demo-tv/watch/main").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(host("https://TV.Demo.Invalid/x").unwrap(), "tv.demo.invalid");
        assert_eq!(redact("http://a.example/m.m3u8?token=secret"), "http://a.example/m.m3u8?…");
        assert_eq!(redact("http://a.example/"), "http://a.example/");
    }
}
