//! `dramatis library export`.

use super::*;
use clap::ValueEnum;
use dramatis::dataset::{self, io::Format};

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

/// `library export`: a dataset, a persona pack, a card or a training config.
#[allow(clippy::too_many_arguments)]
pub(crate) fn export(
    lib: &Library,
    what: ExportKind,
    id: i64,
    out: PathBuf,
    format: crate::FormatArg,
    jsonl: bool,
    conversations: bool,
    base_model: Option<String>,
    tool: Tool,
) -> Result<(), Error> {
    match what {
        ExportKind::Dataset | ExportKind::TrainConfig => {
            let d = lib.dataset(id).map_err(|e| {
                Error::Invalid(format!(
                    "{e}. `library export dataset|train-config` takes a dataset id, not a persona id"
                ))
            })?;
            let samples = lib.dataset_samples(id)?;
            let convs: Vec<_> = samples.iter().map(dataset::io::sample_to_conversation).collect();
            let f = match (what, format) {
                (ExportKind::TrainConfig, _) | (_, crate::FormatArg::Alpaca) => Format::Alpaca,
                (_, crate::FormatArg::Sharegpt) => Format::ShareGpt,
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
                        dataset::configs::llamafactory_yaml(model, &format!("{name}_train"), ".", "saves/persona-lora"),
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
            lib.export_card(id, &out, base_model.as_deref(), None)?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}
