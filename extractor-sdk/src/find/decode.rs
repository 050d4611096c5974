//! Undoing the cheap disguises of a URL in page text: JS escapes left in the text, percent
//! encoding (a URL inside another URL's query), base64 wherever a string lives, and literal-only
//! string building (`"ht" + "tps://…"`, `["a", "b"].join("")`, `"…".split("").reverse().join("")`).
//!
//! Invariant: every function here is linear in its input (one regex pass or one scan per step,
//! a fixed number of steps) and never panics on malformed text; what it cannot decode it keeps.

use std::sync::LazyLock;

use regex_lite::{Captures, Regex};

use super::{js_unescape, regex};
use crate::{codec, is_http_url};

/// A JS string literal on one line, single- or double-quoted, escapes allowed.
const LITERAL: &str = r#"(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"#;

static LITERAL_ONLY: LazyLock<Regex> = LazyLock::new(|| regex(LITERAL));
static CONCAT: LazyLock<Regex> = LazyLock::new(|| regex(&format!(r"{LITERAL}(?:\s*\+\s*{LITERAL})+")));
static JOIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(r"\[\s*({LITERAL}(?:\s*,\s*{LITERAL})*)\s*,?\s*\]\s*\.\s*join\(\s*({LITERAL})?\s*\)"))
});
static REVERSE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r#"({LITERAL})\s*\.\s*split\(\s*(?:""|'')\s*\)\s*\.\s*reverse\(\s*\)\s*\.\s*join\(\s*(?:""|'')\s*\)"#
    ))
});
/// A query or fragment parameter that usually carries a media URL.
static URL_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?i)[?&#;](?:src|file|url|source|stream|hls|m3u8|video|playlist)=([^&#"'\s<>\\]+)"#)
});
static BASE64_TEXT: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9+/_-]{16,}={0,2}$"));

/// Layers of percent encoding undone for a URL inside another URL's query.
pub const MAX_PERCENT_LAYERS: usize = 2;

