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
/// The API version this host implements.
pub const API_VERSION: (u64, u64, u64) = (0, 1, 0);

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
