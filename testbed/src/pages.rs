//! Generic pages: the shapes in which ordinary web sites embed an HLS playlist URL.
//!
//! Every page takes `?feed=NAME` (default `main`) and renders a freshly tokenised absolute master
//! URL (valid for the token TTL from render time), built from the request's Host:
//! - `/pages/iframe` → iframe `/pages/embed/outer` → iframe `/pages/embed/player` → `<video src>`
//! - `/pages/video` `<video src>`; `/pages/source` `<source src type="application/x-mpegURL">`
//! - `/pages/jsonld` JSON-LD `VideoObject.contentUrl`; `/pages/jsvar` `var hlsUrl = "…"`
//! - `/pages/atob` `atob("<base64>")`; `/pages/api` a page whose script reads
//!   `/pages/api/stream.json` → `{"status", "stream": {"url", "type"}, "expires_at"}`
//! - what real embed hosts hide the URL behind (see [`PAGES`]): Dean Edwards-packed scripts
//!   (packed here by [`pack`], once and twice), URL-encoded URLs in an iframe's query or
//!   fragment (the frame `/pages/embed/hls` reads it in script), JS escapes, HTML entities,
//!   protocol-relative and `<base href>`-relative URLs, base64 in an attribute, string
//!   concatenation, `.join("")` and reversed strings, the setup calls of eight web players, and a
//!   decoy: a dead `.m3u8` in an HTML comment (`/pages/old/live.m3u8` answers 200 HTML) before
//!   the real one in a player setup.
//!
//! Every page answer carries `X-Testbed-Master: <the master URL it hides>`, so a recorder can
//! record the playlist fetch that verifies it (fixtures drop the header).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::media;
use crate::state::{ApiError, Ctx};

/// Page names under `/pages/` and what each shows.
pub const PAGES: &[(&str, &str)] = &[
    ("iframe", "player two iframes deep, ending in <video src>"),
    ("video", "<video src>"),
    ("source", "<source src type=\"application/x-mpegURL\">"),
    ("jsonld", "JSON-LD VideoObject contentUrl"),
    ("jsvar", "JavaScript variable hlsUrl"),
    ("atob", "base64 string decoded with atob()"),
    ("api", "JSON API at /pages/api/stream.json"),
    ("packed", "JW Player setup inside an eval(function(p,a,c,k,e,d)…) packed script"),
    ("packed-nested", "hls.js loadSource inside a packed script inside a packed script"),
    ("iframe-query", "iframe whose src carries the URL-encoded playlist in ?src="),
    ("iframe-fragment", "iframe whose src carries the twice URL-encoded playlist in #url="),
    ("escaped", "JSON config with \\/, \\u002F and \\x2F escapes"),
    ("entities", "data attribute written with HTML entities"),
    ("protocol-relative", "<source src=\"//host/…\">"),
    ("base-href", "relative hls.loadSource(master.m3u8?…) under <base href>"),
    ("base64-attr", "base64 in a data-src attribute"),
    ("concat", "\"ht\" + \"tp://…\" string concatenation"),
    ("join", "[\"…\", \"…\"].join(\"\")"),
    ("reverse", "\"…\".split(\"\").reverse().join(\"\")"),
    ("jwplayer", "jwplayer(…).setup({playlist: [{sources: [{file}]}]})"),
    ("clappr", "new Clappr.Player({source})"),
    ("videojs", "<video-js> with videojs(id, {sources: [{src}]})"),
    ("plyr", "Plyr with player.source = {sources: [{src}]}"),
    ("dplayer", "new DPlayer({video: {url, type: 'hls'}})"),
    ("flowplayer", "flowplayer(…, {clip: {sources: [{src}]}})"),
    ("shaka", "shaka.Player load(manifestUri)"),
    ("hlsjs", "hls.js loadSource(url)"),
    ("decoy", "a dead .m3u8 in an HTML comment, then the real one in a JW Player setup"),
];

/// The dead playlist URL path `/pages/decoy` shows in a comment (answers 200 HTML).
pub const DECOY_PATH: &str = "/pages/old/live.m3u8";

/// The pages routes.
pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/pages", get(index))
        .route("/pages/", get(index))
        .route("/pages/api/stream.json", get(stream_json))
        .route("/pages/embed/{level}", get(embed))
        .route("/pages/old/{file}", get(ended))
        .route("/pages/{page}", get(page))
}

