//! HTTP `Range` handling for CDN bodies: one byte range, as CDNs serve media.
//!
//! A single satisfiable range answers 206 with `Content-Range`; an unsatisfiable one answers 416
//! with `Content-Range: bytes */LEN`; anything else we do not understand (other units, several
//! ranges, bad syntax) is ignored and the whole body is sent with 200, which RFC 9110 allows.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// Outcome of reading a `Range` header against a body length.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Send everything.
    Full,
    /// Send `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416.
    Unsatisfiable,
}

/// Interprets a `Range` header value for a body of `len` bytes.
pub fn parse(value: Option<&str>, len: u64) -> RangeOutcome {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeOutcome::Full;
    };
    if spec.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeOutcome::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last N bytes.
        return match b.parse::<u64>() {
            Ok(0) => RangeOutcome::Unsatisfiable,
            Ok(_) if len == 0 => RangeOutcome::Unsatisfiable,
            Ok(n) => RangeOutcome::Partial { start: len.saturating_sub(n), end: len - 1 },
            Err(_) => RangeOutcome::Full,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeOutcome::Full;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= len {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial { start, end: end.min(len - 1) }
}

/// Answers `body` honouring the request's `Range`, with `content_type` and `Accept-Ranges`.
pub fn respond(request: &HeaderMap, body: Bytes, content_type: &'static str) -> Response {
    let len = body.len() as u64;
    let range = request.get(header::RANGE).and_then(|v| v.to_str().ok());
    let mut response = match parse(range, len) {
        RangeOutcome::Full => (StatusCode::OK, body).into_response(),
        RangeOutcome::Partial { start, end } => {
            let part = body.slice(start as usize..=end as usize);
            let mut r = (StatusCode::PARTIAL_CONTENT, part).into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii"),
            );
            r
        }
        RangeOutcome::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
            );
            r
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if response.status() != StatusCode::RANGE_NOT_SATISFIABLE {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::RangeOutcome::*;
    use super::parse;

    #[test]
    fn ranges() {
        assert_eq!(parse(None, 100), Full);
        assert_eq!(parse(Some("bytes=0-9"), 100), Partial { start: 0, end: 9 });
        assert_eq!(parse(Some("bytes=90-"), 100), Partial { start: 90, end: 99 });
        assert_eq!(parse(Some("bytes=90-500"), 100), Partial { start: 90, end: 99 });
        assert_eq!(parse(Some("bytes=-10"), 100), Partial { start: 90, end: 99 });
        assert_eq!(parse(Some("bytes=-500"), 100), Partial { start: 0, end: 99 });
        assert_eq!(parse(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=5-1"), 100), Full);
        assert_eq!(parse(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse(Some("items=0-1"), 100), Full);
        assert_eq!(parse(Some("bytes=x-1"), 100), Full);
    }
}
