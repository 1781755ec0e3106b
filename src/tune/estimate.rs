//! `train --estimate`: time and memory of a run measured with a bounded
//! probe and extrapolated, for one configuration or the three presets.

use super::data::Example;
use super::loss::batch_loss;
use super::optim::AdamW;
use super::run::{init_lora, prepare};
use super::{memory, Preset, TrainConfig};
use crate::dataset::Sample;
use crate::jobs::{Error, Result};
use crate::model::transformer::{Checkpoints, Pass};
use crate::model::Model;
use candle_core::Tensor;
use serde::Serialize;
use std::time::Instant;

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
        memory::reset_peak_memory();
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
        Ok((t.elapsed().as_secs_f64(), memory::peak_memory_mib().unwrap_or(0.0)))
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
