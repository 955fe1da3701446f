//! Versioned model files: `<dir>/model-v000042.json` (serde JSON of [`TrainedModel`],
//! which carries its own metadata). Writes go to a temporary file that is renamed
//! into place, so a crash never leaves a half-written "newest" model. Unreadable,
//! corrupt or incompatible files are reported as warnings and skipped, never a panic.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ensemble::{TrainedModel, FORMAT_VERSION};
use super::DetectError;
use crate::model::TimestampMs;

/// Metadata of one stored version (for `lookout model list` and `/api/model`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub version: u64,
    pub path: PathBuf,
    pub format_version: u32,
    pub trained_at: TimestampMs,
    pub window: (TimestampMs, TimestampMs),
    pub samples: usize,
    pub members: Vec<String>,
    pub features: usize,
    pub rolled_back_from: Option<u64>,
    pub eval: Option<serde_json::Value>,
}

impl ModelInfo {
    /// What the API shows of this version (`model::ModelVersion`): the path as text.
    pub fn to_version(&self) -> crate::model::ModelVersion {
        crate::model::ModelVersion {
            version: self.version,
            path: self.path.display().to_string(),
            format_version: self.format_version,
            trained_at: self.trained_at,
            window: self.window,
            samples: self.samples as u64,
            members: self.members.clone(),
            features: self.features as u64,
            rolled_back_from: self.rolled_back_from,
            eval: self.eval.clone(),
        }
    }

