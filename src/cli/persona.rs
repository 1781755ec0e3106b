//! `dramatis persona` and `dramatis conversations`.

use super::library::open;
use clap::{Args, Subcommand};
use dramatis::jobs::{Error, Job};
use dramatis::store::Library;
use std::path::PathBuf;

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

pub(crate) fn show_conversation(lib: &Library, id: i64, json: bool) -> Result<(), Error> {
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
                persona.persona.name,
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
