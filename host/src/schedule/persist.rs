//! The schedule on disk: one JSON file per season in `<data-dir>/schedule/`, written atomically
//! (temporary file, fsync, rename, fsync of the directory). A corrupt or partial file is reported
//! and ignored, never served; it is left in place for inspection.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::model::Season;

/// File format version; bump when [`Season`] changes incompatibly.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SeasonFile {
    format: u32,
    season: Season,
}

/// The directory holding the season files.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("schedule")
}

fn path(data_dir: &Path, season: i32) -> PathBuf {
    dir(data_dir).join(format!("season-{season}.json"))
}

/// Writes `season` atomically.
pub fn save(data_dir: &Path, season: &Season) -> std::io::Result<()> {
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    let target = path(data_dir, season.season);
    // Unique per writer, not just per process: replicas sharing the data dir on NFS are all
    // PID 1 in their containers, and two writers on one temporary file could rename a mix.
    let tmp = dir.join(format!(
        ".season-{}.json.tmp-{}-{:016x}",
        season.season,
        std::process::id(),
        rand::random::<u64>()
    ));
    let body = serde_json::to_vec_pretty(&SeasonFile { format: FORMAT, season: season.clone() })?;
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    // Make the rename itself durable.
    std::fs::File::open(&dir)?.sync_all()
}

/// Loads every readable season file; unreadable ones are logged and skipped.
pub fn load_all(data_dir: &Path) -> Vec<Season> {
    let dir = dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut seasons = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("season-") && name.ends_with(".json")) {
            continue;
        }
        match load(&path) {
            Ok(season) => seasons.push(season),
            Err(reason) => tracing::error!(
                file = %path.display(), %reason,
                "ignoring a corrupt schedule file; it will be replaced by the next successful refresh"
            ),
        }
    }
    seasons
}

fn load(path: &Path) -> Result<Season, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file: SeasonFile = serde_json::from_slice(&bytes).map_err(|e| format!("not a schedule file: {e}"))?;
    if file.format != FORMAT {
        return Err(format!("format {} is not {FORMAT}", file.format));
    }
    if file.season.events.is_empty() {
        return Err("no events".into());
    }
    Ok(file.season)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn season(year: i32) -> Season {
        Season {
            season: year,
            source: "jolpica".into(),
            fetched_at: "2026-11-26T06:00:00Z".parse().unwrap(),
            events: vec![super::super::model::Event {
                round: 1,
                name: "Test Grand Prix".into(),
                slug: format!("{year}-test-grand-prix"),
                circuit: super::super::model::Circuit {
                    id: "x".into(),
                    name: "X".into(),
                    locality: "Y".into(),
                    country: "Z".into(),
                    timezone: None,
                },
                sessions: Vec::new(),
            }],
        }
    }

    #[test]
    fn round_trips_and_ignores_corrupt_files() {
        let tmp = tempfile::tempdir().unwrap();
        save(tmp.path(), &season(2026)).unwrap();
        save(tmp.path(), &season(2025)).unwrap();
        std::fs::write(dir(tmp.path()).join("season-2024.json"), b"{\"format\": 1, \"season\": {\"sea")
            .unwrap();
        std::fs::write(dir(tmp.path()).join("season-2023.json"), b"").unwrap();
        let mut loaded = load_all(tmp.path());
        loaded.sort_by_key(|s| s.season);
        assert_eq!(loaded, vec![season(2025), season(2026)]);
        let leftovers: Vec<_> = std::fs::read_dir(dir(tmp.path()))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files left behind");
    }
}
