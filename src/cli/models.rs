//! `dramatis models`: the models on this computer, downloads, devices.

use clap::{Args, Subcommand};
use dramatis::jobs::Error;
use dramatis::pipeline::models;
use std::path::PathBuf;

#[derive(Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Models in the Hugging Face cache and the library's model files.
    List {
        /// The library file (default: the app-data folder, or $DRAMATIS_LIBRARY).
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Download a model from the Hugging Face hub (owner/name[@revision]) into its cache.
    Download { id: String },
    /// The devices Dramatis can use here, and the one `auto` picks.
    Devices {
        #[arg(long)]
        json: bool,
    },
}

pub fn models(a: ModelsArgs) -> Result<(), Error> {
    match a.command {
        ModelsCommand::List { db, json } => {
            let lib = dramatis::store::Library::open(&crate::library::library_path(&db))?;
            let cache = dramatis::model::hub::HubClient::from_env().cache_dir;
            let list = models::local_models(&cache, Some(&lib))?;
            if json {
                return crate::print_json(&list);
            }
            for m in &list {
                println!(
                    "{:<48} {:<6} {:>8.1} MB  {}",
                    m.reference,
                    m.kind,
                    m.size_bytes as f64 / 1e6,
                    m.path.display()
                );
            }
            if list.is_empty() {
                println!("No models yet: `dramatis models download HuggingFaceTB/SmolLM2-360M-Instruct`, or name a .gguf file or a folder with --model.");
            }
            Ok(())
        }
        ModelsCommand::Download { id } => {
            let (job, bar) = crate::cli_job(false);
            let dir = models::download(&id, &job);
            crate::finish_bar(&bar);
            println!("{}", dir?.display());
            Ok(())
        }
        ModelsCommand::Devices { json } => {
            let devices = models::devices();
            if json {
                return crate::print_json(&devices);
            }
            for d in devices {
                println!(
                    "{}{:<8} {} {}",
                    if d.chosen { "* " } else { "  " },
                    d.name,
                    d.description,
                    if d.features.is_empty() {
                        String::new()
                    } else {
                        format!("[{}]", d.features.join(" "))
                    }
                );
                if !d.kernels.is_empty() {
                    println!("           kernels: {}", d.kernels.join(", "));
                }
            }
            Ok(())
        }
    }
}
