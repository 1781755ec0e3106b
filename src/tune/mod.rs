//! tune: LoRA training on the persona dataset.
//!
//! Samples are rendered with the model's chat template and learned on the
//! reply only; length-bucketed batches, gradient accumulation, AdamW with
//! warm-up and cosine decay, gradient clipping; validation loss with early
//! stopping and the best adapter kept; checkpoints (adapter, optimizer
//! moments, data position) written atomically so a killed run resumes and
//! ends with the same adapter as an uninterrupted one. Seeded and
//! deterministic on CPU.

pub mod data;
pub mod eval;
pub mod memory;
pub mod metrics;
pub mod optim;

use crate::dataset::Sample;
use crate::jobs::{write_atomic, Error, Job, Result};
use crate::model::adapter::{self, AdapterConfig};
use crate::model::generate::Rng;
use crate::model::linear::Lora;
use crate::model::transformer::{Checkpoints, Pass, TARGETS};
use crate::model::Model;
use candle_core::{DType, Tensor, Var};
use data::{Example, IGNORE};
use optim::AdamW;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub rank: usize,
    pub alpha: f64,
    pub dropout: f64,
    /// Scale by alpha/√rank (rsLoRA) instead of alpha/rank.
    pub rslora: bool,
    pub targets: Vec<String>,
    pub lr: f64,
    pub epochs: usize,
    /// Stop after this many optimizer steps (overrides epochs).
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub grad_accum: usize,
    pub max_len: usize,
    pub warmup_ratio: f64,
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0: off).
    pub clip: f64,
    /// Cosine decay ends at this fraction of the peak rate.
    pub min_lr_ratio: f64,
    pub seed: u64,
    /// Validation every N steps (0: only at the end).
    pub eval_every: usize,
    /// Checkpoint every N steps (0: only at the end and on cancel).
    pub save_every: usize,
    /// Stop after this many validations without improvement (0: never).
    pub patience: usize,
    /// Validate on at most this many held-out samples.
    pub max_val_samples: usize,
}

impl TrainConfig {
    /// Optimizer steps for a run over `examples` training examples.
    pub fn total_steps(&self, examples: usize) -> usize {
        let batches = examples.div_ceil(self.batch_size.max(1));
        let per_epoch = batches.div_ceil(self.grad_accum.max(1)).max(1);
        self.max_steps.unwrap_or(per_epoch * self.epochs.max(1))
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Preset::Balanced.config()
    }
}

/// Plain-word presets; "Advanced" is any config the user edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Quick,
    Balanced,
    Deep,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Quick, Preset::Balanced, Preset::Deep];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Quick => "quick",
            Preset::Balanced => "balanced",
            Preset::Deep => "deep",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Quick => "Quick taste",
            Preset::Balanced => "Balanced",
            Preset::Deep => "Deep",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Preset::Quick => "a first impression of the voice in minutes: small adapter on the attention, one pass over short samples",
            Preset::Balanced => "the character's voice and habits: adapter on every projection, two passes",
            Preset::Deep => "as close to the lines as the data allows: larger adapter, longer samples, three passes (watch the validation curve for overfitting)",
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == s.to_ascii_lowercase())
    }

    pub fn config(self) -> TrainConfig {
        let all: Vec<String> = TARGETS.iter().map(|s| s.to_string()).collect();
        let base = TrainConfig {
            rank: 16,
            alpha: 32.0,
            dropout: 0.0,
            rslora: false,
            targets: all,
            lr: 2e-4,
            epochs: 2,
            max_steps: None,
            batch_size: 4,
            grad_accum: 2,
            max_len: 512,
            warmup_ratio: 0.05,
            weight_decay: 0.0,
            clip: 1.0,
            min_lr_ratio: 0.1,
            seed: 42,
            eval_every: 50,
            save_every: 50,
            patience: 3,
            max_val_samples: 200,
        };
        match self {
            Preset::Quick => TrainConfig {
                rank: 8,
                alpha: 16.0,
                targets: vec!["q_proj".into(), "v_proj".into()],
                lr: 3e-4,
                epochs: 1,
                max_len: 256,
                grad_accum: 1,
                ..base
            },
            Preset::Balanced => base,
            Preset::Deep => TrainConfig {
                rank: 32,
                alpha: 64.0,
                epochs: 3,
                max_len: 1024,
                lr: 1e-4,
                patience: 4,
                ..base
            },
        }
    }
}

