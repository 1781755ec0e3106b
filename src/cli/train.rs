//! `dramatis train` and `dramatis eval`.

use clap::Args;
use dramatis::jobs::Error;
use dramatis::pipeline::{
    self,
    train::{LibraryTarget, TrainRequest, TrainSettings},
};
use dramatis::tune::{self, Preset, TrainEvent};
use std::path::PathBuf;

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

impl TrainArgs {
    fn settings(&self) -> TrainSettings {
        TrainSettings {
            max_steps: self.max_steps,
            epochs: self.epochs,
            rank: self.rank,
            alpha: self.alpha,
            dropout: self.dropout,
            rslora: self.rslora,
            targets: self.targets.clone(),
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            max_len: self.max_len,
            lr: self.lr,
            warmup_ratio: self.warmup_ratio,
            weight_decay: self.weight_decay,
            eval_every: self.eval_every,
            save_every: self.save_every,
            patience: self.patience,
            max_val: self.max_val,
            seed: self.seed,
        }
    }

    fn record(&self) -> Option<LibraryTarget> {
        self.save.then(|| LibraryTarget {
            library: crate::library::library_path(&self.db),
            persona: self.persona,
        })
    }
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

fn print_estimates(est: &[tune::Estimate]) {
    for e in est {
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
}

/// Lines on stderr as the run goes (or JSON lines on stdout with --json).
fn print_train_event(e: &TrainEvent, bar: &crate::Bar, json: bool) {
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
            device,
        } => {
            eprintln!(
                "Training {trainable_parameters} adapter weights for {total_steps} steps on {train_examples} samples ({val_examples} held out, {skipped} too long or empty) on {device}{}",
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
}

pub fn train(a: TrainArgs) -> Result<(), Error> {
    crate::set_threads(a.threads);
    let json = a.json;
    if a.estimate {
        let (job, bar) = crate::cli_job(json);
        let (model, dataset) = match (&a.model, &a.dataset) {
            (Some(m), Some(d)) => (m, d),
            _ => return Err(Error::Invalid("--estimate needs --model and --dataset".into())),
        };
        let est = pipeline::train::estimate(model, dataset, a.quantize.as_deref(), &a.device, &job);
        crate::finish_bar(&bar);
        let est = est?;
        if json {
            return crate::print_json(&est);
        }
        print_estimates(&est);
        return Ok(());
    }
    let (job, bar) = crate::cli_job_with(json, move |e, bar| print_train_event(e, bar, json));
    let outcome = match &a.resume {
        Some(dir) => pipeline::train::resume(dir, a.record().as_ref(), &job),
        None => {
            let preset = Preset::parse(&a.preset)
                .ok_or_else(|| Error::Invalid(format!("--preset {}: choose quick, balanced or deep", a.preset)))?;
            let req = TrainRequest {
                model: a.model.clone().expect("required by clap"),
                dataset: a.dataset.clone().expect("required by clap"),
                val: a.val.clone(),
                out: a.out.clone().expect("required by clap"),
                preset,
                settings: a.settings(),
                quantize: a.quantize.clone(),
                device: a.device.clone(),
                record: a.record(),
            };
            pipeline::train::train(&req, &job)
        }
    };
    crate::finish_bar(&bar);
    let o = outcome?;
    let summary = &o.summary;
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
        "base_weights_mib": o.base_weights_mib,
        "f32_weights_mib": o.f32_weights_mib,
        "stopped_early": summary.stopped_early,
        "adapter": summary.adapter,
    });
    if json {
        println!("{line}");
    } else {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        if o.quantized {
            eprintln!(
                "Base weights held quantized: {:.0} MiB instead of {:.0} MiB in f32.",
                o.base_weights_mib, o.f32_weights_mib
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
