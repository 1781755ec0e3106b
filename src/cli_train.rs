//! `dramatis train` and `dramatis eval`.

use clap::Args;
use dramatis::dataset::{io, Sample};
use dramatis::jobs::Error;
use dramatis::model::{LoadOptions, Model, ModelSource, QuantPolicy};
use dramatis::tune::{self, Preset, TrainConfig, TrainEvent};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct TrainArgs {
    /// The base model: a .gguf file, a Hugging Face folder or a hub id.
    #[arg(long, required_unless_present = "resume")]
    model: Option<String>,
    /// Training samples (Alpaca or ShareGPT, JSON or JSONL), e.g. mags_train.json.
    #[arg(long, required_unless_present = "resume")]
    dataset: Option<PathBuf>,
    /// Held-out samples; default: the matching *_val file beside the dataset, else 10% of it.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Where the adapter, checkpoints and metrics.jsonl go.
    #[arg(long, required_unless_present_any = ["resume", "estimate"])]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// quick, balanced or deep.
    #[arg(long, default_value = "balanced")]
    preset: String,
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    rank: Option<usize>,
    #[arg(long)]
    alpha: Option<f64>,
    #[arg(long)]
    dropout: Option<f64>,
    /// Use alpha/√rank scaling (rsLoRA).
    #[arg(long)]
    rslora: bool,
    /// Projections to adapt, e.g. q_proj,v_proj (default: the preset's).
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    grad_accum: Option<usize>,
    #[arg(long)]
    max_len: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    warmup_ratio: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long)]
    eval_every: Option<usize>,
    #[arg(long)]
    save_every: Option<usize>,
    /// Stop after this many validations without improvement (0: never).
    #[arg(long)]
    patience: Option<usize>,
    /// Validate on at most this many held-out samples.
    #[arg(long)]
    max_val: Option<usize>,
    /// Keep the frozen base quantized (QLoRA): q8_0 or q4_0.
    #[arg(long)]
    quantize: Option<String>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    threads: Option<usize>,
    /// auto, cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// One JSON line per event on stdout, then a summary line.
    #[arg(long)]
    json: bool,
    /// Measure each preset (a few real steps) and print its estimated time
    /// and peak memory, instead of training.
    #[arg(long)]
    estimate: bool,
    /// Record the model, the run (settings, status, metrics, timings) and
    /// the adapter in the library.
    #[arg(long)]
    save: bool,
    /// The library persona the adapter belongs to (with --save).
    #[arg(long)]
    persona: Option<i64>,
    /// The library file (default: the app-data folder, or DRAMATIS_LIBRARY).
    #[arg(long)]
    db: Option<PathBuf>,
}

/// The library run a `train --save` reports to.
struct LibraryRun {
    lib: dramatis::store::Library,
    run: i64,
    persona: Option<i64>,
}

