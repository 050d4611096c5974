//! Caps on what a guest hands back to the host: candidates, their strings and headers, the
//! plugin's `info()`, error details and log lines. Pure functions, so the rules are unit-tested
//! without a component. A guest's answer either fits every cap or its call fails with a detail
//! naming the cap; nothing is silently truncated except log lines and error details, which are
//! only ever shown, never acted upon.

use super::bindings::{PluginInfo, StreamCandidate};

/// Most candidates one `extract` call may return.
pub const MAX_CANDIDATES: usize = 64;
/// Longest candidate URL, in bytes.
pub const MAX_URL_BYTES: usize = 8 << 10;
/// Longest candidate label, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;
/// Most upstream headers one candidate may carry.
pub const MAX_HEADERS: usize = 32;
/// Longest header (name + value), in bytes.
pub const MAX_HEADER_BYTES: usize = 8 << 10;
/// Longest `info().name`, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest `info().version`, in bytes.
pub const MAX_VERSION_BYTES: usize = 64;
/// Most `info().allowed-hosts` entries.
pub const MAX_ALLOWED_HOSTS: usize = 64;
/// Longest allowed-host entry (a DNS name is at most 253 bytes, plus `*.`).
pub const MAX_HOST_BYTES: usize = 255;
/// Log lines one call may write; later ones are counted, not written.
pub const MAX_LOG_LINES: u32 = 50;
/// Longest log line or error detail shown, in bytes after escaping.
pub const MAX_LINE_BYTES: usize = 1 << 10;

/// Checks a guest's `extract` answer against the caps; `Err` says which cap and where.
pub fn check_candidates(candidates: &[StreamCandidate]) -> Result<(), String> {
    if candidates.len() > MAX_CANDIDATES {
        return Err(format!(
            "returned {} candidates; at most {MAX_CANDIDATES} are accepted",
            candidates.len()
        ));
    }
    for (i, c) in candidates.iter().enumerate() {
        if c.url.len() > MAX_URL_BYTES {
            return Err(format!(
                "candidate {i}: url is {} bytes; at most {MAX_URL_BYTES} are accepted",
                c.url.len()
            ));
        }
        if c.label.len() > MAX_LABEL_BYTES {
            return Err(format!(
                "candidate {i}: label is {} bytes; at most {MAX_LABEL_BYTES} are accepted",
                c.label.len()
            ));
        }
        if c.headers.len() > MAX_HEADERS {
            return Err(format!(
                "candidate {i}: {} headers; at most {MAX_HEADERS} are accepted",
                c.headers.len()
            ));
        }
        if let Some((name, value)) =
            c.headers.iter().find(|(name, value)| name.len() + value.len() > MAX_HEADER_BYTES)
        {
            return Err(format!(
                "candidate {i}: header {} is {} bytes; at most {MAX_HEADER_BYTES} are accepted",
                escape_line(name, 64),
                name.len() + value.len()
            ));
        }
    }
    Ok(())
}

/// Checks `info()`: id shape, name, version and allowed hosts, each within its cap.
pub fn check_info(info: &PluginInfo) -> Result<(), String> {
    let id_ok = !info.id.is_empty()
        && info.id.len() <= 64
        && info.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !id_ok {
        return Err(format!("id {} must be 1-64 chars of a-z, 0-9, - or _", quoted(&info.id)));
    }
    if info.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    for (field, value, cap) in
        [("name", &info.name, MAX_NAME_BYTES), ("version", &info.version, MAX_VERSION_BYTES)]
    {
        if value.len() > cap {
            return Err(format!("{field} is {} bytes; at most {cap} are accepted", value.len()));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{field} {} contains control characters", quoted(value)));
        }
    }
    if info.allowed_hosts.len() > MAX_ALLOWED_HOSTS {
        return Err(format!(
            "{} allowed hosts; at most {MAX_ALLOWED_HOSTS} are accepted",
            info.allowed_hosts.len()
        ));
    }
    for host in &info.allowed_hosts {
        let bare = host.strip_prefix("*.").unwrap_or(host);
        if bare.is_empty()
            || host.len() > MAX_HOST_BYTES
            || bare.chars().any(|c| c.is_control() || matches!(c, '/' | ':' | '*' | ' '))
        {
            return Err(format!("allowed host {} must be a host name or *.domain", quoted(host)));
        }
    }
    Ok(())
}

