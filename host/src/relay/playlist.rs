//! Playlist rewriting: points every URI of an HLS playlist back at the host and keeps every other
//! byte. Pure: text in, text out, no I/O; the relay around it fetches and signs.
//!
//! Line based on purpose: a parser that builds a playlist model and prints it again drops tags it
//! does not know, reorders attributes and changes line endings. Here each line is a slice of the
//! input; only the bytes of a URI are replaced, everything else is copied into one output string.
//!
//! Where players and the HLS spec disagree about what a line is (a lone carriage return, U+2028 or
//! U+2029 inside a line), the rewriter refuses the playlist rather than guess: a guess that differs
//! from the player's would leave an upstream URI in front of the browser.

use std::ops::Range;

use url::Url;

/// What a rewritten URI points at, so the relay knows how to serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriKind {
    /// A master or media playlist: rewritten again when served.
    Playlist,
    /// A media segment or an LL-HLS part: streamed through.
    Segment,
    /// An encryption key (`EXT-X-KEY`, `EXT-X-SESSION-KEY`).
    Key,
    /// A media initialization section (`EXT-X-MAP`, `EXT-X-PRELOAD-HINT` of `TYPE=MAP`).
    Map,
    /// `EXT-X-SESSION-DATA` JSON.
    Data,
    /// The content steering manifest (`EXT-X-CONTENT-STEERING` `SERVER-URI`).
    Steering,
}

/// Why a playlist could not be rewritten. Never carries the URI itself: it may hold a CDN token.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The text does not start with `#EXTM3U` (after an optional BOM and whitespace).
    #[error("not an HLS playlist: it does not start with #EXTM3U")]
    NotAPlaylist,
    /// A URI does not resolve against the playlist's URL.
    #[error("playlist line {line}: a URI does not resolve against the playlist URL: {source}")]
    BadUri {
        /// 1-based line number.
        line: usize,
        /// What the URL parser said.
        #[source]
        source: url::ParseError,
    },
    /// A quoted attribute value of a URI-carrying tag has no closing quote; players split such a
    /// line differently, so it cannot be rewritten safely.
    #[error("playlist line {line}: a quoted attribute value has no closing quote")]
    UnterminatedQuote {
        /// 1-based line number.
        line: usize,
    },
    /// A line holds a carriage return not followed by a line feed, or U+2028/U+2029, which some
    /// players treat as a line break and others do not.
    #[error("playlist line {line}: a stray carriage return or Unicode line separator inside a line")]
    AmbiguousLineBreak {
        /// 1-based line number.
        line: usize,
    },
    /// The mapper returned a URI that cannot be written back: empty, starting with `#` or
    /// whitespace, or holding a quote or a line break. A bug in the caller, not in the upstream.
    #[error("playlist line {line}: the replacement URI is empty or holds a quote or line break")]
    BadReplacement {
        /// 1-based line number.
        line: usize,
    },
    /// More URIs than [`MAX_URIS`]: no real playlist has that many, and each costs a sealed
    /// relay URL.
    #[error("playlist has more than {MAX_URIS} URIs; refusing to rewrite it")]
    TooManyUris,
    /// The rewrite was stopped before it finished (its worker went away).
    #[error("playlist rewrite was aborted")]
    Aborted,
}

/// Most URIs one playlist may have. A long live window of LL-HLS parts has a few thousand.
pub const MAX_URIS: usize = 20_000;

/// Whether the text is a master playlist (has `EXT-X-STREAM-INF`, `EXT-X-I-FRAME-STREAM-INF` or
/// `EXT-X-MEDIA`). Tag names are matched whole: `EXT-X-MEDIA-SEQUENCE` is a media playlist tag.
pub fn is_master(text: &str) -> bool {
    lines(text).any(|(_, content, _)| {
        matches!(tag(content), Some(("EXT-X-STREAM-INF" | "EXT-X-I-FRAME-STREAM-INF" | "EXT-X-MEDIA", _)))
    })
}

/// Rewrites every URI of an HLS playlist (master or media; no hint needed). `base` is the
/// playlist's final URL after redirects; each URI is resolved against it (`Url::join`) and, when
/// the result is http(s), replaced by `map(&absolute, kind)`. Other schemes (`skd://`, `data:`)
/// are kept as written. Every other byte is kept: unknown tags, comments, blank lines, CRLF vs LF
/// per line, a UTF-8 BOM, a missing final newline, attribute order and quoting. An unquoted
/// URI attribute value (invalid HLS, seen in the wild) is written back quoted. A playlist with
/// more than [`MAX_URIS`] URIs is refused before the next one is mapped.
pub fn rewrite(
    text: &str,
    base: &Url,
    mut map: impl FnMut(&Url, UriKind) -> String,
) -> Result<String, RewriteError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !has_header(body) {
        return Err(RewriteError::NotAPlaylist);
    }
    let master = is_master(body);
    let mut mapped_uris = 0usize;
    // Relay URLs are usually longer than upstream ones; one growth step at most for typical input.
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    out.push_str(&text[..text.len() - body.len()]);
    for (line, content, ending) in lines(body) {
        if content.contains(['\r', '\u{2028}', '\u{2029}']) {
            return Err(RewriteError::AmbiguousLineBreak { line });
        }
        let mut copied = 0;
        scan_line(content, master, &mut |event| {
            let Event::Uri { span, kind, form } = event else {
                return Err(RewriteError::UnterminatedQuote { line });
            };
            let raw = &content[span.clone()];
            let absolute = base.join(raw).map_err(|source| RewriteError::BadUri { line, source })?;
            out.push_str(&content[copied..span.start]);
            copied = span.end;
            if !matches!(absolute.scheme(), "http" | "https") {
                out.push_str(raw);
                return Ok(());
            }
            mapped_uris += 1;
            if mapped_uris > MAX_URIS {
                return Err(RewriteError::TooManyUris);
            }
            let mapped = map(&absolute, kind);
            if !is_writable(&mapped) {
                return Err(RewriteError::BadReplacement { line });
            }
            match form {
                Form::Unquoted => {
                    out.push('"');
                    out.push_str(&mapped);
                    out.push('"');
                }
                Form::Line | Form::Quoted | Form::Unterminated => out.push_str(&mapped),
            }
            Ok(())
        })?;
        out.push_str(&content[copied..]);
        out.push_str(ending);
    }
    Ok(out)
}

