//! The shared fetch (single-flight): the first viewer of a resource starts one upstream read whose
//! chunks are kept in a buffer that later viewers of the same key join and read from the start,
//! so N viewers cause one upstream fetch.
//!
//! Memory is bounded by one byte budget across every flight, counted chunk by chunk as chunks are
//! stored and released (a prometheus gauge, `relay_shared_bytes`, so it is visible):
//!
//! - A flight is *shared* (joinable) while it fits: its bytes under `flight_cap` and the total
//!   under `cap`. A new flight starts only while the total is under `cap`.
//! - When the next chunk would not fit, the flight *detaches*: it leaves the map (no one joins it
//!   any more), drops the chunks every viewer has read, and from then on reads upstream only as
//!   fast as its slowest viewer, holding at most [`WINDOW`] bytes (plus one chunk) ahead of it.
//! - A flight whose head or body fails, or whose last viewer left before the end, detaches at
//!   once, so a retry starts a fresh fetch instead of joining a broken one.
//! - A finished flight stays joinable for a linger (the caller expires it through the
//!   [`Lingering`] handle, which holds no bytes), then leaves; while the budget is spent, the
//!   oldest lingering flights leave early to make room for new ones.
//!
//! The map entry is removed only if it is still the same flight (pointer identity), so a
//! late eviction never orphans a newer fetch of the same key. Bytes are released when trimmed or
//! when the last holder of a flight drops it, so the gauge counts exactly what is held.
//!
//! Generic over the head `H` (what every viewer gets before the body) so it is unit-tested
//! without a network.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard, Weak},
};

use bytes::Bytes;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Bytes a detached flight may hold beyond what its slowest viewer has read.
pub const WINDOW: usize = 256 * 1024;

/// The flights in progress, by key, and the byte budget they share.
pub struct Flights<K, H> {
    map: Mutex<HashMap<K, Arc<Flight<H>>>>,
    /// Finished flights still joinable, oldest first (evicted first when room is needed).
    lingering: Mutex<VecDeque<(K, Weak<Flight<H>>)>>,
    held: Gauge,
    cap: usize,
    flight_cap: usize,
}

/// What [`Flights::join`] did.
pub enum Joined<K: Eq + Hash + Clone, H: Clone> {
    /// Joined a flight in progress (or lingering after its end).
    Shared(Viewer<H>),
    /// Started a new flight: the caller fills it through the [`Filler`] and reads it as the viewer.
    Started(Viewer<H>, Filler<K, H>),
    /// The budget is spent: fetch without sharing.
    Full,
}

/// One shared fetch.
struct Flight<H> {
    state: Mutex<State<H>>,
    /// Viewers wait on this for the head, a chunk or the end.
    data: Notify,
    /// The filler of a detached flight waits on this for viewers to read.
    room: Notify,
    /// Cancelled when the last viewer leaves before the end.
    cancel: CancellationToken,
    held: Gauge,
}

struct State<H> {
    head: Option<H>,
    /// Chunks `base..base + chunks.len()`.
    chunks: VecDeque<Bytes>,
    base: usize,
    /// Bytes in `chunks`, all of them counted in the budget.
    bytes: usize,
    finished: Option<Result<(), String>>,
    /// The whole body as one buffer once a viewer promoted it ([`Viewer::promote`]): viewers
    /// that start after a successful end read it in one piece, and `chunks` are slices of it.
    whole: Option<Bytes>,
    /// Joinable. Only a shared flight keeps its chunks from the start.
    shared: bool,
    /// Next chunk index of every viewer.
    cursors: HashMap<u64, usize>,
    next_viewer: u64,
}

impl<H> State<H> {
    /// Drops chunks every viewer has read (a detached flight only); returns the bytes freed.
    fn trim(&mut self) -> usize {
        if self.shared {
            return 0;
        }
        let slowest = self.cursors.values().copied().min().unwrap_or(self.base + self.chunks.len());
        let mut freed = 0;
        while self.base < slowest {
            let Some(chunk) = self.chunks.pop_front() else { break };
            self.base += 1;
            freed += chunk.len();
        }
        self.bytes -= freed;
        freed
    }
}

