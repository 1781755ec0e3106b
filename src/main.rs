//! The `dramatis` command line: a thin face on the engine.

mod cli_library;
mod cli_models;
mod cli_train;

use clap::{Args, Parser, Subcommand, ValueEnum};
use dramatis::dataset::{io::Format, DatasetOptions};
use dramatis::extract::{CastHint, ExtractOptions, Layout, Script};
use dramatis::ingest::IngestOptions;
use dramatis::jobs::{CancelToken, Error, Event, Job, Progress};
use dramatis::persona::PersonaPack;
use dramatis::pipeline::{self, MixOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(
    name = "dramatis",
    version,
    about = "Turn a character from a book or a script into a chat persona, on your own machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read files and report format, encoding and what normalisation did.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// List the speakers (cast) with line counts and suggested aliases.
    Cast {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum)]
        layout: Option<LayoutArg>,
        /// Confirmed cast (alias groups), as for `extract --cast-file`.
        #[arg(long)]
        cast_file: Option<PathBuf>,
    },
    /// Check an Alpaca/ShareGPT dataset file; optionally convert it.
    Dataset {
        file: PathBuf,
        /// Convert to this format and write into the -o folder.
        #[arg(long, value_enum)]
        to: Option<FormatArg>,
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[arg(long)]
        jsonl: bool,
        #[arg(long)]
        json: bool,
    },
    /// Extract utterances; with --character, build the persona dataset.
    Extract(Box<ExtractArgs>),
    /// The persona library: list, show, export, import, delete.
    Library(cli_library::LibraryArgs),
    /// Models on this computer, downloads from the Hugging Face hub, devices.
    Models(cli_models::ModelsArgs),
    /// Create a persona in the library from sources.
    Persona(cli_library::PersonaArgs),
    /// Conversations kept in the library.
    Conversations(cli_library::ConversationArgs),
    /// Train a LoRA adapter for a persona on its dataset.
    Train(Box<cli_train::TrainArgs>),
    /// Score an adapter against the base model on held-out lines.
    Eval(Box<cli_train::EvalArgs>),
    /// Merge or export an adapter (Hugging Face folder, GGUF, Ollama).
    Adapter(cli_train::AdapterArgs),
    /// Chat with a model on the terminal; one line per turn, empty line or EOF ends.
    Chat {
        #[command(flatten)]
        gen: GenArgs,
        /// Keep the conversation in the library (under this persona id, if given).
        #[arg(long)]
        save: bool,
        #[arg(long)]
        persona: Option<i64>,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Generate a reply to one prompt (streamed).
    Generate {
        #[command(flatten)]
        gen: GenArgs,
        /// Print text, token counts and speeds as JSON.
        #[arg(long)]
        json: bool,
        prompt: String,
    },
    /// Run the whole pipeline on the bundled sample personas.
    Demo {
        /// Where to write the datasets.
        #[arg(short, long, default_value = "out/demo")]
        out: PathBuf,
        /// Folder of persona packs.
        #[arg(long)]
        personas: Option<PathBuf>,
        /// Then train a quick adapter for the English persona on this model
        /// and let base and persona answer the same line.
        #[arg(long)]
        model: Option<String>,
        /// Training steps for that adapter.
        #[arg(long, default_value_t = 30)]
        steps: usize,
    },
}

#[derive(Args)]
struct Common {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Largest amount of text to accept, in MB.
    #[arg(long, default_value_t = 200)]
    max_mb: u64,
}

/// What `chat` and `generate` share: the model and the sampling settings.
#[derive(Args)]
struct GenArgs {
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
        }
    }
}

/// Size the matrix kernels' thread pools (read when they start).
fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|&n| n > 0) {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    Script,
    Play,
    Screenplay,
    Subtitles,
    Novel,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::Script => Layout::Script,
            LayoutArg::Play => Layout::Play,
            LayoutArg::Screenplay => Layout::Screenplay,
            LayoutArg::Subtitles => Layout::Subtitles,
            LayoutArg::Novel => Layout::Novel,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Alpaca,
    Sharegpt,
}

