//! The domain of a stream as viewers see it: [`live`] serves one stream's stable playlists,
//! [`track`] keeps one output media playlist that
//! follows whichever upstream is current (the session URL's core), [`session`] chooses the
//! upstream and fails over between a session's streams, [`masters`] keeps each candidate's master
//! playlist so variant reloads do not fetch it again, [`refresh`] carries reactive refresh
//! requests (a refused playlist or segment) to the poller, and [`errors`] counts each stream's
//! failed segments for the session URL's switch; [`state`] is the typed store access to stream
//! state (health, refresh outcomes) that jobs write and the API reads; [`view`] is how the API
//! shows streams (the `/streams` and session-status bodies).

pub mod errors;
pub mod live;
pub mod masters;
pub mod refresh;
pub mod session;
pub mod state;
pub mod track;
pub mod view;
