//! A training run: LoRA weights on the model, steps with gradient
//! accumulation, validation with early stopping, the best adapter kept.

use super::checkpoint::State;
use super::loss::{batch_loss, dropout_mask, validation_loss};
use super::optim::{self, AdamW};
use super::{data, memory, TrainConfig, TrainEvent};
use crate::dataset::Sample;
use crate::jobs::{write_atomic, Error, Job, Result};
use crate::model::adapter::{self, AdapterConfig};
use crate::model::linear::Lora;
use crate::model::transformer::{Checkpoints, Pass, TARGETS};
use crate::model::Model;
use crate::random::Rng;
use candle_core::{DType, Tensor, Var};
use data::Example;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
pub(super) fn lora_vars(model: &Model) -> Vec<Var> {
    let mut v = Vec::new();
    for (_, _, lin) in model.net.linears() {
        if let Some(l) = &lin.lora {
            v.push(l.a.clone());
            v.push(l.b.clone());
        }
    }
    v
}

pub(super) fn var_names(model: &Model) -> Vec<String> {
    let mut v = Vec::new();
    for (layer, t, lin) in model.net.linears() {
        if lin.lora.is_some() {
            v.push(adapter::peft_name(layer, t, "A"));
            v.push(adapter::peft_name(layer, t, "B"));
        }
    }
    v
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

pub(super) fn adapter_config(cfg: &TrainConfig, base: Option<&str>) -> AdapterConfig {
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

    /// Train, or continue from the last checkpoint in `out` (events go to
    /// the job: [`crate::jobs::Event::Train`]).
    pub fn train(&mut self, job: &Job) -> Result<TrainSummary> {
        if self.train.is_empty() {
            return Err(Error::Invalid(
                "no training samples fit the maximum length; raise the maximum sample length or check the dataset"
                    .into(),
            ));
        }
        let plan = memory::check_fits(self.model, &self.cfg, &self.train)?;
        let layers = self.model.net.cfg.num_layers;
        if plan.checkpointed > 0 {
            job.log(
                crate::jobs::LogLevel::Info,
                format!(
                    "To stay within {:.1} GB, {} of the model's {layers} blocks are computed again in the backward pass instead of keeping their activations (about {}% more work per step).",
                    plan.budget as f64 / (1u64 << 30) as f64,
                    plan.checkpointed,
                    plan.checkpointed * 100 / (3 * layers.max(1)),
                ),
            );
        }
        // Held until the run ends: a second run on the same folder is refused,
        // and a free lock on a folder with checkpoints marks an interrupted run.
        let _lock = crate::jobs::FolderLock::acquire(&self.out, "a training run")?;
        let mut p = self.resume(plan.checkpointed)?;
        let start = TrainEvent::Start {
            total_steps: p.total,
            train_examples: self.train.len(),
            val_examples: self.val.len(),
            skipped: self.skipped,
            trainable_parameters: p.opt.slots.iter().map(|s| s.var.elem_count()).sum(),
            resumed_from: p.resumed_from,
            device: crate::model::device_name(&self.model.net.device),
        };
        p.emit(job, start);
        if p.resumed_from.is_none() && !self.val.is_empty() {
            // The starting point: the base model (the fresh adapter is a no-op).
            self.validate(&mut p, job)?;
        }
        let mut stopped_early = false;
        while p.state.step < p.total {
            if job.check().is_err() {
                self.save_checkpoint(&p.opt, &p.state)?;
                p.emit(job, TrainEvent::Checkpoint { step: p.state.step });
                p.write_metrics()?;
                return Err(Error::Cancelled);
            }
            self.step(&mut p, job)?;
            let last = p.state.step == p.total;
            let eval_now =
                !self.val.is_empty() && (last || (self.cfg.eval_every > 0 && p.state.step % self.cfg.eval_every == 0));
            if eval_now && self.validate(&mut p, job)? && !last {
                stopped_early = true;
                let (step, best_step) = (p.state.step, p.state.best_step.unwrap_or(p.state.step));
                p.emit(job, TrainEvent::EarlyStop { step, best_step });
            }
            let save_now =
                last || stopped_early || (self.cfg.save_every > 0 && p.state.step % self.cfg.save_every == 0);
            if save_now {
                self.save_checkpoint(&p.opt, &p.state)?;
                p.emit(job, TrainEvent::Checkpoint { step: p.state.step });
            }
            p.write_metrics()?;
            if stopped_early {
                break;
            }
        }
        self.finish(p, stopped_early, job)
    }

    /// Fresh LoRA weights and optimizer, or those of the last checkpoint, with
    /// the metrics written up to it (later lines are redone).
    fn resume(&mut self, checkpointed: usize) -> Result<Progress> {
        let vars = init_lora(self.model, &self.cfg)?;
        let mut opt = AdamW::new(vars, self.cfg.weight_decay)?;
        let resumed = self.load_checkpoint(&mut opt)?;
        let state = resumed.clone().unwrap_or_default();
        let metrics_path = self.out.join("metrics.jsonl");
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
        let lengths: Vec<usize> = self.train.iter().map(|e| e.ids.len()).collect();
        let batches = data::epoch_batches(&lengths, self.cfg.batch_size, self.cfg.seed, state.epoch);
        Ok(Progress {
            opt,
            resumed_from: resumed.as_ref().map(|s| s.step),
            seconds_before: state.seconds,
            tokens_before: state.tokens,
            state,
            metrics,
            metrics_path,
            total,
            warmup: ((total as f64) * self.cfg.warmup_ratio).round() as usize,
            lengths,
            batches,
            checkpointed,
            started: Instant::now(),
        })
    }

    /// One optimizer step: its micro-batches' gradients (weighted by their
    /// reply tokens), clipped, applied; reports the step.
    fn step(&mut self, p: &mut Progress, job: &Job) -> Result<()> {
        let lr = optim::lr_at(p.state.step, p.total, p.warmup, self.cfg.lr, self.cfg.min_lr_ratio);
        let micro = p.next_micro_batches(&self.cfg);
        let step_tokens: usize = micro
            .iter()
            .flat_map(|b| b.iter().map(|&i| self.train[i].response_tokens()))
            .sum();
        let t0 = Instant::now();
        let mut acc: Vec<Option<Tensor>> = vec![None; p.opt.slots.len()];
        let mut loss_sum = 0f64;
        let mut seen_tokens = 0usize;
        let ck_blocks = p.checkpointed;
        for (mi, b) in micro.iter().enumerate() {
            let batch: Vec<&Example> = b.iter().map(|&i| &self.train[i]).collect();
            seen_tokens += batch.iter().map(|e| e.ids.len()).sum::<usize>();
            let (drop, seed, step) = (self.cfg.dropout, self.cfg.seed, p.state.step);
            let mask =
                move |layer: usize, target: &str, x: &Tensor| dropout_mask(drop, seed, step, mi, layer, target, x);
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
            p.opt.accumulate(&mut acc, &grads)?;
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
        p.opt.step(&acc, lr, scale)?;
        let st = &mut p.state;
        st.step += 1;
        st.tokens += seen_tokens;
        st.seconds = p.seconds_before + p.started.elapsed().as_secs_f64();
        st.first_loss.get_or_insert(loss_sum);
        st.last_loss = Some(loss_sum);
        let dt = t0.elapsed().as_secs_f64();
        let elapsed = p.started.elapsed().as_secs_f64().max(1e-9);
        let tps = (st.tokens - p.tokens_before) as f64 / elapsed;
        let per_step = elapsed / (st.step - p.resumed_from.unwrap_or(0)).max(1) as f64;
        let step_event = TrainEvent::Step {
            step: st.step,
            total_steps: p.total,
            epoch: st.epoch as f64 + st.batch_in_epoch as f64 / p.batches.len().max(1) as f64,
            loss: loss_sum,
            lr,
            grad_norm: norm,
            tokens: seen_tokens,
            tokens_per_s: if dt > 0.0 { tps } else { 0.0 },
            elapsed_s: st.seconds,
            eta_s: per_step * (p.total - st.step) as f64,
        };
        let step = st.step as u64;
        p.emit(job, step_event);
        job.report(
            "train",
            step,
            Some(p.total as u64),
            "steps",
            format!("loss {loss_sum:.4}"),
        );
        Ok(())
    }

    /// The validation loss now; keeps the adapter when it is the best so far.
    /// True when patience has run out.
    fn validate(&mut self, p: &mut Progress, job: &Job) -> Result<bool> {
        let v = validation_loss(self.model, &self.val, self.cfg.batch_size)?;
        let st = &mut p.state;
        let improved = st.best_val.is_none_or(|b| v < b - 1e-4);
        if improved {
            st.best_val = Some(v);
            st.best_step = Some(st.step);
            st.bad_evals = 0;
            let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
            adapter::save_peft(&self.out.join("best"), &self.model.net, &acfg)?;
        } else {
            st.bad_evals += 1;
        }
        st.first_val.get_or_insert(v);
        st.last_val = Some(v);
        let ev = TrainEvent::Eval {
            step: st.step,
            val_loss: v,
            best_val_loss: st.best_val.unwrap_or(v),
            improved,
        };
        let out_of_patience = self.cfg.patience > 0 && st.bad_evals >= self.cfg.patience;
        p.emit(job, ev);
        Ok(out_of_patience)
    }

    /// The run's adapter (the best by validation, else the last) and summary.
    fn finish(&mut self, mut p: Progress, stopped_early: bool, job: &Job) -> Result<TrainSummary> {
        p.emit(job, TrainEvent::Done { steps: p.state.step });
        p.write_metrics()?;
        let best = self.out.join("best");
        if best.join("adapter_model.safetensors").exists() {
            for f in ["adapter_model.safetensors", "adapter_config.json"] {
                let bytes = std::fs::read(best.join(f)).map_err(|e| Error::io(&best.join(f), e))?;
                write_atomic(&self.out.join(f), &bytes)?;
            }
        } else {
            let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
            adapter::save_peft(&self.out, &self.model.net, &acfg)?;
        }
        let st = &p.state;
        Ok(TrainSummary {
            steps: st.step,
            total_steps: p.total,
            train_loss_first: st.first_loss,
            train_loss_last: st.last_loss,
            val_loss_first: st.first_val,
            val_loss_last: st.last_val,
            best_val_loss: st.best_val,
            best_step: st.best_step,
            tokens_per_s: st.tokens as f64 / st.seconds.max(1e-9),
            peak_memory_mib: memory::peak_memory_mib(),
            stopped_early,
            adapter: self.out.clone(),
        })
    }
}

/// What a run carries from step to step.
struct Progress {
    opt: AdamW,
    state: State,
    /// The step of the checkpoint this run continued from.
    resumed_from: Option<usize>,
    /// Seconds and tokens of the run before it was resumed.
    seconds_before: f64,
    tokens_before: usize,
    /// metrics.jsonl as written so far.
    metrics: String,
    metrics_path: PathBuf,
    total: usize,
    warmup: usize,
    lengths: Vec<usize>,
    /// This epoch's batches (indices into the training examples).
    batches: Vec<Vec<usize>>,
    /// Blocks recomputed in the backward pass.
    checkpointed: usize,
    started: Instant,
}

impl Progress {
    fn emit(&mut self, job: &Job, e: TrainEvent) {
        self.metrics.push_str(&jsonl_line(&e));
        job.emit(crate::jobs::Event::Train(e));
    }

    fn write_metrics(&self) -> Result<()> {
        write_atomic(&self.metrics_path, self.metrics.as_bytes())
    }

    /// The next `grad_accum` batches, starting a new epoch where one ends.
    fn next_micro_batches(&mut self, cfg: &TrainConfig) -> Vec<Vec<usize>> {
        let st = &mut self.state;
        let mut micro = Vec::new();
        for _ in 0..cfg.grad_accum.max(1) {
            if st.batch_in_epoch >= self.batches.len() {
                st.epoch += 1;
                st.batch_in_epoch = 0;
                self.batches = data::epoch_batches(&self.lengths, cfg.batch_size, cfg.seed, st.epoch);
            }
            micro.push(self.batches[st.batch_in_epoch].clone());
            st.batch_in_epoch += 1;
        }
        micro
    }
}