/// What the trainer reports as it goes (one kind of the job's [`Event`]s).
pub use crate::jobs::TrainEvent;

/// The final numbers of a run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TrainSummary {
    pub steps: usize,
    pub total_steps: usize,
    pub train_loss_first: Option<f64>,
    pub train_loss_last: Option<f64>,
    pub val_loss_first: Option<f64>,
    pub val_loss_last: Option<f64>,
    pub best_val_loss: Option<f64>,
    pub best_step: Option<usize>,
    pub tokens_per_s: f64,
    pub peak_memory_mib: Option<f64>,
    pub stopped_early: bool,
    pub adapter: PathBuf,
}

/// Where a run stands; saved with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct State {
    step: usize,
    epoch: usize,
    batch_in_epoch: usize,
    best_val: Option<f64>,
    best_step: Option<usize>,
    bad_evals: usize,
    first_loss: Option<f64>,
    last_loss: Option<f64>,
    first_val: Option<f64>,
    last_val: Option<f64>,
    tokens: usize,
    seconds: f64,
}

/// Peak resident memory of this process, where the OS tells it.
pub fn peak_memory_mib() -> Option<f64> {
    crate::jobs::self_status_bytes("VmHWM:").map(|b| b as f64 / 1048576.0)
}

/// Tokenize samples (cut to `max_len`, and never longer than the model's
/// context); returns the examples and how many were skipped.
pub fn prepare(model: &Model, samples: &[Sample], max_len: usize) -> Result<(Vec<Example>, usize)> {
    let max_len = max_len.min(model.net.cfg.max_position_embeddings);
    let mut out = Vec::with_capacity(samples.len());
    for s in samples {
        if let Some(e) = data::encode(s, &model.template, &model.tokenizer, max_len)? {
            out.push(e);
        }
    }
    let skipped = samples.len() - out.len();
    Ok((out, skipped))
}

/// Fresh LoRA weights on the configured projections: A Kaiming-uniform
/// (bound 1/√in, as PEFT), B zeros; seeded.
pub fn init_lora(model: &mut Model, cfg: &TrainConfig) -> Result<Vec<Var>> {
    for t in &cfg.targets {
        if !TARGETS.contains(&t.as_str()) {
            return Err(Error::Invalid(format!(
                "unknown LoRA target \"{t}\": choose from {}",
                TARGETS.join(", ")
            )));
        }
    }
    if cfg.rank == 0 {
        return Err(Error::Invalid("the LoRA rank must be at least 1".into()));
    }
    let dev = model.net.device.clone();
    let mut rng = Rng::new(cfg.seed ^ 0x10AA);
    let scale = AdapterConfig::new(cfg.rank, cfg.alpha, 0.0, cfg.rslora, &[], None).scale(cfg.rank, cfg.alpha);
    model.net.clear_lora();
    for layer in 0..model.net.blocks.len() {
        for t in TARGETS {
            if !cfg.targets.iter().any(|x| x == t) {
                continue;
            }
            let (out, inp) = model.net.blocks[layer].linear(t).expect("known target").weight.dims();
            let bound = 1.0 / (inp as f64).sqrt();
            let a: Vec<f32> = (0..cfg.rank * inp)
                .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
                .collect();
            let lora = Lora {
                a: Var::from_tensor(&Tensor::from_vec(a, (cfg.rank, inp), &dev)?)?,
                b: Var::from_tensor(&Tensor::zeros((out, cfg.rank), DType::F32, &dev)?)?,
                scale,
                dropout: cfg.dropout as f32,
            };
            model.net.set_lora(layer, t, Some(lora))?;
        }
    }
    Ok(lora_vars(model))
}

/// The trainable variables in a fixed order (layer, target, A then B).
fn lora_vars(model: &Model) -> Vec<Var> {
    let mut v = Vec::new();
    for (_, _, lin) in model.net.linears() {
        if let Some(l) = &lin.lora {
            v.push(l.a.clone());
            v.push(l.b.clone());
        }
    }
    v
}

fn var_names(model: &Model) -> Vec<String> {
    let mut v = Vec::new();
    for (layer, t, lin) in model.net.linears() {
        if lin.lora.is_some() {
            v.push(adapter::peft_name(layer, t, "A"));
            v.push(adapter::peft_name(layer, t, "B"));
        }
    }
    v
}

