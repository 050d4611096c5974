//! Configuration: command-line flags (each also read from `PITWALL_<FLAG>`, the flag winning) and
//! an optional TOML file, validated into one [`Config`]. Every error names the offending key and
//! where it came from (flag, environment variable, or `file:line:column`), so `main` can print it
//! and exit with status 2.

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Deserializer, de};

use crate::schedule::SessionKind;

/// `pitwall [serve] [flags]`.
#[derive(Debug, Parser)]
#[command(name = "pitwall", version, about = "Self-hosted F1 live stream aggregator")]
pub struct Cli {
    /// What to do; `serve` is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server flags (accepted before or after `serve`).
    #[command(flatten)]
    pub flags: Flags,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Extract one source (or one plugin file) now, probe what it found, print every step;
    /// exit 0 when a live stream was found.
    CheckSource(crate::check::CheckArgs),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Flags shared by every subcommand. Each reads `PITWALL_<FLAG>` when the flag is absent.
#[derive(Debug, Args, Clone)]
pub struct Flags {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PITWALL_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,
    /// TOML configuration file.
    #[arg(long, env = "PITWALL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory for persisted state (schedule snapshot, relay key).
    #[arg(long, env = "PITWALL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Directory watched for extractor plugins (`*.wasm`).
    #[arg(long, env = "PITWALL_PLUGINS_DIR", default_value = "./plugins", global = true)]
    pub plugins_dir: PathBuf,
    /// Compiled-plugin cache; local disk, never NFS [default: <data-dir>/cache].
    #[arg(long, env = "PITWALL_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Redis URL; absent means the embedded in-memory store.
    #[arg(long, env = "PITWALL_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Start the testbed in-process and serve the demo sources and schedule.
    #[arg(long, env = "PITWALL_DEMO", global = true)]
    pub demo: bool,
    /// With `--demo`: lifetime of the testbed's CDN tokens (e.g. `10s` to watch refreshes).
    #[arg(long, env = "PITWALL_DEMO_TOKEN_TTL", default_value = "120s", value_parser = humantime::parse_duration, global = true)]
    pub demo_token_ttl: Duration,
    /// With `--demo`: kill a demo feed on a timer, `FEED@AFTER[+FOR]` (e.g. `main@90s`,
    /// `main@90s+30s`; repeatable). Feeds: main, onboard-1, onboard-2, pitlane.
    #[arg(long = "demo-kill", env = "PITWALL_DEMO_KILL", value_delimiter = ',', global = true)]
    pub demo_kill: Vec<String>,
    /// With `--demo`: pad the demo feeds' MPEG-TS segments with null packets so each top variant
    /// runs at this many kbit/s (lower ones by pixel count), for realistic load tests; the
    /// embedded media alone is about 190 kbit/s at 720p.
    #[arg(long, env = "PITWALL_DEMO_SEGMENT_KBPS", value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub demo_segment_kbps: Option<u32>,
    /// Let upstream fetches reach this otherwise blocked HOST[:PORT] (repeatable).
    #[arg(long = "allow-upstream", env = "PITWALL_ALLOW_UPSTREAM", value_delimiter = ',', global = true)]
    pub allow_upstream: Vec<String>,
    /// Token viewers need (cookie set by `/?token=T`, or `Authorization: Bearer T`).
    #[arg(long, env = "PITWALL_VIEWER_TOKEN", global = true, hide_env_values = true)]
    pub viewer_token: Option<String>,
    /// Token that guards `/proxy` and `/extractors`.
    #[arg(long, env = "PITWALL_ADMIN_TOKEN", global = true, hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Allow listening on a non-loopback address without a viewer token.
    #[arg(long, env = "PITWALL_PUBLIC", global = true)]
    pub public: bool,
    /// Host name this pitwall is reached by (repeatable). Without a viewer token, requests whose
    /// `Host` is a name not listed here (nor `localhost`, nor an IP address) are refused, so a
    /// DNS-rebinding page cannot drive the API.
    #[arg(long = "public-host", env = "PITWALL_PUBLIC_HOST", value_delimiter = ',', global = true)]
    pub public_host: Vec<String>,
    /// Reverse proxy address or network (CIDR, repeatable) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; nobody else's are.
    #[arg(long = "trusted-proxy", env = "PITWALL_TRUSTED_PROXY", value_delimiter = ',', value_parser = parse_net, global = true)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Client connections served at once.
    #[arg(long, env = "PITWALL_MAX_CONNECTIONS", default_value_t = 4096, global = true)]
    pub max_connections: usize,
    /// Time a client has to send a request's headers; also the keep-alive idle limit.
    #[arg(long, env = "PITWALL_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub header_read_timeout: Duration,
    /// Key for relay URLs (otherwise generated on first start in the data dir).
    #[arg(long, env = "PITWALL_RELAY_KEY", global = true, hide_env_values = true)]
    pub relay_key: Option<String>,
    /// Log format.
    #[arg(long, env = "PITWALL_LOG_FORMAT", value_enum, default_value_t, global = true)]
    pub log_format: LogFormat,
    /// Directory of the built web app.
    #[arg(long, env = "PITWALL_WEB_DIR", default_value = "frontend/build", global = true)]
    pub web_dir: PathBuf,
    /// How long shutdown waits for in-flight responses before closing them.
    #[arg(long, env = "PITWALL_DRAIN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub drain_timeout: Duration,
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a single address.
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or network (e.g. 10.0.0.0/8 or 192.0.2.7)"))
}

/// Shortest demo token lifetime accepted (the refresh floor is 5 s).
pub const MIN_DEMO_TOKEN_TTL: Duration = Duration::from_secs(6);

/// Shortest relay key accepted: relay URLs are sealed with a key derived from it.
pub const MIN_RELAY_KEY_CHARS: usize = 32;

/// Everything pitwall runs with, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Command-line and environment settings.
    pub flags: Flags,
    /// Settings from the TOML file (defaults when there is none).
    pub file: FileConfig,
}

