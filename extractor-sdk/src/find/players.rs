//! The setup calls of the common web players, read from (already unescaped) script text: the
//! stream a page hands its player is the best evidence of what the page plays.
//!
//! | label | recognised |
//! |---|---|
//! | `JW Player` | `jwplayer(…).setup({file, sources: [{file}], playlist: [{file}]})`, also through a variable |
//! | `Clappr` | `new Clappr.Player({source})` |
//! | `Video.js` | `videojs(id, {sources: [{src}]})`, `player.src(url \| {src})` on a page using videojs |
//! | `Plyr` | `new Plyr(…, {…})`, `player.source = {sources: [{src}]}` on a page using Plyr |
//! | `DPlayer` | `new DPlayer({video: {url}})` |
//! | `Flowplayer` | `flowplayer(…, {src, clip: {sources: [{src}]}})` |
//! | `Shaka` | `player.load(url)` on a page using shaka |
//! | `hls.js` | `hls.loadSource(url)` |
//!
//! Values may be string literals or the name of a `var|let|const` holding one. Each call's
//! arguments are read as one bracket-balanced window of at most [`MAX_SETUP_WINDOW`] bytes.

use std::sync::LazyLock;

use regex_lite::Regex;

use super::decode::url_like;
use super::{js_string_var, js_unescape, m3u8_refs, m3u8_urls, regex};

/// Bytes of a setup call's arguments read at most.
pub const MAX_SETUP_WINDOW: usize = 16 * 1024;
/// Setup calls read per script.
const MAX_SETUPS: usize = 32;

/// Whether the first argument itself is the stream (`loadSource(url)`), or only the option keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Args {
    UrlFirst,
    Options,
}

struct Player {
    label: &'static str,
    anchor: Regex,
    args: Args,
    /// The anchor is too generic alone (`.load(`, `.src(`): the script must mention this.
    needs: Option<&'static str>,
}

static PLAYERS: LazyLock<Vec<Player>> = LazyLock::new(|| {
    let p = |label, anchor: &str, args, needs| Player { label, anchor: regex(anchor), args, needs };
    vec![
        // `jwplayer("p").setup({…})`, or `var player = jwplayer("p"); player.setup({…})`.
        p("JW Player", r"\.\s*setup\s*\(", Args::Options, Some("jwplayer")),
        p("Clappr", r"\bnew\s+Clappr\s*\.\s*Player\s*\(", Args::Options, None),
        p("Video.js", r"\bvideojs\s*\(", Args::Options, None),
        p("Video.js", r"\.\s*src\s*\(", Args::UrlFirst, Some("videojs")),
        p("Plyr", r"\bnew\s+Plyr\s*\(", Args::Options, None),
        p("Plyr", r"\.\s*source\s*=\s*", Args::Options, Some("Plyr")),
        p("DPlayer", r"\bnew\s+DPlayer\s*\(", Args::Options, None),
        p("Flowplayer", r"\bflowplayer\s*\(", Args::Options, None),
        p("Shaka", r"\.\s*load\s*\(", Args::UrlFirst, Some("shaka")),
        p("hls.js", r"\.\s*loadSource\s*\(", Args::UrlFirst, None),
    ]
});

/// An option key whose value is the stream, and that value (literal or variable name).
static STREAM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)(?:^|[^\w$])["']?(?:file|src|source|url|hls|hlsurl|videourl|streamurl|manifesturl)["']?\s*:\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`([^`$\\]*)`|([A-Za-z_$][\w$]*)\b)"#,
    )
});
/// The first argument of a call: a literal or a variable name.
static FIRST_ARG: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"^\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`([^`$\\]*)`|([A-Za-z_$][\w$]*)\s*(?:[,)]|$))"#,
    )
});