fn feed_of(query: &HashMap<String, String>) -> Result<&'static str, ApiError> {
    let name = query.get("feed").map_or("main", String::as_str);
    media::feed_by_name(name).map(|f| f.name).ok_or_else(|| ApiError::not_found(format!("no feed {name:?}")))
}

fn html_page(title: &str, body: &str) -> Response {
    html_page_with_head(title, "", body)
}

fn html_page_with_head(title: &str, head: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
    ))
    .into_response()
}

/// `response` with the `X-Testbed-Master` header naming the playlist URL the page hides.
fn with_master(mut response: Response, url: &str) -> Response {
    if let Ok(value) = header::HeaderValue::from_str(url) {
        response.headers_mut().insert("x-testbed-master", value);
    }
    response
}

/// Packs `source` the way Dean Edwards' Packer (base 62) does: every word (`\w+`) becomes its
/// base-62 index in a keyword list ordered by frequency, wrapped in the packer's own decoder.
pub fn pack(source: &str) -> String {
    const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    fn code(i: usize) -> String {
        let digit = char::from(DIGITS[i % 62]);
        if i < 62 { digit.to_string() } else { format!("{}{digit}", code(i / 62)) }
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut tokens: Vec<(bool, &str)> = Vec::new();
    let mut rest = source;
    while let Some(first) = rest.chars().next() {
        let word = is_word(first);
        let len = rest.find(|c: char| is_word(c) != word).unwrap_or(rest.len());
        tokens.push((word, &rest[..len]));
        rest = &rest[len..];
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, word) in tokens.iter().filter(|(w, _)| *w) {
        match counts.iter_mut().find(|(w, _)| w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n)); // stable: first seen first among equals
    let words: Vec<&str> = counts.iter().map(|(w, _)| *w).collect();
    let payload: String = tokens
        .iter()
        .map(|(word, text)| match word {
            true => code(words.iter().position(|w| w == text).unwrap_or_default()),
            false => text.to_string(),
        })
        .collect();
    let payload = payload.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n");
    format!(
        "eval(function(p,a,c,k,e,d){{e=function(c){{return(c<a?'':e(parseInt(c/a)))+((c=c%a)>35?String.fromCharCode(c+29):c.toString(36))}};if(!''.replace(/^/,String)){{while(c--){{d[e(c)]=k[c]||e(c)}}k=[function(e){{return d[e]}}];e=function(){{return'\\\\w+'}};c=1}};while(c--){{if(k[c]){{p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c])}}}}return p}}('{payload}',62,{},'{}'.split('|'),0,{{}}))",
        words.len(),
        words.join("|")
    )
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` percent-encoded.
pub fn encode_uri_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `text` as HTML character references, mixing decimal, hex and named ones as obfuscators do.
fn entity_encode(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| match (c, i % 3) {
            ('/', _) => "&sol;".to_string(),
            ('.', _) => "&period;".to_string(),
            (':', _) => "&colon;".to_string(),
            (c, 0) => format!("&#{};", c as u32),
            (c, 1) => format!("&#x{:x};", c as u32),
            (c, _) => c.to_string(),
        })
        .collect()
}

/// `url` with its slashes and dots written as the JS escapes JSON encoders and obfuscators use.
fn js_escape(url: &str) -> String {
    url.chars()
        .enumerate()
        .map(|(i, c)| match (c, i % 3) {
            ('/', 0) => "\\/".to_string(),
            ('/', 1) => "\\u002F".to_string(),
            ('/', _) => "\\x2F".to_string(),
            ('.', _) => "\\u002e".to_string(),
            (c, _) => c.to_string(),
        })
        .collect()
}

/// `text` cut into pieces of about `n` characters.
fn pieces(text: &str, n: usize) -> Vec<String> {
    text.chars().collect::<Vec<_>>().chunks(n).map(|c| c.iter().collect()).collect()
}

/// The hidden-shape pages: the body for `page`, with the master `url`, or `None`.
fn hidden(page: &str, feed: &str, url: &str) -> Option<(String, String)> {
    let h = |body: String| Some((String::new(), format!("<h1>Watch {feed}</h1>\n{body}")));
    let js = |code: String| format!("<script>\n{code}\n</script>\n");
    match page {
        "packed" => h(format!(
            "<div id=\"player\"></div>\n{}",
            js(pack(&format!(
                "var player=jwplayer(\"player\");player.setup({{file:\"{url}\",width:\"100%\",aspectratio:\"16:9\",autostart:true}});"
            )))
        )),
        "packed-nested" => h(format!(
            "<video id=\"v\" controls muted></video>\n{}",
            js(pack(&pack(&format!(
                "var video=document.getElementById('v');if(Hls.isSupported()){{var hls=new Hls();hls.loadSource('{url}');hls.attachMedia(video);}}"
            ))))
        )),
        "iframe-query" => h(format!(
            "<iframe src=\"/pages/embed/hls?src={}&amp;autoplay=1\" width=\"640\" height=\"360\" allowfullscreen></iframe>\n",
            encode_uri_component(url)
        )),
        "iframe-fragment" => h(format!(
            "<iframe src=\"/pages/embed/hls#url={}\" width=\"640\" height=\"360\" allowfullscreen></iframe>\n",
            encode_uri_component(&encode_uri_component(url))
        )),
        "escaped" => h(format!(
            "<div id=\"player\"></div>\n{}",
            js(format!(
                "var config = {{\"title\":\"Live: {feed}\",\"stream\":{{\"file\":\"{}\",\"type\":\"hls\"}}}};\nstart(config);",
                js_escape(url)
            ))
        )),
        "entities" => h(format!(
            "<div id=\"player\" data-stream=\"{}\"></div>\n{}",
            entity_encode(url),
            js("var el = document.getElementById('player'); start(el.dataset.stream);".into())
        )),
        "protocol-relative" => h(format!(
            "<video controls autoplay muted playsinline>\n  <source src=\"{}\" type=\"application/x-mpegURL\">\n</video>\n",
            url.trim_start_matches("http:").trim_start_matches("https:")
        )),
        "base-href" => {
            let (dir, file) = url
                .split_once("/cdn/")
                .map(|(_, rest)| rest.split_once('/').unwrap_or((rest, "")))
                .unwrap_or(("", ""));
            Some((
                format!("<base href=\"/cdn/{dir}/\">\n"),
                format!(
                    "<h1>Watch {feed}</h1>\n<video id=\"v\" controls muted></video>\n{}",
                    js(format!(
                        "var hls = new Hls();\nhls.loadSource(\"{file}\");\nhls.attachMedia(document.getElementById(\"v\"));"
                    ))
                ),
            ))
        }
        "base64-attr" => h(format!(
            "<div id=\"player\" data-src=\"{}\"></div>\n{}",
            STANDARD.encode(url),
            js("var el = document.getElementById('player'); start(atob(el.getAttribute('data-src')));"
                .into())
        )),
        "concat" => {
            let parts: Vec<String> = pieces(url, 9).into_iter().map(|p| format!("\"{p}\"")).collect();
            h(js(format!("var u = {};\nstart(u);", parts.join(" + "))))
        }
        "join" => {
            let parts: Vec<String> = pieces(url, 11).into_iter().map(|p| format!("'{p}'")).collect();
            h(format!(
                "<video id=\"v\" controls muted></video>\n{}",
                js(format!("document.getElementById('v').src = [{}].join('');", parts.join(", ")))
            ))
        }
        "reverse" => h(js(format!(
            "var s = \"{}\".split(\"\").reverse().join(\"\");\nstart(s);",
            url.chars().rev().collect::<String>()
        ))),
        "jwplayer" => h(format!(
            "<div id=\"player\"></div>\n{}",
            js(format!(
                "jwplayer(\"player\").setup({{\n  image: \"/poster.jpg\",\n  playlist: [{{ title: \"Live: {feed}\", sources: [{{ file: \"{url}\", type: \"hls\" }}] }}],\n  width: \"100%\"\n}});"
            ))
        )),
        "clappr" => h(format!(
            "<div id=\"player\"></div>\n{}",
            js(format!(
                "var player = new Clappr.Player({{ source: \"{url}\", parentId: \"#player\", mimeType: \"application/x-mpegURL\", autoPlay: true }});"
            ))
        )),
        "videojs" => h(format!(
            "<video-js id=\"player\" class=\"video-js vjs-default-skin\" controls preload=\"auto\"></video-js>\n{}",
            js(format!(
                "var player = videojs('player', {{ sources: [{{ src: '{url}', type: 'application/x-mpegURL' }}] }});"
            ))
        )),
        "plyr" => h(format!(
            "<video id=\"player\" playsinline controls></video>\n{}",
            js(format!(
                "const player = new Plyr('#player');\nplayer.source = {{ type: 'video', title: 'Live', sources: [{{ src: '{url}', type: 'application/x-mpegURL' }}] }};"
            ))
        )),
        "dplayer" => h(format!(
            "<div id=\"dplayer\"></div>\n{}",
            js(format!(
                "const dp = new DPlayer({{ container: document.getElementById('dplayer'), live: true, video: {{ url: '{url}', type: 'hls' }} }});"
            ))
        )),
        "flowplayer" => h(format!(
            "<div id=\"player\"></div>\n{}",
            js(format!(
                "flowplayer(\"#player\", {{ clip: {{ sources: [{{ type: \"application/x-mpegurl\", src: \"{url}\" }}] }} }});"
            ))
        )),
        "shaka" => h(format!(
            "<video id=\"video\" controls autoplay></video>\n{}",
            js(format!(
                "const manifestUri = '{url}';\nasync function init() {{\n  const player = new shaka.Player(document.getElementById('video'));\n  await player.load(manifestUri);\n}}\ndocument.addEventListener('DOMContentLoaded', init);"
            ))
        )),
        "hlsjs" => h(format!(
            "<video id=\"video\" controls muted></video>\n{}",
            js(format!(
                "var video = document.getElementById('video');\nif (Hls.isSupported()) {{\n  var hls = new Hls();\n  hls.loadSource('{url}');\n  hls.attachMedia(video);\n}}"
            ))
        )),
        "decoy" => h(format!(
            "<!-- old player, kept for reference:\n<video src=\"{}{DECOY_PATH}\"></video>\n-->\n<div id=\"player\"></div>\n{}",
            url.split("/cdn/").next().unwrap_or_default(),
            js(format!("jwplayer(\"player\").setup({{ file: \"{url}\", autostart: true }});"))
        )),
        _ => None,
    }
}

async fn index() -> Response {
    let items: String = PAGES
        .iter()
        .map(|(name, about)| {
            let about = about.replace('<', "&lt;").replace('>', "&gt;");
            format!("<li><a href=\"/pages/{name}\">{name}</a> — {about}</li>\n")
        })
        .collect();
    html_page(
        "Stream pages",
        &format!("<h1>Stream pages</h1>\n<ul>\n{items}</ul>\n<p>Each takes <code>?feed=NAME</code>.</p>\n"),
    )
}

async fn page(
    State(ctx): State<Ctx>,
    Path(page): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (url, _) = ctx.master_url(&headers, feed);
    let body = match page.as_str() {
        "iframe" => format!(
            "<h1>Watch {feed}</h1>\n<div class=\"embed\"><iframe src=\"/pages/embed/outer?feed={feed}\" width=\"660\" height=\"380\" allowfullscreen></iframe></div>\n"
        ),
        "video" => format!(
            "<h1>Watch {feed}</h1>\n<video src=\"{url}\" controls autoplay muted playsinline></video>\n"
        ),
        "source" => format!(
            "<h1>Watch {feed}</h1>\n<video controls autoplay muted playsinline>\n  <source src=\"{url}\" type=\"application/x-mpegURL\">\n</video>\n"
        ),
        "jsonld" => {
            let ld = serde_json::json!({
                "@context": "https://schema.org",
                "@type": "VideoObject",
                "name": format!("Live: {feed}"),
                "description": "Live stream",
                "uploadDate": "2026-01-01T00:00:00Z",
                "thumbnailUrl": "https://example.invalid/thumb.jpg",
                "contentUrl": url,
                "publication": {"@type": "BroadcastEvent", "isLiveBroadcast": true},
            });
            format!(
                "<h1>Watch {feed}</h1>\n<script type=\"application/ld+json\">{ld}</script>\n<div id=\"player\"></div>\n"
            )
        }
        "jsvar" => format!(
            "<h1>Watch {feed}</h1>\n<div id=\"player\"></div>\n<script>\n  var hlsUrl = \"{url}\";\n  var player = {{el: 'player', src: hlsUrl, autoplay: true}};\n</script>\n"
        ),
        "atob" => format!(
            "<h1>Watch {feed}</h1>\n<video id=\"v\" controls muted></video>\n<script>\n  document.getElementById('v').src = atob(\"{}\");\n</script>\n",
            STANDARD.encode(&url)
        ),
        "api" => format!(
            "<h1>Watch {feed}</h1>\n<video id=\"v\" controls muted></video>\n<script>\n  fetch('/pages/api/stream.json?feed={feed}').then(function (r) {{ return r.json(); }})\n    .then(function (j) {{ document.getElementById('v').src = j.stream.url; }});\n</script>\n"
        ),
        other => match hidden(other, feed, &url) {
            Some((head, body)) => {
                return with_master(html_page_with_head(&format!("Live: {feed}"), &head, &body), &url);
            }
            None => return (StatusCode::NOT_FOUND, Html("<h1>404 Not Found</h1>")).into_response(),
        },
    };
    with_master(html_page(&format!("Live: {feed}"), &body), &url)
}

/// A stream that has ended: answers 200 with an HTML page, as many hosts do for dead links.
async fn ended() -> Response {
    html_page("Stream ended", "<h1>This stream has ended</h1>\n")
}

async fn embed(
    State(ctx): State<Ctx>,
    Path(level): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match level.as_str() {
        "outer" => html_page(
            "Embed",
            &format!(
                "<iframe src=\"/pages/embed/player?feed={feed}\" width=\"640\" height=\"360\" allowfullscreen></iframe>\n"
            ),
        ),
        "player" => {
            let (url, _) = ctx.master_url(&headers, feed);
            with_master(
                html_page(
                    "Player",
                    &format!("<video src=\"{url}\" controls autoplay muted playsinline></video>\n"),
                ),
                &url,
            )
        }
        // Reads the playlist from its own query (`?src=`) or fragment (`#url=`, twice encoded).
        "hls" => html_page(
            "Player",
            "<video id=\"v\" controls muted></video>\n<script>\nvar q = new URLSearchParams(location.search);\nvar f = new URLSearchParams(location.hash.slice(1));\nvar src = q.get('src') || decodeURIComponent(f.get('url') || '');\nvar hls = new Hls(); hls.loadSource(src); hls.attachMedia(document.getElementById('v'));\n</script>\n",
        ),
        _ => (StatusCode::NOT_FOUND, Html("<h1>404 Not Found</h1>")).into_response(),
    }
}

