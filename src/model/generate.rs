//! Chat generation, streamed token by token: the model's chat template, a KV
//! cache, sampling (temperature, top-k, top-p, min-p, repetition penalty,
//! seed), end-of-turn tokens, cancellation at any token, and text handed out
//! only in whole characters.

use super::transformer::KvCache;
use super::{template, ChatMessage};
use super::{LoadOptions, Model, ModelSource};
use crate::jobs::{CancelToken, Result};
use candle_core::Tensor;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    /// 0 means greedy.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    /// Drop tokens whose probability is below `min_p` × the best one's.
    pub min_p: Option<f64>,
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            temperature: 0.7,
            top_p: Some(0.9),
            top_k: None,
            min_p: None,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 42,
        }
    }
}

impl GenerateOptions {
    /// The repetition penalty when the user names none: 1.1 when sampling,
    /// off for greedy decoding (temperature 0), which then picks the most
    /// likely token every time, as other tools' greedy does.
    pub fn default_repeat_penalty(temperature: f64) -> f32 {
        if temperature <= 0.0 {
            1.0
        } else {
            1.1
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub text: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub token_ids: Vec<u32>,
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// Why generation stopped: "eos", "max_tokens" or "cancelled".
    pub stop: &'static str,
}

pub use crate::random::Rng;

/// Pick the next token from `logits` (one row, f32).
pub fn sample(logits: &mut [f32], history: &[u32], opts: &GenerateOptions, rng: &mut Rng) -> u32 {
    if opts.repeat_penalty != 1.0 {
        let recent = &history[history.len().saturating_sub(opts.repeat_last_n)..];
        let mut seen = std::collections::HashSet::new();
        for &t in recent {
            if let Some(l) = logits.get_mut(t as usize) {
                if seen.insert(t) {
                    *l = if *l >= 0.0 {
                        *l / opts.repeat_penalty
                    } else {
                        *l * opts.repeat_penalty
                    };
                }
            }
        }
    }
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold(
                (0usize, f32::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            )
            .0 as u32
    };
    if opts.temperature <= 0.0 {
        return argmax();
    }
    let t = opts.temperature as f32;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut cand: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as u32, ((v - max) / t).exp()))
        .collect();
    if cand.is_empty() {
        return argmax();
    }
    cand.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(k) = opts.top_k.filter(|&k| k > 0) {
        cand.truncate(k);
    }
    if let Some(mp) = opts.min_p.filter(|&p| p > 0.0) {
        let floor = cand[0].1 * mp as f32;
        cand.retain(|c| c.1 >= floor);
    }
    let sum: f32 = cand.iter().map(|c| c.1).sum();
    if let Some(p) = opts.top_p.filter(|&p| p < 1.0) {
        let mut acc = 0.0;
        let mut keep = cand.len();
        for (i, c) in cand.iter().enumerate() {
            acc += c.1 / sum;
            if acc >= p as f32 {
                keep = i + 1;
                break;
            }
        }
        cand.truncate(keep.max(1));
    }
    // Draw in token order: a near-tie that swaps two tokens' ranks between
    // runs (cached vs. fresh prompt) then moves the boundaries only slightly.
    cand.sort_unstable_by_key(|c| c.0);
    let sum: f32 = cand.iter().map(|c| c.1).sum();
    let mut r = rng.uniform() as f32 * sum;
    for c in &cand {
        r -= c.1;
        if r <= 0.0 {
            return c.0;
        }
    }
    cand.last().map_or(0, |c| c.0)
}

pub struct ChatModel {
    pub model: Model,
    /// The tokens the cache holds, to reuse a shared prefix across turns.
    cached: Vec<u32>,
    cache: KvCache,
}

impl ChatModel {
    pub fn new(model: Model) -> Self {
        ChatModel {
            model,
            cached: Vec::new(),
            cache: KvCache::new(),
        }
    }

    pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<Self> {
        Ok(Self::new(Model::load(source, opts)?))
    }

    /// The prompt text for a conversation, in the model's own template.
    pub fn prompt(&self, messages: &[ChatMessage]) -> Result<String> {
        let tk = &self.model.tokenizer;
        let tok = |id: Option<u32>| id.and_then(|i| tk.inner.id_to_token(i)).unwrap_or_default();
        template::render(&self.model.template, messages, true, &tok(tk.bos), &tok(tk.eos))
    }

