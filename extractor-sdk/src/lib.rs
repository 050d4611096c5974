//! pitwall extractor SDK: write a site extractor as one `impl Extractor`, export it with
//! [`export_extractor!`], and build it with `cargo build --target wasm32-wasip2 --release`.
//!
//! The bindings are generated from `extractor-sdk/wit/extractor.wit`, the SDK's own copy of the
//! repository's `wit/extractor.wit` (a test keeps them byte-equal), so the SDK builds on its own —
//! as a path or git dependency of an extractor in another repository.
//!
//! Helpers, one module per concern:
//! - [`http`]: requests through the host (`get`, `post_json`, `post_form`, `send`) and
//!   [`http::ResponseExt`] (`text()`, `header()`, `ensure_success()`);
//! - [`find`]: pull values out of HTML, JavaScript and JSON (meta tags, attributes, `.m3u8` URLs,
//!   JS string variables, `atob()` arguments, JSON-LD, text between markers), and
//!   [`find::playlist_refs`]: every playlist reference in a page through packed scripts, escapes,
//!   URLs in queries, base64, string building and player setups, ranked by [`find::Place`];
//! - [`codec`]: the de-obfuscation sites like (base64 in any flavour, string reversal);
//! - [`url`]: resolve relative links;
//! - [`runtime`]: log lines and the clock;
//! - `replay` (native targets only): run `extract` against recorded HTTP exchanges in a plain
//!   `cargo test`, with no network.

#![deny(missing_docs)]

/// Generated bindings for the `pitwall:extractor` world. Prefer the re-exports at the crate root.
#[allow(missing_docs, clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "extractor",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_extractor_world",
        default_bindings_module: "pitwall_extractor_sdk::bindings",
    });
}

pub use bindings::pitwall::extractor::types::{
    ExtractError, FetchError, Level, PluginInfo, Request, Response, SessionRef, Step, StreamCandidate,
};
pub use runtime::{log, now_millis};
/// JSON for guests (the same version the SDK uses), so extractors need no extra dependency.
pub use serde_json;

pub mod codec;
pub mod find;
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod replay;
pub mod runtime;
pub mod url;

/// The usual imports of an extractor: `use pitwall_extractor_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::http::ResponseExt;
    pub use crate::{
        ExtractError, Extractor, PluginInfo, Request, Response, SessionRef, Settings, Step, StreamCandidate,
        codec, error, export_extractor, find, http, is_http_url,
    };
}

/// The WIT API version this SDK builds against (the WIT package version).
pub const API_VERSION: &str = "0.1.0";

/// A site extractor. Implement this once; [`export_extractor!`] does the rest.
pub trait Extractor {
    /// Who the plugin is and which hosts it may fetch from. Must not call `fetch`.
    fn info() -> PluginInfo;
    /// Finds playable stream candidates for `session`, configured by the source's settings.
    fn extract(session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError>;
}

/// Exports a type implementing [`Extractor`] as the component's `extractor` world.
///
/// ```ignore
/// struct MySite;
/// impl pitwall_extractor_sdk::Extractor for MySite { /* ... */ }
/// pitwall_extractor_sdk::export_extractor!(MySite);
/// ```
#[macro_export]
macro_rules! export_extractor {
    ($extractor:ty) => {
        #[doc(hidden)]
        pub struct __PitwallExtractorExport;

        impl $crate::bindings::Guest for __PitwallExtractorExport {
            fn info() -> $crate::PluginInfo {
                <$extractor as $crate::Extractor>::info()
            }
            fn extract(
                session: $crate::SessionRef,
                settings: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::StreamCandidate>, $crate::ExtractError> {
                <$extractor as $crate::Extractor>::extract(session, $crate::Settings::from(settings))
            }
        }

        $crate::bindings::__export_extractor_world!(__PitwallExtractorExport with_types_in $crate::bindings);
    };
}

/// The `settings` table of a `[[source]]`, as handed to the extractor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings(Vec<(String, String)>);

impl From<Vec<(String, String)>> for Settings {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Settings(pairs)
    }
}

impl Settings {
    /// Settings from borrowed pairs, handy in tests: `Settings::from_pairs(&[("page", url)])`.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Settings(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// The value of `key`, if set and not blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value of `key`, or an [`ExtractError`] at step `other` naming the missing setting.
    pub fn require(&self, key: &str) -> Result<&str, ExtractError> {
        self.get(key).ok_or_else(|| error(Step::Other, format!("missing setting `{key}`")))
    }
}

/// Builds an [`ExtractError`] for `step`.
pub fn error(step: Step, detail: impl Into<String>) -> ExtractError {
    ExtractError { step, detail: detail.into() }
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host.
pub fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_lookup_trims_and_requires() {
        let s = Settings::from(vec![
            ("url".into(), "  https://a.example/x.m3u8 ".into()),
            ("blank".into(), " ".into()),
        ]);
        assert_eq!(s.get("url"), Some("https://a.example/x.m3u8"));
        assert_eq!(s.get("blank"), None);
        let e = s.require("page").unwrap_err();
        assert_eq!(e.step, Step::Other);
        assert!(e.detail.contains("`page`"));
    }

    #[test]
    fn http_urls_only() {
        assert!(is_http_url("https://cdn.example/live.m3u8"));
        assert!(is_http_url("http://127.0.0.1:8080/x"));
        assert!(!is_http_url("ftp://cdn.example/x"));
        assert!(!is_http_url("https:///x"));
        assert!(!is_http_url("https://a b"));
        assert!(!is_http_url("/relative.m3u8"));
    }
}
