//! model: model sources (GGUF files, Hugging Face folders, the hub), the
//! llama-family transformer that Dramatis runs and trains, tokenizers, chat
//! templates and streamed generation.

pub mod adapter;
pub mod config;
pub mod cpu;
pub mod export;
pub mod generate;
pub mod gguf;
pub mod hub;
pub mod linear;
pub mod ops;
pub mod qkernel;
pub mod source;
pub mod template;
pub mod tokenizer;
pub mod transformer;
pub mod weights;

pub use config::{Arch, ModelConfig};
pub use generate::{ChatModel, GenerateOptions, Generated};
pub use gguf::Gguf;
pub use source::{device_name, open_gpu, pick_device, LoadOptions, Model, ModelSource, PickedDevice};
pub use template::ChatMessage;
pub use tokenizer::TextTokenizer;
pub use transformer::{KvCache, Transformer};
pub use weights::QuantPolicy;