impl Config {
    /// Validates flags and loads the TOML file they name.
    pub fn load(flags: Flags) -> Result<Self, ConfigError> {
        let file = match &flags.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let config = Config { flags, file };
        config.check_secrets()?;
        config.check_exposure()?;
        Ok(config)
    }

    /// Config for tests and embedding: defaults plus the given data dir, listening on port 0.
    pub fn for_tests(data_dir: &Path) -> Self {
        let flags = Cli::parse_from(["pitwall", "--listen", "127.0.0.1:0"]).flags;
        let mut config = Config { flags, file: FileConfig::default() };
        config.flags.data_dir = data_dir.to_path_buf();
        config
    }

    /// The compiled-plugin cache directory.
    pub fn cache_dir(&self) -> PathBuf {
        self.flags.cache_dir.clone().unwrap_or_else(|| self.flags.data_dir.join("cache"))
    }

    /// Refuses empty tokens (an empty viewer token would let anyone in) and short relay keys
    /// (anyone could forge relay URLs).
    fn check_secrets(&self) -> Result<(), ConfigError> {
        let f = &self.flags;
        for (key, value) in [("--viewer-token", &f.viewer_token), ("--admin-token", &f.admin_token)] {
            if value.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(ConfigError::new(
                    key,
                    "is empty; give a long random token, or leave the option out",
                ));
            }
        }
        if let Some(key) = &f.relay_key
            && key.trim().chars().count() < MIN_RELAY_KEY_CHARS
        {
            return Err(ConfigError::new(
                "--relay-key",
                format!(
                    "is {} characters; relay URLs sealed with a short key can be forged: use at least {MIN_RELAY_KEY_CHARS} random characters (e.g. `openssl rand -base64 32`), or leave it out to have one generated in the data dir",
                    key.trim().chars().count()
                ),
            ));
        }
        if f.max_connections == 0 {
            return Err(ConfigError::new("--max-connections", "must be at least 1"));
        }
        if f.header_read_timeout.is_zero() {
            return Err(ConfigError::new("--header-read-timeout", "must be longer than 0s"));
        }
        if let Some(url) = &f.redis_url
            && let Err(e) = redis::Client::open(url.as_str())
        {
            return Err(ConfigError::new(
                "--redis-url",
                format!("is not a Redis URL ({e}); e.g. redis://redis:6379/0"),
            ));
        }
        if let Some(bad) = f.allow_upstream.iter().find(|e| !valid_upstream(e)) {
            return Err(ConfigError::new(
                "--allow-upstream",
                format!("{bad:?} is not HOST or HOST:PORT (e.g. 127.0.0.1:8080, cdn.lan, [::1]:9000)"),
            ));
        }
        self.check_demo()
    }

    /// The demo's knobs need `--demo`, and tokens that outlive one refresh; a build without the
    /// `demo` feature has no demo.
    fn check_demo(&self) -> Result<(), ConfigError> {
        let f = &self.flags;
        #[cfg(not(feature = "demo"))]
        if f.demo {
            return Err(ConfigError::new("--demo", "this pitwall was built without the `demo` feature"));
        }
        #[cfg(feature = "demo")]
        if let Err(e) = crate::demo::kills(self) {
            return Err(ConfigError::new("--demo-kill", e));
        }
        if !f.demo && !f.demo_kill.is_empty() {
            return Err(ConfigError::new("--demo-kill", "only applies with --demo"));
        }
        if !f.demo && f.demo_segment_kbps.is_some() {
            return Err(ConfigError::new("--demo-segment-kbps", "only applies with --demo"));
        }
        if f.demo_token_ttl < MIN_DEMO_TOKEN_TTL {
            return Err(ConfigError::new(
                "--demo-token-ttl",
                format!(
                    "must be at least {MIN_DEMO_TOKEN_TTL:?}: shorter tokens expire before a refresh can replace them"
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a non-loopback listener without a viewer token unless `--public` is given.
    fn check_exposure(&self) -> Result<(), ConfigError> {
        let f = &self.flags;
        if !f.listen.ip().is_loopback() && f.viewer_token.is_none() && !f.public {
            return Err(ConfigError::new(
                "--listen",
                format!(
                    "refusing to listen on {} without --viewer-token: anyone on the network could \
                     use this relay; set a viewer token, or pass --public if that is intended",
                    f.listen
                ),
            ));
        }
        Ok(())
    }
}

/// A configuration error: which key, where it came from, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {key}: {message}")]
pub struct ConfigError {
    /// Where the value came from: `flag`, `file.toml:3:11`, ...
    pub origin: String,
    /// The key, e.g. `--listen` or `health.interval`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// An error in flag `key` (`--name`), labelled with where its value came from.
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        let key = key.into();
        ConfigError { origin: flag_origin(&key), key, message: message.into() }
    }
}

/// `command line` when `--flag` was given there, else `environment variable PITWALL_FLAG` when
/// that is set (flags read both; the command line wins).
fn flag_origin(flag: &str) -> String {
    let name = flag.trim_start_matches("--");
    let on_command_line =
        std::env::args().any(|a| a == format!("--{name}") || a.starts_with(&format!("--{name}=")));
    let env = format!("PITWALL_{}", name.to_ascii_uppercase().replace('-', "_"));
    if !on_command_line && std::env::var_os(&env).is_some() {
        format!("environment variable {env}")
    } else {
        "command line".into()
    }
}

/// The TOML configuration file (CONTRACT.md "Config file").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// `[schedule]`.
    pub schedule: ScheduleConfig,
    /// `[polling]`.
    pub polling: PollingConfig,
    /// `[health]`.
    pub health: HealthConfig,
    /// `[extractors]`.
    pub extractors: ExtractorsConfig,
    /// `[[source]]` entries.
    pub source: Vec<SourceConfig>,
}

impl FileConfig {
    /// Reads and validates a TOML file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: path.display().to_string(),
            key: "--config".into(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let deserializer = toml::de::Deserializer::parse(text).map_err(|e| {
            let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
            ConfigError {
                origin: format!("{origin}:{line}:{col}"),
                key: "(syntax)".into(),
                message: e.message().to_string(),
            }
        })?;
        let config: FileConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = display_path(e.path());
            let inner = e.into_inner();
            let (line, col) = line_col(text, inner.span().map_or(0, |s| s.start));
            ConfigError {
                origin: format!("{origin}:{line}:{col}"),
                key,
                message: inner.message().to_string(),
            }
        })?;
        config.validate(text, origin)?;
        Ok(config)
    }

    /// Checks that need more than one value (e.g. unique source ids).
    /// The `[[source]]` with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.source.iter().find(|s| s.id == id)
    }

    fn validate(&self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (i, source) in self.source.iter().enumerate() {
            let at = |needle: &str| {
                let offset = text.find(needle).unwrap_or(0);
                let (line, col) = line_col(text, offset);
                format!("{origin}:{line}:{col}")
            };
            if source.id.trim().is_empty() {
                return Err(ConfigError {
                    origin: origin.into(),
                    key: format!("source[{i}].id"),
                    message: "must not be empty".into(),
                });
            }
            if !seen.insert(source.id.as_str()) {
                return Err(ConfigError {
                    origin: at(&format!("\"{}\"", source.id)),
                    key: format!("source[{i}].id"),
                    message: format!("duplicate source id {:?}; ids must be unique", source.id),
                });
            }
            if source.poll < Duration::from_secs(1) {
                return Err(ConfigError {
                    origin: origin.into(),
                    key: format!("source[{i}].poll"),
                    message: "must be at least 1s".into(),
                });
            }
            if let Some(bad) = source.allow_hosts.iter().find(|h| !valid_host_grant(h)) {
                return Err(ConfigError {
                    origin: at(&format!("\"{bad}\"")),
                    key: format!("source[{i}].allow_hosts"),
                    message: format!(
                        "{bad:?} is not a host grant: use a host name (cdn.example.net), *.example.com for its subdomains, an IP address, or \"*\" for any public host — no scheme, port or path"
                    ),
                });
            }
            let role_ok = |r: &str| {
                !r.is_empty()
                    && r.len() <= 32
                    && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            if !role_ok(&source.role) {
                return Err(ConfigError {
                    origin: at(&format!("\"{}\"", source.role)),
                    key: format!("source[{i}].role"),
                    message: format!(
                        "{:?} is not a role: use up to 32 lowercase letters, digits or dashes, e.g. \"main\", \"onboard\", \"pitlane\"",
                        source.role
                    ),
                });
            }
        }
        let x = &self.extractors;
        for (key, value, range) in [
            ("extractors.memory_mb", x.memory_mb, 8..=4096),
            ("extractors.fetch_body_mb", x.fetch_body_mb, 1..=1024),
            ("extractors.concurrent_calls", x.concurrent_calls, 1..=256),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError {
                    origin: origin.into(),
                    key: key.into(),
                    message: format!("must be between {} and {}", range.start(), range.end()),
                });
            }
        }
        for (name, limits) in &x.plugin {
            let key = |field: &str| format!("extractors.plugin.{name}.{field}");
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if !name_ok {
                return Err(ConfigError {
                    origin: origin.into(),
                    key: format!("extractors.plugin.{name:?}"),
                    message: "is not a plugin name: use the plugin's id (e.g. \"demo-site\") or its file name without .wasm (e.g. \"demo_site\"), up to 64 letters, digits, '-', '_' or '.'".into(),
                });
            }
            if let Some(mb) = limits.memory_mb
                && !(8..=4096).contains(&mb)
            {
                return Err(ConfigError {
                    origin: origin.into(),
                    key: key("memory_mb"),
                    message: format!("must be between 8 and 4096 (MiB), not {mb}"),
                });
            }
            for (field, value) in
                [("call_timeout", limits.call_timeout), ("load_timeout", limits.load_timeout)]
            {
                if let Some(d) = value
                    && !(Duration::from_secs(1)..=Duration::from_secs(600)).contains(&d)
                {
                    return Err(ConfigError {
                        origin: origin.into(),
                        key: key(field),
                        message: format!("must be between 1s and 10m, not {}", humantime::format_duration(d)),
                    });
                }
            }
        }
        if self.health.fail_threshold == 0 {
            return Err(ConfigError {
                origin: origin.into(),
                key: "health.fail_threshold".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Renders a serde path like `source[0].poll`.
fn display_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => out.push_str(".?"),
        }
    }
    if out.is_empty() { "(top level)".into() } else { out }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Sources in order of preference.
    pub sources: Vec<ScheduleSourceId>,
    /// jolpica (Ergast-compatible) base URL.
    pub jolpica_url: String,
    /// OpenF1 base URL.
    pub openf1_url: String,
    /// Refresh schedule (cron with seconds, UTC).
    pub refresh: CronExpr,
    /// Which season to serve by default.
    pub season: SeasonSetting,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            sources: vec![ScheduleSourceId::Jolpica, ScheduleSourceId::Openf1],
            jolpica_url: "https://api.jolpi.ca/ergast/f1".into(),
            openf1_url: "https://api.openf1.org/v1".into(),
            refresh: CronExpr::from_str("0 0 6 * * *").expect("default cron parses"),
            season: SeasonSetting::Current,
        }
    }
}