/// Lists the URIs of a playlist as written (not resolved), with their 1-based line number and
/// kind, in the order [`rewrite`] maps them. Lenient: it never fails, and lists what it finds on
/// lines [`rewrite`] would refuse. Used by tests and the fuzz target to check that every URI of a
/// rewritten playlist points at the host.
pub fn uris(text: &str) -> Vec<(usize, String, UriKind)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let master = is_master(body);
    let mut found = Vec::new();
    for (line, content, _) in lines(body) {
        let _ = scan_line(content, master, &mut |event| {
            if let Event::Uri { span, kind, .. } = event {
                found.push((line, content[span].to_owned(), kind));
            }
            Ok::<(), ()>(())
        });
    }
    found
}

/// `#EXTM3U` first, after an optional BOM (already stripped) and whitespace.
fn has_header(body: &str) -> bool {
    body.trim_start()
        .strip_prefix("#EXTM3U")
        .is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace))
}

/// Splits after each LF: (1-based line number, content without LF or CRLF, the ending itself).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.split_inclusive('\n').enumerate().map(|(index, piece)| {
        let content = piece.strip_suffix('\n').map_or(piece, |c| c.strip_suffix('\r').unwrap_or(c));
        (index + 1, content, &piece[content.len()..])
    })
}

/// A replacement must stay one URI: no quote to end the attribute early, no line break, and not
/// something a player would read as a blank line, a comment or a tag.
fn is_writable(uri: &str) -> bool {
    uri.chars().next().is_some_and(|first| first != '#' && !first.is_whitespace() && !first.is_control())
        && !uri.contains(['"', '\r', '\n', '\u{2028}', '\u{2029}'])
}

/// How a URI sits on its line, which decides how the replacement is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A whole URI line (leading and trailing whitespace excluded from the span).
    Line,
    /// Inside the quotes of an attribute value.
    Quoted,
    /// An unquoted attribute value (invalid HLS): written back quoted.
    Unquoted,
    /// A quoted value with no closing quote: the span runs to the end of the line.
    Unterminated,
}

/// What [`scan_line`] reports.
enum Event {
    /// A URI at `span` (byte range in the line).
    Uri { span: Range<usize>, kind: UriKind, form: Form },
    /// The tag carries URIs and has a quoted value with no closing quote. Reported before the
    /// line's URIs; a strict caller stops there, a lenient one goes on.
    Unterminated,
}

/// The tag name and the byte offset of its attribute list, for lines starting `#EXT`.
fn tag(line: &str) -> Option<(&str, usize)> {
    let rest = line.strip_prefix("#EXT")?;
    Some(match rest.find(':') {
        Some(colon) => (&line[1..4 + colon], 4 + colon + 1),
        None => (&line[1..], line.len()),
    })
}

/// The attribute that holds the URI of a URI-carrying tag, and the kind it points at.
fn uri_attribute(tag: &str) -> Option<(&'static str, UriKind)> {
    Some(match tag {
        "EXT-X-MEDIA" | "EXT-X-I-FRAME-STREAM-INF" | "EXT-X-RENDITION-REPORT" => ("URI", UriKind::Playlist),
        "EXT-X-KEY" | "EXT-X-SESSION-KEY" => ("URI", UriKind::Key),
        "EXT-X-MAP" => ("URI", UriKind::Map),
        "EXT-X-PART" | "EXT-X-PRELOAD-HINT" => ("URI", UriKind::Segment),
        "EXT-X-SESSION-DATA" => ("URI", UriKind::Data),
        "EXT-X-CONTENT-STEERING" => ("SERVER-URI", UriKind::Steering),
        _ => return None,
    })
}

