//! Logs and metrics: `tracing` subscriber setup (human or JSON lines) and the Prometheus registry
//! behind `/metrics`. Every counter here is incremented by real work; nothing is a placeholder.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global `tracing` subscriber. `RUST_LOG` overrides the default `info` level.
/// Safe to call more than once (later calls are ignored), so tests may call it freely.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Human => {
            registry.with(fmt::layer().with_writer(std::io::stderr).with_target(false)).try_init()
        }
        LogFormat::Json => {
            registry.with(fmt::layer().json().flatten_event(true).with_writer(std::io::stderr)).try_init()
        }
    };
}

/// Logging for `pitwall check-source`: its steps on stdout, with every guest fetch (status, size,
/// redacted URL) and guest log line; `RUST_LOG` overrides.
pub fn init_check_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,pitwall::extract::host_api=debug"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stdout)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .with_target(false)
                .without_time()
                .compact(),
        )
        .try_init();
}

/// Labels of one HTTP request count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request method (`other` for a method HTTP does not define).
    pub method: &'static str,
    /// Matched route template (e.g. `/live/{stream}/master.m3u8`), or `web` for the app.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of one extraction attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExtractLabels {
    /// Extractor id.
    pub extractor: String,
    /// Source id.
    pub source: String,
    /// `ok`, `empty`, or the failed step (`request`, `token-parse`, `url-extraction`, `not-live`, `other`, `trap`).
    pub outcome: String,
}

/// Every metric pitwall exports.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Requests being answered right now.
    pub http_in_flight: Gauge,
    /// Extraction attempts by extractor, source and outcome (the failed step).
    pub extractions: Family<ExtractLabels, Counter>,
    /// Relay counters, shared with the relay's upstream client.
    pub relay: crate::relay::upstream::UpstreamStats,
    /// Successful extractions that renewed a CDN token (candidates with an expiry).
    pub token_refreshes: Counter,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pitwall");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", http_requests.clone());
        let http_in_flight = Gauge::default();
        registry.register("http_in_flight", "HTTP requests being answered", http_in_flight.clone());
        let extractions = Family::<ExtractLabels, Counter>::default();
        registry.register(
            "extractions",
            "Extraction attempts by outcome (ok, empty, or the failed step)",
            extractions.clone(),
        );
        let relay = crate::relay::upstream::UpstreamStats::default();
        registry.register(
            "relay_upstream_fetches",
            "Upstream requests made by the relay",
            relay.fetches.clone(),
        );
        registry.register(
            "relay_shared_hits",
            "Relay viewers served from another viewer's fetch",
            relay.shared_hits.clone(),
        );
        registry.register(
            "relay_upstream_bytes",
            "Bytes read from upstreams by the relay",
            relay.bytes.clone(),
        );
        registry.register(
            "relay_zero_copy_bytes",
            "Bytes of hot segments sent to viewers from mapped files with sendfile, without a copy",
            crate::relay::shm::sent(),
        );
        registry.register("relays_active", "Relay bodies being streamed to viewers", relay.active.clone());
        registry.register(
            "relay_shared_bytes",
            "Bytes held in shared relay fetches (bounded by the relay's byte budget)",
            relay.shared_bytes.clone(),
        );
        let token_refreshes = Counter::default();
        registry.register("token_refreshes", "Extractions that renewed a CDN token", token_refreshes.clone());
        Metrics { registry, http_requests, http_in_flight, extractions, relay, token_refreshes }
    }

    /// Registry for subsystems that add their own metrics at start.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_up_in_the_exposition() {
        let m = Metrics::new();
        let labels = HttpLabels { method: "GET", route: "/healthz".into(), status: 200 };
        m.http_requests.get_or_create(&labels).inc();
        m.http_requests.get_or_create(&labels).inc();
        let text = m.render();
        assert!(
            text.contains(r#"pitwall_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}
