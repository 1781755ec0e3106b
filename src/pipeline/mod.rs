//! One call per thing a person does, shared by the CLI and the app: each
//! takes its options and a [`Job`] (events, cancel) and returns a result
//! that serialises. The faces parse, call one of these, and present.
//!
//! - import and extract ([`import_all`], [`extract_files`]), a dataset
//!   ([`build_dataset`]), a persona in the library ([`persona::create_persona`]);
//! - training ([`train::train`], [`train::resume`], [`train::estimate`]);
//! - chat ([`chat::ChatSession`]); exports ([`export::merge`], [`export::ollama_folder`]);
//! - models ([`models::load_model`], [`models::devices`]);
//! - the app's review road: sources → cast → dataset → persona ([`review`]).

pub mod chat;
pub mod export;
pub mod models;
pub mod persona;
pub mod review;
pub mod runs;
pub mod train;
pub mod update;
pub use persona::{create_persona, persona_cards, CreatedPersona, PersonaCard, PersonaRequest};

use crate::dataset::{self, io::Format, DatasetOptions, HealthReport};
use crate::extract::{self, ExtractOptions, Extraction};
use crate::ingest::{self, Document, ImportSummary, IngestOptions};
use crate::jobs::{Error, Job, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Import several files as one source, in the order given.
pub fn import_all(files: &[PathBuf], opts: &IngestOptions, job: &Job) -> Result<(Vec<Document>, Vec<ImportSummary>)> {
    if files.is_empty() {
        return Err(Error::Invalid(
            "no files given. Name one or more book or script files.".into(),
        ));
    }
    let mut docs = Vec::new();
    let mut summaries = Vec::new();
    for f in files {
        job.check()?;
        let doc = ingest::import_file(f, opts, job)?;
        let bytes = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        summaries.push(doc.summary(bytes));
        docs.push(doc);
    }
    Ok((docs, summaries))
}

/// Where general samples come from when mixing.
#[derive(Debug, Clone)]
pub enum GeneralSet {
    Builtin,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct MixOptions {
    pub set: GeneralSet,
    pub ratio: f64,
}

impl MixOptions {
    /// Parse `builtin`, `builtin:0.2`, `general.json:0.3` or `general.json`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (set, ratio) = match spec.rsplit_once(':') {
            Some((a, r)) if r.parse::<f64>().is_ok() => (a, r.parse::<f64>().unwrap_or(0.2)),
            _ => (spec, 0.2),
        };
        if !(0.0..0.95).contains(&ratio) {
            return Err(Error::Invalid(format!(
                "the mix ratio {ratio} must be between 0 and 0.9 (0.2 means 20% general samples)"
            )));
        }
        let set = if set.is_empty() || set == "builtin" {
            GeneralSet::Builtin
        } else {
            GeneralSet::File(set.into())
        };
        Ok(MixOptions { set, ratio })
    }
}

/// What a dataset build produced.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetRun {
    pub character: String,
    pub layout: extract::Layout,
    pub format: Format,
    pub utterances: usize,
    pub character_lines: usize,
    pub system_prompt: String,
    pub report: HealthReport,
    pub files: dataset::io::Exported,
}

/// Extract a dataset for one character and write it into `out_dir`.
#[allow(clippy::too_many_arguments)]
pub fn build_dataset(
    script: &Extraction,
    opts: &DatasetOptions,
    format: Format,
    jsonl: bool,
    mix: Option<&MixOptions>,
    out_dir: &Path,
    job: &Job,
) -> Result<DatasetRun> {
    job.check()?;
    let mut data = dataset::build(script, opts)?;
    if let Some(m) = mix {
        let general = match &m.set {
            GeneralSet::Builtin => dataset::builtin_general(),
            GeneralSet::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                dataset::io::parse_samples(&text, p)?.0
            }
        };
        let n = dataset::mix(&mut data.samples, &general, m.ratio, opts.seed);
        // ShareGPT gets the same general samples as two-turn conversations.
        data.conversations.extend(
            data.samples
                .iter()
                .filter(|s| s.scene.is_none())
                .map(dataset::io::sample_to_conversation),
        );
        data.report.general_mixed = n;
        dataset::health::refresh(&mut data.report, &data.samples);
    }
    job.check()?;
    let name = crate::persona::slug(&opts.character);
    let files = dataset::io::export(out_dir, &name, format, jsonl, &data.samples, &data.conversations)?;
    let report_path = out_dir.join(format!("{name}_report.json"));
    let report_json = serde_json::to_string_pretty(&data.report).unwrap_or_default();
    crate::jobs::write_atomic(&report_path, report_json.as_bytes())?;
    let names: Vec<&str> = std::iter::once(opts.character.as_str())
        .chain(opts.aliases.iter().map(String::as_str))
        .collect();
    Ok(DatasetRun {
        character: opts.character.clone(),
        layout: script.layout,
        format,
        utterances: script.utterances.len(),
        character_lines: script
            .utterances
            .iter()
            .filter(|u| u.speaker.as_deref().is_some_and(|s| names.contains(&s)))
            .count(),
        system_prompt: data.system_prompt,
        report: data.report,
        files,
    })
}

/// Import and extract in one step.
pub fn extract_files(
    files: &[PathBuf],
    ingest_opts: &IngestOptions,
    extract_opts: &ExtractOptions,
    job: &Job,
) -> Result<(Extraction, Vec<ImportSummary>)> {
    let (docs, summaries) = import_all(files, ingest_opts, job)?;
    job.check()?;
    let script = extract::extract_in(&docs, extract_opts, job)?;
    job.report(
        "extract",
        docs.len() as u64,
        Some(docs.len() as u64),
        "files",
        format!("{} utterances", script.utterances.len()),
    );
    Ok((script, summaries))
}
