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
    /// Put BOS in front of a prompt (SentencePiece models such as Llama 2).
    pub add_bos: bool,
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
        match model {
            "gpt2" => {}
            "llama" => return Self::from_gguf_spm(g),
            _ => {
                return Err(Error::Format {
                    path: g.path.clone(),
                    detail: format!(
                        "tokenizer type \"{model}\" in GGUF files is not supported yet (gpt2 byte-level BPE and llama SentencePiece are)"
                    ),
                })
            }
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
        Ok(Self::with_gguf_ids(g, inner, &tokens, false))
    }

    /// BOS, EOS, end-of-turn tokens and the add-BOS flag from GGUF metadata
    /// (`add_bos` when the file does not say).
    fn with_gguf_ids(g: &Gguf, inner: Tokenizer, tokens: &[String], add_bos: bool) -> Self {
        let id = |k: &str| g.get(k).and_then(Value::as_u64).map(|v| v as u32);
        let (bos, eos) = (id("tokenizer.ggml.bos_token_id"), id("tokenizer.ggml.eos_token_id"));
        let mut stop: Vec<u32> = eos.into_iter().collect();
        for name in END_OF_TURN {
            if let Some(i) = tokens.iter().position(|t| t == name).map(|p| p as u32) {
                if !stop.contains(&i) {
                    stop.push(i);
                }
            }
        }
        let add_bos = g
            .get("tokenizer.ggml.add_bos_token")
            .and_then(Value::as_bool)
            .unwrap_or(add_bos);
        TextTokenizer {
            inner,
            bos,
            eos,
            stop,
            add_bos,
        }
    }

    /// SentencePiece (llama style) from GGUF: pieces with scores, rebuilt as
    /// a BPE whose merges follow the scores (the merge making the
    /// highest-scoring piece first, as SentencePiece and llama.cpp do), byte
    /// fallback for characters outside the vocabulary, "▁" for spaces and one
    /// in front of the text.
    fn from_gguf_spm(g: &Gguf) -> Result<Self> {
        use tokenizers::decoders::byte_fallback::ByteFallback;
        use tokenizers::decoders::fuse::Fuse;
        use tokenizers::decoders::sequence::Sequence as DecoderSequence;
        use tokenizers::decoders::strip::Strip;
        use tokenizers::normalizers::prepend::Prepend;
        use tokenizers::normalizers::replace::Replace;
        use tokenizers::normalizers::utils::Sequence as NormalizerSequence;
        use tokenizers::{DecoderWrapper, NormalizerWrapper};
        let tokens = strings(g, "tokenizer.ggml.tokens")?;
        let scores: Vec<f64> = g
            .get("tokenizer.ggml.scores")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
            .unwrap_or_else(|| (0..tokens.len()).map(|i| -(i as f64)).collect());
        let types: Vec<i64> = g
            .get("tokenizer.ggml.token_type")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_u64().map_or(1, |x| x as i64)).collect())
            .unwrap_or_default();
        let ty = |i: usize| types.get(i).copied().unwrap_or(1);
        let vocab: ahash::AHashMap<String, u32> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        // Merges of normal pieces, best score first; the splits of one piece by their ids.
        let mut order: Vec<usize> = (0..tokens.len()).filter(|&i| ty(i) == 1).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut merges: Vec<(String, String)> = Vec::new();
        for &i in &order {
            let piece = &tokens[i];
            let mut local: Vec<(u32, u32, usize)> = Vec::new();
            for (cut, _) in piece.char_indices().skip(1) {
                if let (Some(&l), Some(&r)) = (vocab.get(&piece[..cut]), vocab.get(&piece[cut..])) {
                    local.push((l, r, cut));
                }
            }
            local.sort_unstable();
            merges.extend(
                local
                    .into_iter()
                    .map(|(_, _, cut)| (piece[..cut].to_owned(), piece[cut..].to_owned())),
            );
        }
        let unk = g
            .get("tokenizer.ggml.unknown_token_id")
            .and_then(Value::as_u64)
            .and_then(|i| tokens.get(i as usize).cloned())
            .unwrap_or_else(|| "<unk>".into());
        let bad = |e: String| Error::Format {
            path: g.path.clone(),
            detail: format!("the SentencePiece tokenizer in the GGUF file is inconsistent ({e})"),
        };
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .unk_token(unk)
            .byte_fallback(true)
            .fuse_unk(true)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let mut inner = Tokenizer::new(bpe);
        let add_prefix = g
            .get("tokenizer.ggml.add_space_prefix")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        // SentencePiece (and llama.cpp) put "▁" before the text and after
        // each special token, even when the text starts with a space.
        let mut norm: Vec<NormalizerWrapper> = Vec::new();
        if add_prefix {
            norm.push(Prepend::new("▁".into()).into());
        }
        norm.push(Replace::new(" ", "▁").map_err(|e| bad(e.to_string()))?.into());
        inner
            .with_normalizer(Some(NormalizerSequence::new(norm)))
            .map_err(|e| bad(e.to_string()))?;
        let mut steps: Vec<DecoderWrapper> = vec![
            Replace::new("▁", " ").map_err(|e| bad(e.to_string()))?.into(),
            ByteFallback::new().into(),
            Fuse::new().into(),
        ];
        if add_prefix {
            steps.push(Strip::new(' ', 1, 0).into());
        }
        inner.with_decoder(Some(DecoderSequence::new(steps)));
        // Unknown (2) and control (3) tokens are special; user-defined (4) are matched whole.
        let added: Vec<AddedToken> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(ty(*i), 2..=4))
            .map(|(i, t)| AddedToken::from(t.clone(), ty(i) != 4))
            .collect();
        inner.add_special_tokens(added).map_err(|e| bad(e.to_string()))?;
        // SentencePiece models (Llama 2, TinyLlama) want BOS unless the file says otherwise.
        Ok(Self::with_gguf_ids(g, inner, &tokens, true))
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
        let add_bos = cfg
            .as_ref()
            .and_then(|c| c.get("add_bos_token"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Ok(TextTokenizer {
            inner,
            bos,
            eos,
            stop,
            add_bos,
        })
    }

    /// Token ids of a rendered prompt: with BOS in front when the model wants
    /// one and the template did not already write it.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(text)?;
        if let (true, Some(b)) = (self.add_bos, self.bos) {
            if ids.first() != Some(&b) {
                ids.insert(0, b);
            }
        }
        Ok(ids)
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
