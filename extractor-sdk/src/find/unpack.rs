//! Dean Edwards' Packer (`eval(function(p,a,c,k,e,d){…}('PAYLOAD',RADIX,COUNT,'W0|W1|…'.split('|'),0,{}))`),
//! the most common obfuscation on embed hosts, undone without running any JavaScript.
//!
//! The decoder a packed script carries (Packer 3, <http://dean.edwards.name/packer/>, "Base62
//! encode") works like this: `e(c)` writes the number `c` in base RADIX with the digits
//! `0-9a-z` then `A-Z` (`(c < a ? '' : e(c / a)) + digit(c % a)`), and every JavaScript word
//! (`\b\w+\b`) of PAYLOAD that is `e(c)` for some `c < COUNT` is replaced by keyword `c` when that
//! keyword is not empty. Doing the same here is a base-N decode of each word plus a word-boundary
//! substitution; the code below is written from that description.
//!
//! Invariant: work is bounded. Inputs are cut at [`MAX_PACKED_INPUT`], at most
//! [`MAX_PACKED_PER_TEXT`] scripts are unpacked per text, an output over [`MAX_UNPACKED_OUTPUT`]
//! is dropped, and [`unpack_nested`] goes at most [`MAX_PACK_DEPTH`] layers deep.

use std::sync::LazyLock;

use regex_lite::Regex;

use super::{clip, js_unescape, regex};

/// Packed scripts nested inside one another that [`unpack_nested`] opens.
pub const MAX_PACK_DEPTH: usize = 3;
/// Bytes of text searched for packed scripts (longer text is cut).
pub const MAX_PACKED_INPUT: usize = 2 * 1024 * 1024;
/// Packed scripts unpacked per text (and per layer).
pub const MAX_PACKED_PER_TEXT: usize = 8;
/// Largest unpacked script kept.
pub const MAX_UNPACKED_OUTPUT: usize = 4 * 1024 * 1024;
/// Most keywords a packed script may carry.
const MAX_KEYWORDS: usize = 100_000;

static PACKED_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"eval\s*\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,\s*[a-z]\s*\)")
});
/// The decoder's arguments: payload, radix, count, keywords, right after the function body.
static PACKED_ARGS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?s)\}\s*\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*,\s*(\d{1,3})\s*,\s*(\d{1,7})\s*,\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\.split\(\s*['"]\|['"]\s*\)"#,
    )
});

/// The source of every packed script in `js`, unpacked one layer, in order. Scripts whose
/// arguments do not parse (or use a radix above 62) are skipped.
pub fn unpack(js: &str) -> Vec<String> {
    let js = clip(js, MAX_PACKED_INPUT);
    let mut out = Vec::new();
    for head in PACKED_HEAD.find_iter(js).take(MAX_PACKED_PER_TEXT) {
        let Some(args) = PACKED_ARGS.captures(&js[head.end()..]) else { continue };
        let quoted = |a: usize, b: usize| args.get(a).or(args.get(b)).map_or("", |m| m.as_str());
        let payload = js_unescape(quoted(1, 2));
        let keywords = js_unescape(quoted(5, 6));
        let (Ok(radix), Ok(count)) = (args[3].parse::<u32>(), args[4].parse::<usize>()) else { continue };
        if let Some(source) = substitute(&payload, radix, count, &keywords) {
            out.push(source);
        }
    }
    out
}

/// Every layer of packed scripts in `js`, outermost first: each unpacked source, and the packed
/// scripts inside it, up to [`MAX_PACK_DEPTH`] layers.
pub fn unpack_nested(js: &str) -> Vec<String> {
    let mut layers = Vec::new();
    let mut frontier = unpack(js);
    for _ in 1..MAX_PACK_DEPTH {
        let next: Vec<String> = frontier.iter().flat_map(|s| unpack(s)).take(MAX_PACKED_PER_TEXT).collect();
        layers.append(&mut frontier);
        if next.is_empty() {
            return layers;
        }
        frontier = next;
    }
    layers.append(&mut frontier);
    layers
}

/// The packer's word substitution: each `\w+` run of `payload` that is the base-`radix` code of
/// an index below `count` with a non-empty keyword becomes that keyword.
fn substitute(payload: &str, radix: u32, count: usize, keywords: &str) -> Option<String> {
    if !(2..=62).contains(&radix) || count > MAX_KEYWORDS {
        return None;
    }
    let keywords: Vec<&str> = keywords.split('|').take(count).collect();
    let mut out = String::with_capacity(payload.len() * 2);
    let bytes = payload.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        if is_word(bytes[at]) {
            while at < bytes.len() && is_word(bytes[at]) {
                at += 1;
            }
            // Word bytes are ASCII, so `start..at` is on char boundaries.
            let word = &payload[start..at];
            let keyword = decode_word(word, radix).and_then(|i| keywords.get(i)).filter(|k| !k.is_empty());
            out.push_str(keyword.copied().unwrap_or(word));
        } else {
            while at < bytes.len() && !is_word(bytes[at]) {
                at += 1;
            }
            out.push_str(&payload[start..at]);
        }
        if out.len() > MAX_UNPACKED_OUTPUT {
            return None;
        }
    }
    Some(out)
}

