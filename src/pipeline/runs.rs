//! A persona's training as the app shows it: what it would train on, the
//! presets, its runs with their curves, its adapters (one active), training
//! on its library dataset, pausing and resuming, and the comparison of the
//! base model with an adapter on the persona's held-out lines.

use super::train::{self, LibraryTarget, TrainRequest, TrainSettings};
use crate::dataset::{self, Sample, Split};
use crate::jobs::{Error, Job, Result};
use crate::store::{Library, TrainingRun};
use crate::tune::eval::{EvalOptions, EvalReport};
use crate::tune::{Preset, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A preset as the app offers it.
#[derive(Debug, Clone, Serialize)]
pub struct PresetInfo {
    pub preset: Preset,
    pub label: String,
    pub description: String,
    pub config: TrainConfig,
}

pub fn presets() -> Vec<PresetInfo> {
    Preset::ALL
        .iter()
        .map(|&p| PresetInfo {
            preset: p,
            label: p.label().into(),
            description: p.describe().into(),
            config: p.config(),
        })
        .collect()
}

/// One point of a loss curve.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub loss: f64,
}

/// A training run of a persona.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: i64,
    pub status: String,
    pub model: String,
    pub config: Option<TrainConfig>,
    pub train_curve: Vec<CurvePoint>,
    pub val_curve: Vec<CurvePoint>,
    pub best_step: Option<usize>,
    /// The trainer's summary, when the run finished.
    pub summary: Option<serde_json::Value>,
    /// The error, when it failed.
    pub error: Option<serde_json::Value>,
    pub adapter_id: Option<i64>,
    pub active: bool,
    /// Paused or interrupted: it can go on from its last checkpoint.
    pub resumable: bool,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// An adapter of a persona.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterView {
    pub id: i64,
    pub run_id: Option<i64>,
    pub path: String,
    /// The base model it was trained on ("" when imported from elsewhere).
    pub model: String,
    pub label: String,
    pub active: bool,
    pub created_at: i64,
}

/// Everything the training page of a persona shows.
#[derive(Debug, Clone, Serialize)]
pub struct TrainPage {
    pub persona: i64,
    pub name: String,
    pub dataset_id: Option<i64>,
    pub samples: usize,
    pub presets: Vec<PresetInfo>,
    pub runs: Vec<RunView>,
    pub adapters: Vec<AdapterView>,
    pub last_model: Option<String>,
}

/// A run left running when the app closed or crashed.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedRun {
    pub persona: i64,
    pub persona_name: String,
    pub run: RunView,
}

/// The training and validation curves in a run folder's `metrics.jsonl`,
/// and the best validation step.
pub fn read_curves(folder: &Path) -> (Vec<CurvePoint>, Vec<CurvePoint>, Option<usize>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    let mut best: Option<(f64, usize)> = None;
    let text = std::fs::read_to_string(folder.join("metrics.jsonl")).unwrap_or_default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v["step"].as_u64().unwrap_or(0) as usize;
        match v["type"].as_str() {
            // A resumed run writes the steps after its checkpoint again.
            Some("step") => {
                if let Some(loss) = v["loss"].as_f64() {
                    train.retain(|p: &CurvePoint| p.step < step);
                    train.push(CurvePoint { step, loss });
                }
            }
            Some("eval") => {
                if let Some(loss) = v["val_loss"].as_f64() {
                    val.retain(|p: &CurvePoint| p.step < step);
                    val.push(CurvePoint { step, loss });
                    if best.is_none_or(|(b, _)| loss < b) {
                        best = Some((loss, step));
                    }
                }
            }
            _ => {}
        }
    }
    (train, val, best.map(|b| b.1))
}

fn model_names(lib: &Library) -> Result<std::collections::HashMap<i64, String>> {
    Ok(lib.models()?.into_iter().map(|m| (m.id, m.reference)).collect())
}

