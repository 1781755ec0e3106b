//! One description of a llama-family transformer (Llama 2/3, SmolLM2,
//! TinyLlama, Qwen2/2.5, Qwen3), read from a Hugging Face `config.json` or
//! from GGUF metadata.

use super::gguf::{Gguf, Value};
use crate::jobs::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
        }
    }
}

/// How rotary frequencies are stretched for long contexts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RopeScaling {
    /// Positions divided by `factor` ("linear").
    Linear { factor: f64 },
    /// Llama 3.1's smooth low/high frequency scaling.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
    /// Per-frequency divisors stored in a GGUF file (`rope_freqs.weight`).
    Factors(Vec<f32>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: Option<RopeScaling>,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    /// Bias on the q, k and v projections (Qwen2).
    pub qkv_bias: bool,
    /// RMSNorm on each head of q and k before RoPE (Qwen3).
    pub qk_norm: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct HfConfig {
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    rope_theta: f64,
    #[serde(default)]
    rope_scaling: Option<serde_json::Value>,
    /// transformers 5 puts theta and scaling here.
    #[serde(default)]
    rope_parameters: Option<serde_json::Value>,
    #[serde(default = "default_max_pos")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
    #[serde(default)]
    attention_bias: Option<bool>,
    #[serde(default)]
    bos_token_id: Option<serde_json::Value>,
    #[serde(default)]
    eos_token_id: Option<serde_json::Value>,
    #[serde(default)]
    hidden_act: Option<String>,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> usize {
    4096
}

/// Token ids given as one number or a list.
fn ids(v: &Option<serde_json::Value>) -> Vec<u32> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_u64()).map(|x| x as u32).collect(),
        _ => Vec::new(),
    }
}

fn bad(path: &Path, detail: String) -> Error {
    Error::Format {
        path: path.into(),
        detail,
    }
}

fn parse_scaling(path: &Path, v: &serde_json::Value) -> Result<Option<RopeScaling>> {
    if v.is_null() {
        return Ok(None);
    }
    let kind = v
        .get("rope_type")
        .or_else(|| v.get("type"))
        .and_then(|t| t.as_str())
        .unwrap_or("default");
    let num = |k: &str| v.get(k).and_then(|x| x.as_f64());
    let factor = num("factor").unwrap_or(1.0);
    match kind {
        "default" => Ok(None),
        "linear" => Ok(Some(RopeScaling::Linear { factor })),
        "llama3" => Ok(Some(RopeScaling::Llama3 {
            factor,
            low_freq_factor: num("low_freq_factor").unwrap_or(1.0),
            high_freq_factor: num("high_freq_factor").unwrap_or(4.0),
            original_max_position_embeddings: num("original_max_position_embeddings").unwrap_or(8192.0),
        })),
        other => Err(bad(
            path,
            format!("rope scaling \"{other}\" is not supported yet (default, linear and llama3 are); remove \"rope_scaling\" from config.json to run with short contexts"),
        )),
    }
}