/// Mean negative log-likelihood over the reply positions of a padded batch,
/// computing the output projection only where a target counts. Returns the
/// loss and the number of tokens.
pub fn batch_loss(model: &Model, batch: &[&Example], pass: Pass) -> Result<(Tensor, usize)> {
    let pad = model.tokenizer.eos.unwrap_or(0);
    let (ids, targets, l) = data::pad(batch, pad);
    let dev = &model.net.device;
    let input = Tensor::from_vec(ids, (batch.len(), l), dev)?;
    let h = model.net.hidden(&input, None, pass)?;
    let h = h.reshape((batch.len() * l, ()))?;
    let keep: Vec<u32> = targets
        .iter()
        .enumerate()
        .filter(|(_, &t)| t != IGNORE)
        .map(|(i, _)| i as u32)
        .collect();
    if keep.is_empty() {
        return Err(Error::Invalid("a batch has no reply tokens".into()));
    }
    let rows = h.index_select(&Tensor::new(keep.as_slice(), dev)?, 0)?;
    let tgt: Vec<u32> = keep.iter().map(|&i| targets[i as usize]).collect();
    Ok((fused_nll(&rows, &model.net.lm_head, &tgt)?, keep.len()))
}

/// Mean negative log-likelihood of `targets` under `rows · headᵀ`, computed
/// in chunks of rows so the full `[rows, vocab]` logits never exist at once.
/// When `rows` needs a gradient it is computed in the same pass
/// ((softmax − one-hot)/n · head, the head being frozen) and attached.
pub fn fused_nll(rows: &Tensor, head: &crate::model::ops::Frozen, targets: &[u32]) -> Result<Tensor> {
    use rayon::prelude::*;
    let n = rows.dim(0)?;
    let want_grad = crate::model::ops::tracks(rows);
    let dev = rows.device().clone();
    let detached = rows.detach();
    let dense_head = if want_grad { Some(head.dense(DType::F32)?) } else { None };
    const CHUNK: usize = 256;
    let mut total = 0f64;
    let mut grads: Vec<Tensor> = Vec::new();
    for c0 in (0..n).step_by(CHUNK) {
        let c = CHUNK.min(n - c0);
        let logits = head.matmul_t(&detached.narrow(0, c0, c)?)?.to_dtype(DType::F32)?;
        let vocab = logits.dim(1)?;
        let mut v: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        let tg = &targets[c0..c0 + c];
        let losses: Vec<f64> = v
            .par_chunks_mut(vocab)
            .zip(tg.par_iter())
            .map(|(row, &t)| {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f64;
                for x in row.iter_mut() {
                    let e = (*x - max).exp();
                    *x = e;
                    sum += e as f64;
                }
                let p_t = row[t as usize] as f64 / sum;
                if want_grad {
                    let inv = (1.0 / sum) as f32 / n as f32;
                    for x in row.iter_mut() {
                        *x *= inv;
                    }
                    row[t as usize] -= 1.0 / n as f32;
                }
                -(p_t.max(f64::MIN_POSITIVE)).ln()
            })
            .collect();
        total += losses.iter().sum::<f64>();
        if let Some(w) = &dense_head {
            let g = Tensor::from_vec(v, (c, vocab), &dev)?;
            grads.push(g.matmul(w)?);
        }
    }
    let loss = Tensor::new((total / n as f64) as f32, &dev)?;
    if !want_grad {
        return Ok(loss);
    }
    let g = Tensor::cat(&grads, 0)?.to_dtype(rows.dtype())?;
    Ok(crate::model::ops::attach(rows, loss, move |up, _| g.broadcast_mul(up))?)
}

/// Mean loss per reply token over `examples` (no gradients).
pub fn evaluate(model: &Model, examples: &[Example], batch: usize) -> Result<f64> {
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| examples[i].ids.len());
    let (mut sum, mut n) = (0f64, 0usize);
    for chunk in order.chunks(batch.max(1)) {
        let b: Vec<&Example> = chunk.iter().map(|&i| &examples[i]).collect();
        let (loss, k) = batch_loss(model, &b, Pass::default())?;
        sum += loss.to_scalar::<f32>()? as f64 * k as f64;
        n += k;
    }
    Ok(if n == 0 { f64::NAN } else { sum / n as f64 })
}

