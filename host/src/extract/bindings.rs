//! The single `bindgen!` site: host-side types and traits for `wit/extractor.wit`.
//!
//! Exports are called with wasmtime's async API, so a call can be abandoned at its deadline even
//! while the guest waits in a host call (WASI sleep/poll, `fetch`): dropping the future drops
//! the wait. `fetch` is the one async import of ours; `log` and `now` return at once.

wasmtime::component::bindgen!({
    world: "extractor",
    path: "../wit",
    imports: { "pitwall:extractor/host.fetch": async },
    exports: { default: async },
});

pub use self::pitwall::extractor::types::{FetchError, Level, Request, Response, Step};

/// The WIT package name and the API version this host implements.
pub const PACKAGE: &str = "pitwall:extractor";
/// The API version this host implements: read at compile time from the WIT's
/// `package pitwall:extractor@X.Y.Z;` line, so there is one place to change it.
pub const API_VERSION: (u64, u64, u64) = package_version(include_str!("../../../wit/extractor.wit"));

/// `(X, Y, Z)` of the first `package pitwall:extractor@X.Y.Z` in `wit`; fails the build without one.
const fn package_version(wit: &str) -> (u64, u64, u64) {
    let text = wit.as_bytes();
    let needle = b"package pitwall:extractor@";
    let mut i = 0;
    while i + needle.len() <= text.len() {
        let mut j = 0;
        while j < needle.len() && text[i + j] == needle[j] {
            j += 1;
        }
        if j == needle.len() {
            let mut parts = [0u64; 3];
            let (mut k, mut part) = (i + j, 0);
            while k < text.len() && part < 3 {
                match text[k] {
                    b'0'..=b'9' => parts[part] = parts[part] * 10 + (text[k] - b'0') as u64,
                    b'.' => part += 1,
                    _ => break,
                }
                k += 1;
            }
            return (parts[0], parts[1], parts[2]);
        }
        i += 1;
    }
    panic!("wit/extractor.wit has no `package pitwall:extractor@X.Y.Z` line")
}

impl Step {
    /// The step name as logs, metrics and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Request => "request",
            Step::TokenParse => "token-parse",
            Step::UrlExtraction => "url-extraction",
            Step::NotLive => "not-live",
            Step::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_comes_from_the_wit_package_line() {
        assert_eq!(package_version("// x\npackage pitwall:extractor@2.13.4;\n"), (2, 13, 4));
        let wit = include_str!("../../../wit/extractor.wit");
        let line = wit.lines().find(|l| l.starts_with("package ")).unwrap();
        let (a, b, c) = API_VERSION;
        assert_eq!(line, format!("package {PACKAGE}@{a}.{b}.{c};"));
        // The SDK states the same version to the extractors built with it.
        assert_eq!(pitwall_extractor_sdk_version(), format!("{a}.{b}.{c}"));
    }

    /// `API_VERSION` of the SDK crate, read from its source (the host does not link the SDK).
    fn pitwall_extractor_sdk_version() -> String {
        let lib = include_str!("../../../extractor-sdk/src/lib.rs");
        let line = lib.lines().find(|l| l.starts_with("pub const API_VERSION: &str = ")).unwrap();
        line.trim_start_matches("pub const API_VERSION: &str = ")
            .trim_end_matches(';')
            .trim_matches('"')
            .to_string()
    }
}
