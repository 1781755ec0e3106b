//! `dramatis library`, `dramatis persona`, `dramatis conversations`: the CLI
//! face of the persona library (the engine's `store`).

use clap::{Args, Subcommand, ValueEnum};
use dramatis::dataset::{self, io::Format};
use dramatis::ingest::IngestOptions;
use dramatis::jobs::{Error, Job};
use dramatis::store::{Keep, Library, Persona};
use std::path::{Path, PathBuf};

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

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportKind {
    /// A dataset, by dataset id: Alpaca or ShareGPT files and dataset_info.json.
    Dataset,
    /// A persona pack (.zip), by persona id.
    Persona,
    /// A character card (.png or .json), by persona id.
    Card,
    /// A LLaMA-Factory or axolotl config with its data, by dataset id.
    TrainConfig,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Tool {
    Llamafactory,
    Axolotl,
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
    /// Writes items in a loop, printing each commit (for the crash test).
    #[command(hide = true)]
    Stress,
}

#[derive(Args)]
pub struct PersonaArgs {
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: PersonaCommand,
}

#[derive(Subcommand)]
enum PersonaCommand {
    /// Import sources, build the dataset and keep the persona in the library.
    Create {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        character: String,
        /// The persona's name (default: the character).
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "alias")]
        aliases: Vec<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        system: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ConversationArgs {
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: ConversationCommand,
}

#[derive(Subcommand)]
enum ConversationCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write a conversation as JSON (ShareGPT-style messages) or Markdown.
    Export {
        id: i64,
        #[arg(short, long)]
        out: PathBuf,
    },
}

/// `--db`, else `$DRAMATIS_LIBRARY`, else the app-data folder's library.
pub fn library_path(db: &Option<PathBuf>) -> PathBuf {
    db.clone()
        .or_else(|| std::env::var_os("DRAMATIS_LIBRARY").map(PathBuf::from))
        .unwrap_or_else(Library::default_path)
}

fn open(db: &Option<PathBuf>) -> Result<Library, Error> {
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
                    p.name,
                    p.character,
                    if p.source_title.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", p.source_title)
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
                    p.id, p.name, p.character, p.system_prompt, p.greeting
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
        } => match what {
            ExportKind::Dataset | ExportKind::TrainConfig => {
                let d = lib.dataset(id).map_err(|e| {
                    Error::Invalid(format!(
                        "{e}. `library export dataset|train-config` takes a dataset id, not a persona id"
                    ))
                })?;
                let samples = lib.dataset_samples(id)?;
                let convs: Vec<_> = samples.iter().map(dataset::io::sample_to_conversation).collect();
                let f = match (what, format) {
                    (ExportKind::TrainConfig, _) | (_, super::FormatArg::Alpaca) => Format::Alpaca,
                    (_, super::FormatArg::Sharegpt) => Format::ShareGpt,
                };
                let name = dramatis::persona::slug(&d.name);
                let files = dataset::io::export(&out, &name, f, jsonl, &samples, &convs)?;
                println!(
                    "wrote {} ({} rows) and {}",
                    files.train.display(),
                    samples.len(),
                    files.dataset_info.display()
                );
                if matches!(what, ExportKind::TrainConfig) {
                    let model = base_model.as_deref().unwrap_or("HuggingFaceTB/SmolLM2-135M-Instruct");
                    let (file, text) = match tool {
                        Tool::Llamafactory => (
                            "llamafactory_lora.yaml",
                            dataset::configs::llamafactory_yaml(
                                model,
                                &format!("{name}_train"),
                                ".",
                                "saves/persona-lora",
                            ),
                        ),
                        Tool::Axolotl => {
                            let train = format!("{name}_messages.jsonl");
                            let text = dataset::configs::messages_jsonl(&samples);
                            dramatis::jobs::write_atomic(&out.join(&train), text.as_bytes())?;
                            println!("wrote {}", out.join(&train).display());
                            (
                                "axolotl_lora.yaml",
                                dataset::configs::axolotl_yaml(model, &train, "outputs/persona-lora"),
                            )
                        }
                    };
                    dramatis::jobs::write_atomic(&out.join(file), text.as_bytes())?;
                    println!("wrote {}", out.join(file).display());
                }
                Ok(())
            }
            ExportKind::Persona => {
                let opts = dramatis::store::pack::PackOptions {
                    conversations,
                    base_model,
                };
                let m = lib.export_pack(id, &out, &opts)?;
                println!("wrote {} ({} files)", out.display(), m.files.len());
                Ok(())
            }
            ExportKind::Card => {
                let p = lib.persona(id)?;
                let card = dramatis::store::card::card_json(&p, base_model.as_deref(), None);
                let bytes = if out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
                    let avatar = match p.avatar.as_deref().map(std::fs::read) {
                        Some(Ok(b)) => b,
                        _ => dramatis::store::card::default_avatar(&p.name),
                    };
                    dramatis::store::card::embed_in_png(&avatar, &card, &out)?
                } else {
                    serde_json::to_vec_pretty(&card).unwrap_or_default()
                };
                dramatis::jobs::write_atomic(&out, &bytes)?;
                println!("wrote {}", out.display());
                Ok(())
            }
        },
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
            println!("Imported persona #{pid} \"{}\".", lib.persona(pid)?.name);
            Ok(())
        }
        LibraryCommand::Stress => stress(&mut lib),
    }
}

