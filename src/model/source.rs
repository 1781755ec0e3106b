//! Where a model comes from (a GGUF file, a Hugging Face folder, a hub id)
//! and loading it: config, weights, tokenizer and chat template together.

use super::config::ModelConfig;
use super::tokenizer::read_json;
use super::transformer::Transformer;
use super::weights::{QuantPolicy, WeightFile};
use super::{Gguf, TextTokenizer};
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

/// `auto` (a GPU when Dramatis was built with one and it is present), `cpu`,
/// `cuda[:N]` or `metal`; with the number format that suits it.
pub fn pick_device(name: &str) -> Result<(Device, DType)> {
    let gpu_err = |what: &str, e: candle_core::Error| {
        Error::Invalid(format!(
            "{what} is not available ({e}); this build of Dramatis or this machine has no such GPU: choose the CPU instead"
        ))
    };
    match name {
        "auto" => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(0) {
                    return Ok((d, DType::BF16));
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok((d, DType::F16));
                }
            }
            Ok((Device::Cpu, DType::F32))
        }
        "cpu" => Ok((Device::Cpu, DType::F32)),
        "metal" => Device::new_metal(0)
            .map(|d| (d, DType::F16))
            .map_err(|e| gpu_err("Metal", e)),
        s if s.starts_with("cuda") => {
            let n = s.strip_prefix("cuda:").and_then(|n| n.parse().ok()).unwrap_or(0);
            Device::new_cuda(n)
                .map(|d| (d, DType::BF16))
                .map_err(|e| gpu_err("CUDA", e))
        }
        other => Err(Error::Invalid(format!(
            "unknown device \"{other}\": use auto, cpu, cuda, cuda:N or metal"
        ))),
    }
}

/// A model ready to run: the transformer, its tokenizer and chat template.
pub struct Model {
    pub source: ModelSource,
    pub net: Transformer,
    pub tokenizer: TextTokenizer,
    pub template: String,
}

/// ChatML, for models that carry no template of their own.
pub const CHATML: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

impl Model {
    pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<Model> {
        match source {
            ModelSource::Gguf { path } => Self::load_gguf(path, opts),
            ModelSource::Folder { path } => Self::load_folder(path, opts),
            ModelSource::Hub { repo, revision } => {
                let dir = super::hub::HubClient::from_env().snapshot(repo, revision, None)?;
                let mut m = Self::load_folder(&dir, opts)?;
                m.source = source.clone();
                Ok(m)
            }
        }
    }

    pub fn load_gguf(path: &Path, opts: &LoadOptions) -> Result<Model> {
        let meta = Gguf::open(path)?;
        let mut cfg = ModelConfig::from_gguf(&meta)?;
        let tokenizer = TextTokenizer::from_gguf(&meta)?;
        let template = meta
            .get("tokenizer.chat_template")
            .and_then(|v| v.as_str())
            .unwrap_or(CHATML)
            .to_owned();
        let mut file = WeightFile::gguf(path)?;
        if file.has("rope_freqs.weight") {
            let f = file.dense("rope_freqs.weight", &[cfg.head_dim / 2], DType::F32, &Device::Cpu)?;
            cfg.rope_scaling = Some(super::config::RopeScaling::Factors(f.to_vec1()?));
        }
        let net = Transformer::load(cfg, &mut file, opts.dtype, opts.policy, &opts.device)?;
        Ok(Model {
            source: ModelSource::Gguf { path: path.into() },
            net,
            tokenizer,
            template,
        })
    }

    pub fn load_folder(dir: &Path, opts: &LoadOptions) -> Result<Model> {
        let cfg_path = dir.join("config.json");
        if !cfg_path.exists() {
            return Err(Error::Format {
                path: dir.into(),
                detail: "no config.json here: this folder is not a Hugging Face model (download the whole model repository, or give a .gguf file)".into(),
            });
        }
        let cfg = ModelConfig::from_hf_json(&cfg_path)?;
        let tokenizer = TextTokenizer::from_folder(dir)?;
        let template = folder_template(dir)?.unwrap_or_else(|| CHATML.to_owned());
        let mut file = WeightFile::safetensors(dir)?;
        let net = Transformer::load(cfg, &mut file, opts.dtype, opts.policy, &opts.device)?;
        Ok(Model {
            source: ModelSource::Folder { path: dir.into() },
            net,
            tokenizer,
            template,
        })
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