#[derive(Args)]
struct ExtractArgs {
    /// Source files, read as one source in this order.
    files: Vec<PathBuf>,
    /// A persona pack folder (persona.json + sources) instead of files.
    #[arg(long)]
    persona: Option<PathBuf>,
    /// The character to build a dataset for (as named in the source).
    #[arg(long)]
    character: Option<String>,
    /// Another name the character speaks under (repeatable).
    #[arg(long = "alias")]
    aliases: Vec<String>,
    #[arg(long, value_enum, default_value = "alpaca")]
    format: FormatArg,
    /// Write JSON Lines instead of JSON arrays.
    #[arg(long)]
    jsonl: bool,
    /// Mix in a general instruction set: `builtin:0.2` or `FILE.json:RATIO`.
    #[arg(long, num_args = 0..=1, default_missing_value = "builtin:0.2")]
    mix: Option<String>,
    /// Output folder for the dataset files.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Previous lines by others that make one instruction.
    #[arg(long, default_value_t = 1)]
    context_lines: usize,
    /// Earlier exchanges of the scene kept as history.
    #[arg(long, default_value_t = 3)]
    history: usize,
    /// The persona prompt (default: written from the name and title).
    #[arg(long)]
    system: Option<String>,
    /// The title of the work, used in the default persona prompt.
    #[arg(long)]
    title: Option<String>,
    #[arg(long, default_value_t = 0.1)]
    val_ratio: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Drop replies shorter than this many letters.
    #[arg(long, default_value_t = 2)]
    min_chars: usize,
    #[arg(long, value_enum)]
    layout: Option<LayoutArg>,
    /// Confirmed cast: a JSON list of {"aliases": [main, other…], "gender": "F"}.
    #[arg(long)]
    cast_file: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

fn load_cast(path: Option<&Path>) -> Result<Vec<CastHint>, Error> {
    let Some(p) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Format {
        path: p.into(),
        detail: format!(
            "line {}: {e}. Expected a JSON list like [{{\"aliases\": [\"甄嬛\", \"嬛嬛\"], \"gender\": \"F\"}}]",
            e.line()
        ),
    })
}

type Bar = Arc<Mutex<Option<ProgressBar>>>;

/// The process's cancel token: the first Ctrl-C asks the running step to
/// stop cleanly (a training run saves its checkpoint), the second one ends
/// the process at once. Exit status 130 either way.
fn interrupt_token() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    extern "C" fn on_sigint(_: libc::c_int) {
        match TOKEN.get() {
            Some(t) if !t.is_cancelled() => t.cancel(),
            // SAFETY: _exit is async-signal-safe.
            _ => unsafe { libc::_exit(130) },
        }
    }
    TOKEN
        .get_or_init(|| {
            #[cfg(unix)]
            // SAFETY: the handler only touches atomics and calls _exit.
            unsafe {
                libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
            }
            CancelToken::new()
        })
        .clone()
}

/// Progress bars on a terminal; nothing when output is piped.
fn cli_job(json: bool) -> (Job, Bar) {
    cli_job_with(json, |_, _| {})
}

/// [`cli_job`] that also hands each training event to `on_train`.
fn cli_job_with(
    json: bool,
    on_train: impl Fn(&dramatis::tune::TrainEvent, &Bar) + Send + Sync + 'static,
) -> (Job, Bar) {
    let bar: Bar = Arc::new(Mutex::new(None));
    let b = bar.clone();
    let sink = move |e: &Event| match e {
        Event::Progress(p) if !json => draw(&b, p),
        Event::Train(t) => on_train(t, &b),
        Event::Log { message, .. } if !json => {
            finish_bar(&b);
            eprintln!("{message}");
        }
        _ => {}
    };
    (Job::new(Arc::new(sink), interrupt_token()), bar)
}

