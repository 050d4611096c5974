//! The host's log and clock, with native stand-ins so code that logs or reads the time also runs
//! in plain `cargo test` (where there is no host): logs go to stderr, the clock is the system's.

use crate::Level;

/// Writes a log line through the host, which tags it with the plugin and the call.
/// On native targets (unit and replay tests) the line goes to stderr.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::pitwall::extractor::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Current time in Unix milliseconds UTC: the host's clock in a component, the system clock on
/// native targets.
pub fn now_millis() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::pitwall::extractor::host::now();
    #[cfg(not(target_arch = "wasm32"))]
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_clock_is_the_system_clock() {
        let system =
            || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        let (before, now, after) = (system(), now_millis(), system());
        assert!((before..=after).contains(&now), "{now} outside {before}..={after}");
        log(Level::Info, "native log goes to stderr");
    }
}