    /// Swap the adapter on the loaded base model (no reload): a PEFT folder,
    /// or `None` for the plain base model.
    pub fn set_adapter(&mut self, dir: Option<&std::path::Path>) -> Result<()> {
        match dir {
            Some(d) => {
                super::adapter::load_peft(d, &mut self.model.net)?;
            }
            None => {
                self.model.net.clear_lora();
            }
        }
        self.reset();
        Ok(())
    }

    /// Forget the cached conversation (after the model's adapter changed).
    pub fn reset(&mut self) {
        self.cached.clear();
        self.cache.clear();
    }

    /// Logits of the last position after feeding `ids`, reusing whatever
    /// prefix of them the cache already holds.
    fn prefill(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        let common = self.cached.iter().zip(ids).take_while(|(a, b)| a == b).count();
        // Always recompute at least the last token to get its logits.
        let keep = common.min(ids.len().saturating_sub(1));
        self.cache.truncate(keep);
        self.cached.truncate(keep);
        let dev = self.model.net.device.clone();
        let input = Tensor::new(&ids[keep..], &dev)?.unsqueeze(0)?;
        let logits = self.model.net.forward_last(&input, Some(&mut self.cache))?;
        self.cached.extend_from_slice(&ids[keep..]);
        Ok(logits.squeeze(0)?.to_vec1()?)
    }

    /// Generate the assistant's reply; `on_text` gets each new piece of text
    /// (never half a character). Stops at end-of-turn, the token limit, or cancel.
    pub fn generate(
        &mut self,
        messages: &[ChatMessage],
        opts: &GenerateOptions,
        cancel: &CancelToken,
        on_text: impl FnMut(&str),
    ) -> Result<Generated> {
        let prompt = self.prompt(messages)?;
        let ids = self.model.tokenizer.encode_prompt(&prompt)?;
        self.generate_ids(&ids, opts, cancel, on_text)
    }

    /// [`ChatModel::generate`] from prompt token ids.
    pub fn generate_ids(
        &mut self,
        ids: &[u32],
        opts: &GenerateOptions,
        cancel: &CancelToken,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generated> {
        let mut rng = Rng::new(opts.seed);
        let t0 = Instant::now();
        let mut logits = self.prefill(ids)?;
        let prefill = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        // The repetition penalty looks at the reply only: penalising the
        // prompt would push the model away from the user's own words.
        let mut history: Vec<u32> = Vec::new();
        let mut out: Vec<u32> = Vec::new();
        let mut shown = 0usize; // bytes of the decoded text already handed out
        let mut text = String::new();
        let mut stop = "max_tokens";
        let dev = self.model.net.device.clone();
        for _ in 0..opts.max_tokens {
            if cancel.is_cancelled() {
                stop = "cancelled";
                break;
            }
            let next = sample(&mut logits, &history, opts, &mut rng);
            if self.model.tokenizer.stop.contains(&next) {
                stop = "eos";
                break;
            }
            out.push(next);
            history.push(next);
            // Decode everything so far; hold back a trailing partial character.
            text = self.model.tokenizer.decode(&out)?;
            if !text.ends_with('\u{FFFD}') && text.len() > shown && text.is_char_boundary(shown) {
                on_text(&text[shown..]);
                shown = text.len();
            }
            if out.len() == opts.max_tokens {
                break;
            }
            let input = Tensor::new(&[next], &dev)?.unsqueeze(0)?;
            logits = self
                .model
                .net
                .forward_last(&input, Some(&mut self.cache))?
                .squeeze(0)?
                .to_vec1()?;
            self.cached.push(next);
        }
        // Stopped in the middle of a character (the length limit, a cancel):
        // drop its first bytes rather than show a replacement mark.
        let whole = text.trim_end_matches('\u{FFFD}').len();
        text.truncate(whole);
        if text.len() > shown && text.is_char_boundary(shown) {
            on_text(&text[shown..]);
        }
        let decode = t1.elapsed().as_secs_f64();
        Ok(Generated {
            text,
            prompt_tokens: ids.len(),
            generated_tokens: out.len(),
            token_ids: out.clone(),
            prefill_tokens_per_s: ids.len() as f64 / prefill.max(1e-9),
            decode_tokens_per_s: out.len() as f64 / decode.max(1e-9),
            stop,
        })
    }
}