/// Reports the URIs of one line (without its ending), left to right.
fn scan_line<E>(line: &str, master: bool, report: &mut impl FnMut(Event) -> Result<(), E>) -> Result<(), E> {
    if line.starts_with('#') {
        let Some((name, attrs_at)) = tag(line) else { return Ok(()) };
        let Some((uri_name, mut kind)) = uri_attribute(name) else { return Ok(()) };
        // First pass: attributes that decide whether and as what the URI is mapped. Duplicates:
        // any METHOD other than NONE keeps the key mapped; the last TYPE wins (as in hls.js).
        let mut methods_all_none = None;
        for attr in Attributes::new(line, attrs_at) {
            if attr.form == Form::Unterminated {
                report(Event::Unterminated)?;
            }
            let value = &line[attr.value.clone()];
            match &line[attr.name] {
                "METHOD" if kind == UriKind::Key => {
                    methods_all_none = Some(methods_all_none.unwrap_or(true) && value == "NONE");
                }
                "TYPE" if name == "EXT-X-PRELOAD-HINT" => {
                    kind = if value == "MAP" { UriKind::Map } else { UriKind::Segment };
                }
                _ => {}
            }
        }
        if methods_all_none == Some(true) {
            return Ok(());
        }
        for attr in Attributes::new(line, attrs_at) {
            if &line[attr.name] == uri_name {
                report(Event::Uri { span: attr.value, kind, form: attr.form })?;
            }
        }
        return Ok(());
    }
    // A line of nothing but spaces and tabs is blank, in a master too: resolved, it would name
    // the playlist itself, so mapping it would only turn a harmless line into a relay URL.
    if line.trim_matches([' ', '\t']).is_empty() {
        return Ok(());
    }
    // The span is what the URL parser would read anyway: it strips C0 controls and spaces.
    let start = line.len() - line.trim_start_matches(|c| c <= ' ').len();
    let len = line[start..].trim_end_matches(|c| c <= ' ').len();
    let kind = if master { UriKind::Playlist } else { UriKind::Segment };
    report(Event::Uri { span: start..start + len, kind, form: Form::Line })
}

/// One `NAME=VALUE` of an attribute list, as byte ranges of the line.
struct Attribute {
    name: Range<usize>,
    value: Range<usize>,
    form: Form,
}

/// Iterates an attribute list: names are trimmed of spaces and matched whole; a quoted value runs
/// to the next quote (commas inside are part of it), anything after it up to the next comma is
/// ignored; an unquoted value runs to the next comma. Items without `=` are skipped.
struct Attributes<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Attributes<'a> {
    fn new(line: &'a str, at: usize) -> Self {
        Attributes { line, at }
    }

    fn byte_at(&self, byte: u8, from: usize) -> Option<usize> {
        self.line.as_bytes()[from..].iter().position(|&b| b == byte).map(|i| from + i)
    }

    fn after_comma(&self, from: usize) -> usize {
        self.byte_at(b',', from).map_or(self.line.len(), |comma| comma + 1)
    }
}

