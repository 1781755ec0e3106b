//! model: model sources (GGUF files, Hugging Face folders, the hub), the
//! llama-family transformer that Dramatis runs and trains, tokenizers, chat
//! templates and streamed generation.

pub mod adapter;
pub mod attention;
pub mod causal;
pub mod config;
pub mod cpu;
pub mod device;
pub mod export;
pub mod generate;
pub mod gguf;
pub mod hub;
pub mod linear;
pub mod ops;
pub mod qkernel;
pub mod rows;
pub mod source;
pub mod template;
pub mod tokenizer;
pub mod transformer;
pub mod weights;

pub use config::{Arch, ModelConfig};
pub use device::{device_name, open_gpu, pick_device, PickedDevice};
pub use generate::{ChatModel, GenerateOptions, Generated};
pub use gguf::Gguf;
pub use source::{LoadOptions, ModelSource};
pub use template::ChatMessage;
pub use tokenizer::TextTokenizer;
pub use transformer::{KvCache, Transformer};
pub use weights::QuantPolicy;

use crate::jobs::{Error, Result};
use candle_core::{DType, Device};
use source::folder_template;
use std::path::Path;
use weights::WeightFile;

/// A model ready to run: the transformer, its tokenizer and chat template.
pub struct Model {
    pub source: ModelSource,
    pub net: Transformer,
    pub tokenizer: TextTokenizer,
    pub template: String,
}

/// ChatML, for models that carry no template of their own.
pub const CHATML: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

impl Model {
    pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<Model> {
        match source {
            ModelSource::Gguf { path } => Self::load_gguf(path, opts),
            ModelSource::Folder { path } => Self::load_folder(path, opts),
            ModelSource::Hub { repo, revision } => {
                let dir = hub::HubClient::from_env().snapshot(repo, revision, None)?;
                let mut m = Self::load_folder(&dir, opts)?;
                m.source = source.clone();
                Ok(m)
            }
        }
    }

    pub fn load_gguf(path: &Path, opts: &LoadOptions) -> Result<Model> {
        let meta = Gguf::open(path)?;
        let mut cfg = ModelConfig::from_gguf(&meta)?;
        let tokenizer = TextTokenizer::from_gguf(&meta)?;
        let template = meta
            .get("tokenizer.chat_template")
            .and_then(|v| v.as_str())
            .unwrap_or(CHATML)
            .to_owned();
        let mut file = WeightFile::gguf(path)?;
        if file.has("rope_freqs.weight") {
            let f = file.dense("rope_freqs.weight", &[cfg.head_dim / 2], DType::F32, &Device::Cpu)?;
            cfg.rope_scaling = Some(config::RopeScaling::Factors(f.to_vec1()?));
        }
        let net = Transformer::load(cfg, &mut file, opts.dtype, opts.policy, &opts.device)?;
        Ok(Model {
            source: ModelSource::Gguf { path: path.into() },
            net,
            tokenizer,
            template,
        })
    }

    pub fn load_folder(dir: &Path, opts: &LoadOptions) -> Result<Model> {
        let cfg_path = dir.join("config.json");
        if !cfg_path.exists() {
            return Err(Error::Format {
                path: dir.into(),
                detail: "no config.json here: this folder is not a Hugging Face model (download the whole model repository, or give a .gguf file)".into(),
            });
        }
        let cfg = ModelConfig::from_hf_json(&cfg_path)?;
        let tokenizer = TextTokenizer::from_folder(dir)?;
        let template = folder_template(dir)?.unwrap_or_else(|| CHATML.to_owned());
        let mut file = WeightFile::safetensors(dir)?;
        let net = Transformer::load(cfg, &mut file, opts.dtype, opts.policy, &opts.device)?;
        Ok(Model {
            source: ModelSource::Folder { path: dir.into() },
            net,
            tokenizer,
            template,
        })
    }
}
