//! Chat generation on a GGUF model, streamed token by token.
//!
//! A stepping stone: the forward pass is candle-transformers' quantized llama
//! (inference only). The LoRA-capable transformer that training needs will
//! replace it behind this same interface.

use super::{template, ChatMessage, Gguf, TextTokenizer};
use crate::jobs::{CancelToken, Error, Result};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    /// 0 means greedy.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub repeat_penalty: f32,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            temperature: 0.7,
            top_p: Some(0.9),
            top_k: None,
            repeat_penalty: 1.1,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub text: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// Why generation stopped: "eos", "max_tokens" or "cancelled".
    pub stop: &'static str,
}

pub struct ChatModel {
    weights: ModelWeights,
    pub tokenizer: TextTokenizer,
    template: String,
    device: Device,
}

fn model_err(path: &Path) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::Format {
        path: path.into(),
        detail: format!("the model could not be loaded or run ({e})"),
    }
}

impl ChatModel {
    /// Load a llama-family GGUF file (SmolLM2, TinyLlama, Llama 3) on the CPU.
    pub fn load_gguf(path: &Path) -> Result<Self> {
        let meta = Gguf::open(path)?;
        match meta.architecture() {
            Some("llama") => {}
            other => {
                return Err(Error::Format {
                    path: path.into(),
                    detail: format!(
                        "architecture {:?} is not supported for chat yet (llama-family GGUF files are)",
                        other.unwrap_or("unknown")
                    ),
                })
            }
        }
        let tokenizer = TextTokenizer::from_gguf(&meta)?;
        let template = meta
            .get("tokenizer.chat_template")
            .and_then(|v| v.as_str())
            .unwrap_or("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
            .to_owned();
        let device = Device::Cpu;
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut file).map_err(model_err(path))?;
        let weights = ModelWeights::from_gguf(content, &mut file, &device).map_err(model_err(path))?;
        Ok(ChatModel {
            weights,
            tokenizer,
            template,
            device,
        })
    }

    /// The prompt text for a conversation, in the model's own template.
    pub fn prompt(&self, messages: &[ChatMessage]) -> Result<String> {
        let tok = |id: Option<u32>| id.and_then(|i| self.tokenizer.inner.id_to_token(i)).unwrap_or_default();
        template::render(
            &self.template,
            messages,
            true,
            &tok(self.tokenizer.bos),
            &tok(self.tokenizer.eos),
        )
    }

    /// Generate the assistant's reply; `on_text` gets each new piece of text
    /// (never half a character). Stops at end-of-turn, the token limit, or cancel.
    pub fn generate(
        &mut self,
        messages: &[ChatMessage],
        opts: &GenerateOptions,
        cancel: &CancelToken,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generated> {
        let prompt = self.prompt(messages)?;
        let ids = self.tokenizer.encode(&prompt)?;
        let path = Path::new("model");
        let err = model_err(path);
        let sampling = if opts.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match (opts.top_k, opts.top_p) {
                (Some(k), Some(p)) => Sampling::TopKThenTopP {
                    k,
                    p,
                    temperature: opts.temperature,
                },
                (Some(k), None) => Sampling::TopK {
                    k,
                    temperature: opts.temperature,
                },
                (None, Some(p)) => Sampling::TopP {
                    p,
                    temperature: opts.temperature,
                },
                (None, None) => Sampling::All {
                    temperature: opts.temperature,
                },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, sampling);
        let t0 = Instant::now();
        let input = Tensor::new(ids.as_slice(), &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(&err)?;
        let mut logits = self
            .weights
            .forward(&input, 0)
            .and_then(|l| l.squeeze(0))
            .map_err(&err)?;
        let prefill = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut out: Vec<u32> = Vec::new();
        let mut shown = 0usize; // bytes of the decoded text already given to on_text
        let mut text = String::new();
        let mut stop = "max_tokens";
        for _ in 0..opts.max_tokens {
            if cancel.is_cancelled() {
                stop = "cancelled";
                break;
            }
            if opts.repeat_penalty != 1.0 {
                let ctx = &out[out.len().saturating_sub(64)..];
                logits = candle_transformers::utils::apply_repeat_penalty(&logits, opts.repeat_penalty, ctx)
                    .map_err(&err)?;
            }
            let next = sampler.sample(&logits).map_err(&err)?;
            if self.tokenizer.stop.contains(&next) {
                stop = "eos";
                break;
            }
            out.push(next);
            // Decode everything so far; hold back a trailing partial character.
            text = self.tokenizer.decode(&out)?;
            if !text.ends_with('\u{FFFD}') && text.len() > shown {
                on_text(&text[shown..]);
                shown = text.len();
            }
            let input = Tensor::new(&[next], &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(&err)?;
            logits = self
                .weights
                .forward(&input, ids.len() + out.len() - 1)
                .and_then(|l| l.squeeze(0))
                .map_err(&err)?;
        }
        if text.len() > shown {
            on_text(&text[shown..]);
        }
        let decode = t1.elapsed().as_secs_f64();
        Ok(Generated {
            text,
            prompt_tokens: ids.len(),
            generated_tokens: out.len(),
            prefill_tokens_per_s: ids.len() as f64 / prefill.max(1e-9),
            decode_tokens_per_s: out.len() as f64 / decode.max(1e-9),
            stop,
        })
    }
}