fn run_view(run: &TrainingRun, models: &std::collections::HashMap<i64, String>, adapters: &[AdapterView]) -> RunView {
    let (train_curve, val_curve, best_step) = run
        .folder
        .as_deref()
        .map(|f| read_curves(Path::new(f)))
        .unwrap_or_default();
    let metrics: serde_json::Value = serde_json::from_str(&run.metrics).unwrap_or_default();
    let adapter = adapters.iter().find(|a| a.run_id == Some(run.id));
    RunView {
        id: run.id,
        status: run.status.clone(),
        model: run.model_id.and_then(|m| models.get(&m).cloned()).unwrap_or_default(),
        config: serde_json::from_str(&run.params).ok(),
        train_curve,
        val_curve,
        best_step,
        summary: (run.status == "finished").then(|| metrics.clone()),
        error: metrics.get("error").cloned(),
        adapter_id: adapter.map(|a| a.id),
        active: adapter.is_some_and(|a| a.active),
        resumable: matches!(run.status.as_str(), "paused" | "interrupted") && run.folder.is_some(),
        started_at: run.started_at,
        finished_at: run.finished_at,
    }
}

/// A persona's adapters, newest first, with the base model each was trained on.
pub fn adapters_of(lib: &Library, persona: i64) -> Result<Vec<AdapterView>> {
    let active = lib.active_adapter(persona)?;
    let models = model_names(lib)?;
    let runs = lib.runs()?;
    let mut list: Vec<AdapterView> = lib
        .adapters()?
        .into_iter()
        .filter(|a| a.persona_id == Some(persona))
        .map(|a| {
            let run = a.run_id.and_then(|r| runs.iter().find(|x| x.id == r));
            let model = run
                .and_then(|r| r.model_id)
                .and_then(|m| models.get(&m).cloned())
                .unwrap_or_default();
            let label = match run {
                Some(r) => format!("Run #{} · {}", r.id, short_model(&model)),
                None => format!("Imported adapter #{}", a.id),
            };
            AdapterView {
                id: a.id,
                run_id: a.run_id,
                created_at: a.created_at,
                path: a.path,
                model,
                label,
                active: false,
            }
        })
        .collect();
    list.reverse();
    // The active adapter: the chosen one, else the newest.
    let chosen = active.filter(|id| list.iter().any(|a| a.id == *id));
    if let Some(a) = list.iter_mut().find(|a| chosen.is_none_or(|id| a.id == id)) {
        a.active = true;
    }
    Ok(list)
}

fn short_model(reference: &str) -> &str {
    reference.rsplit(['/', '\\']).next().unwrap_or(reference)
}

/// The persona's newest dataset.
fn persona_dataset(lib: &Library, persona: i64) -> Result<Option<crate::store::DatasetRecord>> {
    Ok(lib
        .datasets()?
        .into_iter()
        .filter(|d| d.persona_id == Some(persona))
        .max_by_key(|d| d.id))
}

/// The training page of a persona.
pub fn train_page(lib: &Library, persona: i64) -> Result<TrainPage> {
    let p = lib.persona(persona)?;
    let dataset = persona_dataset(lib, persona)?;
    let adapters = adapters_of(lib, persona)?;
    let models = model_names(lib)?;
    let mut runs: Vec<RunView> = lib
        .runs()?
        .iter()
        .filter(|r| r.persona_id == Some(persona))
        .map(|r| run_view(r, &models, &adapters))
        .collect();
    runs.reverse();
    let last_model = runs.iter().map(|r| r.model.clone()).find(|m| !m.is_empty());
    Ok(TrainPage {
        persona,
        name: p.persona.name,
        dataset_id: dataset.as_ref().map(|d| d.id),
        samples: dataset.map(|d| d.enabled_rows.max(0) as usize).unwrap_or(0),
        presets: presets(),
        runs,
        adapters,
        last_model,
    })
}