/// A schedule source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleSourceId {
    /// jolpica-f1, the Ergast-compatible API.
    Jolpica,
    /// OpenF1.
    Openf1,
}

/// `season = "current"` or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonSetting {
    /// The current calendar year (UTC).
    Current,
    /// A fixed year.
    Year(i32),
}

impl<'de> Deserialize<'de> for SeasonSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SeasonSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"current\" or a year such as 2026")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeasonSetting, E> {
                match v {
                    "current" => Ok(SeasonSetting::Current),
                    other => other
                        .parse::<i32>()
                        .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                        .and_then(|y| V.visit_i64(i64::from(y))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeasonSetting, E> {
                if (1950..=9999).contains(&v) {
                    Ok(SeasonSetting::Year(v as i32))
                } else {
                    Err(E::invalid_value(de::Unexpected::Signed(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A validated cron expression (seconds field first, UTC).
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    schedule: cron::Schedule,
}

impl CronExpr {
    /// The parsed schedule.
    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for CronExpr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        cron::Schedule::from_str(s)
            .map(|schedule| CronExpr { text: s.to_string(), schedule })
            .map_err(|e| format!("invalid cron expression {s:?} (expected 6 or 7 fields, seconds first, e.g. \"0 0 6 * * *\"): {e}"))
    }
}

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// `[polling]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollingConfig {
    /// Start polling this long before a session starts.
    #[serde(with = "humantime_serde")]
    pub window_before: Duration,
    /// Keep polling this long after a session ends.
    #[serde(with = "humantime_serde")]
    pub window_after: Duration,
}

impl Default for PollingConfig {
    fn default() -> Self {
        PollingConfig {
            window_before: Duration::from_secs(30 * 60),
            window_after: Duration::from_secs(30 * 60),
        }
    }
}

/// `[health]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// How often each stream is probed.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Consecutive failures that mark a stream dead.
    pub fail_threshold: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig { interval: Duration::from_secs(15), fail_threshold: 2 }
    }
}

/// `[extractors]`: how plugins are watched and how much one call may use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractorsConfig {
    /// How often the plugins directory is polled.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// Wall time one `extract` call may take, fetches included.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Linear memory one call may use, in MiB.
    pub memory_mb: u32,
    /// Largest response body `fetch` hands to a guest, in MiB.
    pub fetch_body_mb: u32,
    /// Calls running at once.
    pub concurrent_calls: u32,
    /// `[extractors.plugin.NAME]`: limits for one plugin instead of the ones above, by plugin id
    /// or plugin file name without `.wasm` (`_` and `-` equal). For components that carry a
    /// language runtime (JavaScript, Python) and need more memory or a longer load.
    pub plugin: BTreeMap<String, PluginLimitsConfig>,
}

/// `[extractors.plugin.NAME]`: what one plugin gets instead of the `[extractors]` defaults.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginLimitsConfig {
    /// Linear memory one call may use, in MiB (default: `extractors.memory_mb`).
    pub memory_mb: Option<u32>,
    /// Wall time one `extract` call may take (default: `extractors.call_timeout`).
    #[serde(default, with = "humantime_serde")]
    pub call_timeout: Option<Duration>,
    /// Wall time loading the plugin (instantiate + `info()`) may take (default: the smaller of
    /// 10s and its call timeout). Compiling is not part of it: it runs before, off the deadline,
    /// and once per plugin version (the compiled cache keeps it across restarts).
    #[serde(default, with = "humantime_serde")]
    pub load_timeout: Option<Duration>,
}

impl Default for ExtractorsConfig {
    fn default() -> Self {
        ExtractorsConfig {
            poll: Duration::from_secs(2),
            call_timeout: Duration::from_secs(20),
            memory_mb: 64,
            fetch_body_mb: 8,
            concurrent_calls: 16,
            plugin: BTreeMap::new(),
        }
    }
}

/// One `[[source]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Stable, unique id.
    pub id: String,
    /// Id reported by a loaded extractor plugin.
    pub extractor: String,
    /// Human label.
    #[serde(default)]
    pub label: String,
    /// What the feed shows: `main` (the race broadcast, the default), `onboard`, `pitlane`, ...
    /// The session URL and "Watch" play a `main` feed first.
    #[serde(default = "default_role")]
    pub role: String,
    /// The driver an onboard feed follows, if any.
    #[serde(default)]
    pub driver: Option<String>,
    /// Session kinds this source serves; empty means all.
    #[serde(default)]
    pub sessions: Vec<SessionKind>,
    /// Re-extract interval while its session is live or near.
    #[serde(with = "humantime_serde", default = "default_poll")]
    pub poll: Duration,
    /// Handed to the extractor as-is.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Hosts the extractor may fetch for this source beyond those its plugin declares:
    /// `cdn.example.net`, `*.example.com` (subdomains), or `*` (any public host). The SSRF guard
    /// still applies; other sources never get these grants.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
}

