//! Models: loading one as the user named it, the number formats they may
//! choose, and the devices this computer has.

use crate::jobs::{Error, Job, Result};
use crate::model::{pick_device, LoadOptions, Model, ModelSource, QuantPolicy};
use candle_core::quantized::GgmlDType;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A number format by its usual name, one of `allowed` (for `what`, e.g. "the
/// quantization").
pub fn number_format(what: &str, name: &str, allowed: &[&str]) -> Result<GgmlDType> {
    let name = name.to_ascii_lowercase();
    let t = match name.as_str() {
        "f32" => GgmlDType::F32,
        "f16" => GgmlDType::F16,
        "q8_0" => GgmlDType::Q8_0,
        "q4_0" => GgmlDType::Q4_0,
        _ => GgmlDType::BF16, // never allowed below
    };
    if allowed.contains(&name.as_str()) {
        Ok(t)
    } else {
        Err(Error::Invalid(format!(
            "{what} \"{name}\": choose {}",
            allowed.join(", ")
        )))
    }
}

/// How the frozen base is held while training: dense, or quantized (QLoRA).
pub fn quant_policy(quantize: Option<&str>) -> Result<QuantPolicy> {
    Ok(match quantize {
        None => QuantPolicy::Dense,
        Some(q) => QuantPolicy::To(number_format("the base quantization", q, &["q8_0", "q4_0"])?),
    })
}

/// Load a model named as the user names it (a .gguf file, a Hugging Face
/// folder or a hub id) on a device (`auto`, `cpu`, `cuda[:N]`, `metal`).
pub fn load_model(spec: &str, device: &str, quantize: Option<&str>) -> Result<Model> {
    load_with_policy(spec, device, quant_policy(quantize)?)
}

/// [`load_model`] with the weights held as `policy` says.
pub fn load_with_policy(spec: &str, device: &str, policy: QuantPolicy) -> Result<Model> {
    let (device, dtype) = pick_device(device)?;
    let opts = LoadOptions { device, dtype, policy };
    Model::load(&ModelSource::parse(spec)?, &opts)
}

/// One device Dramatis can run on.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// "cpu", "cuda:0", "metal".
    pub name: String,
    /// In plain words: the CPU model, or the GPU.
    pub description: String,
    /// CPU instruction sets the kernels use (avx2, fma, avx512f, neon…).
    pub features: Vec<String>,
    /// Whether `auto` picks it.
    pub chosen: bool,
}

/// The devices this build can use on this computer; `auto` picks the first GPU.
pub fn devices() -> Vec<DeviceInfo> {
    let mut out = Vec::new();
    if candle_core::utils::cuda_is_available() && candle_core::Device::new_cuda(0).is_ok() {
        out.push(DeviceInfo {
            name: "cuda:0".into(),
            description: "NVIDIA GPU (CUDA)".into(),
            features: Vec::new(),
            chosen: true,
        });
    }
    if candle_core::utils::metal_is_available() && candle_core::Device::new_metal(0).is_ok() {
        out.push(DeviceInfo {
            name: "metal".into(),
            description: "Apple GPU (Metal)".into(),
            features: Vec::new(),
            chosen: out.is_empty(),
        });
    }
    out.push(DeviceInfo {
        name: "cpu".into(),
        description: format!(
            "{} ({} threads)",
            cpu_model(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        features: cpu_features(),
        chosen: out.is_empty(),
    });
    out
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

fn cpu_features() -> Vec<String> {
    #[allow(unused_mut)]
    let mut f: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, on) in [
            ("avx2", std::is_x86_feature_detected!("avx2")),
            ("fma", std::is_x86_feature_detected!("fma")),
            ("f16c", std::is_x86_feature_detected!("f16c")),
            ("avx512f", std::is_x86_feature_detected!("avx512f")),
            ("avx512vnni", std::is_x86_feature_detected!("avx512vnni")),
        ] {
            if on {
                f.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            f.push("neon");
        }
    }
    f.into_iter().map(String::from).collect()
}

/// A model on this computer.
#[derive(Debug, Clone, Serialize)]
pub struct LocalModel {
    /// How to name it to Dramatis: a hub id (`owner/name`) or a path.
    pub reference: String,
    /// "hub" (in the Hugging Face cache), "folder" or "gguf".
    pub kind: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| size_of(&e.path())).sum())
            .unwrap_or(0),
        _ => 0,
    }
}

/// The models in the Hugging Face cache that are complete enough to load
/// (a snapshot with `config.json`), and the library's models that are files
/// or folders still on disk.
pub fn local_models(hub_cache: &Path, library: Option<&crate::store::Library>) -> Result<Vec<LocalModel>> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(hub_cache) {
        let mut repos: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        repos.sort();
        for repo in repos {
            let name = repo
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(id) = name.strip_prefix("models--") else {
                continue;
            };
            let id = id.replacen("--", "/", 1);
            let snapshots = std::fs::read_dir(repo.join("snapshots"))
                .into_iter()
                .flatten()
                .flatten();
            if let Some(snap) = snapshots.map(|e| e.path()).find(|p| p.join("config.json").is_file()) {
                out.push(LocalModel {
                    reference: id,
                    kind: "hub".into(),
                    size_bytes: size_of(&repo.join("blobs")),
                    path: snap,
                });
            }
        }
    }
    if let Some(lib) = library {
        for m in lib.models()? {
            let p = PathBuf::from(&m.reference);
            let known = out.iter().any(|o| o.reference == m.reference || o.path == p);
            if !known && p.exists() {
                out.push(LocalModel {
                    kind: if p.is_dir() { "folder" } else { "gguf" }.into(),
                    size_bytes: size_of(&p),
                    reference: m.reference,
                    path: p,
                });
            }
        }
    }
    Ok(out)
}

/// Download `owner/name[@revision]` into the Hugging Face cache (resuming
/// partial files), with progress in bytes through the job; returns the
/// snapshot folder. A cancel takes effect between files.
pub fn download(id: &str, job: &Job) -> Result<PathBuf> {
    match ModelSource::parse(id) {
        Ok(ModelSource::Hub { repo, revision }) => {
            crate::model::hub::HubClient::from_env().snapshot(&repo, &revision, Some(job))
        }
        _ => Err(Error::Invalid(format!(
            "\"{id}\" is not a Hugging Face model id; write it as owner/name, e.g. HuggingFaceTB/SmolLM2-360M-Instruct"
        ))),
    }
}
