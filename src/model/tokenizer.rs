//! Tokenizers built from GGUF metadata. For GPT-2 style byte-level BPE
//! (SmolLM2, Qwen) the vocabulary and merges are in the file; the
//! pre-tokenisation follows llama.cpp's rule for the `pre` name (for
//! `smollm`: single digits, then byte-level without a prefix space), and
//! control tokens are special.

use super::gguf::{Gguf, Value};
use crate::jobs::{Error, Result};
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

/// Tokens that end an assistant turn in the common chat formats.
const END_OF_TURN: [&str; 5] = ["<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<end_of_turn>", "<|end|>"];

/// A JSON file that may be absent.
pub(crate) fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| Error::Format {
            path: path.into(),
            detail: format!("not valid JSON ({e}); download the model again"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A tokenizer with the ids the chat loop needs.
pub struct TextTokenizer {
    pub inner: Tokenizer,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    /// Tokens that end a turn: EOS and control tokens such as `<|im_end|>`.
    pub stop: Vec<u32>,
}

fn strings(g: &Gguf, key: &str) -> Result<Vec<String>> {
    let arr = g.get(key).and_then(Value::as_array).ok_or_else(|| Error::Format {
        path: g.path.clone(),
        detail: format!("no \"{key}\" in the GGUF metadata: the file carries no tokenizer; use a folder with tokenizer.json instead"),
    })?;
    Ok(arr.iter().map(|v| v.as_str().unwrap_or("").to_owned()).collect())
}

impl TextTokenizer {
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let model = g.get("tokenizer.ggml.model").and_then(Value::as_str).unwrap_or("");
        if model != "gpt2" {
            return Err(Error::Format {
                path: g.path.clone(),
                detail: format!(
                    "tokenizer type \"{model}\" in GGUF files is not supported yet (gpt2 byte-level BPE is)"
                ),
            });
        }
        let tokens = strings(g, "tokenizer.ggml.tokens")?;
        let merges: Vec<(String, String)> = strings(g, "tokenizer.ggml.merges")?
            .into_iter()
            .filter_map(|m| m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect();
        let types: Vec<i64> = g
            .get("tokenizer.ggml.token_type")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_u64().map_or(1, |x| x as i64)).collect())
            .unwrap_or_default();
        let vocab: ahash::AHashMap<String, u32> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| Error::Format {
                path: g.path.clone(),
                detail: format!("the tokenizer in the GGUF file is inconsistent ({e})"),
            })?;
        let mut inner = Tokenizer::new(bpe);
        let pre = g.get("tokenizer.ggml.pre").and_then(Value::as_str).unwrap_or("default");
        let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
        if matches!(pre, "smollm" | "qwen2" | "llama3" | "llama-bpe") {
            steps.push(Digits::new(true).into());
        }
        steps.push(ByteLevel::new(false, true, true).into());
        inner.with_pre_tokenizer(Some(Sequence::new(steps)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        // Control (3) and user-defined (4) tokens are matched whole, never split.
        let specials: Vec<AddedToken> = tokens
            .iter()
            .zip(types.iter().chain(std::iter::repeat(&1)))
            .filter(|(_, &t)| t == 3 || t == 4)
            .map(|(s, _)| AddedToken::from(s.clone(), true))
            .collect();
        inner.add_special_tokens(specials).map_err(|e| Error::Format {
            path: g.path.clone(),
            detail: format!("the special tokens in the GGUF file are inconsistent ({e})"),
        })?;
        let id = |k: &str| g.get(k).and_then(Value::as_u64).map(|v| v as u32);
        let (bos, eos) = (id("tokenizer.ggml.bos_token_id"), id("tokenizer.ggml.eos_token_id"));
        let mut stop: Vec<u32> = eos.into_iter().collect();
        for name in END_OF_TURN {
            if let Some(&i) = tokens.iter().position(|t| t == name).map(|p| p as u32).as_ref() {
                if !stop.contains(&i) {
                    stop.push(i);
                }
            }
        }
        Ok(TextTokenizer { inner, bos, eos, stop })
    }

    /// A Hugging Face folder: `tokenizer.json`, with BOS/EOS from
    /// `tokenizer_config.json` and end-of-turn ids from `generation_config.json`.
    pub fn from_folder(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(Error::Format {
                path: dir.into(),
                detail: "no tokenizer.json in the model folder; download the model again with its tokenizer files"
                    .into(),
            });
        }
        let inner = Tokenizer::from_file(&path).map_err(|e| Error::Format {
            path: path.clone(),
            detail: format!("the tokenizer could not be read ({e}); download it again"),
        })?;
        let cfg = read_json(&dir.join("tokenizer_config.json"))?;
        let token_of = |key: &str| -> Option<u32> {
            let v = cfg.as_ref()?.get(key)?;
            let s = v.as_str().or_else(|| v.get("content").and_then(|c| c.as_str()))?;
            inner.token_to_id(s)
        };
        let (bos, eos) = (token_of("bos_token"), token_of("eos_token"));
        let mut stop: Vec<u32> = eos.into_iter().collect();
        let mut add = |i: u32| {
            if !stop.contains(&i) {
                stop.push(i);
            }
        };
        if let Some(gen) = read_json(&dir.join("generation_config.json"))? {
            match gen.get("eos_token_id") {
                Some(serde_json::Value::Number(n)) => n.as_u64().into_iter().for_each(|i| add(i as u32)),
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_u64()).for_each(|i| add(i as u32)),
                _ => {}
            }
        }
        for name in END_OF_TURN {
            if let Some(i) = inner.token_to_id(name) {
                add(i);
            }
        }
        Ok(TextTokenizer { inner, bos, eos, stop })
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| Error::Invalid(format!("could not tokenize the text: {e}")))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| Error::Invalid(format!("could not detokenize: {e}")))
    }
}
