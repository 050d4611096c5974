//! Stream health: `probe` checks one candidate (HEAD with a ranged-GET fallback, playlist parse,
//! liveness, a ranged segment read), `board` keeps the state per stream and ranks streams.

pub mod board;
pub mod probe;

use sha2::{Digest, Sha256};

/// Stable id of the stream a source's candidate is, for one session: `st_` + 12 hex digits.
pub fn stream_id(session: &str, source: &str, label: &str) -> String {
    let digest = Sha256::digest(format!("{session}\n{source}\n{label}").as_bytes());
    format!("st_{}", &hex::encode(digest)[..12])
}

#[cfg(test)]
mod tests {
    #[test]
    fn stream_ids_are_stable_and_distinct() {
        let a = super::stream_id("9999-01-race", "demo-main", "Main feed");
        assert_eq!(a, super::stream_id("9999-01-race", "demo-main", "Main feed"));
        assert_ne!(a, super::stream_id("9999-01-race", "demo-main", "Other"));
        assert!(a.starts_with("st_") && a.len() == 15);
    }
}
