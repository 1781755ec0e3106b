//! Models: loading one as the user named it, the number formats they may
//! choose, and the devices this computer has.

use crate::jobs::LogLevel;
use crate::jobs::{Error, Job, Result};
use crate::model::{device_name, open_gpu, pick_device, LoadOptions, Model, ModelSource, QuantPolicy};
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
/// A GPU that cannot be used leaves the model on the CPU, and the job gets a
/// warning that says why.
pub fn load_model(spec: &str, device: &str, quantize: Option<&str>, job: &Job) -> Result<Model> {
    load_with_policy(spec, device, quant_policy(quantize)?, job)
}

/// [`load_model`] with the weights held as `policy` says.
pub fn load_with_policy(spec: &str, device: &str, policy: QuantPolicy, job: &Job) -> Result<Model> {
    let picked = pick_device(device)?;
    if let Some(why) = &picked.fallback {
        job.log(LogLevel::Warning, why.clone());
    }
    let source = ModelSource::parse(spec)?;
    let on_gpu = !picked.device.is_cpu();
    let opts = LoadOptions {
        device: picked.device,
        dtype: picked.dtype,
        policy,
    };
    let model = match Model::load(&source, &opts) {
        Err(Error::Gpu(why)) if on_gpu => {
            job.log(
                LogLevel::Warning,
                format!(
                    "The GPU could not hold the model ({why}), so Dramatis runs on the CPU instead; this is slower, and nothing is lost."
                ),
            );
            let cpu = LoadOptions {
                device: candle_core::Device::Cpu,
                dtype: candle_core::DType::F32,
                policy,
            };
            Model::load(&source, &cpu)?
        }
        loaded => loaded?,
    };
    job.log(
        LogLevel::Info,
        format!("The model runs on {}.", device_label(&model.net.device)),
    );
    Ok(model)
}

/// The device in plain words: "the CPU", "the GPU (cuda:0)".
pub fn device_label(device: &candle_core::Device) -> String {
    match device_name(device).as_str() {
        "cpu" => "the CPU".into(),
        name => format!("the GPU ({name})"),
    }
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
    /// Which kernels run the products ("f32: gemm AVX-512", …); CPU only.
    pub kernels: Vec<String>,
}

/// The devices this build can use on this computer; `auto` picks the first GPU.
pub fn devices() -> Vec<DeviceInfo> {
    let mut out = Vec::new();
    if open_gpu("cuda", 0).is_ok() {
        out.push(DeviceInfo {
            name: "cuda:0".into(),
            description: "NVIDIA GPU (CUDA)".into(),
            features: Vec::new(),
            chosen: true,
            kernels: Vec::new(),
        });
    }
    if open_gpu("metal", 0).is_ok() {
        out.push(DeviceInfo {
            name: "metal".into(),
            description: "Apple GPU (Metal)".into(),
            features: Vec::new(),
            chosen: out.is_empty(),
            kernels: Vec::new(),
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
        kernels: crate::model::cpu::kernels(),
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
    /// The model family ("llama", "qwen2", …; "" when unknown).
    pub architecture: String,
    /// How the weights are stored ("q4_1", "bf16", …; "" when unknown).
    pub quantization: String,
    /// "hub" (downloaded into the Hugging Face cache) or "added" (a file or
    /// folder named by the person).
    pub origin: String,
}

/// Family and number format of a model file or folder, read from its header
/// or `config.json` without loading the weights.
fn describe(path: &Path) -> Result<(String, String)> {
    if path.is_dir() {
        let cfg = path.join("config.json");
        let text = std::fs::read_to_string(&cfg).map_err(|_| Error::Format {
            path: path.into(),
            detail: "this folder has no config.json: choose the folder of a Hugging Face model (config.json, *.safetensors and tokenizer.json), or a .gguf file".into(),
        })?;
        let has_weights = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".safetensors"));
        if !has_weights {
            return Err(Error::Format {
                path: path.into(),
                detail: "this folder has no .safetensors weights beside config.json; download the whole model".into(),
            });
        }
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: cfg.clone(),
            detail: format!("config.json is not valid JSON ({e})"),
        })?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        return Ok((s("model_type"), s("torch_dtype")));
    }
    let g = crate::model::gguf::Gguf::open(path)?;
    let mut types: Vec<(usize, u32)> = Vec::new();
    for t in &g.tensors {
        match types.iter_mut().find(|x| x.1 == t.ggml_type) {
            Some(x) => x.0 += 1,
            None => types.push((1, t.ggml_type)),
        }
    }
    let main = types.iter().max_by_key(|x| x.0).map(|x| x.1);
    Ok((
        g.architecture().unwrap_or("").to_owned(),
        main.map(|t| crate::model::gguf::type_name(t).to_lowercase())
            .unwrap_or_default(),
    ))
}

