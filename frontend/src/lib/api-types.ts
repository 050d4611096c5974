// Generated from pitwall's Rust response types by ts-rs; do not edit.
// Regenerate: PITWALL_WRITE_TYPES=1 cargo test -p pitwall --lib api_types
// (`host/src/api/api_types.rs`; `cargo test` fails while this file is out of date.)

/**
 * `GET /schedule`: one season with each session's status at answer time. Here and in the
 * views below fields are in alphabetical order, the key order `/schedule` has always had.
 */
export type Schedule = {
/**
 * Events ordered by round.
 */
events: Array<ScheduleEvent>,
/**
 * When the season was fetched (UTC, RFC 3339 with `Z`).
 */
fetched_at: string,
/**
 * The year.
 */
season: number,
/**
 * Which source supplied the events (`jolpica`, `openf1`, `snapshot`).
 */
source: string, };

/**
 * A race weekend as `/schedule` lists it.
 */
export type ScheduleEvent = {
/**
 * Where it happens.
 */
circuit: Circuit,
/**
 * e.g. `Australian Grand Prix`.
 */
name: string,
/**
 * Round number within the season.
 */
round: number,
/**
 * Sessions ordered by start.
 */
sessions: Array<Session>,
/**
 * e.g. `2026-australian-grand-prix`.
 */
slug: string, };

/**
 * The track. Fields are in alphabetical order: `/schedule` has always listed its keys so.
 */
export type Circuit = {
/**
 * Country.
 */
country: string,
/**
 * Stable id (jolpica's `circuitId` where known).
 */
id: string,
/**
 * Town or city.
 */
locality: string,
/**
 * Full name.
 */
name: string,
/**
 * IANA zone (`Australia/Melbourne`) or, when unknown, a fixed UTC offset (`+08:00`).
 */
timezone: string | null, };

/**
 * A session as `/schedule` lists it.
 */
export type Session = {
/**
 * `YYYY-MM-DD`, present only when the start time is not known.
 */
date?: string,
/**
 * UTC, RFC 3339 with `Z`.
 */
end: string | null,
/**
 * Stable id: `{season}-{round:02}-{kind}`, e.g. `2026-01-race`.
 */
id: string,
/**
 * What kind of session.
 */
kind: SessionKind,
/**
 * Display name, e.g. `Sprint Qualifying`.
 */
name: string,
/**
 * UTC, RFC 3339 with `Z`; `null` when the time is not known yet (then `date` is set).
 */
start: string | null,
/**
 * Computed by the server at answer time.
 */
status: SessionStatus, };

/**
 * What kind of session this is, as the API names it.
 */
export type SessionKind = "fp1" | "fp2" | "fp3" | "sprint_qualifying" | "sprint" | "qualifying" | "race";

/**
 * Where a session stands relative to now.
 */
export type SessionStatus = "past" | "live" | "upcoming";

/**
 * `GET /streams?session=ID[&all=true]`.
 */
export type StreamsAnswer = {
/**
 * The newest probe of any listed stream.
 */
checked_at: string | null,
/**
 * The session asked about.
 */
session: string,
/**
 * Only with `all=true`: every configured source that serves the session's kind.
 */
sources?: Array<SourceRow>,
/**
 * Best first: verified-live streams, or with `all=true` every known one.
 */
streams: Array<Stream>, };

/**
 * One stream of a session (`/streams?session=ID`, `/streams/{id}`).
 */
export type Stream = {
/**
 * Bits per second of the best variant.
 */
bandwidth: number | null,
/**
 * The extractor's own label for the candidate.
 */
candidate: string,
/**
 * The driver an onboard stream follows, when known.
 */
driver: string | null,
/**
 * The last failed probe step; present (maybe `null`) only when there is one or the stream
 * is not live.
 */
error?: StepError | null,
/**
 * Extractor id.
 */
extractor: string,
/**
 * Stable stream id.
 */
id: string,
/**
 * The name viewers see: the source's label, else the candidate's.
 */
label: string,
/**
 * Last probe, RFC 3339.
 */
last_checked: string | null,
/**
 * Last passing probe, RFC 3339.
 */
last_live: string | null,
/**
 * Time to fetch the playlist at the last passing probe.
 */
latency_ms: number | null,
/**
 * Seconds between the live edge and the probe.
 */
live_edge_age_s: number | null,
/**
 * `1280x720` of the best variant.
 */
resolution: string | null,
/**
 * What the stream shows: `main`, `onboard`, `pitlane`, … (open set).
 */
role: string,
/**
 * Session id.
 */
session: string,
/**
 * The plugin's display name, e.g. "Demo TV"; null when its plugin is not loaded.
 */
site: string | null,
/**
 * Configured source id.
 */
source: string,
/**
 * Health on the board.
 */
status: StreamStatus,
/**
 * Throughput of the last segment read.
 */
throughput_bps: number | null,
/**
 * The candidate's token.
 */
token: StreamToken,
/**
 * Stable master playlist URL (`/live/{id}/master.m3u8`).
 */
url: string,
/**
 * Its qualities.
 */
variants: Array<StreamVariant>, };

/**
 * `live`, `failing`, `dead` or `unchecked`.
 */
export type StreamStatus = "live" | "failing" | "dead" | "unchecked";

/**
 * One quality of a stream.
 */
