//! `pitwall check-source`: one extraction now, in the real sandbox, then a probe of what it found,
//! printing each step as it happens — every guest fetch with its status and size (queries
//! redacted), the guest's log lines, the candidates, and the probe of each. Exit 0 when a live
//! stream was found. The tool an operator uses to add a site, and an author to try a plugin:
//!
//! - `pitwall check-source ID [--config FILE]`: the configured `[[source]]` ID, its extractor
//!   looked up in `--plugins-dir`, its settings and `allow_hosts`;
//! - `pitwall check-source --plugin my_site.wasm --set page=URL [--allow-host H]`: that file alone.

use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::Args;

use crate::{
    Config, SystemClock,
    extract::{
        ExtractorEngine,
        bindings::SessionRef,
        engine::Prepared,
        host_api::{HostGrants, redact_str},
    },
    health::probe::{Previous, Prober},
    net::UpstreamGuard,
    schedule::model::Status,
};

/// Longest wait for the season calendar before a stand-in session is used.
const SCHEDULE_WAIT: Duration = Duration::from_secs(15);
/// Longest probe of one candidate.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// `check-source` arguments.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The `[[source]]` id to check (from `--config`).
    pub id: Option<String>,
    /// Check this plugin file instead of a configured source.
    #[arg(long, conflicts_with = "id")]
    pub plugin: Option<PathBuf>,
    /// A setting for `--plugin`, `KEY=VALUE` (repeatable).
    #[arg(long = "set", requires = "plugin", value_parser = parse_setting)]
    pub set: Vec<(String, String)>,
    /// A host `--plugin` may fetch beyond its own (repeatable; `*.example.com`, `*`).
    #[arg(long = "allow-host", requires = "plugin")]
    pub allow_host: Vec<String>,
    /// Session id to extract for (default: the live session, else the next one).
    #[arg(long)]
    pub session: Option<String>,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((key.trim().to_string(), value.to_string()))
}

/// What to run: a prepared plugin, its settings and grants, named for the output.
struct Target {
    name: String,
    plugin: Prepared,
    settings: Vec<(String, String)>,
    grants: HostGrants,
}

/// Runs the check; `Ok(true)` when a live stream was found. Errors are for the user (exit 2).
pub async fn run(config: &Config, args: &CheckArgs) -> Result<bool, String> {
    let guard = UpstreamGuard::new(&config.flags.allow_upstream);
    let engine = crate::engine(config, &guard).map_err(|e| e.to_string())?;
    let target = target(config, args, &engine).await?;
    let session = session(config, &guard, args.session.as_deref()).await?;
    println!(
        "== extract: {} with {} for session {} ({} {}, round {})",
        target.name, target.plugin.info.id, session.id, session.event_name, session.kind, session.round
    );
    let hosts = target.grants.effective();
    println!(
        "   may fetch: {}",
        if hosts.is_empty() { "nothing (declare or grant hosts)".into() } else { hosts.join(", ") }
    );
    let started = std::time::Instant::now();
    let result = engine.call_extract(&target.plugin, session, target.settings, target.grants, ()).await;
    let candidates = match result {
        Ok(candidates) => candidates,
        Err(e) => {
            println!("== failed at step {} after {:.1?}: {}", e.step, started.elapsed(), e.detail);
            return Ok(false);
        }
    };
    println!("== {} candidate(s) in {:.1?}", candidates.len(), started.elapsed());
    let prober = Prober::new(&guard, PROBE_TIMEOUT).map_err(|e| format!("cannot build the prober: {e}"))?;
    let mut live = 0;
    for (i, c) in candidates.iter().enumerate() {
        println!("-- [{}] {:?} {}", i + 1, c.label, redact_str(&c.url));
        let names: Vec<&str> = c.headers.iter().map(|(k, _)| k.as_str()).collect();
        if !names.is_empty() {
            println!("   headers: {}", names.join(", "));
        }
        if let Some(expires) = c.expires_at {
            println!("   token expires in {} s", expires as i64 - chrono::Utc::now().timestamp());
        }
        match prober.probe(&c.url, &c.headers, &Previous::default()).await {
            Ok(m) => {
                live += 1;
                let variants: Vec<String> = m.variants.iter().map(|v| v.label.clone()).collect();
                println!(
                    "   LIVE: playlist in {} ms, {}, live edge {}",
                    m.latency_ms,
                    if variants.is_empty() { "media playlist".into() } else { variants.join(" ") },
                    m.live_edge_age_s.map_or("unknown".into(), |a| format!("{a:.1} s old"))
                );
            }
            Err(e) => println!("   not playable: step {}: {}", e.step, e.message),
        }
    }
    println!("== {live} of {} candidate(s) live", candidates.len());
    Ok(live > 0)
}