/// Dropout masks from a generator seeded by (seed, step, micro-batch, layer,
/// target), so a resumed run draws the same masks.
fn dropout_mask(
    p: f64,
    seed: u64,
    step: usize,
    micro: usize,
    layer: usize,
    target: &str,
    x: &Tensor,
) -> candle_core::Result<Option<Tensor>> {
    if p <= 0.0 {
        return Ok(None);
    }
    let tid = TARGETS.iter().position(|t| *t == target).unwrap_or(0) as u64;
    let mut rng =
        Rng::new(seed ^ ((step as u64) << 32) ^ ((micro as u64) << 24) ^ ((layer as u64) << 8) ^ tid ^ 0xD80F);
    let keep = 1.0 - p;
    let n = x.elem_count();
    let v: Vec<f32> = (0..n)
        .map(|_| if rng.uniform() < keep { (1.0 / keep) as f32 } else { 0.0 })
        .collect();
    Ok(Some(Tensor::from_vec(v, x.shape(), x.device())?))
}

pub struct Run<'a> {
    pub model: &'a mut Model,
    pub cfg: TrainConfig,
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub skipped: usize,
    pub out: PathBuf,
    /// The base model as the user named it (recorded in the adapter config).
    pub base_name: Option<String>,
}

fn adapter_config(cfg: &TrainConfig, base: Option<&str>) -> AdapterConfig {
    let targets: Vec<&str> = cfg.targets.iter().map(String::as_str).collect();
    AdapterConfig::new(cfg.rank, cfg.alpha, cfg.dropout, cfg.rslora, &targets, base)
}

fn jsonl_line(v: &impl Serialize) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_default();
    s.push('\n');
    s
}

impl<'a> Run<'a> {
    /// Steps in the whole run.
    pub fn total_steps(&self) -> usize {
        self.cfg.total_steps(self.train.len())
    }