/// JavaScript's `\w`: ASCII letters, digits and `_`.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index `word` encodes in the packer's base-`radix` digits, if `word` is exactly that code
/// (no leading zeros, every digit below the radix).
fn decode_word(word: &str, radix: u32) -> Option<usize> {
    if word.len() > 6 || (word.len() > 1 && word.starts_with('0')) {
        return None;
    }
    word.bytes().try_fold(0usize, |n, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            b'A'..=b'Z' => b - b'A' + 36,
            _ => return None,
        } as u32;
        (d < radix).then(|| n * radix as usize + d as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packer's own decoder, as real pages carry it, around `payload`.
    fn packed(payload: &str, radix: u32, keywords: &[&str]) -> String {
        format!(
            r"eval(function(p,a,c,k,e,d){{e=function(c){{return(c<a?'':e(parseInt(c/a)))+((c=c%a)>35?String.fromCharCode(c+29):c.toString(36))}};if(!''.replace(/^/,String)){{while(c--){{d[e(c)]=k[c]||e(c)}}k=[function(e){{return d[e]}}];e=function(){{return'\\w+'}};c=1}};while(c--){{if(k[c]){{p=p.replace(new RegExp('\\b'+e(c)+'\\b','g'),k[c])}}}}return p}}('{payload}',{radix},{},'{}'.split('|'),0,{{}}))",
            keywords.len(),
            keywords.join("|")
        )
    }

    #[test]
    fn unpacks_a_real_shaped_script() {
        // Words: 0=jwplayer 1=setup 2=file 3=https 4=cdn 5=example 6=live 7=m3u8; 8 is empty,
        // so the word `8` stays as written.
        let js = packed(
            r#"0(\"p\").1({2:\"3://4.5/6.7?t=8\"});"#,
            10,
            &["jwplayer", "setup", "file", "https", "cdn", "example", "live", "m3u8", ""],
        );
        assert_eq!(unpack(&js), [r#"jwplayer("p").setup({file:"https://cdn.example/live.m3u8?t=8"});"#]);
        assert!(unpack("eval(function(p,a,c,k,e,d){return p}(oops))").is_empty());
        assert!(unpack("no packer here").is_empty());
    }

    #[test]
    fn base62_words_and_exact_codes() {
        assert_eq!(decode_word("0", 62), Some(0));
        assert_eq!(decode_word("z", 62), Some(35));
        assert_eq!(decode_word("A", 62), Some(36));
        assert_eq!(decode_word("Z", 62), Some(61));
        assert_eq!(decode_word("10", 62), Some(62));
        assert_eq!(decode_word("1Z", 62), Some(62 + 61));
        assert_eq!(decode_word("a", 10), None, "digit above the radix");
        assert_eq!(decode_word("01", 62), None, "not a code the packer writes");
        assert_eq!(decode_word("a_b", 62), None);
        assert_eq!(decode_word("zzzzzzz", 62), None);
        let mut words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
        words[63] = "sixty_three".into();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        // 63 in base 62 is "11".
        assert_eq!(unpack(&packed("11 0 Z", 62, &refs)), ["sixty_three w0 w61"]);
    }

    /// A minimal packer: every word becomes its base-62 index among the distinct words.
    fn pack(source: &str) -> String {
        fn code(i: usize) -> String {
            let d =
                |n: usize| char::from(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[n]);
            if i < 62 { d(i).to_string() } else { format!("{}{}", code(i / 62), d(i % 62)) }
        }
        let mut words: Vec<&str> = Vec::new();
        let mut payload = String::new();
        let mut rest = source;
        while !rest.is_empty() {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if len == 0 {
                let c = rest.chars().next().unwrap();
                payload.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let word = &rest[..len];
            let i = words.iter().position(|w| *w == word).unwrap_or_else(|| {
                words.push(word);
                words.len() - 1
            });
            payload.push_str(&code(i));
            rest = &rest[len..];
        }
        let payload = payload.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n");
        packed(&payload, 62, &words)
    }

    #[test]
    fn nested_layers_are_opened_up_to_the_bound() {
        let source = "var hls = new Hls(); hls.loadSource('/a.m3u8?t=1');";
        let layers = unpack_nested(&pack(&pack(source)));
        assert_eq!(layers.len(), 2, "{layers:?}");
        assert!(layers[0].starts_with("eval(function(p,a,c,k,e,d)"), "{}", layers[0]);
        assert_eq!(layers[1], source);

        // Deeper than the bound: the innermost layers are not opened.
        let mut script = "hls.loadSource('/deep.m3u8')".to_string();
        for _ in 0..MAX_PACK_DEPTH + 2 {
            script = pack(&script);
        }
        let layers = unpack_nested(&script);
        assert_eq!(layers.len(), MAX_PACK_DEPTH);
        assert!(layers.iter().all(|l| !l.contains("/deep.m3u8")));
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        // Radix out of range, absurd counts, truncated arguments: skipped, no panic.
        assert!(unpack(&packed("0", 95, &["x"])).is_empty());
        assert!(unpack(&packed("0", 1, &["x"])).is_empty());
        let absurd = packed("0", 10, &["x"]).replace(",10,1,", ",10,9999999,");
        assert!(unpack(&absurd).is_empty());
        let cut = packed("0", 10, &["x"]);
        assert!(unpack(&cut[..cut.len() - 20]).is_empty());
        // A payload that expands past the output bound is dropped.
        let big = "x".repeat(1024);
        let bomb = packed(&"0 ".repeat(MAX_UNPACKED_OUTPUT / 1024 + 10), 10, &[big.as_str()]);
        assert!(unpack(&bomb).is_empty());
        // Many heads, one match each at most; non-ASCII around words is kept intact.
        let many = packed("0 é 1", 10, &["a", "b"]).repeat(MAX_PACKED_PER_TEXT + 5);
        let out = unpack(&many);
        assert_eq!(out.len(), MAX_PACKED_PER_TEXT);
        assert_eq!(out[0], "a é b");
    }
}