/// Whether `entry` is `HOST` or `HOST:PORT` (an IP address or a host name; IPv6 in brackets
/// with a port).
fn valid_upstream(entry: &str) -> bool {
    let entry = entry.trim();
    if entry.parse::<SocketAddr>().is_ok() || entry.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let host = match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse::<u16>() {
            Ok(_) => host,
            Err(_) => return false,
        },
        _ => entry.trim_start_matches('[').trim_end_matches(']'),
    };
    !host.contains('*') && valid_host_grant(host)
}

/// Whether `pattern` is a host grant: `*`, `name`, `*.name` or an IP address (no scheme, port or path).
pub fn valid_host_grant(pattern: &str) -> bool {
    if pattern == "*" || pattern.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The role of a source that does not say.
pub const MAIN_ROLE: &str = "main";

fn default_role() -> String {
    MAIN_ROLE.into()
}

fn default_poll() -> Duration {
    Duration::from_secs(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[schedule]
sources = ["openf1", "jolpica"]
refresh = "0 30 5 * * *"
season = 2026

[polling]
window_before = "45m"

[health]
interval = "10s"
fail_threshold = 3

[[source]]
id = "demo-main"
extractor = "demo-site"
label = "Main feed"
sessions = ["race", "qualifying", "sprint"]
poll = "30s"
settings = { page = "https://example.invalid/watch/main" }
"#;

    #[test]
    fn parses_the_contract_example() {
        let c = FileConfig::parse(EXAMPLE, "pitwall.toml").unwrap();
        assert_eq!(c.schedule.sources, vec![ScheduleSourceId::Openf1, ScheduleSourceId::Jolpica]);
        assert_eq!(c.schedule.season, SeasonSetting::Year(2026));
        assert_eq!(c.schedule.refresh.to_string(), "0 30 5 * * *");
        assert_eq!(c.polling.window_before, Duration::from_secs(45 * 60));
        assert_eq!(c.polling.window_after, Duration::from_secs(30 * 60), "default kept");
        assert_eq!(c.health.fail_threshold, 3);
        let s = &c.source[0];
        assert_eq!(s.sessions, vec![SessionKind::Race, SessionKind::Qualifying, SessionKind::Sprint]);
        assert_eq!(s.poll, Duration::from_secs(30));
        assert_eq!(s.settings["page"], "https://example.invalid/watch/main");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = "[health]\ninterval = \"10s\"\nfail_treshold = 3\n";
        let e = FileConfig::parse(text, "p.toml").unwrap_err();
        assert_eq!(e.origin, "p.toml:3:1");
        assert!(e.message.contains("fail_treshold"), "{e}");
    }

    #[test]
    fn bad_value_names_key_path_and_line() {
        let text = "[[source]]\nid = \"a\"\nextractor = \"x\"\npoll = \"soon\"\n";
        let e = FileConfig::parse(text, "p.toml").unwrap_err();
        assert_eq!(e.key, "source[0].poll");
        assert_eq!(e.origin, "p.toml:4:8");
    }

    #[test]
    fn bad_cron_and_season_are_rejected() {
        let e = FileConfig::parse("[schedule]\nrefresh = \"every day\"\n", "p.toml").unwrap_err();
        assert_eq!(e.key, "schedule.refresh");
        assert!(e.message.contains("invalid cron expression"), "{e}");
        let e = FileConfig::parse("[schedule]\nseason = \"last\"\n", "p.toml").unwrap_err();
        assert_eq!(e.key, "schedule.season");
        let e = FileConfig::parse(
            "[[source]]\nid = \"a\"\nextractor = \"x\"\nsessions = [\"warmup\"]\n",
            "p.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "source[0].sessions[0]");
    }

    #[test]
    fn duplicate_source_ids_are_rejected() {
        let text = "[[source]]\nid = \"a\"\nextractor = \"x\"\n[[source]]\nid = \"a\"\nextractor = \"y\"\n";
        let e = FileConfig::parse(text, "p.toml").unwrap_err();
        assert_eq!(e.key, "source[1].id");
        assert!(e.message.contains("duplicate"), "{e}");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = FileConfig::parse("[health\n", "p.toml").unwrap_err();
        assert!(e.origin.starts_with("p.toml:1:"), "{e}");
    }

    #[cfg(feature = "demo")]
    #[test]
    fn demo_knobs_need_demo_and_a_useful_token_lifetime() {
        let load = |args: &[&str]| Config::load(Cli::parse_from(args).flags);
        assert_eq!(load(&["pitwall", "--demo-kill", "main@90s"]).unwrap_err().key, "--demo-kill");
        assert_eq!(load(&["pitwall", "--demo-segment-kbps", "5000"]).unwrap_err().key, "--demo-segment-kbps");
        assert_eq!(
            load(&["pitwall", "--demo", "--demo-token-ttl", "2s"]).unwrap_err().key,
            "--demo-token-ttl"
        );
        let config =
            load(&["pitwall", "--demo", "--demo-token-ttl", "10s", "--demo-kill", "main@1m+30s,pitlane@2m"])
                .unwrap();
        let kills: Vec<_> =
            crate::demo::kills(&config).unwrap().into_iter().map(|k| (k.feed, k.after, k.down_for)).collect();
        assert_eq!(
            kills,
            [
                ("main", Duration::from_secs(60), Some(Duration::from_secs(30))),
                ("pitlane", Duration::from_secs(120), None)
            ]
        );
        for bad in ["nope@1s", "main", "main@soon", "main@1s+0s"] {
            assert_eq!(
                load(&["pitwall", "--demo", "--demo-kill", bad]).unwrap_err().key,
                "--demo-kill",
                "{bad}"
            );
        }
    }

    #[test]
    fn redis_urls_and_upstreams_are_checked_before_anything_starts() {
        let load = |args: &[&str]| Config::load(Cli::parse_from(args).flags);
        assert_eq!(load(&["pitwall", "--redis-url", "not a url"]).unwrap_err().key, "--redis-url");
        assert!(load(&["pitwall", "--redis-url", "redis://127.0.0.1:6379/0"]).is_ok());
        for good in ["127.0.0.1:8080", "cdn.lan", "[::1]:9000", "::1", "10.0.0.1"] {
            assert!(valid_upstream(good), "{good}");
        }
        for bad in ["http://cdn.lan", "cdn.lan/x", "cdn.lan:port", "*.lan", ""] {
            assert!(!valid_upstream(bad), "{bad}");
        }
        assert_eq!(load(&["pitwall", "--allow-upstream", "http://x"]).unwrap_err().key, "--allow-upstream");
    }

    #[test]
    fn host_grants_are_hosts_not_urls() {
        for good in ["*", "cdn.example.net", "*.example.com", "127.0.0.1", "::1", "my-host"] {
            assert!(valid_host_grant(good), "{good}");
        }
        for bad in
            ["", "https://x.example", "x.example:8080", "x.example/path", "*.", "a..b", "*x.example", "**"]
        {
            assert!(!valid_host_grant(bad), "{bad}");
        }
        let text = "[[source]]\nid = \"a\"\nextractor = \"x\"\nallow_hosts = [\"ok.example\", \"https://bad.example\"]\n";
        let e = FileConfig::parse(text, "pitwall.toml").unwrap_err();
        assert_eq!((e.key.as_str(), e.origin.as_str()), ("source[0].allow_hosts", "pitwall.toml:4:30"));
    }

    #[test]
    fn roles_default_to_main_and_must_be_simple_words() {
        let c = FileConfig::parse(EXAMPLE, "pitwall.toml").unwrap();
        assert_eq!((c.source[0].role.as_str(), c.source[0].driver.as_deref()), ("main", None));
        let onboard = "[[source]]\nid = \"a\"\nextractor = \"x\"\nrole = \"onboard\"\ndriver = \"VER\"\n";
        let c = FileConfig::parse(onboard, "pitwall.toml").unwrap();
        assert_eq!((c.source[0].role.as_str(), c.source[0].driver.as_deref()), ("onboard", Some("VER")));
        let e =
            FileConfig::parse(&onboard.replace("\"onboard\"", "\"Main Feed\""), "pitwall.toml").unwrap_err();
        assert_eq!((e.key.as_str(), e.origin.as_str()), ("source[0].role", "pitwall.toml:4:8"));
    }

    #[test]
    fn exposure_needs_a_token_or_public() {
        let mut flags = Cli::parse_from(["pitwall", "--listen", "0.0.0.0:8080"]).flags;
        let e = Config::load(flags.clone()).unwrap_err();
        assert_eq!(e.key, "--listen");
        flags.public = true;
        assert!(Config::load(flags.clone()).is_ok());
        flags.public = false;
        flags.viewer_token = Some("t".into());
        assert!(Config::load(flags).is_ok());
    }

    #[test]
    fn serve_subcommand_accepts_flags() {
        let cli =
            Cli::parse_from(["pitwall", "serve", "--listen", "127.0.0.1:0", "--allow-upstream", "a,b:8"]);
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(cli.flags.allow_upstream, vec!["a", "b:8"]);
    }
}