impl<H> Flight<H> {
    fn lock(&self) -> MutexGuard<'_, State<H>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.held.dec_by(bytes as i64);
        }
    }
}

impl<H> Drop for Flight<H> {
    fn drop(&mut self) {
        let bytes = self.state.get_mut().unwrap_or_else(|p| p.into_inner()).bytes;
        self.release(bytes);
    }
}

impl<K: Eq + Hash + Clone, H: Clone> Flights<K, H> {
    /// Flights sharing at most `cap` bytes in total and `flight_cap` bytes each, counted in `held`.
    pub fn new(cap: usize, flight_cap: usize, held: Gauge) -> Self {
        Flights {
            map: Mutex::default(),
            lingering: Mutex::default(),
            held,
            cap,
            flight_cap: flight_cap.min(cap),
        }
    }

    /// Bytes held by every flight right now.
    pub fn held_bytes(&self) -> usize {
        self.held.get().max(0) as usize
    }

    /// Flights that can be joined right now.
    pub fn joinable(&self) -> usize {
        self.lock_map().len()
    }

    fn lock_map(&self) -> MutexGuard<'_, HashMap<K, Arc<Flight<H>>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the shared flight of `key`, or starts one while the budget allows.
    pub fn join(self: &Arc<Self>, key: &K) -> Joined<K, H> {
        let mut map = self.lock_map();
        if let Some(flight) = map.get(key).cloned() {
            let mut state = flight.lock();
            if state.shared {
                let viewer = Viewer::register(&flight, &mut state);
                return Joined::Shared(viewer);
            }
            drop(state);
            map.remove(key);
        }
        if self.held_bytes() >= self.cap {
            self.make_room(&mut map, 1);
        }
        if self.held_bytes() >= self.cap {
            return Joined::Full;
        }
        let flight = Arc::new(Flight {
            state: Mutex::new(State {
                head: None,
                chunks: VecDeque::new(),
                base: 0,
                bytes: 0,
                finished: None,
                whole: None,
                shared: true,
                cursors: HashMap::new(),
                next_viewer: 0,
            }),
            data: Notify::new(),
            room: Notify::new(),
            cancel: CancellationToken::new(),
            held: self.held.clone(),
        });
        map.insert(key.clone(), flight.clone());
        let viewer = Viewer::register(&flight, &mut flight.lock());
        let filler = Filler { flights: self.clone(), key: key.clone(), flight, done: false };
        Joined::Started(viewer, filler)
    }

    /// Ends the linger of the oldest finished flights until `need` more bytes would fit the
    /// budget once they are gone (their bytes are released when their last viewer finishes).
    fn make_room(&self, map: &mut HashMap<K, Arc<Flight<H>>>, need: usize) {
        let mut lingering = self.lingering.lock().unwrap_or_else(|p| p.into_inner());
        let mut freeing = 0;
        while self.held_bytes().saturating_sub(freeing) + need > self.cap {
            let Some((key, flight)) = lingering.pop_front() else { break };
            let Some(flight) = flight.upgrade() else { continue };
            if map.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                map.remove(&key);
            }
            let mut state = flight.lock();
            state.shared = false;
            freeing += state.bytes;
        }
    }

    /// Removes `key` from the map if it still maps to `flight`.
    fn evict(&self, key: &K, flight: &Arc<Flight<H>>) {
        let mut map = self.lock_map();
        if map.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            map.remove(key);
        }
    }
}

/// The upstream side of a flight: sets the head, pushes chunks, finishes. Dropped without
/// [`Filler::finish`], it finishes the flight with an error.
pub struct Filler<K: Eq + Hash + Clone, H: Clone> {
    flights: Arc<Flights<K, H>>,
    key: K,
    flight: Arc<Flight<H>>,
    done: bool,
}

impl<K: Eq + Hash + Clone, H: Clone> Filler<K, H> {
    /// Resolves when every viewer left before the end: stop reading upstream.
    pub async fn cancelled(&self) {
        self.flight.cancel.cancelled().await;
    }

    /// Publishes the head. `shareable: false` (a failed request) detaches the flight at once.
    pub fn head(&self, head: H, shareable: bool) {
        let mut state = self.flight.lock();
        state.head = Some(head);
        if !shareable {
            state.shared = false;
        }
        drop(state);
        if !shareable {
            self.flights.evict(&self.key, &self.flight);
        }
        self.flight.data.notify_waiters();
    }