export type StreamVariant = {
/**
 * Advertised bits per second.
 */
bandwidth: number | null,
/**
 * `720p`, or `1200k` without a resolution.
 */
label: string,
/**
 * `1280x720`.
 */
resolution: string | null,
/**
 * Stable playlist URL of this quality (`/live/{id}/{label}.m3u8`).
 */
url: string, };

/**
 * A failed step and why.
 */
export type StepError = {
/**
 * `head`, `playlist`, `empty`, `stale`, `variant`, `segment`, …
 */
step: string,
/**
 * What happened.
 */
message: string, };

/**
 * A stream's upstream token.
 */
export type StreamToken = {
/**
 * When the candidate's URL stops working, if the extractor said.
 */
expires_at: string | null,
/**
 * The last extraction that refreshed it.
 */
last_refresh: string | null,
/**
 * The last refresh failure of its source, if the last refresh failed.
 */
refresh_error: RefreshError | null, };

/**
 * A source's last refresh failure.
 */
export type RefreshError = {
/**
 * When, RFC 3339.
 */
at: string,
/**
 * Detail.
 */
message: string,
/**
 * Failed step.
 */
step: string, };

/**
 * One configured source in `/streams?all=true`, with its last refresh outcome, so a source that
 * found nothing (or whose extractor is not loaded) is visible with the step that failed.
 */
export type SourceRow = {
/**
 * Its last refresh failure.
 */
error: RefreshError | null,
/**
 * Extractor id.
 */
extractor: string,
/**
 * Whether a loaded plugin provides the extractor.
 */
extractor_loaded: boolean,
/**
 * Hosts its extractor calls may fetch (declared + granted).
 */
hosts: Array<string>,
/**
 * Source id.
 */
id: string,
/**
 * The operator's label.
 */
label: string,
/**
 * Where it stands.
 */
status: SourceStatus, };

/**
 * How a configured source stands for a session (`sources` of `/streams?all=true`).
 */
export type SourceStatus = "extracted" | "failing" | "pending";

/**
 * `GET /streams/{id}?variant=LABEL`.
 */
export type VariantUrl = {
/**
 * Stable playlist URL of the variant.
 */
url: string, };

/**
 * `GET /live/session/{session}/status`: what the session URL plays and its recent switches.
 */
export type SessionPlayback = {
/**
 * `null` until a player has loaded one of the session's media playlists.
 */
playing: SessionPlaying | null,
/**
 * The session asked about.
 */
session: string,
/**
 * Oldest first, at most 20.
 */
switches: Array<SessionSwitch>, };

/**
 * The stream a session URL plays now. Its names are `null` when the stream has left the board.
 */
export type SessionPlaying = {
/**
 * Display label, as in `/streams`.
 */
label: string | null,
/**
 * Its source's role.
 */
role: string | null,
/**
 * When this stream took over, RFC 3339.
 */
since: string,
/**
 * Source id.
 */
source: string | null,
/**
 * Stream id, as in `/streams`.
 */
stream: string, };

/**
 * One switch of a session URL from one stream to another.
 */
export type SessionSwitch = {
/**
 * When, RFC 3339.
 */
at: string,
/**
 * The stream that was left.
 */
from: string,
/**
 * Its display label, `null` when it has left the board.
 */
from_label: string | null,
/**
 * Why, in a few words (e.g. "playlist failed").
 */
reason: string,
/**
 * The stream that plays now.
 */
to: string,
/**
 * Its display label, `null` when it has left the board.
 */
to_label: string | null, };

/**
 * One row of `GET /extractors`.
 */
export type ExtractorEntry = {
/**
 * Plugin id (for a file that never loaded: its file stem).
 */
id: string,
/**
 * Site name.
 */
name: string | null,
/**
 * Plugin version.
 */
version: string | null,
/**
 * API version it was built against.
 */
api: string | null,
/**
 * File name.
 */
file: string,
/**
 * sha256 of the serving (or rejected) file.
 */
sha256: string,
/**
 * When the serving version loaded (or the file was rejected).
 */
loaded_at: string,
/**
 * `loaded`, `failed`, or `missing` (a configured source names it, no plugin provides it).
 */
status: string,
/**
 * Why the file (or a newer version of it) was rejected.
 */
error: string | null,
/**
 * Hosts it may fetch from.
 */
allowed_hosts: Array<string>,
/**
 * The configured sources that use it, each with the hosts its calls may fetch (the
 * plugin's plus the source's `allow_hosts`).
 */
sources: Array<SourceHosts>,
/**
 * Calls made.
 */
calls: number,
/**
 * Calls failed.
 */
failures: number, };

/**
 * One source of an extractor and the hosts its calls may fetch.
 */
export type SourceHosts = {
/**
 * `[[source]] id`.
 */
id: string,
/**
 * Declared and granted host patterns (`*` = any public host).
 */
hosts: Array<string>, };

/**
 * The body of `/healthz` (`ok`) and of a ready `/readyz` (`ready`).
 */
export type Health = {
/**
 * `ok` or `ready`.
 */
status: string, };

/**
 * The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
 */
export type ErrorBody = {
/**
 * What failed.
 */
error: ErrorDetail, };

/**
 * What failed, for a program (`code`) and for a person (`message`).
 */
export type ErrorDetail = {
/**
 * Stable and machine-readable: `not_found`, `bad_request`, `upstream_error`, …
 */
code: string,
/**
 * What happened and, where it helps, what to do.
 */
message: string, };
