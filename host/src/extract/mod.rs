//! Extractors: sandboxed WASM components, one per streaming site. `bindings` is the single
//! `bindgen!` site, `engine` owns every limit, `caps` bounds what a guest hands back, `cache`
//! keeps compiled plugins on local disk, `host_api` is what guests may call, `registry`
//! hot-loads plugins from the plugins directory.

pub mod bindings;
pub mod cache;
pub mod caps;
pub mod engine;
pub mod host_api;
pub mod registry;

pub use engine::{CallError, CallLimits, ExtractorEngine, Limits, PluginLimits, PluginLimitsTable};
pub use registry::PluginRegistry;
