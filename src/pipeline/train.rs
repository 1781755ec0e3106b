//! Training as one call: a new run from a request, the continuation of an
//! interrupted one from its folder, or the presets' estimates; the run is
//! recorded in the library when asked.

use crate::dataset::{io, Sample};
use crate::jobs::{write_atomic, Error, Job, LogLevel, Result};
use crate::model::{Model, ModelSource};
use crate::store::{Library, ModelRecord};
use crate::tune::{self, Estimate, Preset, TrainConfig, TrainSummary};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The settings a person may change on top of a preset (the app's Advanced
/// panel, the CLI's flags); `None` keeps the preset's value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    pub max_steps: Option<usize>,
    pub epochs: Option<usize>,
    pub rank: Option<usize>,
    pub alpha: Option<f64>,
    pub dropout: Option<f64>,
    pub rslora: bool,
    pub targets: Option<Vec<String>>,
    pub batch_size: Option<usize>,
    pub grad_accum: Option<usize>,
    pub max_len: Option<usize>,
    pub lr: Option<f64>,
    pub warmup_ratio: Option<f64>,
    pub weight_decay: Option<f64>,
    pub eval_every: Option<usize>,
    pub save_every: Option<usize>,
    pub patience: Option<usize>,
    pub max_val: Option<usize>,
    pub seed: Option<u64>,
}

impl TrainSettings {
    /// The preset's configuration with these settings on top.
    pub fn apply(&self, preset: Preset) -> TrainConfig {
        let mut cfg = preset.config();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { cfg.$f = v; } )* };
        }
        set!(
            epochs,
            rank,
            alpha,
            dropout,
            targets,
            batch_size,
            grad_accum,
            max_len,
            lr,
            warmup_ratio,
            weight_decay,
            eval_every,
            save_every,
            patience,
            seed
        );
        if let Some(v) = self.max_val {
            cfg.max_val_samples = v;
        }
        if self.max_steps.is_some() {
            cfg.max_steps = self.max_steps;
        }
        if self.rslora {
            cfg.rslora = true;
        }
        cfg
    }
}

/// Where a run is recorded: a library file and the persona it is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryTarget {
    pub library: PathBuf,
    pub persona: Option<i64>,
}

/// A new training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainRequest {
    /// The base model: a .gguf file, a Hugging Face folder or a hub id.
    pub model: String,
    /// Training samples (Alpaca or ShareGPT, JSON or JSONL).
    pub dataset: PathBuf,
    /// Held-out samples; default: the `*_val` file beside a `*_train`
    /// dataset, else every tenth sample.
    pub val: Option<PathBuf>,
    /// Where the adapter, checkpoints and metrics go.
    pub out: PathBuf,
    pub preset: Preset,
    #[serde(default)]
    pub settings: TrainSettings,
    /// Keep the frozen base quantized (QLoRA): "q8_0" or "q4_0".
    pub quantize: Option<String>,
    /// "auto", "cpu", "cuda[:N]" or "metal".
    pub device: String,
    pub record: Option<LibraryTarget>,
}

/// What a run folder records (`run.json`) so that resuming needs nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunFile {
    model: String,
    dataset: PathBuf,
    val: Option<PathBuf>,
    quantize: Option<String>,
    device: String,
}

/// What a finished run gives.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub summary: TrainSummary,
    /// The frozen base weights as held, and as they would be in f32.
    pub base_weights_mib: f64,
    pub f32_weights_mib: f64,
    pub quantized: bool,
    /// The library's record of the run, when it was recorded.
    pub run_id: Option<i64>,
}

/// Samples of an Alpaca or ShareGPT file.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    Ok(match io::read(path)? {
        io::Imported::Alpaca(s) => s,
        io::Imported::ShareGpt(c) => c.iter().flat_map(io::conversation_to_samples).collect(),
    })
}

/// The validation file beside a `*_train.*` dataset, if there is one.
fn sibling_val(dataset: &Path) -> Option<PathBuf> {
    let name = dataset.file_name()?.to_string_lossy().into_owned();
    let val = name.replacen("_train.", "_val.", 1);
    (val != name)
        .then(|| dataset.with_file_name(val))
        .filter(|p| p.exists())
}

/// Train a new adapter.
pub fn train(req: &TrainRequest, job: &Job) -> Result<TrainOutcome> {
    let run = RunFile {
        model: req.model.clone(),
        val: req.val.clone().or_else(|| sibling_val(&req.dataset)),
        dataset: req.dataset.clone(),
        quantize: req.quantize.clone(),
        device: req.device.clone(),
    };
    let cfg = req.settings.apply(req.preset);
    execute(&req.out, run, cfg, false, req.record.as_ref(), job)
}

/// Continue the run in `dir` from its last checkpoint.
pub fn resume(dir: &Path, record: Option<&LibraryTarget>, job: &Job) -> Result<TrainOutcome> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let run: RunFile = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.clone(),
        detail: format!("the run description is damaged ({e}); start a new run"),
    })?;
    let cfg = tune::saved_config(dir)?;
    execute(dir, run, cfg, true, record, job)
}

/// Time and memory of each preset on this dataset, model and computer,
/// measured with a short calibration (presets that would not fit are marked).
pub fn estimate(model: &str, dataset: &Path, quantize: Option<&str>, device: &str, job: &Job) -> Result<Vec<Estimate>> {
    let mut model = super::models::load_model(model, device, quantize, job)?;
    let train = read_samples(dataset)?;
    job.check()?;
    tune::estimate_presets(&mut model, &train, 2)
}

