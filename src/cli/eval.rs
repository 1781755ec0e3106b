//! `dramatis eval` and `dramatis adapter`.

use clap::Args;
use dramatis::jobs::Error;
use dramatis::pipeline::{models::load_model, train::read_samples};
use std::path::PathBuf;

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
    let (job, bar) = crate::cli_job(a.json);
    let model = load_model(&a.model, &a.device, None, &job)?;
    let samples = read_samples(&a.dataset)?;
    let mut chat = dramatis::model::ChatModel::new(model);
    let opts = EvalOptions {
        max_samples: a.max_samples,
        max_tokens: a.max_tokens,
        general_samples: a.general,
        ..Default::default()
    };
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

/// The base model, the adapter, where the merged model goes and its format.
#[derive(Args)]
struct MergeArgs {
    #[arg(long)]
    model: String,
    #[arg(long)]
    adapter: PathBuf,
    /// `merge`: a folder (Hugging Face layout) or a file ending in .gguf;
    /// `export`: the Ollama folder.
    #[arg(long)]
    out: PathBuf,
    /// GGUF number format: f16, q8_0 or f32.
    #[arg(long, default_value = "q8_0")]
    gguf_type: String,
}

impl From<MergeArgs> for dramatis::pipeline::export::MergeRequest {
    fn from(a: MergeArgs) -> Self {
        Self {
            model: a.model,
            adapter: a.adapter,
            out: a.out,
            gguf_type: a.gguf_type,
        }
    }
}

#[derive(clap::Subcommand)]
enum AdapterCmd {
    /// Merge an adapter into the base weights: a Hugging Face folder, or a GGUF file.
    Merge {
        #[command(flatten)]
        merge: MergeArgs,
    },
    /// Everything Ollama and llama.cpp need in one folder: the merged GGUF,
    /// a Modelfile with the chat template, stops and system prompt, and the
    /// adapter in PEFT layout.
    Export {
        #[command(flatten)]
        merge: MergeArgs,
        /// The persona's system prompt for the Modelfile.
        #[arg(long)]
        system: Option<String>,
    },
}

pub fn adapter(a: AdapterArgs) -> Result<(), Error> {
    use dramatis::pipeline::export;
    let (job, bar) = crate::cli_job(false);
    match a.cmd {
        AdapterCmd::Merge { merge } => {
            let out = export::merge(&merge.into(), &job);
            crate::finish_bar(&bar);
            println!("{}", out?.display());
        }
        AdapterCmd::Export { merge, system } => {
            let out = export::ollama_folder(&merge.into(), system.as_deref(), &job);
            crate::finish_bar(&bar);
            let out = out?;
            println!("{}", out.display());
            eprintln!(
                "Run it with Ollama: cd {} && ollama create my-persona -f Modelfile && ollama run my-persona",
                out.display()
            );
        }
    }
    Ok(())
}