    fn of(m: &TrainedModel, path: PathBuf) -> Self {
        Self {
            version: m.version,
            path,
            format_version: m.format_version,
            trained_at: m.trained_at,
            window: m.window,
            samples: m.samples,
            members: m.member_names().into_iter().map(String::from).collect(),
            features: m.features.len(),
            rolled_back_from: m.rolled_back_from,
            eval: m.eval.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ModelRegistry {
    dir: PathBuf,
    keep: usize,
    /// The highest version this registry has saved: numbering goes on from it even
    /// if the folder was emptied or removed meanwhile, so a version never names two
    /// different models.
    high: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn parse_version(name: &str) -> Option<u64> {
    name.strip_prefix("model-v")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

impl ModelRegistry {
    /// Opens (creating) `dir`; `keep_k` versions are kept when saving (min 1).
    pub fn open(dir: impl AsRef<Path>, keep_k: usize) -> Result<Self, DetectError> {
        let dir = dir.as_ref().to_path_buf();
        crate::store::private_dir_all(&dir)?;
        Ok(Self {
            dir,
            keep: keep_k.max(1),
            high: Default::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, version: u64) -> PathBuf {
        self.dir.join(format!("model-v{version:06}.json"))
    }

    /// Versions present on disk (by file name), ascending.
    fn versions(&self) -> Result<Vec<u64>, DetectError> {
        let mut v: Vec<u64> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_version(&e.file_name().to_string_lossy()))
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Saves `model` as the next version (assigned into `model.version`), then prunes
    /// to the newest K. Returns the version. A folder removed since the start is made
    /// again (an operator's `rm -r models/` must not stop training for good).
    pub fn save(&self, model: &mut TrainedModel) -> Result<u64, DetectError> {
        use std::sync::atomic::Ordering;
        crate::store::private_dir_all(&self.dir)?;
        let on_disk = self.versions()?.last().copied().unwrap_or(0);
        let next = on_disk.max(self.high.load(Ordering::Relaxed)) + 1;
        model.version = next;
        // Whatever version it was loaded from (a rollback copies an older file), a model
        // is written in this build's layout.
        model.format_version = FORMAT_VERSION;
        let json = serde_json::to_vec(model).map_err(|e| DetectError::Format(e.to_string()))?;
        let tmp = self.dir.join(format!(".model-v{next:06}.json.tmp"));
        fs::write(&tmp, json)?;
        fs::rename(&tmp, self.path_of(next))?;
        self.high.fetch_max(next, Ordering::Relaxed);
        self.prune()?;
        Ok(next)
    }

    /// Deletes all but the newest K versions.
    pub fn prune(&self) -> Result<(), DetectError> {
        let v = self.versions()?;
        if v.len() > self.keep {
            for old in &v[..v.len() - self.keep] {
                fs::remove_file(self.path_of(*old))?;
            }
        }
        Ok(())
    }

    /// Loads and validates one version.
    pub fn load(&self, version: u64) -> Result<TrainedModel, DetectError> {
        let bytes = fs::read(self.path_of(version))?;
        let m: TrainedModel =
            serde_json::from_slice(&bytes).map_err(|e| DetectError::Format(e.to_string()))?;
        m.validate()?;
        if m.version != version {
            return Err(DetectError::Format(format!(
                "file of v{version} holds v{}",
                m.version
            )));
        }
        Ok(m)
    }

    /// Every stored version, newest first, plus warnings for files that do not load.
    pub fn list(&self) -> (Vec<ModelInfo>, Vec<String>) {
        let mut infos = vec![];
        let mut warnings = vec![];
        match self.versions() {
            Err(e) => warnings.push(format!("{}: {e}", self.dir.display())),
            Ok(vs) => {
                for v in vs.into_iter().rev() {
                    match self.load(v) {
                        Ok(m) => infos.push(ModelInfo::of(&m, self.path_of(v))),
                        Err(e) => {
                            warnings.push(format!("{}: skipped: {e}", self.path_of(v).display()))
                        }
                    }
                }
            }
        }
        (infos, warnings)
    }

    /// The newest version that loads and validates; older ones are the fallback.
    pub fn load_newest_valid(&self) -> (Option<TrainedModel>, Vec<String>) {
        let mut warnings = vec![];
        let vs = match self.versions() {
            Ok(v) => v,
            Err(e) => return (None, vec![format!("{}: {e}", self.dir.display())]),
        };
        for v in vs.into_iter().rev() {
            match self.load(v) {
                Ok(m) => return (Some(m), warnings),
                Err(e) => warnings.push(format!("{}: skipped: {e}", self.path_of(v).display())),
            }
        }
        (None, warnings)
    }

    /// Makes `to_version` current again by saving a copy of it as the newest version
    /// (history stays append-only, so a rollback can itself be rolled back).
    pub fn rollback(&self, to_version: u64) -> Result<TrainedModel, DetectError> {
        let mut m = self.load(to_version)?;
        m.rolled_back_from = Some(to_version);
        self.save(&mut m)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ensemble::{train, TrainParams};

    fn small_model(seed: u64) -> TrainedModel {
        let rows: Vec<(i64, Vec<f64>)> = (0..300)
            .map(|i| {
                (
                    i * 5000,
                    vec![(i % 7) as f64, ((i * 13) % 11) as f64 * 2.0, 5.0],
                )
            })
            .collect();
        let mut p = TrainParams::default();
        p.forest.n_trees = 10;
        p.forest.seed = seed;
        train(&rows, &[], &p).unwrap()
    }

    #[test]
    fn a_removed_folder_is_made_again_and_versions_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let reg = ModelRegistry::open(&models, 3).unwrap();
        assert_eq!(reg.save(&mut small_model(1)).unwrap(), 1);
        assert_eq!(reg.save(&mut small_model(2)).unwrap(), 2);
        fs::remove_dir_all(&models).unwrap();
        assert_eq!(reg.save(&mut small_model(3)).unwrap(), 3);
        assert_eq!(reg.load(3).unwrap().version, 3);
        let (infos, _) = reg.list();
        assert_eq!(infos.iter().map(|i| i.version).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn round_trip_versions_corruption_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let reg = ModelRegistry::open(dir.path(), 3).unwrap();
        let mut a = small_model(1);
        assert_eq!(reg.save(&mut a).unwrap(), 1);
        let back = reg.load(1).unwrap();
        assert_eq!(back, a, "serialisation round trip");
        for s in 2..=4 {
            reg.save(&mut small_model(s)).unwrap();
        }
        let (infos, w) = reg.list();
        assert!(w.is_empty());
        assert_eq!(
            infos.iter().map(|i| i.version).collect::<Vec<_>>(),
            vec![4, 3, 2],
            "pruned to 3"
        );
        // Corrupt the newest: it is skipped with a warning, v3 is used.
        fs::write(reg.path_of(4), b"{ not json").unwrap();
        let (m, w) = reg.load_newest_valid();
        assert_eq!(m.unwrap().version, 3);
        assert_eq!(w.len(), 1, "{w:?}");
        // Incompatible format version is skipped too.
        let mut m3 = reg.load(3).unwrap();
        m3.format_version = 999;
        fs::write(reg.path_of(3), serde_json::to_vec(&m3).unwrap()).unwrap();
        let (m, w) = reg.load_newest_valid();
        assert_eq!(m.unwrap().version, 2);
        assert_eq!(w.len(), 2);
        // Rollback to 2 makes a new newest version that is a copy of 2.
        let r = reg.rollback(2).unwrap();
        assert_eq!(r.version, 5);
        assert_eq!(r.rolled_back_from, Some(2));
        assert_eq!(reg.load_newest_valid().0.unwrap().version, 5);
    }

    /// A model file written before session 10 (format 2: the forest as an arena) still
    /// loads, its forest unrolled; saved again it is written as format 3. A format
    /// this build does not read is refused with a message naming both.
    #[test]
    fn a_format_2_model_file_loads_and_is_saved_as_the_current_format() {
        let dir = tempfile::tempdir().unwrap();
        let reg = ModelRegistry::open(dir.path(), 5).unwrap();
        let mut m = small_model(1);
        reg.save(&mut m).unwrap();
        assert_eq!(m.format_version, FORMAT_VERSION);
        // The same file as session 9 wrote it: format 2, and a forest in the arena
        // layout (one tree, 12 features: the root splits feature 4 at 0.5).
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(reg.path_of(1)).unwrap()).unwrap();
        assert!(v["forest"]["leaf"].is_array(), "written as complete trees");
        v["format_version"] = 2.into();
        v["forest"] = serde_json::json!({
            "n_features": 12, "psi": 4, "height_limit": 1, "roots": [0],
            "nodes": [
                {"thr": 0.5, "feat": 4, "left": 1, "right": 2, "value": 0.0},
                {"thr": 0.0, "feat": 0, "left": 1, "right": 1, "value": 1.5},
                {"thr": 0.0, "feat": 0, "left": 2, "right": 2, "value": 2.5}
            ],
            "sizes": [4, 1, 3]
        });
        fs::write(reg.path_of(1), serde_json::to_vec(&v).unwrap()).unwrap();
        let old = reg.load(1).unwrap();
        assert_eq!(old.format_version, 2);
        let f = old.forest.as_ref().unwrap();
        assert!(f.is_complete());
        let mut row = vec![0.0; 12];
        assert_eq!(f.mean_path_length(&row), 1.5);
        row[4] = 0.7;
        assert_eq!(f.mean_path_length(&row), 2.5);
        // A rollback copies it: the copy is written in the current format.
        let copy = reg.rollback(1).unwrap();
        let w: serde_json::Value =
            serde_json::from_slice(&fs::read(reg.path_of(copy.version)).unwrap()).unwrap();
        assert_eq!(w["format_version"], FORMAT_VERSION);
        assert!(w["forest"]["nodes"].is_null() && w["forest"]["leaf"].is_array());
        assert_eq!(reg.load(copy.version).unwrap().forest, old.forest);
        // Format 1 is refused, the message saying what this build reads.
        v["format_version"] = 1.into();
        fs::write(reg.path_of(1), serde_json::to_vec(&v).unwrap()).unwrap();
        let e = reg.load(1).unwrap_err().to_string();
        assert!(
            e.contains("format version 1") && e.contains("reads 2 to 3"),
            "{e}"
        );
    }
}
