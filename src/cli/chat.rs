//! `dramatis chat|generate`: talking with a model (and its adapter).

use super::*;
use std::sync::Arc;

/// What `chat` and `generate` share: the model and the sampling settings.
#[derive(Args)]
pub(crate) struct GenArgs {
    /// A model: a .gguf file, a Hugging Face folder, or a hub id (owner/name[@revision]).
    #[arg(long)]
    model: String,
    /// A LoRA adapter folder (PEFT layout) to apply on the model.
    #[arg(long)]
    adapter: Option<PathBuf>,
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 for greedy decoding.
    #[arg(long, default_value_t = 0.7)]
    temperature: f64,
    #[arg(long, default_value_t = 0.9)]
    top_p: f64,
    /// Keep only the k most likely tokens (0: off).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Drop tokens less likely than this fraction of the best one (0: off).
    #[arg(long, default_value_t = 0.05)]
    min_p: f64,
    /// Penalise recently used tokens (1 = off). Default 1.1 when sampling and
    /// off with --temperature 0, so greedy decoding is plain greedy.
    #[arg(long)]
    repeat_penalty: Option<f32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// auto, cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Keep every weight in full precision (slower; exact reference numerics).
    #[arg(long)]
    full_precision: bool,
}

impl GenArgs {
    fn options(&self) -> dramatis::model::GenerateOptions {
        dramatis::model::GenerateOptions {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            top_p: Some(self.top_p).filter(|&p| p > 0.0 && p < 1.0),
            top_k: Some(self.top_k).filter(|&k| k > 0),
            min_p: Some(self.min_p).filter(|&p| p > 0.0),
            repeat_penalty: self
                .repeat_penalty
                .unwrap_or_else(|| dramatis::model::GenerateOptions::default_repeat_penalty(self.temperature)),
            seed: self.seed,
            ..Default::default()
        }
    }

    fn spec(&self, record: Option<pipeline::train::LibraryTarget>) -> pipeline::chat::ChatSpec {
        set_threads(self.threads);
        pipeline::chat::ChatSpec {
            model: self.model.clone(),
            adapter: self.adapter.clone(),
            system: self.system.clone(),
            device: self.device.clone(),
            full_precision: self.full_precision,
            record,
            conversation: None,
            greeting: None,
            adapter_id: None,
        }
    }
}

/// A job that prints the reply as it streams (unless `quiet`).
pub(crate) fn token_job(quiet: bool) -> Job {
    use std::io::Write;
    let sink = move |e: &Event| {
        if let Event::Token { text } = e {
            if !quiet {
                let mut out = std::io::stdout();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
        }
    };
    Job::new(Arc::new(sink), interrupt_token())
}

pub(crate) fn chat(gen: &GenArgs, save: bool, persona: Option<i64>, db: Option<PathBuf>) -> Result<(), Error> {
    use std::io::BufRead;
    let record = save.then(|| pipeline::train::LibraryTarget {
        library: library::library_path(&db),
        persona,
    });
    let job = token_job(false);
    let mut session = pipeline::chat::ChatSession::open(&gen.spec(record), &job)?;
    let opts = gen.options();
    eprintln!(
        "Chatting with {} (empty line or Ctrl-D to end; Ctrl-C stops a reply).",
        gen.model
    );
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Error::io(Path::new("stdin"), e))?;
        if line.trim().is_empty() {
            break;
        }
        job.cancel_token().reset();
        session.send(&line, &opts, &job)?;
        println!();
    }
    if let Some(c) = session.conversation() {
        eprintln!("Saved as conversation #{c}.");
    }
    Ok(())
}

pub(crate) fn generate(gen: &GenArgs, json: bool, prompt: &str) -> Result<(), Error> {
    let job = token_job(json);
    let mut session = pipeline::chat::ChatSession::open(&gen.spec(None), &job)?;
    let g = session.send(prompt, &gen.options(), &job)?;
    if json {
        return print_json(&g);
    }
    println!();
    eprintln!(
        "{} prompt tokens ({:.1}/s), {} generated ({:.1}/s), stopped: {}",
        g.prompt_tokens, g.prefill_tokens_per_s, g.generated_tokens, g.decode_tokens_per_s, g.stop
    );
    Ok(())
}