    fn save_checkpoint(&self, opt: &AdamW, state: &State) -> Result<()> {
        let root = self.out.join("checkpoints");
        let dir = root.join(format!("step-{}", state.step));
        let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
        adapter::save_peft(&dir, &self.model.net, &acfg)?;
        let names = var_names(self.model);
        let mut moments = BTreeMap::new();
        for (name, s) in names.iter().zip(&opt.slots) {
            moments.insert(format!("{name}.m"), s.m.clone());
            moments.insert(format!("{name}.v"), s.v.clone());
        }
        write_atomic(
            &dir.join("optimizer.safetensors"),
            &adapter::safetensors_bytes(&moments)?,
        )?;
        let st = serde_json::json!({"state": state, "config": self.cfg, "optimizer_steps": opt.t});
        write_atomic(&dir.join("state.json"), st.to_string().as_bytes())?;
        // The pointer moves only once the checkpoint is complete on disk.
        write_atomic(&root.join("latest"), format!("step-{}", state.step).as_bytes())?;
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("step-") && n != format!("step-{}", state.step) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Load the latest checkpoint of `out` (if any): adapter, moments, state.
    fn load_checkpoint(&mut self, opt: &mut AdamW) -> Result<Option<State>> {
        let root = self.out.join("checkpoints");
        let Ok(name) = std::fs::read_to_string(root.join("latest")) else {
            return Ok(None);
        };
        let dir = root.join(name.trim());
        let text =
            std::fs::read_to_string(dir.join("state.json")).map_err(|e| Error::io(&dir.join("state.json"), e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: dir.join("state.json"),
            detail: format!("the checkpoint is damaged ({e}); start the run again"),
        })?;
        let state: State = serde_json::from_value(v["state"].clone()).map_err(|e| Error::Format {
            path: dir.join("state.json"),
            detail: format!("the checkpoint is damaged ({e})"),
        })?;
        adapter::load_peft(&dir, &mut self.model.net)?;
        let vars = lora_vars(self.model);
        let names = var_names(self.model);
        let moments = candle_core::safetensors::load(dir.join("optimizer.safetensors"), &self.model.net.device)
            .map_err(|e| Error::Format {
                path: dir.join("optimizer.safetensors"),
                detail: format!("the optimizer state is damaged ({e}); start the run again"),
            })?;
        *opt = AdamW::new(vars, self.cfg.weight_decay)?;
        opt.t = v["optimizer_steps"].as_u64().unwrap_or(state.step as u64) as usize;
        for (name, s) in names.iter().zip(opt.slots.iter_mut()) {
            let get = |k: String| {
                moments.get(&k).cloned().ok_or_else(|| Error::Format {
                    path: dir.join("optimizer.safetensors"),
                    detail: format!("{k} is missing; start the run again"),
                })
            };
            s.m = get(format!("{name}.m"))?;
            s.v = get(format!("{name}.v"))?;
        }
        Ok(Some(state))
    }

    /// Train (or continue from the last checkpoint in `out`).
    /// Train (events go to the job: [`crate::jobs::Event::Train`]).
    pub fn train(&mut self, job: &Job) -> Result<TrainSummary> {
        if self.train.is_empty() {
            return Err(Error::Invalid(
                "no training samples fit the maximum length; raise the maximum sample length or check the dataset"
                    .into(),
            ));
        }
        let plan = memory::check_fits(self.model, &self.cfg, &self.train)?;
        let ck_blocks = plan.checkpointed;
        let layers = self.model.net.cfg.num_layers;
        if ck_blocks > 0 {
            job.log(
                crate::jobs::LogLevel::Info,
                format!(
                    "To stay within {:.1} GB, {ck_blocks} of the model's {layers} blocks are computed again in the backward pass instead of keeping their activations (about {}% more work per step).",
                    plan.budget as f64 / (1u64 << 30) as f64,
                    ck_blocks * 100 / (3 * layers.max(1)),
                ),
            );
        }
        // Held until the run ends: a second run on the same folder is refused,
        // and a free lock on a folder with checkpoints marks an interrupted run.
        let _lock = crate::jobs::FolderLock::acquire(&self.out, "a training run")?;
        let vars = init_lora(self.model, &self.cfg)?;
        let mut opt = AdamW::new(vars, self.cfg.weight_decay)?;
        let resumed = self.load_checkpoint(&mut opt)?;
        let mut state = resumed.clone().unwrap_or_default();
        let metrics_path = self.out.join("metrics.jsonl");
        // Keep the metrics up to the checkpoint; later lines are redone.
        let mut metrics = String::new();
        if resumed.is_some() {
            if let Ok(old) = std::fs::read_to_string(&metrics_path) {
                for line in old.lines() {
                    let keep = serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v["step"].as_u64())
                        .is_none_or(|s| s as usize <= state.step);
                    if keep {
                        metrics.push_str(line);
                        metrics.push('\n');
                    }
                }
            }
        }
        let total = self.total_steps();
        let emit = |e: TrainEvent, metrics: &mut String| {
            metrics.push_str(&jsonl_line(&e));
            job.emit(crate::jobs::Event::Train(e));
        };
        let start = TrainEvent::Start {
            total_steps: total,
            train_examples: self.train.len(),
            val_examples: self.val.len(),
            skipped: self.skipped,
            trainable_parameters: opt.slots.iter().map(|s| s.var.elem_count()).sum(),
            resumed_from: resumed.as_ref().map(|s| s.step),
            device: crate::model::device_name(&self.model.net.device),
        };
        emit(start, &mut metrics);
        let lengths: Vec<usize> = self.train.iter().map(|e| e.ids.len()).collect();
        let mut batches = data::epoch_batches(&lengths, self.cfg.batch_size, self.cfg.seed, state.epoch);
        let warmup = ((total as f64) * self.cfg.warmup_ratio).round() as usize;
        let run_start = Instant::now();
        let seconds_before = state.seconds;
        let tokens_before = state.tokens;
        let mut stopped_early = false;
        let mut cancelled = false;
        if resumed.is_none() && !self.val.is_empty() {
            // The starting point: the base model (the fresh adapter is a no-op).
            let v = evaluate(self.model, &self.val, self.cfg.batch_size)?;
            state.best_val = Some(v);
            state.best_step = Some(0);
            state.first_val = Some(v);
            state.last_val = Some(v);
            let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
            adapter::save_peft(&self.out.join("best"), &self.model.net, &acfg)?;
            let ev = TrainEvent::Eval {
                step: 0,
                val_loss: v,
                best_val_loss: v,
                improved: true,
            };
            emit(ev, &mut metrics);
        }
        while state.step < total {
            if job.check().is_err() {
                cancelled = true;
                break;
            }
            let lr = optim::lr_at(state.step, total, warmup, self.cfg.lr, self.cfg.min_lr_ratio);
            // Gather this step's micro-batches first, to weight them by tokens.
            let mut micro: Vec<Vec<usize>> = Vec::new();
            for _ in 0..self.cfg.grad_accum.max(1) {
                if state.batch_in_epoch >= batches.len() {
                    state.epoch += 1;
                    state.batch_in_epoch = 0;
                    batches = data::epoch_batches(&lengths, self.cfg.batch_size, self.cfg.seed, state.epoch);
                }
                micro.push(batches[state.batch_in_epoch].clone());
                state.batch_in_epoch += 1;
            }
            let step_tokens: usize = micro
                .iter()
                .flat_map(|b| b.iter().map(|&i| self.train[i].response_tokens()))
                .sum();
            let t0 = Instant::now();
            let mut acc: Vec<Option<Tensor>> = vec![None; opt.slots.len()];
            let mut loss_sum = 0f64;
            let mut seen_tokens = 0usize;
            for (mi, b) in micro.iter().enumerate() {
                let batch: Vec<&Example> = b.iter().map(|&i| &self.train[i]).collect();
                seen_tokens += batch.iter().map(|e| e.ids.len()).sum::<usize>();
                let (p, seed, step) = (self.cfg.dropout, self.cfg.seed, state.step);
                let mask =
                    move |layer: usize, target: &str, x: &Tensor| dropout_mask(p, seed, step, mi, layer, target, x);
                // Blocks computed again in the backward pass instead of
                // keeping their activations draw the same masks again.
                let ck = Checkpoints::with_dropout(Arc::new(mask)).first(ck_blocks);
                let pass = Pass {
                    dropout: Some(&mask),
                    grad: true,
                    checkpoint: (ck_blocks > 0).then_some(&ck),
                };
                let (loss, n) = batch_loss(self.model, &batch, pass)?;
                let weight = n as f64 / step_tokens as f64;
                loss_sum += loss.to_scalar::<f32>()? as f64 * weight;
                let mut grads = (loss * weight)?.backward()?;
                ck.merge_into(&mut grads)?;
                opt.accumulate(&mut acc, &grads)?;
            }
            if acc.iter().all(Option::is_none) {
                return Err(Error::Compute(
                    "no gradient reached the adapter; this is a bug in Dramatis, please report it".into(),
                ));
            }
            let norm = AdamW::grad_norm(&acc)?;
            let scale = if self.cfg.clip > 0.0 && norm > self.cfg.clip {
                self.cfg.clip / norm
            } else {
                1.0
            };
            opt.step(&acc, lr, scale)?;
            state.step += 1;
            state.tokens += seen_tokens;
            state.seconds = seconds_before + run_start.elapsed().as_secs_f64();
            state.first_loss.get_or_insert(loss_sum);
            state.last_loss = Some(loss_sum);
            let dt = t0.elapsed().as_secs_f64();
            let done_here = (state.tokens - tokens_before) as f64;
            let tps = done_here / run_start.elapsed().as_secs_f64().max(1e-9);
            let per_step =
                run_start.elapsed().as_secs_f64() / (state.step - resumed.as_ref().map_or(0, |s| s.step)).max(1) as f64;
            let step_event = TrainEvent::Step {
                step: state.step,
                total_steps: total,
                epoch: state.epoch as f64 + state.batch_in_epoch as f64 / batches.len().max(1) as f64,
                loss: loss_sum,
                lr,
                grad_norm: norm,
                tokens: seen_tokens,
                tokens_per_s: if dt > 0.0 { tps } else { 0.0 },
                elapsed_s: state.seconds,
                eta_s: per_step * (total - state.step) as f64,
            };
            emit(step_event, &mut metrics);
            job.report(
                "train",
                state.step as u64,
                Some(total as u64),
                "steps",
                format!("loss {loss_sum:.4}"),
            );
            let last = state.step == total;
            let eval_now =
                !self.val.is_empty() && (last || (self.cfg.eval_every > 0 && state.step % self.cfg.eval_every == 0));
            if eval_now {
                let v = evaluate(self.model, &self.val, self.cfg.batch_size)?;
                let improved = state.best_val.is_none_or(|b| v < b - 1e-4);
                if improved {
                    state.best_val = Some(v);
                    state.best_step = Some(state.step);
                    state.bad_evals = 0;
                    let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
                    adapter::save_peft(&self.out.join("best"), &self.model.net, &acfg)?;
                } else {
                    state.bad_evals += 1;
                }
                state.first_val.get_or_insert(v);
                state.last_val = Some(v);
                let ev = TrainEvent::Eval {
                    step: state.step,
                    val_loss: v,
                    best_val_loss: state.best_val.unwrap_or(v),
                    improved,
                };
                emit(ev, &mut metrics);
                if self.cfg.patience > 0 && state.bad_evals >= self.cfg.patience && !last {
                    stopped_early = true;
                    let best_step = state.best_step.unwrap_or(state.step);
                    emit(
                        TrainEvent::EarlyStop {
                            step: state.step,
                            best_step,
                        },
                        &mut metrics,
                    );
                }
            }
            let save_now = last || stopped_early || (self.cfg.save_every > 0 && state.step % self.cfg.save_every == 0);
            if save_now {
                self.save_checkpoint(&opt, &state)?;
                emit(TrainEvent::Checkpoint { step: state.step }, &mut metrics);
            }
            write_atomic(&metrics_path, metrics.as_bytes())?;
            if stopped_early {
                break;
            }
        }
        if cancelled {
            self.save_checkpoint(&opt, &state)?;
            emit(TrainEvent::Checkpoint { step: state.step }, &mut metrics);
            write_atomic(&metrics_path, metrics.as_bytes())?;
            return Err(Error::Cancelled);
        }
        emit(TrainEvent::Done { steps: state.step }, &mut metrics);
        write_atomic(&metrics_path, metrics.as_bytes())?;
        // The adapter of the run: the best by validation, else the last.
        let best = self.out.join("best");
        let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
        if best.join("adapter_model.safetensors").exists() {
            for f in ["adapter_model.safetensors", "adapter_config.json"] {
                let bytes = std::fs::read(best.join(f)).map_err(|e| Error::io(&best.join(f), e))?;
                write_atomic(&self.out.join(f), &bytes)?;
            }
        } else {
            adapter::save_peft(&self.out, &self.model.net, &acfg)?;
        }
        Ok(TrainSummary {
            steps: state.step,
            total_steps: total,
            train_loss_first: state.first_loss,
            train_loss_last: state.last_loss,
            val_loss_first: state.first_val,
            val_loss_last: state.last_val,
            best_val_loss: state.best_val,
            best_step: state.best_step,
            tokens_per_s: state.tokens as f64 / state.seconds.max(1e-9),
            peak_memory_mib: peak_memory_mib(),
            stopped_early,
            adapter: self.out.clone(),
        })
    }
}

