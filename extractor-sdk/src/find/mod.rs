//! Finders: pull values out of HTML, JavaScript and JSON text without a browser.
//!
//! They are deliberately forgiving (regular expressions over text, not a DOM): real pages are
//! rarely valid, and an extractor only needs a handful of values. Every finder returns owned,
//! unescaped values (HTML entities in attributes, `\/` and `\uXXXX` in JS/JSON strings) and never
//! fails: "not found" is `None` or an empty list, so the caller decides which step failed.
//!
//! Everything here is pure (no I/O) and bounded, so it runs the same in a component and in a
//! native unit test. The pieces:
//! - this module: single-purpose finders (`meta_content`, `attr_values`, `m3u8_urls`, …);
//! - [`playlist_refs`] ([`playlists`]): every playlist reference in a page, through all the
//!   disguises below, ranked by [`Place`]; [`is_hls_playlist`] to verify a fetched candidate;
//! - [`unpack`]: Dean Edwards' `eval(function(p,a,c,k,e,d){…})` packer, undone (nested);
//! - [`decode`]: JS escapes in text, percent encoding and URLs inside URLs' queries, base64 that
//!   holds a URL, literal string building (`+`, `.join()`, reversed strings);
//! - [`players`]: the setup calls of the common web players.

use std::sync::LazyLock;

use regex_lite::{Captures, Regex};

use crate::codec;

pub mod decode;
pub mod players;
pub mod playlists;
pub mod unpack;

pub use decode::{base64_url, decode_escapes, fold_strings, percent_decode, query_urls};
pub use players::player_streams;
pub use playlists::{Place, PlaylistRef, is_hls_playlist, playlist_refs};
pub use unpack::{unpack, unpack_nested};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("finder patterns are valid")
}

/// One attribute inside a start tag: name, then a double-quoted, single-quoted or bare value.
static ATTRIBUTE: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"#));
static M3U8_URL: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?i)https?://[^\s"'<>\\`]+?\.m3u8\b(?:\?[^\s"'<>\\`)]*)?"#));
static M3U8_REF: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?i)["']([^"'\s<>\\]*?\.m3u8(?:\?[^"'\s<>\\]*)?)["']"#));
static ATOB: LazyLock<Regex> = LazyLock::new(|| regex(r#"\batob\(\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\)"#));
static FETCH_CALL: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"\bfetch\(\s*(?:"((?:[^"\\\n]|\\.)+)"|'((?:[^'\\\n]|\\.)+)'|`([^`$\\]+)`)"#));
static QUOTED_BASE64: LazyLock<Regex> = LazyLock::new(|| regex(r#"["']([A-Za-z0-9+/_-]{16,}={0,2})["']"#));
static JSON_LD: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?is)<script\b[^>]*\btype\s*=\s*["']?application/ld\+json["']?[^>]*>(.*?)</script\s*>"#)
});

/// Start tags `<tag …>` in `html` (case-insensitive), as text.
fn start_tags<'a>(html: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let pattern = format!(r#"(?i)<{}\b(?:[^>"']|"[^"]*"|'[^']*')*>"#, regex_lite::escape(tag));
    let tags: Vec<&str> = regex(&pattern).find_iter(html).map(|m| m.as_str()).collect();
    tags.into_iter()
}

/// The attributes of one start tag: lower-case names, HTML-unescaped values.
fn attributes(tag: &str) -> Vec<(String, String)> {
    // Skip the tag name itself so `<meta` is not read as an attribute.
    let body = tag.trim_start_matches('<').trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    ATTRIBUTE
        .captures_iter(body)
        .map(|c| {
            let value = c.get(2).or(c.get(3)).or(c.get(4)).map_or("", |m| m.as_str());
            (c[1].to_ascii_lowercase(), html_unescape(value))
        })
        .collect()
}

/// The `content` of the first `<meta>` whose `name`, `property` or `itemprop` is `name`
/// (case-insensitive), e.g. `meta_content(html, "csrf-token")`.
pub fn meta_content(html: &str, name: &str) -> Option<String> {
    start_tags(html, "meta").find_map(|tag| {
        let attrs = attributes(tag);
        let named = attrs.iter().any(|(k, v)| {
            matches!(k.as_str(), "name" | "property" | "itemprop") && v.eq_ignore_ascii_case(name)
        });
        named.then(|| attrs.into_iter().find(|(k, _)| k == "content").map(|(_, v)| v)).flatten()
    })
}

