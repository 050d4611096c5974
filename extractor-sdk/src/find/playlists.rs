//! Every HLS playlist reference in one HTML document, whatever it hides behind, ranked by where
//! it was seen: [`playlist_refs`].
//!
//! The document is cut into comments, scripts, JSON-LD blocks and the markup between them, so a
//! reference's [`Place`] comes from where it sits, not from guesses about its text. Scripts are
//! unpacked ([`super::unpack`], nested), their literal string building folded and their JS
//! escapes undone ([`super::decode`]) before the player recognisers ([`super::players`]) and the
//! plain searches run; markup has its HTML entities undone, its tags read and every attribute
//! tried as base64; URLs inside other URLs' queries are taken from all of them.
//!
//! Invariant: at most [`MAX_SCAN_BYTES`] of a document are read and at most [`MAX_REFS`]
//! references kept; every step is bounded (see the submodules), so a hostile page costs time
//! linear in that cap and never a panic.

use std::sync::LazyLock;

use regex_lite::Regex;

use super::decode::{base64_url, decode_escapes, fold_strings, query_urls};
use super::players::player_streams;
use super::unpack::{MAX_PACK_DEPTH, unpack};
use super::{
    ATTRIBUTE, QUOTED_BASE64, atob_strings, attributes, clip, html_unescape, json_strings, m3u8_refs,
    m3u8_urls, regex, start_tags,
};

/// Bytes of a document [`playlist_refs`] reads (the rest is ignored).
pub const MAX_SCAN_BYTES: usize = 2 * 1024 * 1024;
/// References [`playlist_refs`] returns at most.
pub const MAX_REFS: usize = 256;

/// Where a playlist reference was seen. The order is the ranking, best first: what a page
/// hands its player is what it plays; a media tag is nearly as direct; JSON-LD describes the
/// video for search engines; a string somewhere in a script may be a fallback or a leftover; a
/// URL in plain text, a link or an HTML comment is the weakest evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// The setup call of a known web player (JW Player, Clappr, Video.js, Plyr, DPlayer,
    /// Flowplayer, Shaka, hls.js), `<video-js>` included.
    PlayerSetup,
    /// `<video src>`, `<source src>`, or a playlist URL in an `<iframe>`/`<embed>` `src` query.
    MediaTag,
    /// A JSON-LD block (`contentUrl`, or any playlist string in it).
    JsonLd,
    /// Anywhere else in a script: variables, JSON, `atob()`, base64 literals, built strings.
    Script,
    /// Markup text and attributes, links, HTML comments.
    Text,
}

/// A playlist reference found in a document, as written there (after decoding): absolute,
/// protocol-relative or relative. Resolve it against the document's base with
/// [`crate::url::join`] (see [`super::base_href`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistRef {
    /// The reference, decoded.
    pub url: String,
    /// Where it was seen; the ranking key.
    pub place: Place,
    /// How it was found, for labels: `JW Player`, `packed → hls.js`, `video`, `source`,
    /// `iframe ?src=`, `JSON-LD`, `script`, `atob()`, `base64`, `base64 attribute`, `page`,
    /// `comment`.
    pub how: String,
}

static SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?is)<!--.*?-->|<script\b(?:[^>]|\x22[^\x22]*\x22|'[^']*')*>.*?</script\s*>"));
static LD_JSON_TYPE: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?i)\btype\s*=\s*["']?application/ld\+json"#));
const HLS_TYPES: &[&str] = &["application/x-mpegurl", "application/vnd.apple.mpegurl", "audio/mpegurl"];

/// Every playlist reference in `html`, best [`Place`] first (document order within a place),
/// each URL once (at the best place it was seen).
///
/// Found: player setups (also inside packed scripts, nested up to
/// [`super::unpack::MAX_PACK_DEPTH`]); `<video>`/`<source>`/`<video-js>` `src` and Video.js
/// `data-setup`; playlist URLs inside `<iframe>`/`<embed>` `src` queries; JSON-LD; `.m3u8`
/// strings in scripts after folding `"a" + "b"`, `[…].join()` and reversed strings and
/// undoing `\/ \uXXXX \xXX`; `atob()` arguments and base64 literals and attributes that decode
/// to URLs; URL-encoded URLs in `?src=`/`?file=`/`#url=`…; `.m3u8` URLs in markup after HTML
/// entities are undone; HTML comments last.
pub fn playlist_refs(html: &str) -> Vec<PlaylistRef> {
    let html = clip(html, MAX_SCAN_BYTES);
    let mut refs = Refs::default();
    let mut markup_from = 0;
    for segment in SEGMENT.find_iter(html) {
        markup(&mut refs, &html[markup_from..segment.start()]);
        markup_from = segment.end();
        let text = segment.as_str();
        if text.starts_with("<!--") {
            plain(&mut refs, &html_unescape(&decode_escapes(text)), Place::Text, "comment");
            continue;
        }
        let open_end = text.find('>').map_or(text.len(), |i| i + 1);
        let close_start = text.rfind("</").unwrap_or(text.len()).max(open_end);
        let body = &text[open_end..close_start];
        if LD_JSON_TYPE.is_match(&text[..open_end]) {
            json_ld(&mut refs, body);
        } else {
            script(&mut refs, body, "", 0);
        }
    }
    markup(&mut refs, &html[markup_from..]);
    refs.ranked()
}

/// Whether a response body is an HLS playlist: `#EXTM3U` first, after an optional UTF-8 BOM and
/// whitespace.
pub fn is_hls_playlist(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    body[start..].starts_with(b"#EXTM3U")
}

/// A script (or one unpacked layer of it, `depth` layers down, labelled with `prefix`).
fn script(refs: &mut Refs, js: &str, prefix: &str, depth: usize) {
    if depth < MAX_PACK_DEPTH {
        for inner in unpack(js) {
            script(refs, &inner, &format!("{prefix}packed → "), depth + 1);
        }
    }
    let text = decode_escapes(&fold_strings(js));
    for (label, url) in player_streams(&text) {
        refs.add(&url, Place::PlayerSetup, format!("{prefix}{label}"));
    }
    plain(refs, &text, Place::Script, &format!("{prefix}script"));
    for decoded in atob_strings(&text) {
        for url in urls_in_decoded(&decoded) {
            refs.add(&url, Place::Script, format!("{prefix}atob()"));
        }
    }
    for c in QUOTED_BASE64.captures_iter(&text) {
        if let Some(decoded) = base64_url(&c[1]) {
            for url in urls_in_decoded(&decoded) {
                refs.add(&url, Place::Script, format!("{prefix}base64"));
            }
        }
    }
}

/// `.m3u8` URLs and references and URL-carried playlists in already decoded `text`.
fn plain(refs: &mut Refs, text: &str, place: Place, how: &str) {
    for url in m3u8_urls(text).into_iter().chain(m3u8_refs(text)) {
        refs.add(&url, place, how);
    }
    for url in query_urls(text).into_iter().filter(|u| is_m3u8(u)) {
        refs.add(&url, place, how);
    }
}

/// What a base64 or `atob()` string holds: the URLs in it, or itself if it is one reference.
fn urls_in_decoded(decoded: &str) -> Vec<String> {
    let decoded = decoded.trim();
    let mut urls = m3u8_urls(decoded);
    if urls.is_empty() && !decoded.contains(char::is_whitespace) && is_m3u8(decoded) {
        urls.push(decoded.to_string());
    }
    urls
}

fn json_ld(refs: &mut Refs, body: &str) {
    match serde_json::from_str::<serde_json::Value>(body.trim()) {
        Ok(value) => {
            for s in json_strings(&value).into_iter().filter(|s| is_m3u8(s)) {
                refs.add(s, Place::JsonLd, "JSON-LD");
            }
        }
        Err(_) => plain(refs, &decode_escapes(body), Place::JsonLd, "JSON-LD"),
    }
}

/// Markup between scripts and comments: media tags, frames, attributes, then the text itself.
fn markup(refs: &mut Refs, html: &str) {
    if html.trim().is_empty() {
        return;
    }
    for (tag, how) in [("video-js", "Video.js"), ("video", "video"), ("source", "source")] {
        for t in start_tags(html, tag) {
            let attrs = attributes(t);
            let get = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
            if let Some(setup) = get("data-setup").and_then(|s| serde_json::from_str(s).ok()) {
                let setup: serde_json::Value = setup;
                for (_, url) in player_streams(&format!("videojs('x', {setup});")) {
                    refs.add(&url, Place::PlayerSetup, "Video.js");
                }
            }
            let Some(src) = get("src").or(get("data-src")).filter(|s| !s.is_empty()) else { continue };
            let hls_type = get("type").is_some_and(|t| HLS_TYPES.contains(&t.to_ascii_lowercase().as_str()));
            if tag == "video-js" {
                refs.add(src, Place::PlayerSetup, how);
            } else if is_m3u8(src) || hls_type {
                refs.add(src, Place::MediaTag, how);
            }
        }
    }
    for tag in ["iframe", "embed"] {
        for t in start_tags(html, tag) {
            for (name, value) in attributes(t) {
                if matches!(name.as_str(), "src" | "data-src") {
                    for url in query_urls(&value).into_iter().filter(|u| is_m3u8(u)) {
                        refs.add(&url, Place::MediaTag, "iframe ?src=");
                    }
                }
            }
        }
    }
    for c in ATTRIBUTE.captures_iter(html) {
        let value = c.get(2).or(c.get(3)).or(c.get(4)).map_or("", |m| m.as_str());
        if let Some(decoded) = base64_url(&html_unescape(value)) {
            for url in urls_in_decoded(&decoded) {
                refs.add(&url, Place::Text, "base64 attribute");
            }
        }
    }
    plain(refs, &html_unescape(&decode_escapes(html)), Place::Text, "page");
}

/// Whether a reference's path (before `?`/`#`) ends in `.m3u8`.
fn is_m3u8(url: &str) -> bool {
    url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase().ends_with(".m3u8")
}

/// References found so far: each URL once, at its best place.
#[derive(Default)]
struct Refs(Vec<PlaylistRef>);

impl Refs {
    fn add(&mut self, url: &str, place: Place, how: impl Into<String>) {
        let url = url.trim();
        if url.is_empty() || url.len() > 8192 || url.contains(char::is_whitespace) {
            return;
        }
        if let Some(seen) = self.0.iter_mut().find(|r| r.url == url) {
            if place < seen.place {
                seen.place = place;
                seen.how = how.into();
            }
            return;
        }
        if self.0.len() < MAX_REFS {
            self.0.push(PlaylistRef { url: url.to_string(), place, how: how.into() });
        }
    }

    /// Best place first; a stable sort keeps document order within a place.
    fn ranked(mut self) -> Vec<PlaylistRef> {
        self.0.sort_by_key(|r| r.place);
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(html: &str) -> Vec<(String, Place, String)> {
        playlist_refs(html).into_iter().map(|r| (r.url, r.place, r.how)).collect()
    }

    fn first(html: &str) -> (String, Place, String) {
        found(html).into_iter().next().unwrap_or_else(|| panic!("nothing in {html}"))
    }

    const U: &str = "https://cdn.example/live/master.m3u8?token=1.abc";

    #[test]
    fn ranking_player_over_tag_over_json_ld_over_script_over_text() {
        let html = format!(
            r#"<!-- old: https://old.example/dead.m3u8 -->
            <a href="https://link.example/a.m3u8">a link</a>
            <script>var fallback = "https://s.example/f.m3u8";</script>
            <script type="application/ld+json">{{"@type": "VideoObject", "contentUrl": "https://ld.example/v.m3u8"}}</script>
            <video src="https://tag.example/t.m3u8"></video>
            <script>var hls = new Hls(); hls.loadSource("{U}"); var again = "https://s.example/f.m3u8";</script>"#
        );
        let got = found(&html);
        let places: Vec<(&str, Place)> = got.iter().map(|(u, p, _)| (u.as_str(), *p)).collect();
        assert_eq!(
            places,
            [
                (U, Place::PlayerSetup),
                ("https://tag.example/t.m3u8", Place::MediaTag),
                ("https://ld.example/v.m3u8", Place::JsonLd),
                ("https://s.example/f.m3u8", Place::Script),
                ("https://old.example/dead.m3u8", Place::Text),
                ("https://link.example/a.m3u8", Place::Text),
            ]
        );
        assert_eq!(got[0].2, "hls.js");
        assert_eq!(got[4].2, "comment");
        assert_eq!(got[5].2, "page");
        // The same URL seen in a comment and a player setup counts once, at the player.
        let twice = format!("<!-- {U} --><script>jwplayer('p').setup({{file: '{U}'}})</script>");
        assert_eq!(found(&twice), [(U.to_string(), Place::PlayerSetup, "JW Player".to_string())]);
    }

    #[test]
    fn packed_scripts_nested() {
        // Packed by hand: 0=jwplayer 1=p 2=setup 3=file 4=https 5=cdn 6=example 7=live 8=master 9=m3u8
        // a=token b=1 c=abc.
        let packed = "eval(function(p,a,c,k,e,d){e=function(c){return c.toString(36)};if(!''.replace(/^/,String)){while(c--){d[c.toString(a)]=k[c]||c.toString(a)}k=[function(e){return d[e]}];e=function(){return'\\\\w+'};c=1};while(c--){if(k[c]){p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c])}}return p}('0(\"1\").2({3:\"4://5.6/7/8.9?a=b.c\"});',13,13,'jwplayer|p|setup|file|https|cdn|example|live|master|m3u8|token|1|abc'.split('|'),0,{}))";
        let html = format!("<script>{packed}</script>");
        assert_eq!(first(&html), (U.to_string(), Place::PlayerSetup, "packed → JW Player".to_string()));
    }

    #[test]
    fn hidden_shapes() {
        let b64 = "aHR0cHM6Ly9jZG4uZXhhbXBsZS9saXZlL21hc3Rlci5tM3U4P3Rva2VuPTEuYWJj";
        let encoded = "https%3A%2F%2Fcdn.example%2Flive%2Fmaster.m3u8%3Ftoken%3D1.abc";
        let entities = "https&#x3A;&#47;&#47;cdn&period;example&sol;live/master.m3u8?token&equals;1.abc";
        let cases = [
            (format!(r#"<iframe src="https://p.example/embed?src={encoded}"></iframe>"#), Place::MediaTag, "iframe ?src="),
            (format!(r#"<iframe src="/embed#url={}"></iframe>"#, encoded.replace('%', "%25")), Place::MediaTag, "iframe ?src="),
            (r#"<script>var c = {"file":"https:\/\/cdn.example\u002Flive\x2Fmaster\u002em3u8?token=1.abc"};</script>"#.to_string(), Place::Script, "script"),
            (format!(r#"<div data-stream="{entities}"></div>"#), Place::Text, "page"),
            (format!(r#"<div id="p" data-src="{b64}"></div>"#), Place::Text, "base64 attribute"),
            (format!(r#"<script>var cfg = {{"stream": "{b64}"}};</script>"#), Place::Script, "base64"),
            (format!(r#"<script>v.src = atob("{b64}");</script>"#), Place::Script, "atob()"),
            (r#"<script>var u = "htt" + "ps://cdn.exa" + 'mple/live/mas' + "ter.m3u8?token=1.abc";</script>"#.to_string(), Place::Script, "script"),
            (r#"<script>v.src = ["https://cdn.example", "live", "master.m3u8?token=1.abc"].join("/");</script>"#.to_string(), Place::Script, "script"),
            (format!(r#"<script>var s = "{}".split("").reverse().join("");</script>"#, U.chars().rev().collect::<String>()), Place::Script, "script"),
            (format!(r#"<video-js id="v" data-setup='{{"sources": [{{"src": "{U}", "type": "application/x-mpegURL"}}]}}'></video-js>"#), Place::PlayerSetup, "Video.js"),
            (format!(r#"<video controls><source src="{U}" type="video/mp4"></video>"#), Place::MediaTag, "source"),
            (format!(r#"<script type="application/ld+json">{{"contentUrl": "{U}"}}</script>"#), Place::JsonLd, "JSON-LD"),
        ];
        for (html, place, how) in cases {
            assert_eq!(first(&html), (U.to_string(), place, how.to_string()), "{html}");
        }
    }

    #[test]
    fn relative_and_protocol_relative_references_are_kept_as_written() {
        let html = r#"<video><source src="//cdn.example/a.m3u8" type="application/x-mpegURL"></video>
            <script>hls.loadSource("master.m3u8?t=1"); x = {"u": "/rel/b.m3u8"};</script>
            <source src="/hls/live" type="application/vnd.apple.mpegurl"><source src="/v.mp4" type="video/mp4">"#;
        let urls: Vec<String> = found(html).into_iter().map(|(u, _, _)| u).collect();
        assert_eq!(urls, ["master.m3u8?t=1", "//cdn.example/a.m3u8", "/hls/live", "/rel/b.m3u8"]);
    }

    #[test]
    fn playlists_are_recognised_by_their_first_line() {
        assert!(is_hls_playlist(b"#EXTM3U\n#EXT-X-VERSION:3\n"));
        assert!(is_hls_playlist(b"\xEF\xBB\xBF \r\n#EXTM3U"));
        assert!(!is_hls_playlist(b"<!doctype html>#EXTM3U"));
        assert!(!is_hls_playlist(b""));
        assert!(!is_hls_playlist(b"#EXT"));
    }

    #[test]
    fn hostile_documents_are_bounded() {
        // Unclosed comments and scripts, stray quotes and escapes, a huge page, many URLs.
        for html in [
            "<!--",
            "<script>",
            "<script>\"\\",
            "<video src=\"",
            "<iframe src=\"?src=%",
            "\\u{",
            "&#",
            "<script>eval(function(p,a,c,k,e,d){",
        ] {
            let _ = playlist_refs(html);
        }
        let huge =
            format!("<p>{}</p><video src=\"/late.m3u8\">", "x&amp;\\/'\"<b>".repeat(MAX_SCAN_BYTES / 8));
        assert!(playlist_refs(&huge).is_empty(), "the tag past the cap is not read");
        let many: String = (0..MAX_REFS * 2).map(|i| format!("<a href=\"/p{i}.m3u8\">x</a>")).collect();
        assert_eq!(playlist_refs(&many).len(), MAX_REFS);
    }
}