/// Runs of every persona left running by a closed or crashed app.
pub fn interrupted_runs(lib: &Library) -> Result<Vec<InterruptedRun>> {
    let models = model_names(lib)?;
    let mut out = Vec::new();
    for r in lib.interrupted_runs()? {
        let Some(persona) = r.persona_id else { continue };
        let Ok(p) = lib.persona(persona) else { continue };
        out.push(InterruptedRun {
            persona,
            persona_name: p.persona.name,
            run: run_view(&r, &models, &adapters_of(lib, persona)?),
        });
    }
    Ok(out)
}

/// Train a persona on its library dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonaTrainRequest {
    pub persona: i64,
    /// The base model: a .gguf file, a Hugging Face folder or a hub id.
    pub model: String,
    pub preset: Preset,
    #[serde(default)]
    pub settings: TrainSettings,
    #[serde(default = "auto")]
    pub device: String,
}

fn auto() -> String {
    "auto".into()
}

/// The persona's enabled rows with its share of general samples, written as
/// `<name>_train.json` / `<name>_val.json` in `dir`; returns the train file.
fn write_training_files(lib: &Library, persona: i64, dir: &Path) -> Result<PathBuf> {
    let d = persona_dataset(lib, persona)?.ok_or_else(|| {
        Error::Invalid("this persona has no dataset to train on. Build one from a book or script first.".into())
    })?;
    let mut samples = lib.dataset_samples(d.id)?;
    if samples.is_empty() {
        return Err(Error::Invalid(
            "every row of this persona's dataset is disabled. Enable some rows in the dataset review first.".into(),
        ));
    }
    dataset::mix(&mut samples, &dataset::builtin_general(), d.mix_ratio, 0);
    let exported = dataset::io::export(dir, "persona", dataset::io::Format::Alpaca, false, &samples, &[])?;
    Ok(exported.train)
}

/// Train a new adapter for a persona on its dataset; the run, its model and
/// the adapter are recorded in the library and the adapter becomes the
/// persona's active one.
pub fn train_persona(library: &Path, req: &PersonaTrainRequest, job: &Job) -> Result<RunView> {
    let (out, dataset) = {
        let lib = Library::open(library)?;
        lib.persona(req.persona)?;
        let out = lib.new_files_folder("run")?;
        match write_training_files(&lib, req.persona, &out.join("data")) {
            Ok(d) => (out, d),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&out);
                return Err(e);
            }
        }
    };
    let request = TrainRequest {
        model: req.model.clone(),
        dataset,
        val: None,
        out: out.clone(),
        preset: req.preset,
        settings: req.settings.clone(),
        quantize: None,
        device: req.device.clone(),
        record: Some(LibraryTarget {
            library: library.to_owned(),
            persona: Some(req.persona),
        }),
    };
    let outcome = train::train(&request, job);
    finish(library, req.persona, outcome.map(|o| o.run_id))
}

/// Continue a paused or interrupted run from its last checkpoint.
pub fn resume_run(library: &Path, run: i64, job: &Job) -> Result<RunView> {
    let (folder, persona) = {
        let lib = Library::open(library)?;
        let r = lib
            .runs()?
            .into_iter()
            .find(|r| r.id == run)
            .ok_or_else(|| Error::Invalid(format!("there is no training run {run}")))?;
        if !matches!(r.status.as_str(), "paused" | "interrupted") {
            return Err(Error::Invalid(format!(
                "training run #{run} is {}; only a paused or interrupted run can go on",
                r.status
            )));
        }
        let folder = r.folder.map(PathBuf::from).ok_or_else(|| {
            Error::Invalid(format!(
                "training run #{run} has no folder to resume from; start a new run"
            ))
        })?;
        (folder, r.persona_id)
    };
    let target = LibraryTarget {
        library: library.to_owned(),
        persona,
    };
    let outcome = train::resume(&folder, Some(&target), job);
    let persona = persona.ok_or_else(|| Error::Invalid("this run belongs to no persona".into()))?;
    finish(library, persona, outcome.map(|o| o.run_id))
}