    /// Stores a chunk for the viewers. Detaches the flight when the chunk does not fit the
    /// budget, and waits (backpressure) while a detached flight is [`WINDOW`] ahead of its
    /// slowest viewer. Returns `false` when no viewer is left: stop reading.
    pub async fn push(&self, chunk: Bytes) -> bool {
        let len = chunk.len();
        let mut chunk = Some(chunk);
        if self.flights.held_bytes() + len > self.flights.cap {
            self.flights.make_room(&mut self.flights.lock_map(), len);
        }
        loop {
            let room = self.flight.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            // Decide under the lock, wait without it.
            let (stored, detached_now) = {
                let mut state = self.flight.lock();
                if state.cursors.is_empty() {
                    return false;
                }
                let mut detached_now = false;
                if state.shared
                    && (self.flights.held_bytes() + len > self.flights.cap
                        || state.bytes + len > self.flights.flight_cap)
                {
                    state.shared = false;
                    detached_now = true;
                }
                let freed = state.trim();
                self.flight.release(freed);
                let stored = state.shared || state.bytes < WINDOW;
                if stored && let Some(chunk) = chunk.take() {
                    state.chunks.push_back(chunk);
                    state.bytes += len;
                    self.flight.held.inc_by(len as i64);
                }
                (stored, detached_now)
            };
            if detached_now {
                self.flights.evict(&self.key, &self.flight);
            }
            if stored {
                self.flight.data.notify_waiters();
                return true;
            }
            room.await;
        }
    }

    /// Whether the flight is still shared (joinable, keeping every chunk).
    #[cfg(test)]
    pub fn is_shared(&self) -> bool {
        self.flight.lock().shared
    }

    /// Ends the body. A failed body detaches the flight so no one joins it any more.
    pub fn finish(mut self, result: Result<(), String>) {
        self.end(result);
    }

    /// Ends a successful body; the flight stays joinable until the returned handle expires it
    /// (or the budget needs its bytes first).
    pub fn finish_and_linger(mut self) -> Lingering<K, H> {
        self.end(Ok(()));
        let flight = Arc::downgrade(&self.flight);
        let mut lingering = self.flights.lingering.lock().unwrap_or_else(|p| p.into_inner());
        lingering.retain(|(_, f)| f.strong_count() > 0);
        lingering.push_back((self.key.clone(), flight.clone()));
        drop(lingering);
        Lingering { flights: self.flights.clone(), key: self.key.clone(), flight }
    }

    fn end(&mut self, result: Result<(), String>) {
        if self.done {
            return;
        }
        self.done = true;
        let failed = result.is_err();
        let mut state = self.flight.lock();
        state.finished = Some(result);
        if failed {
            state.shared = false;
        }
        drop(state);
        if failed {
            self.flights.evict(&self.key, &self.flight);
        }
        self.flight.data.notify_waiters();
    }
}

impl<K: Eq + Hash + Clone, H: Clone> Drop for Filler<K, H> {
    fn drop(&mut self) {
        self.end(Err("upstream read stopped".into()));
        // A filler that never set a head leaves waiting viewers an error, not a hang.
        self.flight.data.notify_waiters();
    }
}

/// A finished flight's linger; holds no bytes.
pub struct Lingering<K: Eq + Hash + Clone, H: Clone> {
    flights: Arc<Flights<K, H>>,
    key: K,
    flight: Weak<Flight<H>>,
}

impl<K: Eq + Hash + Clone, H: Clone> Lingering<K, H> {
    /// After the linger: no longer joinable.
    pub fn expire(self) {
        if let Some(flight) = self.flight.upgrade() {
            flight.lock().shared = false;
            self.flights.evict(&self.key, &flight);
        }
    }
}

/// One viewer of a flight: reads the head, then every chunk from the start.
pub struct Viewer<H> {
    flight: Arc<Flight<H>>,
    id: u64,
    failed: bool,
}

