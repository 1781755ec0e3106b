//! The `dramatis` command line: a thin face on the engine. Each subcommand
//! parses its flags, calls one engine function and prints the result.

mod chat;
mod demo;
mod eval;
mod extract;
mod library;
mod models;
mod output;
mod persona;
mod train;

use chat::*;
use clap::{Args, Parser, Subcommand, ValueEnum};
use demo::*;
use dramatis::dataset::io::Format;
use dramatis::extract::ExtractOptions;
use dramatis::ingest::IngestOptions;
use dramatis::jobs::{CancelToken, Error, Event, Job, Progress};
use dramatis::pipeline;
use extract::*;
use output::*;
use std::path::{Path, PathBuf};

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
    Library(library::LibraryArgs),
    /// Models on this computer, downloads from the Hugging Face hub, devices.
    Models(models::ModelsArgs),
    /// Create a persona in the library from sources.
    Persona(persona::PersonaArgs),
    /// Conversations kept in the library.
    Conversations(persona::ConversationArgs),
    /// Train a LoRA adapter for a persona on its dataset.
    Train(Box<train::TrainArgs>),
    /// Score an adapter against the base model on held-out lines.
    Eval(Box<eval::EvalArgs>),
    /// Merge or export an adapter (Hugging Face folder, GGUF, Ollama).
    Adapter(eval::AdapterArgs),
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
pub(crate) struct Common {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Largest amount of text to accept, in MB.
    #[arg(long, default_value_t = 200)]
    pub(crate) max_mb: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Alpaca,
    Sharegpt,
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
        Command::Library(a) => library::library(a),
        Command::Models(a) => models::models(a),
        Command::Persona(a) => persona::persona(a),
        Command::Conversations(a) => persona::conversations(a),
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
        Command::Train(a) => train::train(*a),
        Command::Eval(a) => eval::eval(*a),
        Command::Adapter(a) => eval::adapter(a),
        Command::Chat { gen, save, persona, db } => chat(&gen, save, persona, db),
        Command::Generate { gen, json, prompt } => generate(&gen, json, &prompt),
    }
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