fn execute(
    out: &Path,
    run: RunFile,
    cfg: TrainConfig,
    resuming: bool,
    record: Option<&LibraryTarget>,
    job: &Job,
) -> Result<TrainOutcome> {
    job.report("load", 0, None, "files", format!("loading {}", run.model));
    let mut model = super::models::load_model(&run.model, &run.device, run.quantize.as_deref(), job)?;
    job.check()?;
    let mut train = read_samples(&run.dataset)?;
    let mut val = match &run.val {
        Some(v) => read_samples(v)?,
        None => hold_out(&mut train),
    };
    val.truncate(cfg.max_val_samples.max(1));
    let (train_ex, skipped) = tune::prepare(&model, &train, cfg.max_len)?;
    let (val_ex, _) = tune::prepare(&model, &val, cfg.max_len)?;
    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    if !resuming {
        let text = serde_json::to_string_pretty(&run).map_err(|e| Error::Invalid(e.to_string()))?;
        write_atomic(&out.join("run.json"), text.as_bytes())?;
    }
    let mut library = match record {
        Some(t) => Some(LibraryRun::start(t, &model, &run, &cfg, out, resuming, job)?),
        None => None,
    };
    let base_weights = model.net.weight_bytes() as f64;
    // What the same weights take as dense f32: the saving of quantizing.
    let f32_weights = model.net.cfg.parameters() as f64 * 4.0;
    let on_gpu = !model.net.device.is_cpu();
    let summary = tune::Run {
        model: &mut model,
        cfg: cfg.clone(),
        train: train_ex,
        val: val_ex,
        skipped,
        out: out.to_path_buf(),
        base_name: Some(run.model.clone()),
    }
    .train(job);
    if let (true, Err(Error::Gpu(why))) = (on_gpu, &summary) {
        // Keep the run: continue it on the CPU from its last checkpoint.
        job.log(
            LogLevel::Warning,
            format!(
                "The GPU failed ({why}); training continues on the CPU from the last checkpoint. This is slower, and nothing is lost."
            ),
        );
        drop(model);
        drop(library);
        let run = RunFile {
            device: "cpu".into(),
            ..run
        };
        let text = serde_json::to_string_pretty(&run).map_err(|e| Error::Invalid(e.to_string()))?;
        write_atomic(&out.join("run.json"), text.as_bytes())?;
        return execute(out, run, cfg, true, record, job);
    }
    if let Some(l) = library.as_mut() {
        l.finish(&summary, out)?;
    }
    let summary = summary?;
    // A picture of the run beside its metrics.
    let _ = tune::eval::plot_loss_curve(&out.join("metrics.jsonl"), &out.join("loss_curve.png"));
    Ok(TrainOutcome {
        summary,
        base_weights_mib: base_weights / 1048576.0,
        f32_weights_mib: f32_weights / 1048576.0,
        quantized: run.quantize.is_some(),
        run_id: library.map(|l| l.run),
    })
}

/// Hold out every tenth sample (fixed, so a resumed run sees the same split).
fn hold_out(train: &mut Vec<Sample>) -> Vec<Sample> {
    let mut v = Vec::new();
    if train.len() >= 10 {
        let mut i = 0;
        train.retain(|s| {
            i += 1;
            if i % 10 == 0 {
                v.push(s.clone());
                false
            } else {
                true
            }
        });
    }
    v
}

/// The library record of a run: model, settings, status, metrics, adapter.
struct LibraryRun {
    lib: Library,
    run: i64,
    persona: Option<i64>,
}

impl LibraryRun {
    fn start(
        t: &LibraryTarget,
        model: &Model,
        run: &RunFile,
        cfg: &TrainConfig,
        out: &Path,
        resuming: bool,
        job: &Job,
    ) -> Result<Self> {
        let mut lib = Library::open(&t.library)?;
        // A resumed run continues its own record.
        let existing = if resuming { lib.run_in_folder(out)? } else { None };
        let id = match existing {
            Some(id) => id,
            None => {
                let kind = match &model.source {
                    ModelSource::Gguf { .. } => "gguf",
                    ModelSource::Folder { .. } => "folder",
                    ModelSource::Hub { .. } => "hub",
                };
                let record = ModelRecord {
                    id: 0,
                    kind: kind.into(),
                    reference: run.model.clone(),
                    architecture: model.net.cfg.arch.name().into(),
                    size_bytes: model.net.weight_bytes() as i64,
                    quantization: run.quantize.clone().unwrap_or_else(|| "f32".into()),
                };
                let model_id = lib.add_model(&record)?;
                let params = serde_json::to_string(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
                let id = lib.create_run(t.persona, None, Some(model_id), &params)?;
                lib.set_run_folder(id, out)?;
                id
            }
        };
        for r in lib.interrupted_runs()?.iter().filter(|r| r.id != id) {
            job.log(
                crate::jobs::LogLevel::Info,
                format!(
                    "Training run #{} was interrupted (closed, crashed or out of memory); it can be resumed from {}.",
                    r.id,
                    r.folder.as_deref().unwrap_or("?")
                ),
            );
        }
        lib.set_run_status(id, "running", None)?;
        Ok(LibraryRun {
            lib,
            run: id,
            persona: t.persona,
        })
    }

    fn finish(&mut self, result: &Result<TrainSummary>, out: &Path) -> Result<()> {
        match result {
            Ok(s) => {
                let metrics = serde_json::to_string(s).map_err(|e| Error::Invalid(e.to_string()))?;
                self.lib.set_run_status(self.run, "finished", Some(&metrics))?;
                self.lib.add_adapter(self.persona, Some(self.run), out)?;
            }
            Err(Error::Cancelled) => self.lib.set_run_status(self.run, "cancelled", None)?,
            Err(e) => {
                let why = serde_json::json!({"error": e}).to_string();
                self.lib.set_run_status(self.run, "failed", Some(&why))?;
            }
        }
        Ok(())
    }
}