/// `text` with the JS escapes sites put in URLs undone in place: `\/`, `\xHH`, `\uHHHH`,
/// `\u{H…}`. Escapes that would produce a quote, a backslash or a control character are kept as
/// written, so string literals in the text stay intact; malformed escapes are kept too.
pub fn decode_escapes(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (decoded, used) = escape_at(rest.as_bytes());
        match decoded.filter(|c| !matches!(c, '"' | '\'' | '\\' | '`') && !c.is_control()) {
            Some(c) => out.push(c),
            None => out.push_str(&rest[..used]),
        }
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// The escape at the start of `s` (which starts with `\`): the character it stands for, if one
/// this module decodes, and how many bytes it spans (all ASCII, so always a char boundary).
fn escape_at(s: &[u8]) -> (Option<char>, usize) {
    let hex = |digits: &[u8]| -> Option<char> {
        let digits = std::str::from_utf8(digits).ok()?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        char::from_u32(u32::from_str_radix(digits, 16).ok()?)
    };
    match s.get(1) {
        Some(b'/') => (Some('/'), 2),
        Some(b'\\') => (None, 2), // an escaped backslash: keep both, so the next char is not read as an escape
        Some(b'x') => match s.get(2..4).and_then(hex) {
            Some(c) => (Some(c), 4),
            None => (None, 1),
        },
        Some(b'u') if s.get(2) == Some(&b'{') => {
            let close = s.iter().take(12).position(|&b| b == b'}');
            match close.and_then(|end| Some((hex(&s[3..end])?, end + 1))) {
                Some((c, used)) => (Some(c), used),
                None => (None, 1),
            }
        }
        Some(b'u') => match s.get(2..6).and_then(hex) {
            Some(c) => (Some(c), 6),
            None => (None, 1),
        },
        _ => (None, 1),
    }
}

/// Undoes one layer of percent encoding (`%3A` → `:`); malformed `%` sequences are kept, and
/// bytes that are not UTF-8 become U+FFFD. `+` is kept (base64 values use it).
pub fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// URLs carried in the query or fragment of URLs in `text` (`?src=`, `?file=`, `#url=`, also
/// `url`, `source`, `stream`, `hls`, `m3u8`, `video`, `playlist`), percent-decoded up to
/// [`MAX_PERCENT_LAYERS`] times, or base64-decoded; URLs inside those (one more level) too.
/// Only values that look like URLs (absolute, `//host/…`, `/path`, or anything with `.m3u8`)
/// are returned, in order, without duplicates.
pub fn query_urls(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    collect_query_urls(text, 0, &mut found);
    found
}

fn collect_query_urls(text: &str, level: usize, found: &mut Vec<String>) {
    for c in URL_PARAM.captures_iter(text) {
        let mut value = c[1].to_string();
        for _ in 0..MAX_PERCENT_LAYERS {
            if value.contains("://") || value.starts_with("//") || !value.contains('%') {
                break;
            }
            value = percent_decode(&value);
        }
        let value = match base64_url(&value) {
            Some(decoded) if !url_like(&value) => decoded,
            _ => value,
        };
        if !url_like(&value) || found.contains(&value) {
            continue;
        }
        if level + 1 < MAX_PERCENT_LAYERS {
            collect_query_urls(&value, level + 1, found);
        }
        found.push(value);
    }
}

/// Whether `text` could be a media URL reference: absolute http(s), protocol-relative,
/// root-relative, or anything mentioning `.m3u8`; never with whitespace.
pub(crate) fn url_like(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(char::is_whitespace)
        && (is_http_url(text)
            || text.starts_with("//")
            || text.starts_with('/')
            || text.to_ascii_lowercase().contains(".m3u8"))
}

/// `text` decoded from base64 (any flavour), if it is 16+ base64 characters and the decoded text
/// is an http(s) or protocol-relative URL or mentions `.m3u8`; anything else (binary, ids that
/// happen to be base64) is refused.
pub fn base64_url(text: &str) -> Option<String> {
    let text = text.trim();
    if !BASE64_TEXT.is_match(text) {
        return None;
    }
    let decoded = codec::base64_decode_str(text)?;
    let decoded = decoded.trim();
    let printable = !decoded.chars().any(char::is_control);
    let wanted =
        is_http_url(decoded) || decoded.starts_with("//") || decoded.to_ascii_lowercase().contains(".m3u8");
    (printable && wanted).then(|| decoded.to_string())
}

/// `js` with literal-only string building evaluated into single double-quoted literals:
/// `["a", "b"].join("")` and `.join("sep")`, `"a" + 'b' + "c"`, and
/// `"cba".split("").reverse().join("")`. Anything with a variable or call in it is left alone.
pub fn fold_strings(js: &str) -> String {
    if !js.contains(['"', '\'']) {
        return js.to_string();
    }
    let joined = JOIN.replace_all(js, |c: &Captures| {
        // `join()` without an argument joins with commas, as in JS.
        let separator = c.get(2).map_or(",".to_string(), |m| literal_value(m.as_str()));
        let items: Vec<String> = LITERAL_ONLY.find_iter(&c[1]).map(|m| literal_value(m.as_str())).collect();
        quote(&items.join(&separator))
    });
    let reversed = REVERSE.replace_all(&joined, |c: &Captures| quote(&codec::reverse(&literal_value(&c[1]))));
    CONCAT
        .replace_all(&reversed, |c: &Captures| {
            quote(&LITERAL_ONLY.find_iter(&c[0]).map(|m| literal_value(m.as_str())).collect::<String>())
        })
        .into_owned()
}

/// The value of a quoted JS literal (quotes included in `literal`).
fn literal_value(literal: &str) -> String {
    js_unescape(literal.get(1..literal.len().saturating_sub(1)).unwrap_or_default())
}

/// `value` as a double-quoted JS literal.
fn quote(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decoded_in_place() {
        assert_eq!(
            decode_escapes(r#"{"u":"http:\/\/a.example\u002Fb\x2Fc\u{2e}m3u8?x=1\u0026y=2"}"#),
            r#"{"u":"http://a.example/b/c.m3u8?x=1&y=2"}"#
        );
        // Quotes, backslashes and control characters stay escaped; `\\/` is an escaped backslash.
        assert_eq!(decode_escapes(r#"a\"b\u0022c\x27d\\/e\u000a"#), r#"a\"b\u0022c\x27d\\/e\u000a"#);
        // Malformed and cut escapes are kept as written, never a panic.
        for bad in [
            r"\",
            r"\x",
            r"\x4",
            r"\xZZ",
            r"\u12",
            r"\u{",
            r"\u{110000}",
            r"\u{zz}",
            r"\uD800",
            "\\é",
            "é\\u00",
        ] {
            assert_eq!(decode_escapes(bad), bad, "{bad}");
        }
    }

    #[test]
    fn percent_layers() {
        assert_eq!(
            percent_decode("https%3A%2F%2Fa.example%2Fx.m3u8%3Ft%3D1"),
            "https://a.example/x.m3u8?t=1"
        );
        assert_eq!(percent_decode("100%25 %zz %4"), "100% %zz %4");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn urls_inside_urls() {
        let once = "https%3A%2F%2Fcdn.example%2Flive%2Fmaster.m3u8%3Ftoken%3D1.abc";
        let twice = once.replace('%', "%25");
        let text = format!(
            r#"<iframe src="https://player.example/embed?src={once}&autoplay=1"></iframe>
               <a href="/p.html#url={twice}">x</a> <a href="/e?FILE={b64}">b</a>
               <a href="/share?u=https%3A%2F%2Fsocial.example">not a media param</a>
               <a href="/e?url=not%20a%20url">no</a>"#,
            b64 = "aHR0cHM6Ly9hLmV4YW1wbGUveC5tM3U4"
        );
        assert_eq!(
            query_urls(&text),
            ["https://cdn.example/live/master.m3u8?token=1.abc", "https://a.example/x.m3u8",]
        );
        // An embed URL carrying an embed URL carrying the playlist: both levels.
        let inner = "https://p2.example/e?file=https%3A%2F%2Fc.example%2Fa.m3u8";
        let outer = format!(
            "https://p1.example/e?src={}",
            inner
                .replace('%', "%25")
                .replace(':', "%3A")
                .replace('/', "%2F")
                .replace('?', "%3F")
                .replace('=', "%3D")
        );
        assert_eq!(query_urls(&outer), ["https://c.example/a.m3u8", inner]);
    }

    #[test]
    fn base64_only_for_urls() {
        assert_eq!(
            base64_url("aHR0cHM6Ly9hLmV4YW1wbGUveC5tM3U4").as_deref(),
            Some("https://a.example/x.m3u8")
        );
        assert_eq!(base64_url("Ly9jZG4uZXhhbXBsZS9saXZl").as_deref(), Some("//cdn.example/live"));
        assert_eq!(base64_url("aGVsbG8gd29ybGQgaGVsbG8="), None, "hello world: not a URL");
        assert_eq!(base64_url("abcdefghijklmnop"), None, "an id that happens to be base64");
        assert_eq!(base64_url("short"), None);
        assert_eq!(base64_url("aHR0cHM6Ly9h LmV4"), None);
    }

    #[test]
    fn string_building_folded() {
        assert_eq!(
            fold_strings(r#"var u = "ht" + 'tps:' +"\/\/a.example/x.m3u8";"#),
            r#"var u = "https://a.example/x.m3u8";"#
        );
        assert_eq!(
            fold_strings(r#"v.src = ["https://a", ".example", "/x.m3u8"].join("");"#),
            r#"v.src = "https://a.example/x.m3u8";"#
        );
        assert_eq!(fold_strings(r#"["a","b",].join('/')"#), r#""a/b""#);
        assert_eq!(fold_strings(r#"["a", "b"].join()"#), r#""a,b""#);
        assert_eq!(
            fold_strings(r#"x = "8u3m.x/elpmaxe.a//:sptth".split("").reverse().join("");"#),
            r#"x = "https://a.example/x.m3u8";"#
        );
        assert_eq!(
            fold_strings(r#"atob("=8" + "u3m").split('').reverse().join('')"#),
            r#"atob("=8u3m").split('').reverse().join('')"#
        );
        // Variables and calls are not evaluated; quotes in values are re-escaped.
        assert_eq!(fold_strings(r#"a = "x" + y + "z";"#), r#"a = "x" + y + "z";"#);
        assert_eq!(fold_strings(r#"a = 'it\'s' + "\"q\"";"#), r#"a = "it's\"q\"";"#);
        assert_eq!(fold_strings("no strings"), "no strings");
    }
}