/// The plugin, settings and grants to run.
async fn target(config: &Config, args: &CheckArgs, engine: &Arc<ExtractorEngine>) -> Result<Target, String> {
    if let Some(file) = &args.plugin {
        let plugin = prepare(engine, file).await?;
        let grants = HostGrants {
            declared: plugin.info.allowed_hosts.clone(),
            granted: args.allow_host.clone(),
            source: None,
        };
        return Ok(Target { name: file.display().to_string(), plugin, settings: args.set.clone(), grants });
    }
    let id = args.id.as_deref().ok_or("give a source id, or --plugin FILE")?;
    let source = config.file.source(id).ok_or_else(|| {
        let ids: Vec<&str> = config.file.source.iter().map(|s| s.id.as_str()).collect();
        format!("no [[source]] {id:?} in the configuration (sources: {})", ids.join(", "))
    })?;
    let dir = &config.flags.plugins_dir;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the plugins dir {}: {e}", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    files.sort();
    let mut seen = Vec::new();
    for file in files {
        match prepare(engine, &file).await {
            Ok(plugin) if plugin.info.id == source.extractor => {
                println!("== {} is extractor {} {}", file.display(), plugin.info.id, plugin.info.version);
                let grants = HostGrants {
                    declared: plugin.info.allowed_hosts.clone(),
                    granted: source.allow_hosts.clone(),
                    source: Some(source.id.clone()),
                };
                let settings = source.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                return Ok(Target { name: format!("source {id}"), plugin, settings, grants });
            }
            Ok(plugin) => seen.push(plugin.info.id),
            Err(e) => println!("   (skipping {}: {e})", file.display()),
        }
    }
    Err(format!(
        "no plugin in {} is extractor {:?} (found: {})",
        dir.display(),
        source.extractor,
        if seen.is_empty() { "none".into() } else { seen.join(", ") }
    ))
}

async fn prepare(engine: &Arc<ExtractorEngine>, file: &std::path::Path) -> Result<Prepared, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let sha = crate::extract::registry::sha256_hex(&bytes);
    let component = engine.compile(&bytes, &sha).map_err(|e| e.to_string())?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    engine.prepare_file(&component, &name).await.map_err(|e| e.to_string())
}

/// The session to extract for: `--session`, else the live one, else the next; without a
/// calendar, a stand-in race now.
async fn session(config: &Config, guard: &UpstreamGuard, wanted: Option<&str>) -> Result<SessionRef, String> {
    let service = crate::schedule_service(config, guard, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    service.load_local();
    let now = service.now();
    let season =
        match tokio::time::timeout(SCHEDULE_WAIT, service.get_or_fetch(service.default_season())).await {
            Ok(Ok(season)) => Some(season),
            Ok(Err(e)) => {
                println!("   (no calendar: {e})");
                None
            }
            Err(_) => {
                println!("   (no calendar within {SCHEDULE_WAIT:?})");
                None
            }
        };
    let found = season.as_ref().and_then(|season| {
        let all = season.events.iter().flat_map(|e| e.sessions.iter().map(move |s| (e, s)));
        let mut all: Vec<_> = all.collect();
        match wanted {
            Some(id) => all.into_iter().find(|(_, s)| s.id == id),
            None => {
                all.retain(|(_, s)| s.status(now) != Status::Past);
                all.sort_by_key(|(_, s)| (s.status(now) != Status::Live, s.start));
                all.into_iter().next()
            }
        }
    });
    match (found, wanted) {
        (Some((event, s)), _) => Ok(SessionRef {
            id: s.id.clone(),
            kind: s.kind.to_string(),
            season: s.id.split('-').next().and_then(|y| y.parse().ok()).unwrap_or(0),
            round: event.round,
            event_name: event.name.clone(),
            start: s.start.map(|t| t.timestamp().max(0) as u64),
        }),
        (None, Some(id)) => Err(format!("no session {id:?} in the calendar")),
        (None, None) => {
            use chrono::Datelike;
            Ok(SessionRef {
                id: format!("{}-00-race", now.year()),
                kind: "race".into(),
                season: now.year() as u32,
                round: 0,
                event_name: "Check".into(),
                start: Some(now.timestamp().max(0) as u64),
            })
        }
    }
}