impl<H: Clone> Viewer<H> {
    fn register(flight: &Arc<Flight<H>>, state: &mut State<H>) -> Self {
        let id = state.next_viewer;
        state.next_viewer += 1;
        state.cursors.insert(id, state.base);
        Viewer { flight: flight.clone(), id, failed: false }
    }

    /// The head, once the filler published it; `None` if the fill stopped before that.
    pub async fn head(&self) -> Option<H> {
        loop {
            let data = self.flight.data.notified();
            tokio::pin!(data);
            data.as_mut().enable();
            {
                let state = self.flight.lock();
                if let Some(head) = &state.head {
                    return Some(head.clone());
                }
                if state.finished.is_some() {
                    return None;
                }
            }
            data.await;
        }
    }

    /// Moves a finished body of at least `min` bytes into one buffer made by `make` from its
    /// chunks (the relay's mapped file), once: later viewers read it in one piece, and the
    /// chunks become slices of it so the heap copies go. Does nothing while the body is still
    /// arriving, after it was trimmed, or when `make` declines.
    pub fn promote(&self, min: usize, make: impl FnOnce(&[Bytes]) -> Option<Bytes>) {
        let chunks: Vec<Bytes> = {
            let state = self.flight.lock();
            if state.whole.is_some()
                || !matches!(state.finished, Some(Ok(())))
                || state.base != 0
                || state.bytes < min
            {
                return;
            }
            state.chunks.iter().cloned().collect()
        };
        let Some(whole) = make(&chunks) else { return };
        let mut state = self.flight.lock();
        if state.whole.is_some() || state.base != 0 || whole.len() != state.bytes {
            return;
        }
        let mut offset = 0;
        for chunk in state.chunks.iter_mut() {
            let len = chunk.len();
            *chunk = whole.slice(offset..offset + len);
            offset += len;
        }
        state.whole = Some(whole);
    }

    /// The next chunk, the body's error (once), or `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, String>> {
        if self.failed {
            return None;
        }
        loop {
            let data = self.flight.data.notified();
            tokio::pin!(data);
            data.as_mut().enable();
            {
                let mut state = self.flight.lock();
                let cursor = state.cursors.get(&self.id).copied().unwrap_or(state.base);
                if cursor == 0
                    && matches!(state.finished, Some(Ok(())))
                    && let Some(whole) = state.whole.clone()
                {
                    let end = state.base + state.chunks.len();
                    state.cursors.insert(self.id, end);
                    return Some(Ok(whole));
                }
                if let Some(chunk) = state.chunks.get(cursor.saturating_sub(state.base)).cloned() {
                    state.cursors.insert(self.id, cursor + 1);
                    if !state.shared {
                        let freed = state.trim();
                        drop(state);
                        self.flight.release(freed);
                        self.flight.room.notify_waiters();
                    }
                    return Some(Ok(chunk));
                }
                match &state.finished {
                    Some(Ok(())) => return None,
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e.clone()));
                    }
                    None => {}
                }
            }
            data.await;
        }
    }
}