/// Every non-blank value of `attr` on `<tag>` elements, in document order, HTML-unescaped and
/// trimmed: `attr_values(html, "source", "src")`, `attr_values(html, "iframe", "src")`.
pub fn attr_values(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let attr = attr.to_ascii_lowercase();
    start_tags(html, tag)
        .filter_map(|t| attributes(t).into_iter().find(|(k, _)| *k == attr))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Absolute `http(s)` URLs ending in `.m3u8` (with an optional query) anywhere in `text`: HTML,
/// JS or JSON. `\/`, `\u002F`, `\u0026` and `&amp;` are unescaped first; duplicates are dropped,
/// first occurrence first.
pub fn m3u8_urls(text: &str) -> Vec<String> {
    let text = unescape_url_text(text);
    dedup(M3U8_URL.find_iter(&text).map(|m| m.as_str().to_string()))
}

/// Every quoted string ending in `.m3u8` (with an optional query), absolute or relative, e.g.
/// `"/live/main.m3u8"` in a script; resolve them with [`crate::url::join`].
pub fn m3u8_refs(text: &str) -> Vec<String> {
    let text = unescape_url_text(text);
    dedup(M3U8_REF.captures_iter(&text).map(|c| c[1].to_string()).filter(|s| !s.starts_with(".m3u8")))
}

/// The value of the string assigned by `var|let|const name = "…"` (or `'…'`) in `js`, with JS
/// escapes undone.
pub fn js_string_var(js: &str, name: &str) -> Option<String> {
    let pattern = format!(
        r#"\b(?:var|let|const)\s+{}\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')"#,
        regex_lite::escape(name)
    );
    regex(&pattern).captures(js).map(|c| js_unescape(quoted(&c)))
}

/// The decoded arguments of every `atob("…")` / `atob('…')` in `js` that is base64 of UTF-8
/// text, in order.
pub fn atob_strings(js: &str) -> Vec<String> {
    ATOB.captures_iter(js).filter_map(|c| codec::base64_decode_str(quoted(&c))).collect()
}

/// The literal URL arguments of every `fetch("…")` call in `js` (as written, often relative):
/// the JSON APIs a page's script asks for its stream.
pub fn fetch_urls(js: &str) -> Vec<String> {
    let urls = FETCH_CALL.captures_iter(js).filter_map(|c| c.get(1).or(c.get(2)).or(c.get(3)));
    dedup(urls.map(|m| js_unescape(m.as_str())))
}

/// Quoted string literals of 16+ base64 characters in `text` that decode to printable UTF-8,
/// decoded: for URLs hidden as base64 without an `atob()` in sight.
pub fn base64_strings(text: &str) -> Vec<String> {
    let decoded = QUOTED_BASE64.captures_iter(text).filter_map(|c| codec::base64_decode_str(&c[1]));
    dedup(decoded.filter(|s| !s.chars().any(|c| c.is_control() && !c.is_whitespace())))
}

/// Every `<script type="application/ld+json">` block of `html` that parses as JSON, in order.
pub fn json_ld(html: &str) -> Vec<serde_json::Value> {
    JSON_LD.captures_iter(html).filter_map(|c| serde_json::from_str(c[1].trim()).ok()).collect()
}

/// The string values of every `key` at any depth of `value` (objects inside arrays included),
/// e.g. `json_key_strings(&ld, "contentUrl")`.
pub fn json_key_strings<'a>(value: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    walk_json(value, &mut |k, v| {
        if k == Some(key)
            && let Some(s) = v.as_str()
        {
            found.push(s);
        }
    });
    found
}

/// Every string at any depth of `value`, in document order.
pub fn json_strings(value: &serde_json::Value) -> Vec<&str> {
    let mut found = Vec::new();
    walk_json(value, &mut |_, v| {
        if let Some(s) = v.as_str() {
            found.push(s);
        }
    });
    found
}

fn walk_json<'a>(value: &'a serde_json::Value, visit: &mut impl FnMut(Option<&str>, &'a serde_json::Value)) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                visit(Some(k), v);
                walk_json(v, visit);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                visit(None, v);
                walk_json(v, visit);
            }
        }
        _ => {}
    }
}

/// The `href` of the document's first `<base>`, as written: resolve it against the document's
/// URL, then resolve the document's relative links against the result, as a browser does.
pub fn base_href(html: &str) -> Option<String> {
    attr_values(html, "base", "href").into_iter().next()
}