fn draw(bar: &Bar, p: &Progress) {
    let Ok(mut slot) = bar.lock() else { return };
    let pb = slot.get_or_insert_with(|| ProgressBar::new(0));
    let template = if p.unit == "bytes" {
        "{spinner} {prefix:>8} [{bar:30}] {bytes}/{total_bytes} {wide_msg}"
    } else {
        "{spinner} {prefix:>8} [{bar:30}] {pos}/{len} {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(p.stage);
    if let Some(t) = p.total {
        pb.set_length(t);
    }
    pb.set_position(p.done);
    pb.set_message(p.message.clone());
}

fn finish_bar(bar: &Bar) {
    if let Ok(mut slot) = bar.lock() {
        if let Some(pb) = slot.take() {
            pb.finish_and_clear();
        }
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Invalid(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn print_cast(script: &Script) {
    println!(
        "Layout: {:?}; {} utterances in {} scenes; {} speakers ({} lines with unknown speaker)",
        script.layout,
        script.utterances.len(),
        script.scenes.len(),
        script.cast.members.len(),
        script.cast.unknown_lines
    );
    println!(
        "{:<24} {:>6} {:>8}  first seen      aliases (suggested)",
        "speaker", "lines", "chars"
    );
    for m in script.cast.members.iter().take(60) {
        let aliases: Vec<&str> = m.suggested_aliases.iter().map(|a| a.alias.as_str()).collect();
        println!(
            "{:<24} {:>6} {:>8}  scene {:<8}  {}",
            m.name,
            m.lines,
            m.chars,
            m.first_scene + 1,
            aliases.join(", ")
        );
    }
    if script.cast.members.len() > 60 {
        println!("… and {} more", script.cast.members.len() - 60);
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Import { files, common } => {
            let (job, bar) = cli_job(common.json);
            let opts = IngestOptions {
                max_bytes: common.max_mb << 20,
            };
            let (_, summaries) = pipeline::import_all(&files, &opts, &job)?;
            finish_bar(&bar);
            if common.json {
                return print_json(&summaries);
            }
            for s in summaries {
                let n = &s.normalized;
                println!(
                    "{}: {:?}, {}, {} characters, {} lines{}",
                    s.file,
                    s.format,
                    s.encoding,
                    s.chars,
                    s.lines,
                    if s.lossy {
                        " (some bytes could not be decoded)"
                    } else {
                        ""
                    }
                );
                println!("  normalised: {} line endings, {} wrapped lines joined, {} footnote markers removed, {} full-width characters folded", n.line_endings_fixed, n.wrapped_lines_joined, n.footnote_markers_removed, n.fullwidth_chars_folded);
                if s.chapters > 0 || s.cues > 0 {
                    println!("  {} chapters, {} subtitle cues", s.chapters, s.cues);
                }
            }
            Ok(())
        }
        Command::Cast {
            files,
            common,
            layout,
            cast_file,
        } => {
            let (job, bar) = cli_job(common.json);
            let opts = IngestOptions {
                max_bytes: common.max_mb << 20,
            };
            let eo = ExtractOptions {
                layout: layout.map(Into::into),
                known_cast: load_cast(cast_file.as_deref())?,
            };
            let (script, _) = pipeline::extract_files(&files, &opts, &eo, &job)?;
            finish_bar(&bar);
            if common.json {
                return print_json(
                    &serde_json::json!({"layout": script.layout, "scenes": script.scenes.len(), "utterances": script.utterances.len(), "cast": script.cast}),
                );
            }
            print_cast(&script);
            Ok(())
        }
        Command::Extract(a) => extract(*a),
        Command::Library(a) => cli_library::library(a),
        Command::Models(a) => cli_models::models(a),
        Command::Persona(a) => cli_library::persona(a),
        Command::Conversations(a) => cli_library::conversations(a),
        Command::Dataset {
            file,
            to,
            out,
            jsonl,
            json,
        } => check_dataset(&file, to, out.as_deref(), jsonl, json),
        Command::Demo {
            out,
            personas,
            model,
            steps,
        } => demo(&out, personas, model.as_deref(), steps),
        Command::Train(a) => cli_train::train(*a),
        Command::Eval(a) => cli_train::eval(*a),
        Command::Adapter(a) => cli_train::adapter(a),
        Command::Chat { gen, save, persona, db } => chat(&gen, save, persona, db),
        Command::Generate { gen, json, prompt } => generate(&gen, json, &prompt),
    }
}

fn extract(a: ExtractArgs) -> Result<(), Error> {
    let pack = a.persona.as_deref().map(PersonaPack::load).transpose()?;
    let mut files = a.files.clone();
    if let Some(p) = &pack {
        files.extend(p.source_paths());
    }
    let (job, bar) = cli_job(a.common.json);
    let opts = IngestOptions {
        max_bytes: a.common.max_mb << 20,
    };
    let eo = ExtractOptions {
        layout: a.layout.map(Into::into),
        known_cast: load_cast(a.cast_file.as_deref())?,
    };
    let (script, _) = pipeline::extract_files(&files, &opts, &eo, &job)?;
    finish_bar(&bar);
    let character = a
        .character
        .clone()
        .or_else(|| pack.as_ref().map(|p| p.settings.character.clone()));
    let Some(character) = character else {
        if a.common.json {
            return print_json(&script.utterances);
        }
        for u in script.utterances.iter().take(200) {
            println!(
                "[scene {}] {}: {}",
                u.scene + 1,
                u.speaker.as_deref().unwrap_or("(unknown)"),
                u.text
            );
        }
        if script.utterances.len() > 200 {
            println!("… {} more (use --json for all)", script.utterances.len() - 200);
        }
        eprintln!("\nTo build a dataset, pass --character NAME and -o OUT. Run `dramatis cast` to see the speakers.");
        return Ok(());
    };
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Invalid("-o OUT is needed: the folder to write the dataset into".into()))?;
    let mut aliases = a.aliases.clone();
    if let Some(p) = &pack {
        aliases.extend(p.settings.aliases.iter().cloned());
    }
    let dopts = DatasetOptions {
        character,
        aliases,
        context_lines: a.context_lines,
        history_turns: a.history,
        system_prompt: a.system.clone().or_else(|| {
            pack.as_ref()
                .map(|p| p.settings.system_prompt.clone())
                .filter(|s| !s.is_empty())
        }),
        source_title: a
            .title
            .clone()
            .or_else(|| pack.as_ref().map(|p| p.settings.source_title.clone()))
            .unwrap_or_default(),
        min_output_chars: a.min_chars,
        validation_ratio: a.val_ratio,
        seed: a.seed,
    };
    let mix = a.mix.as_deref().map(MixOptions::parse).transpose()?;
    let format = match a.format {
        FormatArg::Alpaca => Format::Alpaca,
        FormatArg::Sharegpt => Format::ShareGpt,
    };
    let run = pipeline::build_dataset(&script, &dopts, format, a.jsonl, mix.as_ref(), &out, &job)?;
    if a.common.json {
        return print_json(&run);
    }
    print_run(&run);
    Ok(())
}

fn print_run(run: &pipeline::DatasetRun) {
    let r = &run.report;
    println!(
        "{}: {} of {} utterances are theirs ({:?} layout)",
        run.character, run.character_lines, run.utterances, run.layout
    );
    println!(
        "  samples: {} kept of {} replies ({} train / {} validation, split by scene: {} / {} scenes)",
        r.kept, r.candidates, r.train, r.validation, r.scenes_train, r.scenes_validation
    );
    println!("  dropped: {} too short, {} exact and {} near duplicates, {} validation replies also in training; {} lines had no one to answer", r.dropped_short, r.dropped_exact_duplicates, r.dropped_near_duplicates, r.leaked_removed, r.no_context);
    if r.general_mixed > 0 {
        println!("  mixed in {} general instruction samples", r.general_mixed);
    }
    println!(
        "  reply length ≈ {:.0} tokens on average (p90 {}), about {} tokens in all",
        r.output_tokens.mean, r.output_tokens.p90, r.total_tokens
    );
    println!("  wrote {}", run.files.train.display());
    if let Some(v) = &run.files.validation {
        println!("  wrote {}", v.display());
    }
    println!("  wrote {}", run.files.dataset_info.display());
}

/// A job that prints the reply as it streams (unless `quiet`).
fn token_job(quiet: bool) -> Job {
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

fn chat(gen: &GenArgs, save: bool, persona: Option<i64>, db: Option<PathBuf>) -> Result<(), Error> {
    use std::io::BufRead;
    let record = save.then(|| pipeline::train::LibraryTarget {
        library: cli_library::library_path(&db),
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

fn generate(gen: &GenArgs, json: bool, prompt: &str) -> Result<(), Error> {
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

fn check_dataset(file: &Path, to: Option<FormatArg>, out: Option<&Path>, jsonl: bool, json: bool) -> Result<(), Error> {
    use dramatis::dataset::io;
    let imported = io::read(file)?;
    let (samples, conversations, format) = match imported {
        io::Imported::Alpaca(s) => {
            let c: Vec<_> = s.iter().map(io::sample_to_conversation).collect();
            (s, c, Format::Alpaca)
        }
        io::Imported::ShareGpt(c) => (
            c.iter().flat_map(io::conversation_to_samples).collect(),
            c,
            Format::ShareGpt,
        ),
    };
    let mut report = dramatis::dataset::HealthReport::default();
    dramatis::dataset::health::refresh(&mut report, &samples);
    report.kept = samples.len();
    let written = match (to, out) {
        (Some(t), Some(dir)) => {
            let f = match t {
                FormatArg::Alpaca => Format::Alpaca,
                FormatArg::Sharegpt => Format::ShareGpt,
            };
            let name = dramatis::persona::slug(
                &file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            Some(io::export(dir, &name, f, jsonl, &samples, &conversations)?)
        }
        (Some(_), None) => {
            return Err(Error::Invalid(
                "--to needs -o OUT: the folder to write the converted data set into".into(),
            ))
        }
        _ => None,
    };
    if json {
        return print_json(
            &serde_json::json!({"format": format, "samples": samples.len(), "conversations": conversations.len(), "report": report, "written": written}),
        );
    }
    println!(
        "{}: {:?}, {} samples ({} conversations); replies ≈ {:.0} tokens on average, {} tokens in all",
        file.display(),
        format,
        samples.len(),
        conversations.len(),
        report.output_tokens.mean,
        report.total_tokens
    );
    if let Some(w) = written {
        println!("  wrote {} and {}", w.train.display(), w.dataset_info.display());
    }
    Ok(())
}

fn demo(out: &Path, personas: Option<PathBuf>, model: Option<&str>, steps: usize) -> Result<(), Error> {
    let root = personas.unwrap_or_else(|| {
        let here = PathBuf::from("personas");
        if here.is_dir() {
            here
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("personas")
        }
    });
    let mut packs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| Error::io(&root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("persona.json").is_file())
        .collect();
    packs.sort();
    if packs.is_empty() {
        return Err(Error::Invalid(format!(
            "no persona packs (folders with persona.json) in {}",
            root.display()
        )));
    }
    let mut english = None;
    for dir in packs {
        let pack = PersonaPack::load(&dir)?;
        let s = &pack.settings;
        println!("== {} — {} ==", s.name, s.source_title);
        let (job, bar) = cli_job(false);
        let (script, summaries) = pipeline::extract_files(
            &pack.source_paths(),
            &IngestOptions::default(),
            &ExtractOptions::default(),
            &job,
        )?;
        finish_bar(&bar);
        for im in &summaries {
            println!(
                "import: {} ({:?}, {}, {} characters)",
                im.file, im.format, im.encoding, im.chars
            );
        }
        println!("cast:");
        for m in script.cast.members.iter().take(6) {
            let aliases: Vec<&str> = m.suggested_aliases.iter().map(|a| a.alias.as_str()).collect();
            println!(
                "  {:<16} {:>4} lines  {}",
                m.name,
                m.lines,
                if aliases.is_empty() {
                    String::new()
                } else {
                    format!("(also: {})", aliases.join(", "))
                }
            );
        }
        let dopts = DatasetOptions {
            character: s.character.clone(),
            aliases: s.aliases.clone(),
            system_prompt: Some(s.system_prompt.clone()).filter(|p| !p.is_empty()),
            source_title: s.source_title.clone(),
            ..Default::default()
        };
        let mix = MixOptions::parse("builtin:0.2")?;
        let pack_out = out.join(dramatis::persona::slug(
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .as_deref()
                .unwrap_or("persona"),
        ));
        let run = pipeline::build_dataset(&script, &dopts, Format::Alpaca, false, Some(&mix), &pack_out, &job)?;
        print_run(&run);
        println!();
        if english.is_none() && s.language == "en" {
            english = Some((pack_out.clone(), run.files.clone(), s.clone()));
        }
    }
    if let (Some(spec), Some((dir, files, s))) = (model, english) {
        demo_train(spec, &dir, &files, &s, steps)?;
    }
    Ok(())
}

/// The rest of the road for one persona: a quick adapter, then base model
/// and persona answer the same line.
fn demo_train(
    spec: &str,
    dir: &Path,
    files: &dramatis::dataset::io::Exported,
    s: &dramatis::persona::PersonaSettings,
    steps: usize,
) -> Result<(), Error> {
    use dramatis::model::{ChatMessage, ChatModel, GenerateOptions, LoadOptions, Model, ModelSource, QuantPolicy};
    use dramatis::tune::{self, Preset};
    println!("== training a quick adapter for {} on {spec} ==", s.name);
    let opts = LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    };
    let mut model = Model::load(&ModelSource::parse(spec)?, &opts)?;
    let train = pipeline::train::read_samples(&files.train)?;
    let val = match &files.validation {
        Some(v) => pipeline::train::read_samples(v)?,
        None => Vec::new(),
    };
    let mut cfg = Preset::Quick.config();
    cfg.max_steps = Some(steps);
    cfg.batch_size = 2;
    cfg.max_len = 256;
    cfg.lr = 1e-3;
    cfg.eval_every = steps.div_ceil(3).max(1);
    cfg.max_val_samples = 16;
    let (t, skipped) = tune::prepare(&model, &train, cfg.max_len)?;
    let (v, _) = tune::prepare(&model, &val[..val.len().min(cfg.max_val_samples)], cfg.max_len)?;
    let out = dir.join("adapter");
    // A fresh run each time (a run folder would otherwise resume).
    let _ = std::fs::remove_dir_all(&out);
    let (job, bar) = cli_job_with(false, |e, bar| {
        if let tune::TrainEvent::Eval { step, val_loss, .. } = e {
            finish_bar(bar);
            eprintln!("  step {step}: validation loss {val_loss:.3}");
        }
    });
    let summary = tune::Run {
        model: &mut model,
        cfg,
        train: t,
        val: v,
        skipped,
        out: out.clone(),
        base_name: Some(spec.to_owned()),
    }
    .train(&job);
    finish_bar(&bar);
    let summary = summary?;
    let _ = tune::eval::plot_loss_curve(&out.join("metrics.jsonl"), &out.join("loss_curve.png"));
    println!(
        "adapter: {} ({} steps, validation loss {:.3} → {:.3}, {:.0} tokens/s)",
        out.display(),
        summary.steps,
        summary.val_loss_first.unwrap_or(f64::NAN),
        summary.val_loss_last.unwrap_or(f64::NAN),
        summary.tokens_per_s
    );
    let line = "Evening, Mrs Doyle. Is there a storm coming tonight?";
    let messages = [
        ChatMessage::new("system", &s.system_prompt),
        ChatMessage::new("user", line),
    ];
    let gen = GenerateOptions {
        temperature: 0.0,
        max_tokens: 48,
        ..Default::default()
    };
    let mut chat = ChatModel::new(model);
    println!("you:     {line}");
    chat.set_adapter(Some(&out))?;
    let persona = chat.generate(&messages, &gen, &CancelToken::new(), |_| {})?;
    chat.set_adapter(None)?;
    let base = chat.generate(&messages, &gen, &CancelToken::new(), |_| {})?;
    println!("base:    {}", base.text.trim());
    println!(
        "{:<8} {}",
        format!("{}:", s.name.split(' ').next().unwrap_or("persona")),
        persona.text.trim()
    );
    Ok(())
}

fn main() {
    // A closed stdout (`dramatis … | head`) ends the CLI quietly, as it does
    // for other Unix tools, instead of a "broken pipe" panic.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    dramatis::jobs::init_runtime();
    if let Err(e) = run(cli) {
        // The engine's advice in plain words; here, with the flag that does it.
        let hint = match &e {
            Error::TooLarge { .. } => Some("Split the file, or raise the limit with --max-mb."),
            Error::NotEnoughMemory { .. } => Some(
                "Choose a smaller preset (--preset quick), a smaller --batch-size or a shorter --max-len, or close other programs.",
            ),
            _ => e.hint(),
        };
        eprintln!(
            "error: {}{}",
            e.message(),
            hint.map(|h| format!(" {h}")).unwrap_or_default()
        );
        std::process::exit(match e {
            Error::Cancelled => 130,
            _ => 1,
        });
    }
}
