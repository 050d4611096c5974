/**
 * Shapes of pitwall's JSON answers. The API's bodies are generated from the Rust response types
 * into `api-types.ts` (never edit that file; `PITWALL_WRITE_TYPES=1 cargo test -p pitwall --lib
 * api_types` rewrites it); this module re-exports them under the names the app uses.
 */

export type {
	Circuit,
	ErrorBody,
	ExtractorEntry,
	Health,
	RefreshError,
	Schedule,
	ScheduleEvent,
	Session,
	SessionKind,
	SessionPlayback,
	SessionPlaying,
	SessionStatus,
	SessionSwitch,
	SourceRow,
	SourceStatus,
	StepError,
	Stream,
	StreamStatus,
	StreamToken,
	StreamVariant,
	StreamsAnswer,
	VariantUrl
} from './api-types';