/// `text` cut to at most `max` bytes, at a char boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The text between the first `start` and the next `end` after it.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Undoes the HTML character references found in attribute values and page text (`&amp;`,
/// `&quot;`, `&#39;`, `&#x2F;`, and the named ones obfuscators use for URL punctuation:
/// `&sol;`, `&colon;`, `&period;`, `&quest;`, `&equals;`, …). Unknown references are kept as
/// written.
pub fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let c = match &rest[1..end] {
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                "lt" => '<',
                "gt" => '>',
                "nbsp" => '\u{a0}',
                "sol" => '/',
                "colon" => ':',
                "period" => '.',
                "quest" => '?',
                "equals" => '=',
                "num" => '#',
                "percnt" => '%',
                "plus" => '+',
                "comma" => ',',
                "semi" => ';',
                "lowbar" => '_',
                "hyphen" | "dash" => '-',
                "excl" => '!',
                "commat" => '@',
                "tilde" => '~',
                "lpar" => '(',
                "rpar" => ')',
                num => {
                    let code = match num.strip_prefix("#x").or_else(|| num.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Undoes JavaScript string escapes (`\"`, `\\`, `\/`, `\n`, `\xHH`, `\uHHHH`, `\u{H…}`).
pub fn js_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let hex = |chars: &mut std::str::Chars, n: usize| -> Option<char> {
            let digits: String = chars.by_ref().take(n).collect();
            char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0' => out.push('\0'),
            'x' => out.extend(hex(&mut chars, 2)),
            'u' if chars.as_str().starts_with('{') => {
                let inner = chars.as_str()[1..].split('}').next().unwrap_or_default().to_string();
                chars.by_ref().take(inner.len() + 2).for_each(drop);
                out.extend(u32::from_str_radix(&inner, 16).ok().and_then(char::from_u32));
            }
            'u' => out.extend(hex(&mut chars, 4)),
            other => out.push(other),
        }
    }
    out
}

fn quoted<'a>(c: &Captures<'a>) -> &'a str {
    c.get(1).or(c.get(2)).map_or("", |m| m.as_str())
}

