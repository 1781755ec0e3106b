//! `dramatis library`, `dramatis persona`, `dramatis conversations`: the CLI
//! face of the persona library (the engine's `store`).

use super::persona::show_conversation;
use clap::{Args, Subcommand, ValueEnum};
use dramatis::jobs::Error;
use dramatis::store::{Keep, Library};
use export::{ExportKind, Tool};
use std::path::PathBuf;

#[path = "library_export.rs"]
mod export;

#[derive(Args)]
pub struct LibraryArgs {
    /// The library file (default: the app-data folder, or $DRAMATIS_LIBRARY).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: LibraryCommand,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Persona,
    Dataset,
    Conversation,
}

#[derive(Subcommand)]
enum LibraryCommand {
    /// Everything in the library.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One item in full.
    Show {
        #[arg(value_enum)]
        kind: Kind,
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Delete a persona; says what goes and what stays, and needs --yes.
    Delete {
        #[arg(value_enum)]
        kind: Kind,
        id: i64,
        /// What to keep: datasets, conversations, adapters (comma-separated).
        #[arg(long, value_delimiter = ',')]
        keep: Vec<String>,
        /// Really delete.
        #[arg(long)]
        yes: bool,
    },
    /// Export: a dataset (Alpaca/ShareGPT + dataset_info.json), a persona pack
    /// (zip), a character card (.png or .json) or a training config.
    Export {
        #[arg(value_enum)]
        what: ExportKind,
        /// A dataset id for `dataset` and `train-config`; a persona id for
        /// `persona` and `card` (`library list` shows both).
        id: i64,
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "alpaca")]
        format: super::FormatArg,
        #[arg(long)]
        jsonl: bool,
        /// Persona packs: include the persona's conversations.
        #[arg(long)]
        conversations: bool,
        /// The base model named in packs, cards and training configs.
        #[arg(long)]
        base_model: Option<String>,
        /// Training configs: which trainer.
        #[arg(long, value_enum, default_value = "llamafactory")]
        tool: Tool,
    },
    /// Bring in a PEFT LoRA adapter folder trained elsewhere.
    ImportAdapter {
        dir: PathBuf,
        /// The persona it belongs to.
        #[arg(long)]
        persona: Option<i64>,
    },
    /// Import a persona pack (.zip) or a character card (.png / .json).
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// `--db`, else `$DRAMATIS_LIBRARY`, else the app-data folder's library.
pub fn library_path(db: &Option<PathBuf>) -> PathBuf {
    db.clone()
        .or_else(|| std::env::var_os("DRAMATIS_LIBRARY").map(PathBuf::from))
        .unwrap_or_else(Library::default_path)
}

pub(crate) fn open(db: &Option<PathBuf>) -> Result<Library, Error> {
    Library::open(&library_path(db))
}

