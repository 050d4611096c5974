//! Every key pitwall keeps in the store, in one place (Redis adds its own `pitwall:` prefix):
//!
//! | key | value | written by |
//! |---|---|---|
//! | `cand:<session>:<source>` | an [`super::Extraction`] | the poller |
//! | `health:<stream>` | a stream's `StreamHealth` | the health job |
//! | `refresh:<session>:<source>` | the source's last refresh failure, or `null` after a success | the poller |
//! | `poll-leader` | the lock of the replica that polls and probes | poller, health job |
//! | `refresh-request:<session>:<source>` | a replica's request for an extraction now (a refused token), for the leader | any replica's poller |
//! | `pl:<id>` | the newest version of an upstream playlist any replica fetched (a few seconds) | the relay |

/// The lock held by the one replica that polls sources and probes streams.
pub const LEADER_LOCK: &str = "poll-leader";

/// An extraction of `source` for `session`.
pub fn extraction(session: &str, source: &str) -> String {
    format!("cand:{session}:{source}")
}

/// Prefix of every extraction for `session`.
pub fn extractions_of(session: &str) -> String {
    format!("cand:{session}:")
}

/// A stream's health.
pub fn health(stream: &str) -> String {
    format!("{HEALTH_PREFIX}{stream}")
}

/// Prefix of every stream's health.
pub const HEALTH_PREFIX: &str = "health:";

/// The last refresh outcome of `source` for `session`.
pub fn refresh(session: &str, source: &str) -> String {
    format!("refresh:{session}:{source}")
}

/// Prefix of every refresh outcome for `session`; the source id follows it.
pub fn refreshes_of(session: &str) -> String {
    format!("refresh:{session}:")
}

/// The newest fetched version of the upstream playlist `id` (a hash of its URL and headers).
pub fn playlist(id: &str) -> String {
    format!("pl:{id}")
}

/// A request, from a replica that is not the poll leader, to extract `source` for `session` now.
pub fn refresh_request(session: &str, source: &str) -> String {
    format!("{REFRESH_REQUEST_PREFIX}{session}:{source}")
}

/// Prefix of every pending refresh request.
pub const REFRESH_REQUEST_PREFIX: &str = "refresh-request:";