/// File extensions that are media or pages but never an HLS playlist.
const NOT_PLAYLISTS: &[&str] = &[
    ".mp4", ".webm", ".mkv", ".mov", ".mp3", ".m4a", ".aac", ".ogg", ".mpd", ".jpg", ".jpeg", ".png", ".gif",
    ".webp", ".svg", ".vtt", ".srt", ".js", ".css", ".html", ".htm",
];

/// `(player label, stream reference)` for every player setup in `js`, in order. A reference is
/// kept when it mentions `.m3u8`, or is an absolute, protocol- or root-relative URL without a
/// non-HLS file extension (players are often handed extension-less playlist URLs; verifying
/// them is the caller's job).
pub fn player_streams(js: &str) -> Vec<(&'static str, String)> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for player in PLAYERS.iter() {
        if player.needs.is_some_and(|word| !js.contains(word)) {
            continue;
        }
        for anchor in player.anchor.find_iter(js).take(MAX_SETUPS) {
            let window = call_window(js, anchor.end());
            let mut values = Vec::new();
            if player.args == Args::UrlFirst
                && let Some(c) = FIRST_ARG.captures(window)
            {
                values.extend(value(js, &c));
            }
            values.extend(STREAM_KEY.captures_iter(window).filter_map(|c| value(js, &c)));
            values.extend(m3u8_urls(window));
            values.extend(m3u8_refs(window));
            for v in values {
                if stream_like(&v) && !found.iter().any(|(_, f)| *f == v) {
                    found.push((player.label, v));
                }
            }
        }
    }
    found
}

/// A captured literal (groups 1–3) unescaped, or a variable (group 4) looked up in `js`.
fn value(js: &str, c: &regex_lite::Captures) -> Option<String> {
    if let Some(m) = c.get(1).or(c.get(2)).or(c.get(3)) {
        return Some(js_unescape(m.as_str()));
    }
    js_string_var(js, c.get(4)?.as_str())
}

fn stream_like(value: &str) -> bool {
    let value = value.trim();
    let path = value.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    url_like(value)
        && (path.ends_with(".m3u8")
            || (!value.starts_with(".")
                && !NOT_PLAYLISTS.iter().any(|ext| path.ends_with(ext))
                && value.len() > 1))
}

