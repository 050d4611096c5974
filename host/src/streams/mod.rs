//! The domain of a stream as viewers see it: [`track`] keeps one output media playlist that
//! follows whichever upstream is current (the session URL's core), [`session`] chooses the
//! upstream and fails over between a session's streams.

pub mod session;
pub mod track;
