//! model: model sources and what describes them (GGUF metadata, tokenizer,
//! chat template) and chat generation.

pub mod generate;
pub mod gguf;
pub mod template;
pub mod tokenizer;

pub use generate::{ChatModel, GenerateOptions, Generated};
pub use gguf::Gguf;
pub use template::ChatMessage;
pub use tokenizer::TextTokenizer;