/// The arguments of the call (or the value of the assignment) starting at `from`: text up to the
/// bracket that closes it, or a `;` at its own level, skipping string literals; at most
/// [`MAX_SETUP_WINDOW`] bytes.
fn call_window(js: &str, from: usize) -> &str {
    let bytes = js.as_bytes();
    let limit = js.len().min(from + MAX_SETUP_WINDOW);
    let (mut depth, mut quote, mut i) = (0i32, None, from);
    while i < limit {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) if b == b'\\' => i += 1,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' | b'`' => quote = Some(b),
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => {
                    depth -= 1;
                    if depth < 0 {
                        break;
                    }
                }
                b';' if depth == 0 => break,
                _ => {}
            },
        }
        i += 1;
    }
    let mut end = i.min(limit);
    while !js.is_char_boundary(end) {
        end -= 1;
    }
    &js[from..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams(js: &str) -> Vec<(&'static str, String)> {
        player_streams(js)
    }

    fn one(js: &str) -> (&'static str, String) {
        let found = streams(js);
        assert_eq!(found.len(), 1, "{js}: {found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn each_player_setup() {
        let u = "https://cdn.example/live/master.m3u8?t=1";
        let cases = [
            (
                "JW Player",
                format!(r##"jwplayer("p").setup({{image: "/poster.jpg", file: "{u}", width: "100%"}});"##),
            ),
            ("JW Player", format!(r##"var player = jwplayer("p"); player.setup({{file: "{u}"}});"##)),
            (
                "JW Player",
                format!(
                    r##"jwplayer('p').setup({{playlist: [{{title: "x", sources: [{{file: '{u}', type: 'hls'}}]}}]}})"##
                ),
            ),
            (
                "Clappr",
                format!(r##"var player = new Clappr.Player({{source: "{u}", parentId: "#player"}});"##),
            ),
            (
                "Video.js",
                format!(
                    r##"videojs('player', {{sources: [{{src: '{u}', type: 'application/x-mpegURL'}}]}});"##
                ),
            ),
            (
                "Video.js",
                format!(
                    r##"var p = videojs('player'); p.src({{type: 'application/x-mpegURL', src: '{u}'}});"##
                ),
            ),
            ("Video.js", format!(r##"var p = videojs('v'); p.src("{u}");"##)),
            (
                "Plyr",
                format!(
                    r##"const player = new Plyr('#p'); player.source = {{type: 'video', sources: [{{src: '{u}'}}]}};"##
                ),
            ),
            (
                "DPlayer",
                format!(
                    r##"new DPlayer({{container: document.getElementById('d'), video: {{url: '{u}', type: 'hls'}}}});"##
                ),
            ),
            (
                "Flowplayer",
                format!(
                    r##"flowplayer("#p", {{clip: {{sources: [{{type: "application/x-mpegurl", src: "{u}"}}]}}}});"##
                ),
            ),
            ("Flowplayer", format!(r##"flowplayer('#p', {{src: '{u}', token: 'abc'}})"##)),
            (
                "Shaka",
                format!(
                    r##"const manifestUri = '{u}'; const player = new shaka.Player(video); await player.load(manifestUri);"##
                ),
            ),
            (
                "hls.js",
                format!(
                    r##"if (Hls.isSupported()) {{ var hls = new Hls(); hls.loadSource('{u}'); hls.attachMedia(v); }}"##
                ),
            ),
            ("hls.js", format!(r##"let src = "{u}"; hls.loadSource(src);"##)),
            ("hls.js", format!(r##"hls.loadSource(`{u}`)"##)),
        ];
        for (label, js) in cases {
            assert_eq!(one(&js), (label, u.to_string()), "{js}");
        }
    }

    #[test]
    fn extensionless_urls_only_from_players() {
        assert_eq!(
            one(r##"new Clappr.Player({source: "https://cdn.example/live/abc?token=1"})"##).1,
            "https://cdn.example/live/abc?token=1"
        );
        assert_eq!(one(r##"hls.loadSource("/hls/abc")"##).1, "/hls/abc");
        // Posters, MP4 fallbacks, element ids and page links are not streams.
        let js = r##"jwplayer("p").setup({image: "https://a.example/p.jpg", file: "https://a.example/v.mp4", link: "https://a.example/"});
                    videojs("player"); new DPlayer({container: el, video: {url: "video.mp4"}}); flowplayer("#player");"##;
        assert!(streams(js).is_empty(), "{:?}", streams(js));
        // Generic method names without the player on the page are ignored.
        assert!(streams(r##"$("#x").load("/frag.m3u8"); img.src("/a.m3u8");"##).is_empty());
        // A window never runs past its call.
        assert!(
            streams(r##"hls.loadSource(other); var later = {file: "https://a.example/x.m3u8"};"##).is_empty()
        );
    }

    #[test]
    fn windows_are_bounded_and_safe() {
        // Unclosed calls, unterminated strings, multi-byte text at the cut: no panic.
        for js in [
            "jwplayer(\"p\").setup({file: \"é",
            "hls.loadSource(",
            "new DPlayer({video: {url: 'x",
            "flowplayer(",
        ] {
            let _ = streams(js);
        }
        let long = format!("hls.loadSource(\"{}é\")", "a".repeat(MAX_SETUP_WINDOW));
        assert!(call_window(&long, "hls.loadSource(".len()).len() <= MAX_SETUP_WINDOW);
        assert!(streams(&long).is_empty());
        // Many anchors: bounded per player.
        let many = "hls.loadSource('/a.m3u8');".repeat(10_000);
        assert_eq!(streams(&many).len(), 1);
    }
}