impl Iterator for Attributes<'_> {
    type Item = Attribute;

    fn next(&mut self) -> Option<Attribute> {
        let bytes = self.line.as_bytes();
        loop {
            if self.at >= bytes.len() {
                return None;
            }
            let start = self.at;
            let Some(sep) = bytes[start..].iter().position(|&b| b == b'=' || b == b',').map(|i| start + i)
            else {
                self.at = bytes.len();
                return None;
            };
            if bytes[sep] == b',' {
                self.at = sep + 1;
                continue;
            }
            let raw_name = &self.line[start..sep];
            let name_start = start + (raw_name.len() - raw_name.trim_start_matches([' ', '\t']).len());
            let name = name_start..name_start + raw_name.trim_matches([' ', '\t']).len();
            let value_start = sep + 1;
            if bytes.get(value_start) == Some(&b'"') {
                let Some(close) = self.byte_at(b'"', value_start + 1) else {
                    self.at = bytes.len();
                    return Some(Attribute {
                        name,
                        value: value_start + 1..bytes.len(),
                        form: Form::Unterminated,
                    });
                };
                self.at = self.after_comma(close + 1);
                return Some(Attribute { name, value: value_start + 1..close, form: Form::Quoted });
            }
            let end = self.byte_at(b',', value_start).unwrap_or(bytes.len());
            self.at = self.after_comma(value_start);
            return Some(Attribute { name, value: value_start..end, form: Form::Unquoted });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://cdn.example/live/main/master.m3u8?token=abc";

    fn base() -> Url {
        Url::parse(BASE).unwrap()
    }

    /// Maps to `https://host.example/relay/{kind}?u={absolute}` so tests see both.
    fn tagged(text: &str) -> String {
        rewrite(text, &base(), |url, kind| format!("https://host.example/r/{kind:?}?u={url}")).unwrap()
    }

    /// Maps to `/relay/{n}` and records what was mapped.
    fn numbered(text: &str) -> (Result<String, RewriteError>, Vec<(String, UriKind)>) {
        let mut seen = Vec::new();
        let out = rewrite(text, &base(), |url, kind| {
            seen.push((url.to_string(), kind));
            format!("/relay/{}", seen.len() - 1)
        });
        (out, seen)
    }

    fn one(text: &str) -> Vec<(String, UriKind)> {
        numbered(text).1
    }

    #[test]
    fn master_playlist_with_variants_media_and_i_frames() {
        let text = "#EXTM3U\n\
#EXT-X-VERSION:6\n\
#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English, main\",LANGUAGE=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"\n\
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English\",URI=\"subs/en.m3u8\"\n\
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC1\",INSTREAM-ID=\"CC1\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080,AUDIO=\"aud\",SUBTITLES=\"subs\"\n\
1080p.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aud\"\n\
720p/index.m3u8?q=1\n\
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42e01e,mp4a.40.2\",RESOLUTION=640x360\n\
https://other.example/360p.m3u8\n\
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,CODECS=\"avc1.640028\",URI=\"iframes.m3u8\"\n";
        assert!(is_master(text));
        let (out, seen) = numbered(text);
        let out = out.unwrap();
        let expected = text
            .replace("\"audio/en.m3u8\"", "\"/relay/0\"")
            .replace("\"subs/en.m3u8\"", "\"/relay/1\"")
            .replace("\n1080p.m3u8\n", "\n/relay/2\n")
            .replace("\n720p/index.m3u8?q=1\n", "\n/relay/3\n")
            .replace("\nhttps://other.example/360p.m3u8\n", "\n/relay/4\n")
            .replace("\"iframes.m3u8\"", "\"/relay/5\"");
        assert_eq!(out, expected);
        let urls: Vec<_> = seen.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://cdn.example/live/main/audio/en.m3u8",
                "https://cdn.example/live/main/subs/en.m3u8",
                "https://cdn.example/live/main/1080p.m3u8",
                "https://cdn.example/live/main/720p/index.m3u8?q=1",
                "https://other.example/360p.m3u8",
                "https://cdn.example/live/main/iframes.m3u8",
            ]
        );
        assert!(seen.iter().all(|(_, kind)| *kind == UriKind::Playlist));
    }

    #[test]
    fn media_playlist_with_date_time_discontinuity_byterange_key_and_map() {
        let text = "#EXTM3U\n\
#EXT-X-VERSION:7\n\
#EXT-X-TARGETDURATION:4\n\
#EXT-X-MEDIA-SEQUENCE:120\n\
#EXT-X-KEY:METHOD=AES-128,URI=\"keys/k1.bin?kt=9\",IV=0x00000000000000000000000000000001\n\
#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\n\
#EXT-X-PROGRAM-DATE-TIME:2026-05-24T13:00:00.000Z\n\
#EXTINF:4.000,\n\
#EXT-X-BYTERANGE:75232@720\n\
seg120.m4s\n\
#EXT-X-DISCONTINUITY\n\
#EXT-X-KEY:METHOD=NONE\n\
#EXTINF:4.000,ad break\n\
/ads/ad1.m4s\n";
        assert!(!is_master(text));
        let (out, seen) = numbered(text);
        assert_eq!(
            out.unwrap(),
            text.replace("\"keys/k1.bin?kt=9\"", "\"/relay/0\"")
                .replace("\"init.mp4\"", "\"/relay/1\"")
                .replace("\nseg120.m4s\n", "\n/relay/2\n")
                .replace("\n/ads/ad1.m4s\n", "\n/relay/3\n")
        );
        assert_eq!(
            seen,
            [
                ("https://cdn.example/live/main/keys/k1.bin?kt=9".to_owned(), UriKind::Key),
                ("https://cdn.example/live/main/init.mp4".to_owned(), UriKind::Map),
                ("https://cdn.example/live/main/seg120.m4s".to_owned(), UriKind::Segment),
                ("https://cdn.example/ads/ad1.m4s".to_owned(), UriKind::Segment),
            ]
        );
    }

    #[test]
    fn low_latency_parts_preload_hints_and_rendition_reports() {
        let text = "#EXTM3U\n\
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0\n\
#EXT-X-PART-INF:PART-TARGET=0.33334\n\
#EXT-X-PART:DURATION=0.33334,URI=\"part1.0.m4s\",INDEPENDENT=YES\n\
#EXT-X-PART:DURATION=0.33334,BYTERANGE=\"1000@0\",URI=\"part1.1.m4s\"\n\
#EXTINF:1.0,\n\
seg1.m4s\n\
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part2.0.m4s\"\n\
#EXT-X-PRELOAD-HINT:URI=\"init2.mp4\",TYPE=MAP\n\
#EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\",LAST-MSN=1,LAST-PART=2\n";
        assert_eq!(
            one(text),
            [
                ("https://cdn.example/live/main/part1.0.m4s".to_owned(), UriKind::Segment),
                ("https://cdn.example/live/main/part1.1.m4s".to_owned(), UriKind::Segment),
                ("https://cdn.example/live/main/seg1.m4s".to_owned(), UriKind::Segment),
                ("https://cdn.example/live/main/part2.0.m4s".to_owned(), UriKind::Segment),
                ("https://cdn.example/live/main/init2.mp4".to_owned(), UriKind::Map),
                ("https://cdn.example/live/720p/index.m3u8".to_owned(), UriKind::Playlist),
            ]
        );
        assert!(tagged(text).contains("#EXT-X-PART-INF:PART-TARGET=0.33334\n"));
    }

    #[test]
    fn session_key_session_data_and_content_steering() {
        let text = "#EXTM3U\n\
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"session.key\",KEYFORMAT=\"identity\"\n\
#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",URI=\"data/title.json\"\n\
#EXT-X-SESSION-DATA:DATA-ID=\"com.example.lang\",VALUE=\"en\"\n\
#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer?video=1\",PATHWAY-ID=\"CDN-A\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID=\"CDN-A\"\n\
v.m3u8\n";
        let (out, seen) = numbered(text);
        let out = out.unwrap();
        assert_eq!(
            seen,
            [
                ("https://cdn.example/live/main/session.key".to_owned(), UriKind::Key),
                ("https://cdn.example/live/main/data/title.json".to_owned(), UriKind::Data),
                ("https://cdn.example/steer?video=1".to_owned(), UriKind::Steering),
                ("https://cdn.example/live/main/v.m3u8".to_owned(), UriKind::Playlist),
            ]
        );
        assert!(out.contains("#EXT-X-CONTENT-STEERING:SERVER-URI=\"/relay/2\",PATHWAY-ID=\"CDN-A\"\n"));
        assert!(out.contains("#EXT-X-SESSION-DATA:DATA-ID=\"com.example.lang\",VALUE=\"en\"\n"));
    }

    #[test]
    fn attribute_names_match_whole_and_commas_inside_quotes_do_not_split() {
        let text = "#EXTM3U\n\
#EXT-X-MEDIA:TYPE=AUDIO,NAME=\"a,URI=evil.m3u8\",X-URI-FOO=\"x.m3u8\",URI=\"real.m3u8\",X-URI=\"y\"\n\
#EXT-X-KEY:METHOD=AES-128,KEYFORMAT=\"com.apple.streamingkeydelivery,URI=x\",URI=\"k.key\"\n";
        let (out, seen) = numbered(text);
        assert_eq!(
            out.unwrap(),
            "#EXTM3U\n\
#EXT-X-MEDIA:TYPE=AUDIO,NAME=\"a,URI=evil.m3u8\",X-URI-FOO=\"x.m3u8\",URI=\"/relay/0\",X-URI=\"y\"\n\
#EXT-X-KEY:METHOD=AES-128,KEYFORMAT=\"com.apple.streamingkeydelivery,URI=x\",URI=\"/relay/1\"\n"
        );
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn keys_with_method_none_or_non_http_schemes_are_kept() {
        let text = "#EXTM3U\n\
#EXT-X-KEY:METHOD=NONE,URI=\"ignored.key\"\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://key-id-1234\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,AAAAPnBzc2g=\",KEYFORMAT=\"urn:uuid:edef\"\n\
#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/k?id=1\"\n";
        let (out, seen) = numbered(text);
        assert_eq!(out.unwrap(), text.replace("\"https://keys.example/k?id=1\"", "\"/relay/0\""));
        assert_eq!(seen, [("https://keys.example/k?id=1".to_owned(), UriKind::Key)]);
    }

    #[test]
    fn relative_absolute_protocol_relative_and_root_relative_uris_resolve() {
        let text = "#EXTM3U\n\
#EXTINF:4,\n\
a.ts?x=1&y=%2F\n\
#EXTINF:4,\n\
../b/b.ts\n\
#EXTINF:4,\n\
/root/c.ts\n\
#EXTINF:4,\n\
//edge.example/d.ts?sig=q\n\
#EXTINF:4,\n\
http://plain.example:8080/e.ts\n\
#EXTINF:4,\n\
?only=query\n";
        let urls: Vec<_> = one(text).into_iter().map(|(u, _)| u).collect();
        assert_eq!(
            urls,
            [
                "https://cdn.example/live/main/a.ts?x=1&y=%2F",
                "https://cdn.example/live/b/b.ts",
                "https://cdn.example/root/c.ts",
                "https://edge.example/d.ts?sig=q",
                "http://plain.example:8080/e.ts",
                "https://cdn.example/live/main/master.m3u8?only=query",
            ]
        );
    }

    #[test]
    fn crlf_bom_and_missing_final_newline_are_kept() {
        let text =
            "\u{feff}#EXTM3U\r\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\r\n  seg.ts \r\n\r\n#EXTINF:4,\nlast.ts";
        let (out, _) = numbered(text);
        assert_eq!(
            out.unwrap(),
            "\u{feff}#EXTM3U\r\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\r\n  /relay/0 \r\n\r\n#EXTINF:4,\n/relay/1"
        );
    }

    #[test]
    fn unknown_tags_comments_and_blank_lines_are_kept_byte_for_byte() {
        let text = "#EXTM3U\n\
# a comment with URI=\"x.ts\" in it\n\
#EXT-X-FUTURE-TAG:URI=\"keep.ts\",FOO=\"bar\"\n\
#EXT-X-KEYFRAME:URI=\"keep2.ts\"\n\
#EXT-X-MAPPING:URI=\"keep3.ts\"\n\
#EXT-X-DATERANGE:ID=\"ad\",START-DATE=\"2026-05-24T13:00:00Z\",X-COM-EXAMPLE=\"a,b\"\n\
#EXTINF:4.0,  title with   spaces \n\
\n\
#ext-x-key:uri=\"lower.key\"\n\
seg.ts\n";
        let (out, seen) = numbered(text);
        assert_eq!(out.unwrap(), text.replace("\nseg.ts\n", "\n/relay/0\n"));
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn unquoted_uri_values_are_rewritten_and_quoted() {
        let (out, seen) =
            numbered("#EXTM3U\n#EXT-X-MAP:URI=init.mp4,BYTERANGE=\"1@0\"\n#EXT-X-KEY:METHOD=AES-128,URI=\n");
        assert_eq!(
            out.unwrap(),
            "#EXTM3U\n#EXT-X-MAP:URI=\"/relay/0\",BYTERANGE=\"1@0\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"/relay/1\"\n"
        );
        assert_eq!(seen[1], (BASE.to_owned(), UriKind::Key));
    }

    #[test]
    fn non_playlists_are_refused() {
        for text in ["", "   ", "<html>#EXTM3U</html>", "#EXTM3Ux\n", "\u{feff}", "seg.ts\n#EXTM3U\n"] {
            assert!(matches!(numbered(text).0, Err(RewriteError::NotAPlaylist)), "{text:?}");
        }
        for text in ["#EXTM3U", "\u{feff}\n  #EXTM3U\r\n", "#EXTM3U x-tvg-url=\"\"\n"] {
            assert!(numbered(text).0.is_ok(), "{text:?}");
        }
    }

    #[test]
    fn unresolvable_uris_name_their_line() {
        let (out, seen) = numbered("#EXTM3U\n#EXTINF:4,\nok.ts\n#EXTINF:4,\nhttp://[::1/seg.ts\n");
        let err = out.unwrap_err();
        assert!(matches!(err, RewriteError::BadUri { line: 5, .. }), "{err:?}");
        assert!(err.to_string().contains("line 5"));
        assert!(!err.to_string().contains("seg.ts"), "errors never echo a URI");
        assert_eq!(seen.len(), 1);
        let (out, _) = numbered("#EXTM3U\n#EXT-X-MAP:URI=\"https://:0/x\"\n");
        assert!(matches!(out, Err(RewriteError::BadUri { line: 2, .. })));
    }

    #[test]
    fn ambiguous_lines_are_refused() {
        for (text, line) in [
            ("#EXTM3U\n#EXTINF:4,\rhttp://up.example/x.ts\n", 2),
            ("#EXTM3U\n# note\u{2028}http://up.example/x.ts\n", 2),
            ("#EXTM3U\n\nseg.ts\r", 3),
        ] {
            let err = numbered(text).0.unwrap_err();
            assert!(
                matches!(err, RewriteError::AmbiguousLineBreak { line: l } if l == line),
                "{text:?}: {err:?}"
            );
        }
        let err =
            numbered("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,IV=\"0x1,URI=https://up.example/k\n").0.unwrap_err();
        assert!(matches!(err, RewriteError::UnterminatedQuote { line: 2 }), "{err:?}");
        // An unterminated quote in a tag without URIs is just kept.
        assert!(numbered("#EXTM3U\n#EXT-X-DATERANGE:ID=\"x\n").0.is_ok());
    }

    #[test]
    fn replacements_that_would_break_the_playlist_are_refused() {
        for bad in ["", "a\"b", "a\nb", "a\r", "#x", " x"] {
            let out = rewrite("#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\"\n", &base(), |_, _| bad.to_owned());
            assert!(matches!(out, Err(RewriteError::BadReplacement { line: 2 })), "{bad:?}");
        }
    }

    #[test]
    fn whitespace_only_lines_are_kept_byte_for_byte_in_masters_and_media() {
        for text in [
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n   \nv.m3u8\n",
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n\t \r\nv.m3u8\n",
            "#EXTM3U\n#EXTINF:4,\n \t\nseg.ts\n",
        ] {
            let (out, seen) = numbered(text);
            let expected = text.replace("v.m3u8", "/relay/0").replace("seg.ts", "/relay/0");
            assert_eq!(out.unwrap(), expected, "{text:?}");
            assert_eq!(seen.len(), 1, "{text:?}");
        }
        let (out, seen) = numbered("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n \t \n");
        assert_eq!(out.unwrap(), "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n \t \n");
        assert!(seen.is_empty());
        assert!(uris("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n  \n").is_empty());
    }

    #[test]
    fn more_than_max_uris_is_refused_without_mapping_them_all() {
        let fits = format!("#EXTM3U\n{}", "s.ts\n".repeat(MAX_URIS));
        assert!(rewrite(&fits, &base(), |_, _| "/r".into()).is_ok());
        let over = format!("{fits}s.ts\n");
        let mut n = 0;
        let out = rewrite(&over, &base(), |_, _| {
            n += 1;
            "/r".into()
        });
        assert!(matches!(out, Err(RewriteError::TooManyUris)), "{out:?}");
        assert_eq!(n, MAX_URIS);
    }

    #[test]
    fn is_master_matches_whole_tag_names() {
        assert!(!is_master("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:4,\ns.ts\n"));
        assert!(is_master("#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\"\r\n"));
        assert!(is_master("\u{feff}#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:URI=\"i.m3u8\"\n"));
        assert!(!is_master("#EXTM3U\n# #EXT-X-STREAM-INF:BANDWIDTH=1\n"));
    }

    #[test]
    fn uris_lists_what_rewrite_maps() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXT-X-KEY:METHOD=NONE,URI=\"n\"\n#EXTINF:4,\n s.ts\n";
        assert_eq!(
            uris(text),
            [(2, "i.mp4".to_owned(), UriKind::Map), (5, "s.ts".to_owned(), UriKind::Segment)]
        );
        // Lenient where `rewrite` refuses: an unterminated value runs to the end of the line.
        assert_eq!(
            uris("#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4,X=1\n"),
            [(2, "i.mp4,X=1".to_owned(), UriKind::Map)]
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use super::base;

        /// A generated line: literal text and URIs; `mapped` says whether `rewrite` maps it.
        #[derive(Debug, Clone)]
        enum Piece {
            Text(String),
            Uri { raw: String, kind: UriKind, mapped: bool },
        }

        fn text(s: impl Into<String>) -> Piece {
            Piece::Text(s.into())
        }

        fn uri_text() -> impl Strategy<Value = String> {
            let prefix = prop_oneof![
                Just(""),
                Just("./"),
                Just("../"),
                Just("/"),
                Just("//edge.example/"),
                Just("https://other.example:8443/p/"),
                Just("HTTP://Up.Example/"),
            ];
            let body = "[a-zA-Z0-9_~.%=,-]{1,6}(/[a-zA-Z0-9_é.-]{1,6}){0,2}(\\.ts|\\.m4s|\\.m3u8|\\.key|x)";
            let query = proptest::option::of("\\?[a-z0-9=&,%;:@/]{0,12}");
            (prefix, body, query).prop_map(|(p, b, q)| format!("{p}{b}{}", q.unwrap_or_default()))
        }

        fn other_attributes() -> impl Strategy<Value = Vec<String>> {
            proptest::collection::vec(
                prop_oneof![
                    Just("BANDWIDTH=1280000".to_owned()),
                    Just("CODECS=\"avc1.4d401f,mp4a.40.2\"".to_owned()),
                    Just("NAME=\"x,URI=y.m3u8\"".to_owned()),
                    Just("PATHWAY-ID=\"CDN-A\"".to_owned()),
                    Just("X-URI-FOO=\"http://evil.example/nope\"".to_owned()),
                    Just("IV=0x0123456789abcdef0123456789abcdef".to_owned()),
                    Just("BYTERANGE=\"1000@0\"".to_owned()),
                    Just("GROUP-ID=\"aud\"".to_owned()),
                ],
                0..3,
            )
        }

        /// A tag carrying one URI attribute among others, in random order.
        fn uri_tag(
            name: &'static str,
            attribute: &'static str,
            fixed: Vec<String>,
            kind: UriKind,
            mapped: bool,
            raw: impl Strategy<Value = String>,
        ) -> impl Strategy<Value = Vec<Piece>> {
            (raw, other_attributes(), any::<prop::sample::Index>()).prop_map(move |(raw, mut others, at)| {
                others.extend(fixed.iter().cloned());
                let at = at.index(others.len() + 1);
                let mut pieces = vec![text(format!("#{name}:"))];
                for (i, other) in others.iter().enumerate() {
                    if i == at {
                        pieces.push(text(format!("{attribute}=\"")));
                        pieces.push(Piece::Uri { raw: raw.clone(), kind, mapped });
                        pieces.push(text("\","));
                    }
                    pieces.push(text(format!("{other},")));
                }
                if at == others.len() {
                    pieces.push(text(format!("{attribute}=\"")));
                    pieces.push(Piece::Uri { raw: raw.clone(), kind, mapped });
                    pieces.push(text("\""));
                } else if let Some(Piece::Text(last)) = pieces.last_mut() {
                    last.pop();
                }
                pieces
            })
        }

        fn kept_line() -> impl Strategy<Value = Vec<Piece>> {
            prop_oneof![
                Just(""),
                Just("   "),
                Just(" \t"),
                Just("\t"),
                Just("# comment URI=\"x.ts\""),
                Just("#EXTINF:4.000,"),
                Just("#EXTINF:4.000,title, with commas"),
                Just("#EXT-X-PROGRAM-DATE-TIME:2026-05-24T13:00:00.000+00:00"),
                Just("#EXT-X-DISCONTINUITY"),
                Just("#EXT-X-BYTERANGE:1000@2000"),
                Just("#EXT-X-MEDIA-SEQUENCE:7"),
                Just("#EXT-X-KEYFRAME:URI=\"http://evil.example/k\""),
                Just("#EXT-X-MAPX:URI=\"m.mp4\""),
                Just("#EXT-X-FUTURE:SERVER-URI=\"s\",URI=\"u\""),
                Just("#EXT-X-DATERANGE:ID=\"1\",X-ASSET=\"a,b\""),
                Just("#EXT-X-KEY:METHOD=NONE"),
            ]
            .prop_map(|line| vec![text(line)])
        }

        fn uri_line(master: bool) -> impl Strategy<Value = Vec<Piece>> {
            let kind = if master { UriKind::Playlist } else { UriKind::Segment };
            (uri_text(), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(move |(raw, lead, trail)| {
                vec![text(lead), Piece::Uri { raw, kind, mapped: true }, text(trail)]
            })
        }

        fn key(name: &'static str) -> impl Strategy<Value = Vec<Piece>> {
            prop_oneof![
                uri_tag(name, "URI", vec!["METHOD=AES-128".into()], UriKind::Key, true, uri_text()),
                uri_tag(
                    name,
                    "URI",
                    vec!["METHOD=SAMPLE-AES".into()],
                    UriKind::Key,
                    false,
                    Just("skd://id-42".to_owned())
                ),
                uri_tag(name, "URI", vec!["METHOD=NONE".into()], UriKind::Key, false, uri_text()),
                uri_tag(
                    name,
                    "URI",
                    vec!["METHOD=SAMPLE-AES-CTR".into()],
                    UriKind::Key,
                    false,
                    Just("data:text/plain;base64,AAAA,BB".to_owned())
                ),
            ]
        }

        fn line(master: bool) -> BoxedStrategy<Vec<Piece>> {
            let common = prop_oneof![
                3 => kept_line(),
                3 => uri_line(master),
                1 => key("EXT-X-KEY"),
                1 => uri_tag("EXT-X-MAP", "URI", vec![], UriKind::Map, true, uri_text()),
                1 => uri_tag("EXT-X-SESSION-DATA", "URI", vec!["DATA-ID=\"d\"".into()], UriKind::Data, true, uri_text()),
                1 => uri_tag("EXT-X-CONTENT-STEERING", "SERVER-URI", vec![], UriKind::Steering, true, uri_text()),
            ];
            if master {
                prop_oneof![
                    6 => common,
                    1 => key("EXT-X-SESSION-KEY"),
                    1 => uri_tag("EXT-X-MEDIA", "URI", vec!["TYPE=AUDIO".into()], UriKind::Playlist, true, uri_text()),
                    1 => uri_tag("EXT-X-I-FRAME-STREAM-INF", "URI", vec![], UriKind::Playlist, true, uri_text()),
                    1 => Just(vec![text("#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a,b\"")]),
                    1 => Just(vec![text("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",INSTREAM-ID=\"CC1\"")]),
                ]
                .boxed()
            } else {
                prop_oneof![
                    6 => common,
                    1 => uri_tag("EXT-X-PART", "URI", vec!["DURATION=1.0".into()], UriKind::Segment, true, uri_text()),
                    1 => uri_tag("EXT-X-PRELOAD-HINT", "URI", vec!["TYPE=PART".into()], UriKind::Segment, true, uri_text()),
                    1 => uri_tag("EXT-X-PRELOAD-HINT", "URI", vec!["TYPE=MAP".into()], UriKind::Map, true, uri_text()),
                    1 => uri_tag("EXT-X-RENDITION-REPORT", "URI", vec!["LAST-MSN=1".into()], UriKind::Playlist, true, uri_text()),
                ]
                .boxed()
            }
        }

        /// (input, expected output, expected kinds in mapping order)
        fn playlist() -> impl Strategy<Value = (String, String, Vec<UriKind>)> {
            any::<bool>()
                .prop_flat_map(|master| {
                    let lines = proptest::collection::vec((line(master), any::<bool>()), 0..24);
                    (Just(master), lines, any::<bool>(), any::<bool>(), any::<bool>())
                })
                .prop_map(|(master, lines, bom, header_crlf, final_newline)| {
                    let mut input = String::from(if bom { "\u{feff}#EXTM3U" } else { "#EXTM3U" });
                    let mut output = input.clone();
                    let mut kinds = Vec::new();
                    let mut all = lines;
                    if master {
                        // Make sure it is a master even when no master tag was drawn.
                        all.insert(0, (vec![text("#EXT-X-STREAM-INF:BANDWIDTH=1")], false));
                    }
                    let ending = |crlf: bool| if crlf { "\r\n" } else { "\n" };
                    let count = all.len();
                    let mut previous_crlf = header_crlf;
                    for (i, (pieces, crlf)) in all.into_iter().enumerate() {
                        input.push_str(ending(previous_crlf));
                        output.push_str(ending(previous_crlf));
                        for piece in pieces {
                            match piece {
                                Piece::Text(s) => {
                                    input.push_str(&s);
                                    output.push_str(&s);
                                }
                                Piece::Uri { raw, kind, mapped } => {
                                    input.push_str(&raw);
                                    if mapped {
                                        output.push_str(&format!("/relay/{}", kinds.len()));
                                        kinds.push(kind);
                                    } else {
                                        output.push_str(&raw);
                                    }
                                }
                            }
                        }
                        previous_crlf = crlf;
                        if i + 1 == count && final_newline {
                            input.push_str(ending(crlf));
                            output.push_str(ending(crlf));
                        }
                    }
                    (input, output, kinds)
                })
        }

        /// Every URI listed in `out` points at the relay, unless it is not http(s) at all.
        fn assert_points_at_host(out: &str) {
            for (line, uri, kind) in uris(out) {
                let leaves = base().join(&uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                assert!(!leaves || uri.starts_with("/relay/"), "line {line}: {kind:?} {uri:?} in {out:?}");
            }
        }

        fn line_endings(text: &str) -> Vec<&str> {
            text.split_inclusive('\n')
                .map(|l| {
                    if l.ends_with("\r\n") {
                        "\r\n"
                    } else if l.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    }
                })
                .collect()
        }

        fn soup() -> impl Strategy<Value = String> {
            let token = prop_oneof![
                Just("#EXT-X-KEY:"),
                Just("#EXT-X-MAP:"),
                Just("#EXT-X-STREAM-INF:"),
                Just("#EXT-X-MEDIA:"),
                Just("#EXT-X-PRELOAD-HINT:"),
                Just("#EXT-X-CONTENT-STEERING:"),
                Just("#EXT-X-PART:"),
                Just("#EXTINF:4,"),
                Just("#"),
                Just("URI="),
                Just("SERVER-URI="),
                Just("METHOD=NONE"),
                Just("METHOD="),
                Just("TYPE=MAP"),
                Just("\""),
                Just(","),
                Just("="),
                Just("\n"),
                Just("\r\n"),
                Just("\r"),
                Just(" "),
                Just("\t"),
                Just("\u{2028}"),
                Just("\u{feff}"),
                Just("a.ts"),
                Just("//x.example/"),
                Just("http://[::1"),
                Just("skd://k"),
                Just("data:,x"),
                Just("?q=1"),
                Just("é"),
                Just("\0"),
                Just("../"),
            ];
            proptest::collection::vec(token, 0..40).prop_map(|tokens| format!("#EXTM3U\n{}", tokens.concat()))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn generated_playlists_rewrite_exactly((input, expected, kinds) in playlist()) {
                let mut seen = Vec::new();
                let out = rewrite(&input, &base(), |_, kind| {
                    seen.push(kind);
                    format!("/relay/{}", seen.len() - 1)
                })
                .unwrap();
                assert_points_at_host(&out);
                prop_assert_eq!(line_endings(&out), line_endings(&input));
                prop_assert_eq!(&out, &expected);
                prop_assert_eq!(seen, kinds);
            }

            #[test]
            fn token_soup_never_panics_and_never_leaves_an_upstream_uri(text in soup()) {
                let mut n = 0;
                if let Ok(out) = rewrite(&text, &base(), |_, _| { n += 1; format!("/relay/{n}") }) {
                    assert_points_at_host(&out);
                    prop_assert_eq!(line_endings(&out), line_endings(&text));
                }
            }

            #[test]
            fn arbitrary_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), header in any::<bool>()) {
                let text = String::from_utf8_lossy(&bytes);
                let text = if header { format!("#EXTM3U\n{text}") } else { text.into_owned() };
                if let Ok(out) = rewrite(&text, &base(), |_, _| "/relay/x".to_owned()) {
                    assert_points_at_host(&out);
                }
                let _ = is_master(&text);
                let _ = uris(&text);
            }
        }
    }
}
