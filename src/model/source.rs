//! Where a model comes from (a GGUF file, a Hugging Face folder, a hub id),
//! how to load it, and a folder's chat template; [`super::Model::load`] loads
//! config, weights, tokenizer and template together.

use super::tokenizer::read_json;
use super::weights::QuantPolicy;
use crate::jobs::{Error, Result};
use candle_core::{DType, Device};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A model as a person names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSource {
    Gguf { path: PathBuf },
    Folder { path: PathBuf },
    Hub { repo: String, revision: String },
}

impl ModelSource {
    /// `file.gguf`, a folder, or `owner/name[@revision]` on the Hugging Face hub.
    pub fn parse(spec: &str) -> Result<Self> {
        let p = Path::new(spec);
        if p.is_file() {
            return if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
                Ok(ModelSource::Gguf { path: p.into() })
            } else if p.file_name().is_some_and(|n| n == "config.json") {
                Ok(ModelSource::Folder {
                    path: p.parent().unwrap_or(Path::new(".")).into(),
                })
            } else {
                Err(Error::Format {
                    path: p.into(),
                    detail: "not a model: give a .gguf file, a folder with config.json and *.safetensors, or a hub id such as HuggingFaceTB/SmolLM2-135M-Instruct".into(),
                })
            };
        }
        if p.is_dir() {
            return Ok(ModelSource::Folder { path: p.into() });
        }
        let (repo, rev) = spec.split_once('@').unwrap_or((spec, "main"));
        let looks_like_hub = repo.split('/').count() == 2
            && !spec.starts_with(['.', '/', '~'])
            && repo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if looks_like_hub && !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
            Ok(ModelSource::Hub {
                repo: repo.into(),
                revision: rev.into(),
            })
        } else {
            Err(Error::NotFound { path: p.into() })
        }
    }
}

/// Device and number format for a loaded model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    pub dtype: DType,
    pub policy: QuantPolicy,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            device: Device::Cpu,
            dtype: DType::F32,
            policy: QuantPolicy::Keep,
        }
    }
}

/// The chat template of a folder: `chat_template.jinja`, or the
/// `chat_template` field of `tokenizer_config.json` (a string, or a list of
/// named templates of which "default" is used).
pub fn folder_template(dir: &Path) -> Result<Option<String>> {
    let jinja = dir.join("chat_template.jinja");
    if jinja.exists() {
        return std::fs::read_to_string(&jinja)
            .map(Some)
            .map_err(|e| Error::io(&jinja, e));
    }
    let Some(cfg) = read_json(&dir.join("tokenizer_config.json"))? else {
        return Ok(None);
    };
    Ok(match cfg.get("chat_template") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .or_else(|| list.first())
            .and_then(|t| t.get("template"))
            .and_then(|t| t.as_str())
            .map(str::to_owned),
        _ => None,
    })
}
