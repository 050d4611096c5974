//! The single `bindgen!` site: host-side types and traits for `wit/extractor.wit`.

wasmtime::component::bindgen!({
    world: "extractor",
    path: "../wit",
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
