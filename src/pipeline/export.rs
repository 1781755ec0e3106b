//! Exports of a trained persona for other tools: the adapter merged into the
//! weights (a Hugging Face folder or a GGUF file), and an Ollama folder.

use crate::jobs::{write_atomic, Error, Job, Result};
use crate::model::{export, Model};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A base model and an adapter to merge into it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeRequest {
    pub model: String,
    pub adapter: PathBuf,
    /// A folder (Hugging Face layout) or a file ending in `.gguf`.
    pub out: PathBuf,
    /// GGUF number format: "f16", "q8_0" or "f32".
    pub gguf_type: String,
}

fn gguf_type(name: &str) -> Result<candle_core::quantized::GgmlDType> {
    super::models::number_format("the GGUF number format", name, &["f16", "q8_0", "f32"])
}

fn model_with_adapter(spec: &str, adapter: &Path, job: &Job) -> Result<Model> {
    job.report("export", 0, Some(3), "steps", "loading the model");
    // Dense weights: merging needs them, and it avoids a second rounding.
    let mut m = super::models::load_model(spec, "cpu", None)?;
    job.check()?;
    crate::model::adapter::load_peft(adapter, &mut m.net)?;
    Ok(m)
}

/// Merge the adapter into the base weights and write them.
pub fn merge(req: &MergeRequest, job: &Job) -> Result<PathBuf> {
    let ty = gguf_type(&req.gguf_type)?;
    let m = model_with_adapter(&req.model, &req.adapter, job)?;
    job.report("export", 1, Some(3), "steps", "writing the merged weights");
    if req.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
        export::write_gguf(&m, &req.out, ty)?;
    } else {
        export::write_hf_folder(&m, &req.out)?;
    }
    job.report("export", 3, Some(3), "steps", "done");
    Ok(req.out.clone())
}

/// Everything Ollama and llama.cpp need in one folder: the merged GGUF
/// (`model.gguf`), a `Modelfile` with the chat template, stops and the
/// persona's system prompt, and the adapter in PEFT layout (`adapter/`).
pub fn ollama_folder(req: &MergeRequest, system: Option<&str>, job: &Job) -> Result<PathBuf> {
    let ty = gguf_type(&req.gguf_type)?;
    let m = model_with_adapter(&req.model, &req.adapter, job)?;
    let out = &req.out;
    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    job.report("export", 1, Some(3), "steps", "writing model.gguf");
    export::write_gguf(&m, &out.join("model.gguf"), ty)?;
    job.check()?;
    job.report("export", 2, Some(3), "steps", "writing the Modelfile and the adapter");
    let mf = export::ollama_modelfile(&m, "./model.gguf", system);
    write_atomic(&out.join("Modelfile"), mf.as_bytes())?;
    let peft = out.join("adapter");
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        let src = req.adapter.join(f);
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        write_atomic(&peft.join(f), &bytes)?;
    }
    job.report("export", 3, Some(3), "steps", "done");
    Ok(out.clone())
}