fn show_conversation(lib: &Library, id: i64, json: bool) -> Result<(), Error> {
    let c = lib.conversation(id)?;
    let msgs = lib.messages(id)?;
    if json {
        return super::print_json(&serde_json::json!({"conversation": c, "messages": msgs}));
    }
    println!("#{} {}", c.id, c.title);
    for m in msgs {
        println!("{}: {}", m.role, m.content);
    }
    Ok(())
}

pub fn persona(a: PersonaArgs) -> Result<(), Error> {
    let mut lib = open(&a.db)?;
    match a.command {
        PersonaCommand::Create {
            files,
            character,
            name,
            aliases,
            title,
            system,
            json,
        } => {
            let req = dramatis::pipeline::PersonaRequest {
                files,
                character,
                name,
                aliases,
                title,
                system,
            };
            let made = dramatis::pipeline::create_persona(&mut lib, &req, &Job::silent())?;
            let (pid, did, source_ids) = (made.persona, made.dataset, made.sources);
            let persona = lib.persona(pid)?;
            if json {
                return super::print_json(
                    &serde_json::json!({"persona": pid, "dataset": did, "sources": source_ids, "rows": made.rows}),
                );
            }
            println!(
                "Created persona #{pid} \"{}\" with dataset #{did} ({} rows) from {} source(s).",
                persona.name,
                made.rows,
                source_ids.len()
            );
            Ok(())
        }
    }
}

pub fn conversations(a: ConversationArgs) -> Result<(), Error> {
    let lib = open(&a.db)?;
    match a.command {
        ConversationCommand::List { json } => {
            let cs = lib.conversations()?;
            if json {
                return super::print_json(&cs);
            }
            for c in cs {
                println!(
                    "#{:<4} {} ({} messages){}",
                    c.id,
                    c.title,
                    c.messages,
                    c.persona_id.map_or(String::new(), |p| format!(", persona #{p}"))
                );
            }
            Ok(())
        }
        ConversationCommand::Show { id, json } => show_conversation(&lib, id, json),
        ConversationCommand::Export { id, out } => {
            let c = lib.conversation(id)?;
            let msgs = lib.messages(id)?;
            let text = if out.extension().is_some_and(|e| e == "md") {
                let mut s = format!("# {}\n\n", c.title);
                for m in &msgs {
                    s.push_str(&format!("**{}**: {}\n\n", m.role, m.content));
                }
                s
            } else {
                let messages: Vec<_> = msgs
                    .iter()
                    .map(|m| serde_json::json!({"from": if m.role == "user" { "human" } else if m.role == "assistant" { "gpt" } else { m.role.as_str() }, "value": m.content}))
                    .collect();
                serde_json::to_string_pretty(&serde_json::json!({"title": c.title, "conversations": messages}))
                    .unwrap_or_default()
            };
            dramatis::jobs::write_atomic(&out, text.as_bytes())?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// Write items forever, printing each one after its commit; the crash test
/// kills this process at random points and checks what was printed is there.
fn stress(lib: &mut Library) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let text = format!("第1幕\n皇帝：第{i}次。\n甄嬛：臣妾记得第{i}次。\n");
        let doc = dramatis::ingest::import_bytes(Path::new("s.txt"), text.as_bytes(), &IngestOptions::default())?;
        let src = lib.add_source(&doc, text.as_bytes())?;
        writeln!(out, "source {src} {}", doc.text.len()).ok();
        let pid = lib.create_persona(
            &Persona {
                name: format!("p{i}"),
                character: "甄嬛".into(),
                ..Default::default()
            },
            &[src],
        )?;
        writeln!(out, "persona {pid} p{i}").ok();
        let samples: Vec<_> = (0..40)
            .map(|j| dataset::Sample {
                system: String::new(),
                instruction: format!("q{i}-{j}"),
                input: String::new(),
                output: format!("a{i}-{j}"),
                history: Vec::new(),
                scene: None,
                split: dataset::Split::Train,
            })
            .collect();
        let did = lib.create_dataset(Some(pid), &format!("d{i}"), &samples, "{}")?;
        writeln!(out, "dataset {did} 40").ok();
        let row = lib.dataset_rows(did)?[7].id;
        lib.set_row_enabled(row, false)?;
        writeln!(out, "disabled {did} {row}").ok();
        let cid = lib.create_conversation(Some(pid), &format!("c{i}"))?;
        for k in 0..5 {
            let mid = lib.add_message(
                cid,
                if k % 2 == 0 { "user" } else { "assistant" },
                &format!("m{i}-{k}"),
                "{}",
                None,
            )?;
            writeln!(out, "message {cid} {mid} m{i}-{k}").ok();
        }
        out.flush().ok();
    }
    Ok(())
}