/// `text` made safe for one log line: control characters (newlines, carriage returns, escape
/// sequences, ...) written as Rust-style escapes, cut to at most `max` bytes (then `…` is appended).
/// A guest cannot start a line of its own or repaint a terminal with it.
pub fn escape_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 4);
    for c in text.chars() {
        let before = out.len();
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        if out.len() > max {
            out.truncate(before);
            out.push('…');
            break;
        }
    }
    out
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", escape_line(text, 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(url: &str, label: &str, headers: usize) -> StreamCandidate {
        StreamCandidate {
            url: url.into(),
            label: label.into(),
            headers: (0..headers).map(|i| (format!("x-h{i}"), "v".into())).collect(),
            expires_at: None,
        }
    }

    #[test]
    fn candidates_within_caps_pass() {
        let ok: Vec<_> =
            (0..MAX_CANDIDATES).map(|_| candidate("https://a.example/x.m3u8", "720p", 4)).collect();
        assert_eq!(check_candidates(&ok), Ok(()));
        assert_eq!(check_candidates(&[]), Ok(()));
    }

    #[test]
    fn each_cap_is_named() {
        let many: Vec<_> = (0..MAX_CANDIDATES + 1).map(|_| candidate("https://a/", "", 0)).collect();
        assert!(check_candidates(&many).unwrap_err().contains("65 candidates"));
        let long_url = "h".repeat(MAX_URL_BYTES + 1);
        assert!(check_candidates(&[candidate(&long_url, "", 0)]).unwrap_err().contains("url is 8193 bytes"));
        let long_label = "l".repeat(MAX_LABEL_BYTES + 1);
        assert!(check_candidates(&[candidate("u", &long_label, 0)]).unwrap_err().contains("label"));
        assert!(check_candidates(&[candidate("u", "", MAX_HEADERS + 1)]).unwrap_err().contains("33 headers"));
        let mut big = candidate("u", "", 0);
        big.headers.push(("cookie\n".into(), "v".repeat(MAX_HEADER_BYTES)));
        let e = check_candidates(&[big]).unwrap_err();
        assert!(e.contains("header cookie\\n is"), "{e}");
    }

    #[test]
    fn info_fields_are_capped() {
        let info = |id: &str, name: &str, version: &str, hosts: &[&str]| PluginInfo {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
        };
        assert!(
            check_info(&info("demo-site", "Demo TV", "1.0.0", &["tv.demo.invalid", "*.cdn.example"])).is_ok()
        );
        assert!(check_info(&info("Demo Site", "X", "1", &[])).is_err());
        assert!(check_info(&info("", "X", "1", &[])).is_err());
        assert!(check_info(&info("x", "", "1", &[])).is_err());
        assert!(check_info(&info("x", "X", "1", &["*"])).is_err());
        assert!(check_info(&info("x", "X", "1", &["https://a.example/"])).is_err());
        assert!(check_info(&info("x", "X", "1", &["a.example\nb"])).is_err());
        assert!(
            check_info(&info("x", &"n".repeat(MAX_NAME_BYTES + 1), "1", &[]))
                .unwrap_err()
                .contains("name is")
        );
        assert!(check_info(&info("x", "X", &"1".repeat(MAX_VERSION_BYTES + 1), &[])).is_err());
        assert!(check_info(&info("x", "Evil\nINFO forged", "1", &[])).unwrap_err().contains("control"));
        let hosts: Vec<String> = (0..MAX_ALLOWED_HOSTS + 1).map(|i| format!("h{i}.example")).collect();
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        assert!(check_info(&info("x", "X", "1", &hosts)).unwrap_err().contains("65 allowed hosts"));
    }

    #[test]
    fn log_lines_cannot_forge_or_flood() {
        assert_eq!(escape_line("plain text, ünïcode", 100), "plain text, ünïcode");
        assert_eq!(
            escape_line("ok\n2026-01-01 INFO forged\r\x1b[2J", 100),
            "ok\\n2026-01-01 INFO forged\\r\\u{1b}[2J"
        );
        assert!(!escape_line("a\u{2028}b", 100).contains('\u{2028}'));
        let long = escape_line(&"é".repeat(2_000), MAX_LINE_BYTES);
        assert!(long.len() <= MAX_LINE_BYTES + '…'.len_utf8(), "{}", long.len());
        assert!(long.ends_with('…'));
        let escaped = escape_line(&"\n".repeat(2_000), MAX_LINE_BYTES);
        assert!(escaped.len() <= MAX_LINE_BYTES + '…'.len_utf8());
        assert!(!escaped.contains('\n'));
    }
}
