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
    let mut m = super::models::load_model(spec, "cpu", None, job)?;
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

/// What to export of a persona.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PersonaExport {
    /// A persona pack (.zip): everything needed to bring it to another library.
    Pack,
    /// A character card (.png with the card inside, or .json).
    Card,
    /// The LoRA adapter in PEFT layout (a folder).
    Adapter,
    /// The adapter merged into the base weights, as a Hugging Face folder.
    MergedHf,
    /// The same as one GGUF file (q8_0).
    MergedGguf,
    /// A folder for Ollama and llama.cpp.
    Ollama,
    /// The dataset with a LLaMA-Factory LoRA config (a folder).
    Llamafactory,
}

/// Export a persona from the library at `library` to `out`; `adapter`
/// (one of the persona's) defaults to its active one. Returns the files or
/// folders written.
pub fn export_persona(
    library: &Path,
    persona: i64,
    kind: PersonaExport,
    out: &Path,
    adapter: Option<i64>,
    job: &Job,
) -> Result<Vec<PathBuf>> {
    use crate::store::Library;
    let lib = Library::open(library)?;
    let p = lib.persona(persona)?;
    let adapters = super::runs::adapters_of(&lib, persona)?;
    let chosen = match adapter {
        Some(id) => Some(super::runs::adapter_of(&lib, persona, id)?),
        None => adapters.iter().find(|a| a.active).cloned(),
    };
    let need_adapter = || {
        chosen.clone().ok_or_else(|| {
            Error::Invalid("this persona has no trained adapter yet. Train it first, then export.".into())
        })
    };
    let base = |a: &super::runs::AdapterView| {
        if a.model.is_empty() {
            Err(Error::Invalid(
                "this adapter was imported without its base model, so it cannot be merged here".into(),
            ))
        } else {
            Ok(a.model.clone())
        }
    };
    job.report("export", 0, None, "steps", format!("exporting {}", p.persona.name));
    match kind {
        PersonaExport::Pack => {
            let opts = crate::store::pack::PackOptions {
                conversations: true,
                base_model: chosen.as_ref().map(|a| a.model.clone()).filter(|m| !m.is_empty()),
            };
            lib.export_pack(persona, out, &opts)?;
            Ok(vec![out.to_owned()])
        }
        PersonaExport::Card => {
            let base_model = chosen.as_ref().map(|a| a.model.as_str()).filter(|m| !m.is_empty());
            lib.export_card(persona, out, base_model, chosen.as_ref().map(|a| a.path.as_str()))?;
            Ok(vec![out.to_owned()])
        }
        PersonaExport::Adapter => {
            let a = need_adapter()?;
            std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
            let mut written = Vec::new();
            for f in ["adapter_config.json", "adapter_model.safetensors"] {
                let from = Path::new(&a.path).join(f);
                let bytes = std::fs::read(&from).map_err(|e| Error::io(&from, e))?;
                write_atomic(&out.join(f), &bytes)?;
                written.push(out.join(f));
            }
            Ok(written)
        }
        PersonaExport::MergedHf | PersonaExport::MergedGguf | PersonaExport::Ollama => {
            let a = need_adapter()?;
            let req = MergeRequest {
                model: base(&a)?,
                adapter: a.path.clone().into(),
                out: out.to_owned(),
                gguf_type: "q8_0".into(),
            };
            let mut req = req;
            if kind == PersonaExport::MergedGguf && !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
                req.out = out.with_extension("gguf");
            }
            let written = if kind == PersonaExport::Ollama {
                let system = Some(p.persona.system_prompt.as_str()).filter(|s| !s.trim().is_empty());
                ollama_folder(&req, system, job)?
            } else {
                merge(&req, job)?
            };
            Ok(vec![written])
        }
        PersonaExport::Llamafactory => {
            let d = lib
                .datasets()?
                .into_iter()
                .filter(|d| d.persona_id == Some(persona))
                .max_by_key(|d| d.id)
                .ok_or_else(|| Error::Invalid("this persona has no dataset to export".into()))?;
            let ds = super::review::ReviewDataset::open(&lib, d.id)?;
            super::review::export_dataset(&ds, super::review::ExportFormat::Llamafactory, out)
        }
    }
}