impl ModelConfig {
    /// Read a Hugging Face `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let c: HfConfig = serde_json::from_str(&text).map_err(|e| {
            bad(
                path,
                format!("config.json is not a model configuration Dramatis can read ({e})"),
            )
        })?;
        let kind = c
            .model_type
            .clone()
            .or_else(|| c.architectures.first().map(|a| a.to_lowercase()))
            .unwrap_or_default();
        let arch = match kind.as_str() {
            "llama" | "llamaforcausallm" | "mistral" => Arch::Llama,
            "qwen2" | "qwen2forcausallm" => Arch::Qwen2,
            "qwen3" | "qwen3forcausallm" => Arch::Qwen3,
            other => {
                return Err(bad(
                    path,
                    format!(
                        "model type \"{other}\" is not supported (Llama, SmolLM2, TinyLlama, Qwen2/2.5 and Qwen3 are)"
                    ),
                ))
            }
        };
        if let Some(act) = &c.hidden_act {
            if act != "silu" {
                return Err(bad(path, format!("activation \"{act}\" is not supported (silu is)")));
            }
        }
        let heads = c.num_attention_heads.max(1);
        let rope_theta = c
            .rope_parameters
            .as_ref()
            .and_then(|p| p.get("rope_theta"))
            .and_then(|t| t.as_f64())
            .unwrap_or(c.rope_theta);
        let scaling = c.rope_scaling.as_ref().or(c.rope_parameters.as_ref());
        let cfg = ModelConfig {
            arch,
            vocab_size: c.vocab_size,
            hidden_size: c.hidden_size,
            intermediate_size: c.intermediate_size,
            num_layers: c.num_hidden_layers,
            num_heads: heads,
            num_kv_heads: c.num_key_value_heads.unwrap_or(heads),
            head_dim: c.head_dim.unwrap_or(c.hidden_size / heads),
            rms_norm_eps: c.rms_norm_eps,
            rope_theta,
            rope_scaling: match scaling {
                Some(v) => parse_scaling(path, v)?,
                None => None,
            },
            max_position_embeddings: c.max_position_embeddings,
            tie_word_embeddings: c.tie_word_embeddings.unwrap_or(arch != Arch::Llama),
            qkv_bias: match arch {
                Arch::Qwen2 => true,
                _ => c.attention_bias.unwrap_or(false),
            },
            qk_norm: arch == Arch::Qwen3,
            bos_token_id: ids(&c.bos_token_id).first().copied(),
            eos_token_ids: ids(&c.eos_token_id),
        };
        cfg.check(path)?;
        Ok(cfg)
    }

    /// Read the architecture from GGUF metadata.
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let arch_name = g.architecture().unwrap_or("unknown");
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            other => {
                return Err(bad(
                    &g.path,
                    format!("GGUF architecture \"{other}\" is not supported (llama, qwen2 and qwen3 are)"),
                ))
            }
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let num = |k: &str| g.require_u64(&key(k)).map(|v| v as usize);
        let hidden = num("embedding_length")?;
        let heads = num("attention.head_count")?.max(1);
        let kv = g
            .get(&key("attention.head_count_kv"))
            .and_then(Value::as_u64)
            .map_or(heads, |v| v as usize);
        let head_dim = g
            .get(&key("attention.key_length"))
            .and_then(Value::as_u64)
            .map_or(hidden / heads, |v| v as usize);
        let vocab = g
            .tensors
            .iter()
            .find(|t| t.name == "token_embd.weight")
            .and_then(|t| t.dims.get(1).copied())
            .map(|v| v as usize)
            .or_else(|| {
                g.get("tokenizer.ggml.tokens")
                    .and_then(Value::as_array)
                    .map(|a| a.len())
            })
            .ok_or_else(|| {
                bad(
                    &g.path,
                    "the GGUF file has no token embedding (token_embd.weight)".into(),
                )
            })?;
        let f = |k: &str, d: f64| g.get(&key(k)).and_then(Value::as_f64).unwrap_or(d);
        let rope_scaling = match g.get(&key("rope.scaling.type")).and_then(Value::as_str) {
            Some("linear") => Some(RopeScaling::Linear {
                factor: f("rope.scaling.factor", 1.0),
            }),
            Some("none") | None => None,
            Some(other) => {
                return Err(bad(
                    &g.path,
                    format!("rope scaling \"{other}\" is not supported yet (linear and llama3 are)"),
                ))
            }
        };
        let id = |k: &str| g.get(k).and_then(Value::as_u64).map(|v| v as u32);
        let cfg = ModelConfig {
            arch,
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: num("feed_forward_length")?,
            num_layers: num("block_count")?,
            num_heads: heads,
            num_kv_heads: kv,
            head_dim,
            rms_norm_eps: f("attention.layer_norm_rms_epsilon", 1e-6),
            rope_theta: f("rope.freq_base", 10_000.0),
            rope_scaling,
            max_position_embeddings: g.get(&key("context_length")).and_then(Value::as_u64).unwrap_or(4096) as usize,
            tie_word_embeddings: !g.tensors.iter().any(|t| t.name == "output.weight"),
            qkv_bias: g.tensors.iter().any(|t| t.name == "blk.0.attn_q.bias"),
            qk_norm: g.tensors.iter().any(|t| t.name == "blk.0.attn_q_norm.weight"),
            bos_token_id: id("tokenizer.ggml.bos_token_id"),
            eos_token_ids: id("tokenizer.ggml.eos_token_id").into_iter().collect(),
        };
        cfg.check(&g.path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let ok = self.hidden_size > 0
            && self.num_layers > 0
            && self.vocab_size > 0
            && self.head_dim.is_multiple_of(2)
            && self.num_kv_heads > 0
            && self.num_heads.is_multiple_of(self.num_kv_heads);
        if ok {
            Ok(())
        } else {
            Err(bad(
                path,
                format!(
                    "inconsistent model shape: hidden {}, layers {}, heads {}, kv heads {}, head dim {}",
                    self.hidden_size, self.num_layers, self.num_heads, self.num_kv_heads, self.head_dim
                ),
            ))
        }
    }

    /// Parameters in the base model (embeddings counted once when tied).
    pub fn parameters(&self) -> u64 {
        let (h, i, v) = (
            self.hidden_size as u64,
            self.intermediate_size as u64,
            self.vocab_size as u64,
        );
        let (q, kv) = (
            (self.num_heads * self.head_dim) as u64,
            (self.num_kv_heads * self.head_dim) as u64,
        );
        let layer = h * q + 2 * h * kv + q * h + 3 * h * i + 2 * h;
        let head = if self.tie_word_embeddings { 0 } else { v * h };
        v * h + self.num_layers as u64 * layer + h + head
    }

    /// Rotary inverse frequencies (one per pair of dimensions), with scaling.
    pub fn inv_freq(&self) -> Vec<f32> {
        let d = self.head_dim;
        let base: Vec<f64> = (0..d / 2)
            .map(|i| 1.0 / self.rope_theta.powf((2 * i) as f64 / d as f64))
            .collect();
        let out: Vec<f64> = match &self.rope_scaling {
            None => base,
            Some(RopeScaling::Linear { factor }) => base.iter().map(|f| f / factor).collect(),
            Some(RopeScaling::Factors(fs)) => base
                .iter()
                .enumerate()
                .map(|(i, f)| f / fs.get(i).copied().unwrap_or(1.0) as f64)
                .collect(),
            Some(RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: old,
            }) => {
                let low_wavelen = old / low_freq_factor;
                let high_wavelen = old / high_freq_factor;
                base.iter()
                    .map(|&f| {
                        let wavelen = 2.0 * std::f64::consts::PI / f;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / factor
                        } else {
                            let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect()
            }
        };
        out.into_iter().map(|f| f as f32).collect()
    }
}
