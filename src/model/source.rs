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

/// The device a job runs on, with the reason when it is not the one asked for.
#[derive(Debug, Clone)]
pub struct PickedDevice {
    pub device: Device,
    pub dtype: DType,
    /// Set when a GPU was asked for (or found) but could not be used, so the
    /// job runs on the CPU instead: what to tell the person, in plain words.
    pub fallback: Option<String>,
}

/// "cpu", "cuda:N" or "metal": how a person names the device.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { .. } => "metal".into(),
    }
}

/// Whether this build of Dramatis was made with a GPU back end.
pub fn gpu_compiled(kind: &str) -> bool {
    match kind {
        "metal" => cfg!(feature = "metal"),
        _ => cfg!(feature = "cuda"),
    }
}

/// Open GPU `n` of `kind` ("cuda" or "metal"); why not, in plain words. A
/// driver that is missing can make the GPU library panic: that is caught.
pub fn open_gpu(kind: &str, n: usize) -> std::result::Result<Device, String> {
    let what = if kind == "metal" { "Metal" } else { "CUDA" };
    if !gpu_compiled(kind) {
        return Err(format!("this build of Dramatis has no {what} support"));
    }
    let made = std::panic::catch_unwind(|| {
        if kind == "metal" {
            Device::new_metal(n)
        } else {
            Device::new_cuda(n)
        }
    });
    match made {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(e.to_string().lines().next().unwrap_or("").trim().to_owned()),
        Err(_) => Err(format!("the {what} driver could not be loaded (missing or too old)")),
    }
}

/// `auto` (a GPU when Dramatis was built with one and it works), `cpu`,
/// `cuda[:N]` or `metal`, with the number format that suits it. A GPU that
/// is missing or fails to start is never an error: the job runs on the CPU and
/// [`PickedDevice::fallback`] says why.
pub fn pick_device(name: &str) -> Result<PickedDevice> {
    let cpu = |fallback: Option<String>| PickedDevice {
        device: Device::Cpu,
        dtype: DType::F32,
        fallback,
    };
    let gpu = |device: Device| {
        let dtype = if device.is_metal() { DType::F16 } else { DType::BF16 };
        PickedDevice {
            device,
            dtype,
            fallback: None,
        }
    };
    let instead = |what: &str, why: String| {
        Some(format!(
            "The {what} could not be used ({why}), so Dramatis runs on the CPU instead; this is slower, and nothing is lost."
        ))
    };
    match name {
        "auto" => {
            let mut why = None;
            for kind in ["cuda", "metal"].into_iter().filter(|k| gpu_compiled(k)) {
                match open_gpu(kind, 0) {
                    Ok(d) => return Ok(gpu(d)),
                    Err(e) => why = instead("GPU", e),
                }
            }
            Ok(cpu(why))
        }
        "cpu" => Ok(cpu(None)),
        "metal" => Ok(open_gpu("metal", 0).map_or_else(|e| cpu(instead("Apple GPU (Metal)", e)), gpu)),
        s if s == "cuda" || s.starts_with("cuda:") => {
            let n = match s.strip_prefix("cuda:") {
                None => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| Error::Invalid(format!("unknown device \"{s}\": use cuda:0, cuda:1, …")))?,
            };
            Ok(open_gpu("cuda", n).map_or_else(|e| cpu(instead(&format!("NVIDIA GPU ({s})"), e)), gpu))
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

#[cfg(test)]
mod device_tests {
    use super::*;

    #[test]
    fn a_gpu_that_cannot_be_used_falls_back_to_the_cpu_with_a_reason() {
        for (asked, what) in [
            ("cuda", "NVIDIA GPU (cuda)"),
            ("cuda:1", "NVIDIA GPU (cuda:1)"),
            ("metal", "Apple GPU (Metal)"),
        ] {
            let kind = if asked == "metal" { "metal" } else { "cuda" };
            let n = if asked == "cuda:1" { 1 } else { 0 };
            if open_gpu(kind, n).is_ok() {
                continue; // this machine has that GPU
            }
            let p = pick_device(asked).unwrap();
            assert!(p.device.is_cpu(), "{asked}");
            assert_eq!(p.dtype, DType::F32);
            let why = p.fallback.unwrap_or_default();
            assert!(why.starts_with(&format!("The {what} could not be used (")), "{why}");
            assert!(why.contains("runs on the CPU instead"), "{why}");
        }
        let cpu = pick_device("cpu").unwrap();
        assert!(cpu.device.is_cpu() && cpu.fallback.is_none());
        for bad in ["cuda:x", "gpu", "tpu"] {
            assert!(pick_device(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_is_quiet_in_a_build_without_a_gpu() {
        if gpu_compiled("cuda") || gpu_compiled("metal") {
            return;
        }
        let p = pick_device("auto").unwrap();
        assert!(p.device.is_cpu() && p.fallback.is_none());
        assert_eq!(
            open_gpu("cuda", 0).unwrap_err(),
            "this build of Dramatis has no CUDA support"
        );
        assert_eq!(device_name(&p.device), "cpu");
    }
}
