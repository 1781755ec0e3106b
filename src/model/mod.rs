//! model: model sources and what describes them (GGUF metadata, tokenizer,
//! chat template). The transformer itself comes with the model-runtime issue.

pub mod gguf;
pub mod template;
pub mod tokenizer;

pub use gguf::Gguf;
pub use template::ChatMessage;
pub use tokenizer::TextTokenizer;
