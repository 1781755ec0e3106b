//! Will a training run fit in memory? A run that would not is refused before
//! it starts, with the figures, instead of being killed by the OS halfway.

use super::{data::Example, TrainConfig};
use crate::jobs::{memory_available, Error, Result};
use crate::model::transformer::TARGETS;
use crate::model::Model;

/// Measured peak over the sum below, with a margin: the autograd graph
/// keeps more than the minimal set (reshaped copies, gradient buffers during
/// the backward pass). Set against SmolLM2-135M without checkpointing: the
/// train bench (r = 8, 4 × 256) peaked at 1965–1979 MiB where this predicts
/// 2169, the Balanced preset on the sample persona (r = 16, 4 × 360) at 2564 MiB
/// where it predicts 2763 (and 2347 against 2546 with the 5 blocks
/// checkpointed that its plan picks).
const GRAPH_FACTOR: f64 = 1.15;
/// The program, tokenizer, allocator slack.
const BASE_BYTES: f64 = 300.0 * 1024.0 * 1024.0;

/// How a run of `cfg` on `model`, with batches of up to `len` tokens, will
/// use memory: decided once, before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Blocks (the first ones) trained with activation checkpointing.
    pub checkpointed: usize,
    /// Rough peak memory of the run, in bytes.
    pub needed: u64,
    /// What the run tries to stay within ([`memory_budget`]).
    pub budget: u64,
}

/// The run's [`Plan`]: as few checkpointed blocks as keep it within
/// [`memory_budget`], all of them when even that does not;
/// `DRAMATIS_CHECKPOINT=all` (or `1`) and `off` (or `0`) decide instead.
/// A checkpointed block keeps only its input and is computed again in the
/// backward pass (a third more work for that block) so that its activations
/// exist only then.
pub fn plan(model: &Model, cfg: &TrainConfig, len: usize) -> Plan {
    let n = model.net.cfg.num_layers;
    let budget = memory_budget();
    let checkpointed = match std::env::var("DRAMATIS_CHECKPOINT").as_deref() {
        Ok("1" | "all") => n,
        Ok("0" | "off") => 0,
        _ => (0..=n)
            .find(|&k| training_bytes(model, cfg, len, k) <= budget)
            .unwrap_or(n),
    };
    Plan {
        checkpointed,
        needed: training_bytes(model, cfg, len, checkpointed),
        budget,
    }
}

/// Rough peak memory, in bytes, of training `cfg` on `model` with batches of
/// up to `len` tokens and the first `k` blocks checkpointed.
fn training_bytes(model: &Model, cfg: &TrainConfig, len: usize, k: usize) -> u64 {
    let m = &model.net.cfg;
    let per_layer = layer_activation_bytes(model, cfg, len);
    let k = k.min(m.num_layers);
    // A checkpointed block keeps its input; while the backward pass computes
    // one again, its activations and their gradients exist together.
    let input = (cfg.batch_size.max(1) * len.max(1) * m.hidden_size * 4) as f64;
    // The backward pass's temporaries for the layer it is in (about one
    // layer's worth), and as much again while a checkpointed block is
    // computed again.
    let transient = if k > 0 { 2.0 * per_layer } else { per_layer };
    // Attention's scores and probabilities (and their gradients in the
    // backward pass) exist for one layer at a time on the batched path; the
    // CPU's causal path holds a block of them per thread and each query
    // head's share of dk and dv (`model::causal`).
    let (b, l) = (cfg.batch_size.max(1) as f64, len.max(1) as f64);
    let scores = if model.net.device.is_cpu() {
        b * m.num_heads as f64 * l * (2 * m.head_dim) as f64 * 4.0
    } else {
        4.0 * b * m.num_heads as f64 * l * l * 4.0
    };
    // The loss's logits, one chunk of rows at a time (`loss::fused_nll`).
    let logits = (super::loss::loss_chunk_rows(m.vocab_size) * m.vocab_size * 4) as f64;
    let activations = scores + logits + transient + k as f64 * input + (m.num_layers - k) as f64 * per_layer;
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

/// What one layer keeps for the backward pass, in bytes: the MLP's gate, up
/// and product (3 × L × I) and eight hidden-size tensors (the block's input,
/// the two norms, q with k and v, attention's output before and after its
/// projection, the residual between), in f32, with the graph's overhead.
/// Attention's L × L scores are not kept ([`crate::model::causal`]),
/// nor a projection's base product and LoRA update apart from their sum
/// ([`crate::model::ops::lora_linear`]).
fn layer_activation_bytes(model: &Model, cfg: &TrainConfig, len: usize) -> f64 {
    let m = &model.net.cfg;
    let (b, l) = (cfg.batch_size.max(1) as f64, len.max(1) as f64);
    let (h, i) = (m.hidden_size as f64, m.intermediate_size as f64);
    b * l * (3.0 * i + 8.0 * h) * 4.0 * GRAPH_FACTOR
}

/// What a training run tries to stay within: 2.5 GiB (a laptop with 8 GB
/// runs it beside a browser and the desktop), or half of what this process
/// may use where that is less.
pub fn memory_budget() -> u64 {
    const CAP: u64 = 5 << 29;
    memory_available().map_or(CAP, |a| (a / 2).min(CAP))
}

/// The longest batch the run will see: its longest example.
pub fn longest(examples: &[Example]) -> usize {
    examples.iter().map(|e| e.ids.len()).max().unwrap_or(0)
}

/// The run's [`Plan`], or a refusal when it would not fit in the memory
/// this process may use.
pub fn check_fits(model: &Model, cfg: &TrainConfig, examples: &[Example]) -> Result<Plan> {
    let plan = plan(model, cfg, longest(examples));
    match memory_available() {
        Some(free) if plan.needed > free => Err(Error::NotEnoughMemory {
            needed_mib: plan.needed >> 20,
            available_mib: free >> 20,
        }),
        _ => Ok(plan),
    }
}

/// Peak resident memory of this process, where the OS tells it.
pub fn peak_memory_mib() -> Option<f64> {
    crate::jobs::self_status_bytes("VmHWM:").map(|b| b as f64 / 1048576.0)
}

/// Forget the peak-memory mark so the next reading covers only what follows
/// (Linux; elsewhere the reading stays process-wide).
pub(super) fn reset_peak_memory() {
    // Hand freed heap pages back first (training keeps them, see
    // `jobs::init_runtime`), so that the next peak is this probe's own and
    // not what an earlier, larger one left behind.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