impl LibraryRun {
    fn start(a: &TrainArgs, model: &Model, spec: &str, cfg: &TrainConfig, out: &Path) -> Result<Option<Self>, Error> {
        if !a.save {
            return Ok(None);
        }
        let path =
            a.db.clone()
                .or_else(|| std::env::var_os("DRAMATIS_LIBRARY").map(PathBuf::from))
                .unwrap_or_else(dramatis::store::Library::default_path);
        let mut lib = dramatis::store::Library::open(&path)?;
        let kind = match &model.source {
            ModelSource::Gguf { .. } => "gguf",
            ModelSource::Folder { .. } => "folder",
            ModelSource::Hub { .. } => "hub",
        };
        let record = dramatis::store::ModelRecord {
            id: 0,
            kind: kind.into(),
            reference: spec.into(),
            architecture: model.net.cfg.arch.name().into(),
            size_bytes: model.net.weight_bytes() as i64,
            quantization: a.quantize.clone().unwrap_or_else(|| "f32".into()),
        };
        // A resumed run continues its own record.
        let resumed = match &a.resume {
            Some(_) => lib.run_in_folder(out)?,
            None => None,
        };
        let run = match resumed {
            Some(run) => run,
            None => {
                let model_id = lib.add_model(&record)?;
                let params = serde_json::to_string(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
                let run = lib.create_run(a.persona, None, Some(model_id), &params)?;
                lib.set_run_folder(run, out)?;
                run
            }
        };
        for r in lib.interrupted_runs()?.iter().filter(|r| r.id != run) {
            eprintln!(
                "Training run #{} was interrupted (closed, crashed or out of memory); continue it with `dramatis train --resume {}`.",
                r.id,
                r.folder.as_deref().unwrap_or("?")
            );
        }
        lib.set_run_status(run, "running", None)?;
        Ok(Some(LibraryRun {
            lib,
            run,
            persona: a.persona,
        }))
    }

    fn finish(mut self, result: &Result<tune::TrainSummary, Error>, out: &Path) -> Result<(), Error> {
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

/// What a run folder records so `--resume` needs nothing else.
#[derive(Serialize, Deserialize)]
struct RunFile {
    model: String,
    dataset: PathBuf,
    val: Option<PathBuf>,
    quantize: Option<String>,
    device: String,
}

/// A number format named on the command line, one of `allowed`.
fn ggml_type(flag: &str, s: &str, allowed: &[&str]) -> Result<candle_core::quantized::GgmlDType, Error> {
    use candle_core::quantized::GgmlDType;
    let s = s.to_ascii_lowercase();
    let t = match s.as_str() {
        "f32" => GgmlDType::F32,
        "f16" => GgmlDType::F16,
        "q8_0" => GgmlDType::Q8_0,
        "q4_0" => GgmlDType::Q4_0,
        _ => GgmlDType::BF16, // never allowed below
    };
    if allowed.contains(&s.as_str()) {
        Ok(t)
    } else {
        Err(Error::Invalid(format!("{flag} {s}: choose {}", allowed.join(", "))))
    }
}

fn quant_policy(q: Option<&str>) -> Result<QuantPolicy, Error> {
    Ok(match q {
        None => QuantPolicy::Dense,
        Some(q) => QuantPolicy::To(ggml_type("--quantize", q, &["q8_0", "q4_0"])?),
    })
}

fn human_time(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Samples of an Alpaca or ShareGPT file.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>, Error> {
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

fn load_model(spec: &str, device: &str, quantize: Option<&str>) -> Result<Model, Error> {
    let (device, dtype) = dramatis::model::pick_device(device)?;
    let opts = LoadOptions {
        device,
        dtype,
        policy: quant_policy(quantize)?,
    };
    Model::load(&ModelSource::parse(spec)?, &opts)
}

fn apply_overrides(cfg: &mut TrainConfig, a: &TrainArgs) {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = a.$f.clone() { cfg.$f = v; } )* };
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
    if let Some(v) = a.max_val {
        cfg.max_val_samples = v;
    }
    if a.max_steps.is_some() {
        cfg.max_steps = a.max_steps;
    }
    if a.rslora {
        cfg.rslora = true;
    }
}

pub fn train(a: TrainArgs) -> Result<(), Error> {
    crate::set_threads(a.threads);
    let (out, run, cfg) = match &a.resume {
        Some(dir) => {
            let path = dir.join("run.json");
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let run: RunFile = serde_json::from_str(&text).map_err(|e| Error::Format {
                path: path.clone(),
                detail: format!("the run description is damaged ({e}); start a new run"),
            })?;
            (dir.clone(), run, tune::saved_config(dir)?)
        }
        None => {
            let preset = Preset::parse(&a.preset)
                .ok_or_else(|| Error::Invalid(format!("--preset {}: choose quick, balanced or deep", a.preset)))?;
            let mut cfg = preset.config();
            apply_overrides(&mut cfg, &a);
            let dataset = a.dataset.clone().expect("required by clap");
            let run = RunFile {
                model: a.model.clone().expect("required by clap"),
                val: a.val.clone().or_else(|| sibling_val(&dataset)),
                dataset,
                quantize: a.quantize.clone(),
                device: a.device.clone(),
            };
            (a.out.clone().unwrap_or_default(), run, cfg)
        }
    };
    let mut model = load_model(&run.model, &run.device, run.quantize.as_deref())?;
    let mut train = read_samples(&run.dataset)?;
    if a.estimate {
        let est = tune::estimate_presets(&mut model, &train, 2)?;
        if a.json {
            return crate::print_json(&est);
        }
        for e in &est {
            if !e.fits {
                println!(
                    "{:<12} would not fit: needs about {:.1} GB, {:.1} GB free: {}",
                    e.label,
                    e.needed_mib / 1024.0,
                    e.available_mib.unwrap_or(0.0) / 1024.0,
                    e.description
                );
                continue;
            }
            println!(
                "{:<12} about {} ({} steps × {:.1} s), peak memory {}: {}",
                e.label,
                human_time(e.estimated_seconds),
                e.total_steps,
                e.seconds_per_step,
                e.peak_memory_mib
                    .map_or("unknown".into(), |m| format!("{:.1} GB", m / 1024.0)),
                e.description
            );
        }
        return Ok(());
    }
    let mut val = match &run.val {
        Some(v) => read_samples(v)?,
        None => {
            // Hold out every tenth sample (fixed, so a resumed run sees the same split).
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
    };
    val.truncate(cfg.max_val_samples.max(1));
    let (train_ex, skipped) = tune::prepare(&model, &train, cfg.max_len)?;
    let (val_ex, _) = tune::prepare(&model, &val, cfg.max_len)?;
    std::fs::create_dir_all(&out).map_err(|e| Error::write(&out, e))?;
    if a.resume.is_none() {
        let text = serde_json::to_string_pretty(&run).map_err(|e| Error::Invalid(e.to_string()))?;
        dramatis::jobs::write_atomic(&out.join("run.json"), text.as_bytes())?;
    }
    let library = LibraryRun::start(&a, &model, &run.model, &cfg, &out)?;
    let base_weights = model.net.weight_bytes();
    // What the same weights take as dense f32: the saving of --quantize.
    let f32_weights = model.net.cfg.parameters() as f64 * 4.0;
    let json = a.json;
    let (job, bar) = crate::cli_job_with(json, move |e, bar| {
        if json {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
            return;
        }
        match e {
            TrainEvent::Start {
                total_steps,
                train_examples,
                val_examples,
                skipped,
                trainable_parameters,
                resumed_from,
            } => {
                eprintln!(
                    "Training {trainable_parameters} adapter weights for {total_steps} steps on {train_examples} samples ({val_examples} held out, {skipped} too long or empty){}",
                    resumed_from.map(|s| format!(", resuming at step {s}")).unwrap_or_default()
                );
            }
            TrainEvent::Eval {
                step,
                val_loss,
                improved,
                ..
            } => {
                crate::finish_bar(bar);
                eprintln!(
                    "  step {step}: validation loss {val_loss:.4}{}",
                    if *improved { " (best so far)" } else { "" }
                );
            }
            TrainEvent::EarlyStop { step, best_step } => {
                eprintln!("  stopping early at step {step}: validation stopped improving after step {best_step}");
            }
            _ => {}
        }
    });
    let mut r = tune::Run {
        model: &mut model,
        cfg,
        train: train_ex,
        val: val_ex,
        skipped,
        out: out.clone(),
        base_name: Some(run.model.clone()),
    };
    let summary = r.train(&job);
    crate::finish_bar(&bar);
    if let Some(l) = library {
        l.finish(&summary, &out)?;
    }
    let summary = summary?;
    // A picture of the run beside its metrics.
    let _ = dramatis::tune::eval::plot_loss_curve(&out.join("metrics.jsonl"), &out.join("loss_curve.png"));
    let line = serde_json::json!({
        "type": "summary",
        "steps": summary.steps,
        "train_loss_first": summary.train_loss_first,
        "train_loss_last": summary.train_loss_last,
        "val_loss_first": summary.val_loss_first,
        "val_loss_last": summary.val_loss_last,
        "best_val_loss": summary.best_val_loss,
        "best_step": summary.best_step,
        "tokens_per_s": summary.tokens_per_s,
        "peak_memory_mib": summary.peak_memory_mib,
        "base_weights_mib": base_weights as f64 / (1024.0 * 1024.0),
        "f32_weights_mib": f32_weights / (1024.0 * 1024.0),
        "stopped_early": summary.stopped_early,
        "adapter": summary.adapter,
    });
    if json {
        println!("{line}");
    } else {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        if run.quantize.is_some() {
            eprintln!(
                "Base weights held quantized: {:.0} MiB instead of {:.0} MiB in f32.",
                base_weights as f64 / 1048576.0,
                f32_weights / 1048576.0
            );
        }
        eprintln!(
            "Done: {} steps; training loss {} → {}; validation loss {} → {} (best {} at step {}); {:.0} tokens/s; peak memory {} MiB.",
            summary.steps,
            f(summary.train_loss_first),
            f(summary.train_loss_last),
            f(summary.val_loss_first),
            f(summary.val_loss_last),
            f(summary.best_val_loss),
            summary.best_step.map_or("-".into(), |s| s.to_string()),
            summary.tokens_per_s,
            summary.peak_memory_mib.map_or("-".into(), |m| format!("{m:.0}")),
        );
        println!("{}", summary.adapter.display());
    }
    Ok(())
}

#[derive(Args)]
pub struct EvalArgs {
    /// The base model: a .gguf file, a Hugging Face folder or a hub id.
    #[arg(long)]
    model: String,
    /// The adapter to compare with the base model (a training run's folder works).
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Held-out samples (Alpaca or ShareGPT), e.g. mags_val.json.
    #[arg(long)]
    dataset: PathBuf,
    /// Score at most this many samples.
    #[arg(long, default_value_t = 40)]
    max_samples: usize,
    /// Length of each generated reply.
    #[arg(long, default_value_t = 48)]
    max_tokens: usize,
    /// General-instruction samples for the forgetting check (0: skip).
    #[arg(long, default_value_t = 30)]
    general: usize,
    /// Where to write the report (default: eval_report.json in the adapter folder).
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long)]
    json: bool,
}

pub fn eval(a: EvalArgs) -> Result<(), Error> {
    use dramatis::tune::eval::{evaluate, plot_loss_curve, EvalOptions};
    crate::set_threads(a.threads);
    let model = load_model(&a.model, &a.device, None)?;
    let samples = read_samples(&a.dataset)?;
    let mut chat = dramatis::model::ChatModel::new(model);
    let opts = EvalOptions {
        max_samples: a.max_samples,
        max_tokens: a.max_tokens,
        general_samples: a.general,
        ..Default::default()
    };
    let (job, bar) = crate::cli_job(a.json);
    let report = evaluate(&mut chat, a.adapter.as_deref(), &samples, &opts, &job);
    crate::finish_bar(&bar);
    let report = report?;
    let path = a
        .report
        .clone()
        .or_else(|| a.adapter.as_ref().map(|d| d.join("eval_report.json")));
    let mut written = Vec::new();
    if let Some(p) = &path {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Invalid(e.to_string()))?;
        dramatis::jobs::write_atomic(p, text.as_bytes())?;
        written.push(p.clone());
    }
    if let Some(dir) = &a.adapter {
        let metrics = dir.join("metrics.jsonl");
        if metrics.exists() {
            let png = dir.join("loss_curve.png");
            plot_loss_curve(&metrics, &png)?;
            written.push(png);
        }
    }
    if a.json {
        return crate::print_json(&serde_json::json!({"report": report, "written": written}));
    }
    let row = |name: &str, s: &dramatis::tune::eval::Scores| {
        println!(
            "{name:<8} perplexity {:>8.2}  BLEU {:>5.1}  ROUGE-L {:.3}  token F1 {:.3}  general perplexity {}",
            s.perplexity,
            s.bleu,
            s.rouge_l,
            s.token_f1,
            s.general_perplexity.map_or("-".into(), |p| format!("{p:.2}"))
        )
    };
    println!("{} held-out samples", report.samples);
    row("base", &report.base);
    if let Some(s) = &report.adapter {
        row("adapter", s);
    }
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

#[derive(Args)]
pub struct AdapterArgs {
    #[command(subcommand)]
    cmd: AdapterCmd,
}

#[derive(clap::Subcommand)]
enum AdapterCmd {
    /// Merge an adapter into the base weights: a Hugging Face folder, or a GGUF file.
    Merge {
        #[arg(long)]
        model: String,
        #[arg(long)]
        adapter: PathBuf,
        /// A folder (Hugging Face layout) or a file ending in .gguf.
        #[arg(long)]
        out: PathBuf,
        /// GGUF number format: f16, q8_0 or f32.
        #[arg(long, default_value = "q8_0")]
        gguf_type: String,
    },
    /// Everything Ollama and llama.cpp need in one folder: the merged GGUF,
    /// a Modelfile with the chat template, stops and system prompt, and the
    /// adapter in PEFT layout.
    Export {
        #[arg(long)]
        model: String,
        #[arg(long)]
        adapter: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The persona's system prompt for the Modelfile.
        #[arg(long)]
        system: Option<String>,
        #[arg(long, default_value = "q8_0")]
        gguf_type: String,
    },
}

fn gguf_type(s: &str) -> Result<candle_core::quantized::GgmlDType, Error> {
    ggml_type("--gguf-type", s, &["f16", "q8_0", "f32"])
}

fn model_with_adapter(spec: &str, adapter: &Path) -> Result<Model, Error> {
    // Dense weights: merging needs them, and it avoids a second rounding.
    let mut m = load_model(spec, "cpu", None)?;
    dramatis::model::adapter::load_peft(adapter, &mut m.net)?;
    Ok(m)
}

pub fn adapter(a: AdapterArgs) -> Result<(), Error> {
    use dramatis::model::export;
    match a.cmd {
        AdapterCmd::Merge {
            model,
            adapter,
            out,
            gguf_type: ty,
        } => {
            let m = model_with_adapter(&model, &adapter)?;
            if out.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
                export::write_gguf(&m, &out, gguf_type(&ty)?)?;
            } else {
                export::write_hf_folder(&m, &out)?;
            }
            println!("{}", out.display());
        }
        AdapterCmd::Export {
            model,
            adapter,
            out,
            system,
            gguf_type: ty,
        } => {
            let m = model_with_adapter(&model, &adapter)?;
            std::fs::create_dir_all(&out).map_err(|e| Error::write(&out, e))?;
            export::write_gguf(&m, &out.join("model.gguf"), gguf_type(&ty)?)?;
            let mf = export::ollama_modelfile(&m, "./model.gguf", system.as_deref());
            dramatis::jobs::write_atomic(&out.join("Modelfile"), mf.as_bytes())?;
            let peft = out.join("adapter");
            std::fs::create_dir_all(&peft).map_err(|e| Error::write(&peft, e))?;
            for f in ["adapter_config.json", "adapter_model.safetensors"] {
                let bytes = std::fs::read(adapter.join(f)).map_err(|e| Error::io(&adapter.join(f), e))?;
                dramatis::jobs::write_atomic(&peft.join(f), &bytes)?;
            }
            println!("{}", out.display());
            eprintln!(
                "Run it with Ollama: cd {} && ollama create my-persona -f Modelfile && ollama run my-persona",
                out.display()
            );
        }
    }
    Ok(())
}