/// Add a model file (.gguf) or a Hugging Face model folder to the library,
/// after checking that it is one; adding it again returns the same entry.
pub fn add_local(lib: &mut crate::store::Library, path: &Path) -> Result<LocalModel> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if !path.exists() {
        return Err(Error::NotFound { path });
    }
    if path.is_file() && !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
        return Err(Error::Format {
            path,
            detail: "Dramatis runs .gguf model files and Hugging Face model folders; choose one of those".into(),
        });
    }
    let (architecture, quantization) = describe(&path)?;
    let reference = path.display().to_string();
    let model = LocalModel {
        kind: if path.is_dir() { "folder" } else { "gguf" }.into(),
        size_bytes: size_of(&path),
        reference: reference.clone(),
        architecture,
        quantization,
        origin: "added".into(),
        path,
    };
    if !lib.models()?.iter().any(|m| m.reference == reference) {
        lib.add_model(&crate::store::ModelRecord {
            id: 0,
            kind: model.kind.clone(),
            reference,
            architecture: model.architecture.clone(),
            size_bytes: model.size_bytes as i64,
            quantization: model.quantization.clone(),
        })?;
    }
    Ok(model)
}

/// A small chat model worth downloading for a persona.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendedModel {
    pub id: &'static str,
    pub name: &'static str,
    pub parameters: &'static str,
    pub download_bytes: u64,
    /// Memory to train a LoRA with the Balanced preset (approximate, MiB).
    pub train_memory_mib: u64,
    /// "en", "zh" or "both".
    pub languages: &'static str,
    pub note: &'static str,
    /// Already in the Hugging Face cache.
    pub local: bool,
}

const fn rec(
    id: &'static str,
    name: &'static str,
    parameters: &'static str,
    download_mb: u64,
    train_memory_mib: u64,
    languages: &'static str,
    note: &'static str,
) -> RecommendedModel {
    RecommendedModel {
        id,
        name,
        parameters,
        download_bytes: download_mb * 1_000_000,
        train_memory_mib,
        languages,
        note,
        local: false,
    }
}

/// The short list the app offers, smallest first. Sizes are the hub's bf16
/// safetensors; memory is f32 weights plus LoRA training at 4 × 256.
pub const RECOMMENDED: [RecommendedModel; 5] = [
    rec(
        "HuggingFaceTB/SmolLM2-360M-Instruct",
        "SmolLM2 360M Instruct",
        "360M",
        724,
        4_000,
        "en",
        "Small and quick: a good first persona from an English book on any laptop.",
    ),
    rec(
        "Qwen/Qwen2.5-0.5B-Instruct",
        "Qwen2.5 0.5B Instruct",
        "0.5B",
        988,
        5_500,
        "both",
        "The smallest model that writes good Chinese; fine for English too.",
    ),
    rec(
        "meta-llama/Llama-3.2-1B-Instruct",
        "Llama 3.2 1B Instruct",
        "1.2B",
        2_470,
        9_000,
        "en",
        "A fuller English voice; needs a computer with 16 GB of memory to train.",
    ),
    rec(
        "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen2.5 1.5B Instruct",
        "1.5B",
        3_090,
        12_000,
        "both",
        "The best Chinese voice in this list; needs 16 GB or more to train.",
    ),
    rec(
        "HuggingFaceTB/SmolLM2-1.7B-Instruct",
        "SmolLM2 1.7B Instruct",
        "1.7B",
        3_420,
        13_000,
        "en",
        "The richest English voice here; slow to train without a GPU.",
    ),
];

/// [`RECOMMENDED`], each marked when it is already on this computer.
pub fn recommended(local: &[LocalModel]) -> Vec<RecommendedModel> {
    RECOMMENDED
        .iter()
        .map(|r| RecommendedModel {
            local: local.iter().any(|m| m.kind == "hub" && m.reference == r.id),
            ..r.clone()
        })
        .collect()
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
                let (architecture, quantization) = describe(&snap).unwrap_or_default();
                out.push(LocalModel {
                    reference: id,
                    kind: "hub".into(),
                    size_bytes: size_of(&repo.join("blobs")),
                    path: snap,
                    architecture,
                    quantization,
                    origin: "hub".into(),
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
                    architecture: m.architecture,
                    quantization: m.quantization,
                    origin: "added".into(),
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