async fn stream_json(
    State(ctx): State<Ctx>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let feed = match feed_of(&query) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (url, expires_at) = ctx.master_url(&headers, feed);
    let body = serde_json::json!({
        "status": "live",
        "stream": {"url": url, "type": "application/x-mpegURL", "feed": feed},
        "expires_at": expires_at,
    });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_hides_every_word_and_carries_the_keywords() {
        let source =
            "jwplayer(\"p\").setup({file:\"http://site.demo.invalid/cdn/main/master.m3u8?token=1.x_y\"});";
        let packed = pack(source);
        let payload = packed.split("}('").nth(1).unwrap().split("',62,").next().unwrap();
        let keywords: Vec<&str> =
            packed.rsplit(",'").next().unwrap().split("'.split").next().unwrap().split('|').collect();
        for word in ["jwplayer", "setup", "file", "site", "demo", "master", "m3u8", "token", "x_y"] {
            assert!(!payload.contains(word), "{word} in {payload}");
            assert!(keywords.contains(&word), "{word}");
        }
        assert!(packed.starts_with("eval(function(p,a,c,k,e,d){"));
        assert!(packed.ends_with(".split('|'),0,{}))"));
        // Packing twice escapes the inner script's quotes and backslashes.
        assert!(pack(&packed).contains("\\'"));
    }

    #[test]
    fn uri_components_and_entities() {
        assert_eq!(encode_uri_component("http://a.b/c?d=1&e"), "http%3A%2F%2Fa.b%2Fc%3Fd%3D1%26e");
        assert_eq!(entity_encode("ab/cde."), "&#97;&#x62;&sol;&#99;&#x64;e&period;");
    }
}