/// The saved configuration of a run in `out` (for `train --resume`).
pub fn saved_config(out: &Path) -> Result<TrainConfig> {
    let root = out.join("checkpoints");
    let name = std::fs::read_to_string(root.join("latest")).map_err(|_| Error::Format {
        path: out.into(),
        detail: "no checkpoint here to resume from (checkpoints/latest is missing); start a new run".into(),
    })?;
    let path = root.join(name.trim()).join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.clone(),
        detail: format!("the checkpoint is damaged ({e})"),
    })?;
    serde_json::from_value(v["config"].clone()).map_err(|e| Error::Format {
        path,
        detail: format!("the checkpoint's configuration is damaged ({e})"),
    })
}

/// A measured estimate for one configuration, from a short calibration run.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub preset: Option<Preset>,
    pub label: String,
    pub description: String,
    pub total_steps: usize,
    pub seconds_per_step: f64,
    pub estimated_seconds: f64,
    /// The run's peak resident memory, extrapolated from the bounded probe
    /// (where the OS tells it); `None` when the preset was refused unmeasured.
    pub peak_memory_mib: Option<f64>,
    /// The memory the run needs: the measured prediction, or the formula's
    /// when the preset was refused without measuring.
    pub needed_mib: f64,
    /// Memory this process may use, where the OS tells it.
    pub available_mib: Option<f64>,
    /// False when the run would not fit: it was not measured, and training
    /// with it would be refused.
    pub fits: bool,
    pub config: TrainConfig,
}