impl<H> Drop for Viewer<H> {
    fn drop(&mut self) {
        let mut state = self.flight.lock();
        state.cursors.remove(&self.id);
        let last_before_end = state.cursors.is_empty() && state.finished.is_none();
        if last_before_end {
            // No one joins a fetch that is being cancelled.
            state.shared = false;
        }
        let freed = state.trim();
        drop(state);
        self.flight.release(freed);
        if last_before_end {
            self.flight.cancel.cancel();
        }
        self.flight.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    type TestFlights = Flights<&'static str, u16>;

    fn flights(cap: usize, flight_cap: usize) -> Arc<TestFlights> {
        Arc::new(Flights::new(cap, flight_cap, Gauge::default()))
    }

    fn start(flights: &Arc<TestFlights>, key: &'static str) -> (Viewer<u16>, Filler<&'static str, u16>) {
        match flights.join(&key) {
            Joined::Started(viewer, filler) => (viewer, filler),
            _ => panic!("expected a new flight"),
        }
    }

    fn join(flights: &Arc<TestFlights>, key: &'static str) -> Viewer<u16> {
        match flights.join(&key) {
            Joined::Shared(viewer) => viewer,
            _ => panic!("expected to join"),
        }
    }

    fn chunk(n: usize) -> Bytes {
        Bytes::from(vec![7u8; n])
    }

    #[tokio::test]
    async fn viewers_share_one_fetch_and_read_from_the_start() {
        let f = flights(1 << 20, 1 << 20);
        let (mut a, filler) = start(&f, "k");
        filler.head(200, true);
        assert!(filler.push(chunk(10)).await);
        let mut b = join(&f, "k");
        assert!(filler.push(chunk(20)).await);
        let lingering = filler.finish_and_linger();
        assert_eq!(b.head().await, Some(200));
        for v in [&mut a, &mut b] {
            assert_eq!(v.next().await.unwrap().unwrap().len(), 10);
            assert_eq!(v.next().await.unwrap().unwrap().len(), 20);
            assert!(v.next().await.is_none());
        }
        assert_eq!(f.held_bytes(), 30);
        let mut c = join(&f, "k");
        assert_eq!(c.next().await.unwrap().unwrap().len(), 10, "a lingering flight is joinable");
        lingering.expire();
        assert!(matches!(f.join(&"k"), Joined::Started(..)), "an expired flight is not");
        drop((a, b, c));
        assert_eq!(f.held_bytes(), 0, "every byte is released when the flight is gone");
    }

    #[tokio::test]
    async fn a_failed_body_is_never_joined_again() {
        let f = flights(1 << 20, 1 << 20);
        let (mut a, filler) = start(&f, "k");
        filler.head(200, true);
        assert!(filler.push(chunk(5)).await);
        filler.finish(Err("reset".into()));
        assert_eq!(a.next().await.unwrap().unwrap().len(), 5);
        assert_eq!(a.next().await.unwrap().unwrap_err(), "reset");
        assert!(a.next().await.is_none());
        assert!(matches!(f.join(&"k"), Joined::Started(..)), "a retry starts afresh");
    }

    #[tokio::test]
    async fn a_failed_head_is_never_joined_and_a_dropped_filler_ends_the_viewers() {
        let f = flights(1 << 20, 1 << 20);
        let (a, filler) = start(&f, "k");
        filler.head(502, false);
        assert_eq!(a.head().await, Some(502));
        assert!(matches!(f.join(&"k"), Joined::Started(..)));
        let (mut b, filler) = start(&f, "other");
        drop(filler);
        assert_eq!(b.head().await, None);
        assert!(b.next().await.unwrap().is_err());
    }

    #[tokio::test]
    async fn eviction_never_removes_a_newer_flight_of_the_same_key() {
        let f = flights(1 << 20, 1 << 20);
        let (old_viewer, old) = start(&f, "k");
        old.head(200, false); // detached: leaves the map
        let (_new_viewer, new) = start(&f, "k");
        new.head(200, true);
        old.finish(Err("late failure".into()));
        drop(old_viewer);
        assert_eq!(f.joinable(), 1, "the newer flight is still joinable");
        let _joined = join(&f, "k");
    }

    #[tokio::test]
    async fn past_the_budget_a_flight_detaches_and_follows_its_slowest_viewer() {
        let f = flights(64 * 1024, 64 * 1024);
        let (mut fast, filler) = start(&f, "k");
        let mut slow = join(&f, "k");
        filler.head(200, true);
        // 16 KiB chunks: 4 fit the budget, the fifth detaches the flight.
        for _ in 0..4 {
            assert!(filler.push(chunk(16 * 1024)).await);
        }
        assert_eq!(f.held_bytes(), 64 * 1024);
        assert!(filler.push(chunk(16 * 1024)).await);
        assert_eq!(f.joinable(), 0, "detached");
        assert!(f.held_bytes() <= 64 * 1024 + 16 * 1024);
        // Both viewers read everything so far; the flight then trims to nothing.
        for _ in 0..5 {
            fast.next().await.unwrap().unwrap();
            slow.next().await.unwrap().unwrap();
        }
        assert_eq!(f.held_bytes(), 0);
        // Now the filler may run at most WINDOW (+ one chunk) ahead of the slow viewer: a push
        // past that stays pending until the slow viewer reads.
        let per_window = WINDOW / (16 * 1024);
        let mut pushed = 0;
        while pushed < 1000 && filler.push(chunk(16 * 1024)).now_or_never() == Some(true) {
            pushed += 1;
        }
        assert_eq!(pushed, per_window);
        assert!(f.held_bytes() <= WINDOW + 16 * 1024, "held {}", f.held_bytes());
        for _ in 0..per_window {
            fast.next().await.unwrap().unwrap();
        }
        assert!(fast.next().now_or_never().is_none(), "nothing more for the fast viewer");
        assert!(filler.push(chunk(16 * 1024)).now_or_never().is_none(), "the filler waits");
        slow.next().await.unwrap().unwrap();
        assert_eq!(filler.push(chunk(16 * 1024)).now_or_never(), Some(true), "one chunk of room");
        assert!(f.held_bytes() <= WINDOW + 16 * 1024, "held {}", f.held_bytes());
        drop(slow);
        drop(fast);
        assert_eq!(filler.push(chunk(1)).now_or_never(), Some(false), "no viewer left: stop");
        drop(filler);
        assert_eq!(f.held_bytes(), 0);
    }

    #[tokio::test]
    async fn a_full_budget_refuses_new_flights_and_the_last_viewer_cancels() {
        let f = flights(10, 10);
        let (viewer, filler) = start(&f, "a");
        filler.head(200, true);
        assert!(filler.push(chunk(10)).await);
        assert!(matches!(f.join(&"b"), Joined::Full));
        drop(viewer);
        filler.cancelled().await; // resolves: the only viewer left before the end
        assert_eq!(f.held_bytes(), 0, "no viewer left: nothing is held for anyone");
        assert!(!filler.push(chunk(1)).await);
        assert!(matches!(f.join(&"a"), Joined::Started(..)), "a cancelled flight is not joined");
        drop(filler);
        assert_eq!(f.held_bytes(), 0);
    }

    #[tokio::test]
    async fn lingering_flights_make_room_for_new_ones_oldest_first() {
        let f = flights(30, 30);
        let mut lingering = Vec::new();
        for key in ["a", "b", "c"] {
            let (mut viewer, filler) = start(&f, key);
            filler.head(200, true);
            assert!(filler.push(chunk(10)).await);
            assert_eq!(viewer.next().await.unwrap().unwrap().len(), 10);
            lingering.push(filler.finish_and_linger());
        }
        assert_eq!(f.held_bytes(), 30, "three finished flights linger, holding the budget");
        let Joined::Started(_viewer, filler) = f.join(&"d") else { panic!("room is made for a new flight") };
        assert_eq!(f.held_bytes(), 20, "the oldest lingering flight left");
        assert!(matches!(f.join(&"a"), Joined::Started(..)), "a was evicted");
        drop(filler);
        assert!(matches!(f.join(&"c"), Joined::Shared(..)), "c, the newest, still lingers");
        // A pushed chunk that would not fit evicts lingering flights before detaching.
        let (_v, filler) = start(&f, "e");
        filler.head(200, true);
        assert!(filler.push(chunk(10)).await);
        assert!(filler.is_shared(), "room was made: e stays shared");
        drop(lingering);
    }

    #[tokio::test]
    async fn a_promoted_body_is_read_in_one_piece_by_viewers_that_start_after_the_end() {
        let f = flights(1 << 20, 1 << 20);
        let (mut early, filler) = start(&f, "k");
        filler.head(200, true);
        assert!(filler.push(Bytes::from_static(b"abc")).await);
        assert_eq!(&early.next().await.unwrap().unwrap()[..], b"abc");
        assert!(filler.push(Bytes::from_static(b"def")).await);
        early.promote(1, |_| panic!("no promotion before the end"));
        let _lingering = filler.finish_and_linger();
        let mut late = join(&f, "k");
        late.promote(7, |_| panic!("no promotion under the minimum"));
        late.promote(6, |chunks| Some(chunks.concat().into()));
        late.promote(6, |_| panic!("promoted once"));
        assert_eq!(&late.next().await.unwrap().unwrap()[..], b"abcdef");
        assert!(late.next().await.is_none());
        assert_eq!(&early.next().await.unwrap().unwrap()[..], b"def", "a started viewer keeps its chunks");
        assert!(early.next().await.is_none());
    }
}
