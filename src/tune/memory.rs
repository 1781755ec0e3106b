//! Will a training run fit in memory? A run that would not is refused before
//! it starts, with the figures, instead of being killed by the OS halfway.

use super::{data::Example, TrainConfig};
use crate::jobs::{memory_available, Error, Result};
use crate::model::transformer::TARGETS;
use crate::model::Model;

/// Measured peak over the sum below: the autograd graph keeps more than the
/// minimal set (masked scores, broadcast copies, gradient buffers during the
/// backward pass). Fitted on SmolLM2-135M, r = 8 on seven projections:
/// 4 × 256 tokens peaked at 6.4 GB, 4 × 512 at 15.8 GB.
const GRAPH_FACTOR: f64 = 2.3;
/// The program, tokenizer, allocator slack.
const BASE_BYTES: f64 = 300.0 * 1024.0 * 1024.0;

/// Rough peak memory, in bytes, of training `cfg` on `model` with batches of
/// up to `len` tokens.
pub fn training_bytes(model: &Model, cfg: &TrainConfig, len: usize) -> u64 {
    let m = &model.net.cfg;
    let per_layer = layer_activation_bytes(model, cfg, len);
    let activations = if checkpointing(model, cfg, len) {
        // One block's activations at a time, and every block's input.
        per_layer + (cfg.batch_size.max(1) * len.max(1) * m.hidden_size * m.num_layers * 4) as f64
    } else {
        per_layer * m.num_layers as f64
    };
    let h = m.hidden_size as f64;
    let i = m.intermediate_size as f64;
    // The adapter: weights, gradients and two AdamW moments, in f32.
    let kv = (m.num_kv_heads * m.head_dim) as f64;
    let q = (m.num_heads * m.head_dim) as f64;
    let lora_per_layer: f64 = cfg
        .targets
        .iter()
        .filter(|t| TARGETS.contains(&t.as_str()))
        .map(|t| match t.as_str() {
            "q_proj" => h + q,
            "k_proj" | "v_proj" => h + kv,
            "o_proj" => q + h,
            _ => h + i,
        })
        .sum::<f64>()
        * cfg.rank as f64;
    let adapter = lora_per_layer * m.num_layers as f64 * 4.0 * 4.0;
    (model.net.weight_bytes() as f64 + adapter + activations + BASE_BYTES) as u64
}

/// What one layer keeps for the backward pass, in bytes: attention scores,
/// softmax and dropout-free probabilities (3 × heads × L²), the MLP's gate,
/// up, activation and product (4 × L × I), and about a dozen hidden-size
/// tensors (norms, q, k, v, attention output, residuals), in f32, with the
/// graph's overhead.
fn layer_activation_bytes(model: &Model, cfg: &TrainConfig, len: usize) -> f64 {
    let m = &model.net.cfg;
    let (b, l) = (cfg.batch_size.max(1) as f64, len.max(1) as f64);
    let (h, i, heads) = (m.hidden_size as f64, m.intermediate_size as f64, m.num_heads as f64);
    b * (3.0 * heads * l * l + 4.0 * l * i + 12.0 * l * h) * 4.0 * GRAPH_FACTOR
}

/// Whether to train with activation checkpointing: each block is computed
/// again in the backward pass (about a third more work) and holds its
/// activations only then. Worth it once all blocks' activations would pass
/// 1 GiB; `DRAMATIS_CHECKPOINT=1` or `0` decides instead. LoRA dropout
/// masks are drawn again from their seed in the backward pass.
pub fn checkpointing(model: &Model, cfg: &TrainConfig, len: usize) -> bool {
    match std::env::var("DRAMATIS_CHECKPOINT").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => layer_activation_bytes(model, cfg, len) * model.net.cfg.num_layers as f64 > (1u64 << 30) as f64,
    }
}

/// The longest batch the run will see: its longest example.
pub fn longest(examples: &[Example]) -> usize {
    examples.iter().map(|e| e.ids.len()).max().unwrap_or(0)
}

/// Refuse a run that would not fit in the memory this process may use.
pub fn check_fits(model: &Model, cfg: &TrainConfig, examples: &[Example]) -> Result<()> {
    let needed = training_bytes(model, cfg, longest(examples));
    match memory_available() {
        Some(free) if needed > free => Err(Error::NotEnoughMemory {
            needed_mib: needed >> 20,
            available_mib: free >> 20,
        }),
        _ => Ok(()),
    }
}