/// Forget the peak-memory mark so the next reading covers only what follows
/// (Linux; elsewhere the reading stays process-wide).
fn reset_peak_memory() {
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

/// Time and memory of training `cfg` on the longest samples, measured with a
/// bounded probe and extrapolated: one warm-up and one timed micro-batch of
/// one sample, then one of two (when the batch is larger and the second
/// sample fits in the free memory), each a real forward and backward pass.
/// The probe never holds more than a batch of two, so measuring a preset
/// that does not fit cannot run the computer out of memory; a step's time
/// and peak grow with the batch from those two points. The trial adapter is
/// removed afterwards.
pub fn calibrate(model: &mut Model, samples: &[Sample], cfg: &TrainConfig, steps: usize) -> Result<Estimate> {
    let (examples, _) = prepare(model, samples, cfg.max_len)?;
    if examples.is_empty() {
        return Err(Error::Invalid("no samples fit the maximum length".into()));
    }
    let total = cfg.total_steps(examples.len());
    let plan = memory::plan(model, cfg, memory::longest(&examples));
    let needed = plan.needed;
    let available = crate::jobs::memory_available();
    let mib = |b: u64| b as f64 / 1048576.0;
    let refused = || Estimate {
        preset: None,
        label: "Custom".into(),
        description: String::new(),
        total_steps: total,
        seconds_per_step: 0.0,
        estimated_seconds: 0.0,
        peak_memory_mib: None,
        needed_mib: mib(needed),
        available_mib: available.map(mib),
        fits: false,
        config: cfg.clone(),
    };
    if available.is_some_and(|a| needed > a) {
        return Ok(refused());
    }
    // The longest samples give an upper estimate.
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(examples[i].ids.len()));
    let vars = init_lora(model, cfg)?;
    let opt = AdamW::new(vars, cfg.weight_decay)?;
    let resident = crate::jobs::self_status_bytes("VmRSS:").map_or(0.0, mib);
    let mut acc: Vec<Option<Tensor>> = vec![None; opt.slots.len()];
    let ck_blocks = plan.checkpointed;
    let ck = Checkpoints::default().first(ck_blocks);
    // (seconds, peak MiB) of one forward and backward pass on `n` samples.
    let mut probe = |n: usize, model: &mut Model| -> Result<(f64, f64)> {
        reset_peak_memory();
        let t = Instant::now();
        let batch: Vec<&Example> = order.iter().cycle().take(n).map(|&i| &examples[i]).collect();
        let pass = Pass {
            dropout: None,
            grad: true,
            checkpoint: (ck_blocks > 0).then_some(&ck),
        };
        let (loss, _) = batch_loss(model, &batch, pass)?;
        let mut grads = loss.backward()?;
        ck.merge_into(&mut grads)?;
        opt.accumulate(&mut acc, &grads)?;
        Ok((t.elapsed().as_secs_f64(), peak_memory_mib().unwrap_or(0.0)))
    };
    let result = (|| {
        probe(1, model)?; // warms up
        let mut one = (f64::MAX, 0f64);
        for _ in 0..steps.max(1) {
            let (t, m) = probe(1, model)?;
            one = (one.0.min(t), one.1.max(m));
        }
        let batch = cfg.batch_size.max(1);
        // What one more sample adds: measured with a batch of two when it fits.
        let per_sample_mib = (one.1 - resident).max(0.0);
        let two_fits = available.is_none_or(|a| per_sample_mib * 1.5 < mib(a));
        let (more_t, more_m) = if batch >= 2 && two_fits {
            let (t, m) = probe(2, model)?;
            ((t - one.0).clamp(0.3 * one.0, one.0), (m - one.1).max(0.0))
        } else {
            (one.0, per_sample_mib)
        };
        let extra = (batch - 1) as f64;
        Ok::<_, Error>((
            (one.0 + extra * more_t) * cfg.grad_accum.max(1) as f64,
            one.1 + extra * more_m,
        ))
    })();
    model.net.clear_lora();
    let (secs, peak) = result?;
    let eval_cost = if cfg.eval_every > 0 { 1.1 } else { 1.0 };
    Ok(Estimate {
        preset: None,
        label: "Custom".into(),
        description: String::new(),
        total_steps: total,
        seconds_per_step: secs,
        estimated_seconds: secs * total as f64 * eval_cost,
        peak_memory_mib: Some(peak),
        // What the window says a preset needs: the measured prediction.
        needed_mib: peak,
        available_mib: available.map(mib),
        // The peak beyond what this process holds now must be free.
        fits: available.is_none_or(|a| peak - resident <= mib(a)),
        config: cfg.clone(),
    })
}

/// Estimates for the three presets on this dataset, model and device.
pub fn estimate_presets(model: &mut Model, samples: &[Sample], steps: usize) -> Result<Vec<Estimate>> {
    Preset::ALL
        .iter()
        .map(|&p| {
            let mut e = calibrate(model, samples, &p.config(), steps)?;
            e.preset = Some(p);
            e.label = p.label().into();
            e.description = p.describe().into();
            Ok(e)
        })
        .collect()
}