fn unescape_url_text(text: &str) -> String {
    text.replace("\\/", "/")
        .replace("\\u002F", "/")
        .replace("\\u002f", "/")
        .replace("\\u0026", "&")
        .replace("&amp;", "&")
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_content_by_name_or_property() {
        let html = r#"<head><META Name="csrf-token" content="a&amp;b">
            <meta property='og:video' content='https://v.example/x.m3u8'>
            <meta name="other"></head>"#;
        assert_eq!(meta_content(html, "csrf-token").as_deref(), Some("a&b"));
        assert_eq!(meta_content(html, "og:video").as_deref(), Some("https://v.example/x.m3u8"));
        assert_eq!(meta_content(html, "other"), None);
        assert_eq!(meta_content(html, "missing"), None);
        // Content before name, and the content value mentioning another attribute.
        let swapped = r#"<meta content="x name=csrf-token" name="csrf-token">"#;
        assert_eq!(meta_content(swapped, "csrf-token").as_deref(), Some("x name=csrf-token"));
    }

    #[test]
    fn attr_values_in_document_order() {
        let html = r#"<video src="/a.m3u8?x=1&amp;y=2" controls></video>
            <VIDEO data-src="no"><source src='b.m3u8' type="application/x-mpegURL"></VIDEO>
            <iframe src=/embed/1 width=640></iframe><iframe title="a > b" src=" /embed/2 "></iframe>
            <videos src="not-a-video-tag">"#;
        assert_eq!(attr_values(html, "video", "src"), ["/a.m3u8?x=1&y=2"]);
        assert_eq!(attr_values(html, "source", "src"), ["b.m3u8"]);
        assert_eq!(attr_values(html, "iframe", "SRC"), ["/embed/1", "/embed/2"]);
        assert!(attr_values(html, "img", "src").is_empty());
    }

    #[test]
    fn m3u8_urls_in_html_js_and_json() {
        let text = r#"<a href="https://cdn.example/live/main.m3u8?token=1.abc&amp;x=2">x</a>
            {"url":"https:\/\/cdn.example\/live\/main.m3u8?token=1.abc\u0026x=2"}
            var b = 'http://127.0.0.1:8080/cdn/pitlane/master.m3u8';
            (see http://o.example/a.M3U8) http://o.example/a.m3u8x http://o.example/page.html"#;
        assert_eq!(
            m3u8_urls(text),
            [
                "https://cdn.example/live/main.m3u8?token=1.abc&x=2",
                "http://127.0.0.1:8080/cdn/pitlane/master.m3u8",
                "http://o.example/a.M3U8",
            ]
        );
        assert!(m3u8_urls("nothing here").is_empty());
    }

    #[test]
    fn m3u8_refs_include_relative_paths() {
        let js = r#"player.load("/live/main.m3u8?t=1"); var x = 'hls/720p.m3u8'; y = "https:\/\/a.example\/b.m3u8";"#;
        assert_eq!(m3u8_refs(js), ["/live/main.m3u8?t=1", "hls/720p.m3u8", "https://a.example/b.m3u8"]);
    }

    #[test]
    fn js_string_variables() {
        let js = r#"var hlsUrl = "https:\/\/a.example\/x.m3u8?a=1\u0026b=2"; let other='it\'s'; const  spaced="z";
            var hlsUrlBackup = "wrong";"#;
        assert_eq!(js_string_var(js, "hlsUrl").as_deref(), Some("https://a.example/x.m3u8?a=1&b=2"));
        assert_eq!(js_string_var(js, "other").as_deref(), Some("it's"));
        assert_eq!(js_string_var(js, "spaced").as_deref(), Some("z"));
        assert_eq!(js_string_var(js, "hls"), None);
        assert_eq!(js_string_var("var _0x4f2a = \"=abc\";", "_0x4f2a").as_deref(), Some("=abc"));
        assert_eq!(js_string_var("x.hlsUrl = \"no\";", "hlsUrl"), None);
    }

    #[test]
    fn fetch_call_urls() {
        let js = r#"fetch('/pages/api/stream.json?feed=main').then(r => r.json()); fetch("https:\/\/a.example\/x");
            fetch(`/t`); fetch(url); fetch(`/v/${id}`); prefetch('/no');"#;
        assert_eq!(fetch_urls(js), ["/pages/api/stream.json?feed=main", "https://a.example/x", "/t"]);
    }

    #[test]
    fn atob_and_bare_base64() {
        let js = r#"el.src = atob("aHR0cHM6Ly9hLmV4YW1wbGUveC5tM3U4"); atob( 'aGk_Pg' ); atob("!!");
            var cfg = {"s": "aHR0cHM6Ly9hLmV4YW1wbGUveS5tM3U4", "id": "abcdefghijklmnop"};"#;
        assert_eq!(atob_strings(js), ["https://a.example/x.m3u8", "hi?>"]);
        let bare = base64_strings(js);
        assert!(bare.contains(&"https://a.example/y.m3u8".to_string()), "{bare:?}");
        assert!(bare.contains(&"https://a.example/x.m3u8".to_string()));
    }

    #[test]
    fn json_ld_blocks_and_keys() {
        let html = r#"<script type="application/ld+json">{"@type":"VideoObject","contentUrl":"https://a.example/x.m3u8",
            "publication":{"embedUrl":"https://a.example/embed"}}</script>
            <script type='application/ld+json'>not json</script>
            <SCRIPT TYPE="application/ld+json">[{"@graph":[{"contentUrl":"https://b.example/y.m3u8"}]}]</SCRIPT>"#;
        let blocks = json_ld(html);
        assert_eq!(blocks.len(), 2);
        assert_eq!(json_key_strings(&blocks[0], "contentUrl"), ["https://a.example/x.m3u8"]);
        assert_eq!(json_key_strings(&blocks[0], "embedUrl"), ["https://a.example/embed"]);
        assert_eq!(json_key_strings(&blocks[1], "contentUrl"), ["https://b.example/y.m3u8"]);
        assert_eq!(json_strings(&blocks[1]), ["https://b.example/y.m3u8"]);
    }

    #[test]
    fn base_href_and_clip() {
        assert_eq!(
            base_href(r#"<head><BASE href="/cdn/main/"><base href="/second/">"#).as_deref(),
            Some("/cdn/main/")
        );
        assert_eq!(base_href("<p>none</p>"), None);
        assert_eq!(clip("aé", 2), "a");
        assert_eq!(clip("abc", 9), "abc");
    }

    #[test]
    fn between_markers() {
        assert_eq!(between("fetch('/api/token', {", "fetch('", "'"), Some("/api/token"));
        assert_eq!(between("abc", "x", "c"), None);
        assert_eq!(between("abc", "a", "x"), None);
    }

    #[test]
    fn unescaping() {
        assert_eq!(html_unescape("a&amp;b&#39;c&#x2F;d&bogus;&"), "a&b'c/d&bogus;&");
        assert_eq!(html_unescape("https&colon;&sol;&#47;a&period;b&quest;t&equals;1"), "https://a.b?t=1");
        for bad in ["&#xFFFFFFFFF;", "&#99999999999;", "&#;", "&#x;", "&", "&;", "&#55296;", "é&é"] {
            assert_eq!(html_unescape(bad), bad, "{bad}");
        }
        assert_eq!(js_unescape(r#"a\"b\\c\/d\x41\u0042\u{1F3C1}\n"#), "a\"b\\c/dAB🏁\n");
    }
}