pub fn library(a: LibraryArgs) -> Result<(), Error> {
    let mut lib = open(&a.db)?;
    match a.command {
        LibraryCommand::List { json } => {
            let personas = lib.personas()?;
            let datasets = lib.datasets()?;
            let sources = lib.sources()?;
            let conversations = lib.conversations()?;
            let models = lib.models()?;
            let runs = lib.runs()?;
            let adapters = lib.adapters()?;
            if json {
                return super::print_json(&serde_json::json!({
                    "library": lib.path(), "personas": personas, "datasets": datasets,
                    "sources": sources, "conversations": conversations, "models": models,
                    "training_runs": runs, "adapters": adapters,
                }));
            }
            println!("Library {}", lib.path().display());
            println!("personas ({}):", personas.len());
            for p in &personas {
                println!(
                    "  #{:<4} {} ({}){}",
                    p.id,
                    p.persona.name,
                    p.persona.character,
                    if p.persona.source_title.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", p.persona.source_title)
                    }
                );
            }
            println!("datasets ({}):", datasets.len());
            for d in &datasets {
                println!(
                    "  #{:<4} {} — {} rows ({} enabled){}",
                    d.id,
                    d.name,
                    d.rows,
                    d.enabled_rows,
                    d.persona_id.map_or(String::new(), |p| format!(", persona #{p}"))
                );
            }
            println!("sources ({}):", sources.len());
            for s in &sources {
                println!(
                    "  #{:<4} {} ({}, {}, {} bytes)",
                    s.id, s.file_name, s.format, s.encoding, s.bytes
                );
            }
            println!(
                "conversations ({}), models ({}), training runs ({}), adapters ({})",
                conversations.len(),
                models.len(),
                runs.len(),
                adapters.len()
            );
            for r in runs.iter().filter(|r| r.status == "interrupted") {
                println!(
                    "training run #{} was interrupted; continue it with `dramatis train --resume {}`",
                    r.id,
                    r.folder.as_deref().unwrap_or("?")
                );
            }
            Ok(())
        }
        LibraryCommand::Show { kind, id, json } => match kind {
            Kind::Persona => {
                let p = lib.persona(id)?;
                let aliases = lib.alias_groups(id)?;
                let sources = lib.persona_sources(id)?;
                if json {
                    return super::print_json(
                        &serde_json::json!({"persona": p, "alias_groups": aliases, "sources": sources}),
                    );
                }
                println!(
                    "#{} {} ({})\n  system prompt: {}\n  greeting: {}",
                    p.id, p.persona.name, p.persona.character, p.persona.system_prompt, p.persona.greeting
                );
                for g in aliases {
                    println!(
                        "  {} = {}{}",
                        g.main_name,
                        g.aliases.join(" / "),
                        if g.confirmed { "" } else { " (suggested)" }
                    );
                }
                Ok(())
            }
            Kind::Dataset => {
                let d = lib.dataset(id)?;
                let rows = lib.dataset_rows(id)?;
                if json {
                    return super::print_json(&serde_json::json!({"dataset": d, "rows": rows}));
                }
                println!("#{} {} — {} rows ({} enabled)", d.id, d.name, d.rows, d.enabled_rows);
                for r in rows.iter().take(50) {
                    println!(
                        "  [{}{}] {} → {}",
                        r.split,
                        if r.enabled { "" } else { ", off" },
                        r.sample.instruction,
                        r.sample.output
                    );
                }
                Ok(())
            }
            Kind::Conversation => show_conversation(&lib, id, json),
        },
        LibraryCommand::Delete { kind, id, keep, yes } => {
            if !matches!(kind, Kind::Persona) {
                return Err(Error::Invalid(
                    "only personas can be deleted from the CLI for now".into(),
                ));
            }
            let mut k = Keep::default();
            for item in &keep {
                match item.as_str() {
                    "datasets" => k.datasets = true,
                    "conversations" => k.conversations = true,
                    "adapters" => k.adapters = true,
                    other => {
                        return Err(Error::Invalid(format!(
                            "--keep {other}: choose from datasets, conversations, adapters"
                        )))
                    }
                }
            }
            let plan = if yes {
                lib.delete_persona(id, k)?
            } else {
                lib.plan_delete_persona(id, k)?
            };
            let verb = if yes { "Deleted" } else { "Would delete" };
            println!(
                "{verb} persona \"{}\" with {} datasets, {} conversations, {} adapters ({} files).",
                plan.persona,
                plan.datasets.len(),
                plan.conversations.len(),
                plan.adapters.len(),
                plan.files.len()
            );
            if !plan.kept_files.is_empty() {
                println!(
                    "{} adapter folder(s) stay because another item still uses them: {}",
                    plan.kept_files.len(),
                    plan.kept_files.join(", ")
                );
            }
            if !yes {
                println!("Nothing was deleted. Keep some of it with --keep datasets,conversations,adapters; run again with --yes to delete.");
            }
            Ok(())
        }
        LibraryCommand::Export {
            what,
            id,
            out,
            format,
            jsonl,
            conversations,
            base_model,
            tool,
        } => export::export(&lib, what, id, out, format, jsonl, conversations, base_model, tool),
        LibraryCommand::ImportAdapter { dir, persona } => {
            if let Some(p) = persona {
                lib.persona(p)?;
            }
            let id = lib.import_peft_adapter(persona, &dir)?;
            println!("Imported adapter #{id} from {}.", dir.display());
            Ok(())
        }
        LibraryCommand::Import { file, json } => {
            let pid = lib.import_persona_file(&file)?;
            if json {
                return super::print_json(&serde_json::json!({"persona": pid}));
            }
            println!("Imported persona #{pid} \"{}\".", lib.persona(pid)?.persona.name);
            Ok(())
        }
    }
}
