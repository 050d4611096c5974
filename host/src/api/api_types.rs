//! The web app's types, generated: `frontend/src/lib/api-types.ts` is the TypeScript of every
//! JSON body the app reads, written from the Rust response types by ts-rs. A test compares the
//! checked-in file with what the types say now, so the two cannot drift;
//! `PITWALL_WRITE_TYPES=1 cargo test -p pitwall --lib api_types` rewrites it.

use std::path::PathBuf;

use ts_rs::{Config, TS};

use crate::{
    api::{
        error::{ErrorBody, ErrorDetail},
        system::Health,
    },
    extract::registry::{ExtractorEntry, SourceHosts},
    health::board::{Status as StreamStatus, StepError},
    schedule::{
        SessionKind,
        model::{Circuit, EventView, ScheduleAnswer, SessionView, Status as SessionStatus},
    },
    streams::view::{
        RefreshErrorView, SessionPlayback, SessionPlaying, SessionSwitch, SourceRow, SourceStatus,
        StreamVariant, StreamView, StreamsAnswer, TokenView, VariantUrl,
    },
};

/// The command that rewrites the file; the failing test names it.
const WRITE_COMMAND: &str = "PITWALL_WRITE_TYPES=1 cargo test -p pitwall --lib api_types";

fn path() -> PathBuf {
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    host.parent().unwrap_or(&host).join("frontend/src/lib/api-types.ts")
}

/// Declarations in file order, and every name a declaration refers to.
#[derive(Default)]
struct Declarations {
    cfg: Config,
    text: String,
    declared: Vec<String>,
    referenced: Vec<(String, String)>,
}

impl Declarations {
    fn add<T: TS + 'static>(&mut self) -> &mut Self {
        let name = T::ident(&self.cfg);
        if let Some(docs) = T::docs() {
            self.text.push_str(&docs);
        }
        self.text.push_str("export ");
        self.text.push_str(&T::decl(&self.cfg));
        self.text.push_str("\n\n");
        for dependency in T::dependencies(&self.cfg) {
            self.referenced.push((name.clone(), dependency.ts_name));
        }
        self.declared.push(name);
        self
    }
}

/// The whole file, from the types the API serializes.
fn generate() -> String {
    let mut d = Declarations {
        // Counts and Unix-second sizes fit a double; the app never sees a `bigint`.
        cfg: Config::new().with_large_int("number"),
        ..Default::default()
    };
    d.add::<ScheduleAnswer>()
        .add::<EventView>()
        .add::<Circuit>()
        .add::<SessionView>()
        .add::<SessionKind>()
        .add::<SessionStatus>()
        .add::<StreamsAnswer>()
        .add::<StreamView>()
        .add::<StreamStatus>()
        .add::<StreamVariant>()
        .add::<StepError>()
        .add::<TokenView>()
        .add::<RefreshErrorView>()
        .add::<SourceRow>()
        .add::<SourceStatus>()
        .add::<VariantUrl>()
        .add::<SessionPlayback>()
        .add::<SessionPlaying>()
        .add::<SessionSwitch>()
        .add::<ExtractorEntry>()
        .add::<SourceHosts>()
        .add::<Health>()
        .add::<ErrorBody>()
        .add::<ErrorDetail>();
    for (from, to) in &d.referenced {
        assert!(d.declared.contains(to), "{from} refers to {to}, which `generate` does not declare: add it");
    }
    let header = format!(
        "// Generated from pitwall's Rust response types by ts-rs; do not edit.\n\
         // Regenerate: {WRITE_COMMAND}\n\
         // (`host/src/api/api_types.rs`; `cargo test` fails while this file is out of date.)\n\n"
    );
    // ts-rs leaves a space at the end of some lines.
    let body: Vec<&str> = d.text.trim_end().lines().map(str::trim_end).collect();
    format!("{header}{}\n", body.join("\n"))
}

#[test]
fn api_types_match_the_checked_in_file() {
    let generated = generate();
    let path = path();
    if std::env::var_os("PITWALL_WRITE_TYPES").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with the Rust response types; regenerate it with `{WRITE_COMMAND}`",
        path.display()
    );
}
