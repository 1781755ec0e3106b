//! Models from the Hugging Face hub, through hf-hub, into the standard cache
//! (`~/.cache/huggingface/hub`, shared with Python tools). Downloads resume
//! from a `.part` file after an interruption; offline mode reads the cache only.

use crate::jobs::{Error, Job, Result};
use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};
use std::path::{Path, PathBuf};

/// The files of a model repository Dramatis needs (besides the weights).
const SMALL_FILES: [&str; 6] = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
];

#[derive(Debug, Clone)]
pub struct HubClient {
    pub cache_dir: PathBuf,
    pub endpoint: String,
    pub offline: bool,
    pub token: Option<String>,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

impl HubClient {
    /// Settings from the usual variables: `HF_HUB_CACHE` / `HF_HOME`,
    /// `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_TOKEN`.
    pub fn from_env() -> Self {
        let cache_dir = std::env::var_os("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().join(".cache/huggingface/hub")))
            .unwrap_or_else(|| std::env::temp_dir().join("huggingface/hub"));
        HubClient {
            cache_dir,
            endpoint: std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into()),
            offline: env_flag("HF_HUB_OFFLINE"),
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
        }
    }

    fn repo(repo: &str, revision: &str) -> Repo {
        Repo::with_revision(repo.into(), RepoType::Model, revision.into())
    }

    /// The cached snapshot folder of `repo@revision`, if its config is there.
    pub fn cached(&self, repo: &str, revision: &str) -> Option<PathBuf> {
        let cache = Cache::new(self.cache_dir.clone());
        let cfg = cache.repo(Self::repo(repo, revision)).get("config.json")?;
        cfg.parent().map(Path::to_path_buf)
    }

    /// Make sure every file the model needs is in the cache (downloading
    /// what is missing, resuming partial files) and return the snapshot folder.
    pub fn snapshot(&self, repo: &str, revision: &str, job: Option<&Job>) -> Result<PathBuf> {
        let silent = Job::silent();
        let job = job.unwrap_or(&silent);
        if self.offline {
            return self.cached_complete(repo, revision);
        }
        let api = ApiBuilder::new()
            .with_cache_dir(self.cache_dir.clone())
            .with_endpoint(self.endpoint.clone())
            .with_token(self.token.clone())
            .with_progress(false)
            .with_retries(2)
            .build()
            .map_err(|e| Error::Invalid(format!("could not set up downloads ({e})")))?;
        let api = api.repo(Self::repo(repo, revision));
        let info = match api.info() {
            Ok(i) => i,
            Err(e) => {
                // No network: a complete cached copy still works.
                if let Ok(dir) = self.cached_complete(repo, revision) {
                    return Ok(dir);
                }
                return Err(Error::Invalid(format!(
                    "could not reach the model hub for \"{repo}\" ({e}). Check the name and your connection, or set HF_HUB_OFFLINE=1 to use models already downloaded"
                )));
            }
        };
        let names: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
        if !names.contains(&"config.json") {
            return Err(Error::Invalid(format!(
                "\"{repo}\" has no config.json: it is not a transformers model repository (for GGUF repositories, download the .gguf file and open it directly)"
            )));
        }
        let weights: Vec<&str> = if names.contains(&"model.safetensors.index.json") {
            let mut w = vec!["model.safetensors.index.json"];
            w.extend(
                names
                    .iter()
                    .filter(|n| n.starts_with("model-") && n.ends_with(".safetensors")),
            );
            w
        } else if names.contains(&"model.safetensors") {
            vec!["model.safetensors"]
        } else {
            return Err(Error::Invalid(format!(
                "\"{repo}\" has no safetensors weights (only .bin or other formats); pick a repository with model.safetensors"
            )));
        };
        let wanted: Vec<&str> = SMALL_FILES
            .iter()
            .copied()
            .filter(|f| names.contains(f))
            .chain(weights)
            .collect();
        let cache = Cache::new(self.cache_dir.clone()).repo(Self::repo(repo, revision));
        // Cached files count only while the revision still points at the same commit.
        let ref_file = self
            .cache_dir
            .join(format!("models--{}", repo.replace('/', "--")))
            .join("refs")
            .join(revision);
        let current = std::fs::read_to_string(ref_file).is_ok_and(|c| c.trim() == info.sha);
        let mut dir = None;
        for (i, f) in wanted.iter().enumerate() {
            job.check()?;
            if let Some(p) = cache.get(f).filter(|_| current) {
                dir = p.parent().map(Path::to_path_buf);
                continue;
            }
            let progress = Bytes {
                job: job.clone(),
                file: format!("{f} ({}/{})", i + 1, wanted.len()),
                done: 0,
                total: 0,
            };
            let path = api.download_with_progress(f, progress).map_err(|e| {
                Error::Invalid(format!(
                    "downloading {f} of \"{repo}\" failed ({e}); run the same command again to resume"
                ))
            })?;
            dir = path.parent().map(Path::to_path_buf);
        }
        dir.ok_or_else(|| Error::Invalid(format!("\"{repo}\" lists no files")))
    }

    fn cached_complete(&self, repo: &str, revision: &str) -> Result<PathBuf> {
        let dir = self.cached(repo, revision).ok_or_else(|| {
            Error::Invalid(format!(
                "\"{repo}\" is not in the model cache ({}) and downloads are off (HF_HUB_OFFLINE); connect once, or copy the model folder and open it directly",
                self.cache_dir.display()
            ))
        })?;
        let has_weights = dir.join("model.safetensors").exists() || dir.join("model.safetensors.index.json").exists();
        if !has_weights || !dir.join("tokenizer.json").exists() {
            return Err(Error::Invalid(format!(
                "the cached copy of \"{repo}\" in {} is incomplete (weights or tokenizer missing); connect to finish the download",
                dir.display()
            )));
        }
        Ok(dir)
    }
}

/// hf-hub's progress callbacks, reported as the job's "download" stage.
struct Bytes {
    job: Job,
    file: String,
    done: u64,
    total: u64,
}

impl hf_hub::api::Progress for Bytes {
    fn init(&mut self, size: usize, _filename: &str) {
        self.total = size as u64;
        self.done = 0;
    }
    fn update(&mut self, size: usize) {
        self.done += size as u64;
        self.job
            .report("download", self.done, Some(self.total), "bytes", self.file.clone());
    }
    fn finish(&mut self) {
        self.job
            .report("download", self.total, Some(self.total), "bytes", self.file.clone());
    }
}