/// After a run: make its adapter the active one, or mark a paused run.
fn finish(library: &Path, persona: i64, outcome: Result<Option<i64>>) -> Result<RunView> {
    let mut lib = Library::open(library)?;
    let run = match outcome {
        Ok(Some(run)) => run,
        Ok(None) => return Err(Error::Invalid("the run was not recorded in the library".into())),
        Err(e) => return Err(e),
    };
    let adapter = lib.adapters()?.into_iter().rfind(|a| a.run_id == Some(run));
    if let Some(a) = adapter {
        lib.set_active_adapter(persona, Some(a.id))?;
    }
    run_of(&lib, persona, run)
}

/// One run of a persona, as the history shows it.
pub fn run_of(lib: &Library, persona: i64, run: i64) -> Result<RunView> {
    train_page(lib, persona)?
        .runs
        .into_iter()
        .find(|r| r.id == run)
        .ok_or_else(|| Error::Invalid(format!("there is no training run {run} for this persona")))
}

/// Mark the persona's newest stopped run as paused (its job was stopped with
/// a checkpoint to go on from), so that it is offered for resume.
pub fn mark_paused(library: &Path, persona: i64) -> Result<()> {
    let mut lib = Library::open(library)?;
    let run = lib
        .runs()?
        .into_iter()
        .rev()
        .find(|r| r.persona_id == Some(persona) && r.status == "cancelled" && r.folder.is_some());
    if let Some(r) = run {
        lib.set_run_status(r.id, "paused", None)?;
    }
    Ok(())
}

/// Resolve an adapter of a persona: its folder and base model.
pub fn adapter_of(lib: &Library, persona: i64, adapter: i64) -> Result<AdapterView> {
    adapters_of(lib, persona)?
        .into_iter()
        .find(|a| a.id == adapter)
        .ok_or_else(|| Error::Invalid(format!("adapter {adapter} is not one of this persona's adapters")))
}

/// Base model vs an adapter of the persona on its held-out lines (the
/// dataset's validation rows, else every tenth row).
pub fn evaluate_persona(library: &Path, persona: i64, adapter: i64, job: &Job) -> Result<EvalReport> {
    let (a, samples) = {
        let lib = Library::open(library)?;
        let a = adapter_of(&lib, persona, adapter)?;
        let d = persona_dataset(&lib, persona)?
            .ok_or_else(|| Error::Invalid("this persona has no dataset to evaluate on".into()))?;
        let all = lib.dataset_samples(d.id)?;
        let held: Vec<Sample> = all.iter().filter(|s| s.split == Split::Validation).cloned().collect();
        let held = if held.is_empty() {
            all.into_iter().step_by(10).collect()
        } else {
            held
        };
        (a, held)
    };
    if a.model.is_empty() {
        return Err(Error::Invalid(
            "this adapter was imported without its base model, so it cannot be compared here".into(),
        ));
    }
    job.report("load", 0, None, "files", format!("loading {}", a.model));
    let model = super::models::load_model(&a.model, "auto", None, job)?;
    job.check()?;
    let mut chat = crate::model::ChatModel::new(model);
    let opts = EvalOptions {
        max_samples: 12,
        max_tokens: 40,
        general_samples: 8,
        ..Default::default()
    };
    crate::tune::eval::evaluate(&mut chat, Some(Path::new(&a.path)), &samples, &opts, job)
}

/// Time and memory of each preset for this persona's dataset on this
/// computer (a short calibration).
pub fn estimate_persona(library: &Path, persona: i64, model: &str, job: &Job) -> Result<Vec<crate::tune::Estimate>> {
    let dir = tempfile_dir()?;
    let result = (|| {
        let train = {
            let lib = Library::open(library)?;
            write_training_files(&lib, persona, &dir)?
        };
        train::estimate(model, &train, None, "auto", job)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("dramatis-estimate-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    Ok(dir)
}
