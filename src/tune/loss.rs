//! The training objective: the masked next-token loss on reply tokens,
//! computed without the full logits, and the dropout masks.

use super::data::{self, Example, IGNORE};
use crate::jobs::{Error, Result};
use crate::model::transformer::{Pass, TARGETS};
use crate::model::Model;
use crate::random::Rng;
use candle_core::{DType, Tensor};

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
    let keep = crate::model::transformer::counted_positions(&targets, IGNORE);
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
    // 128 rows of a 49k vocabulary are 25 MB of logits at a time: under the
    // size the allocator serves from its heap (jobs::init_runtime).
    const CHUNK: usize = 128;
    let mut total = 0f64;
    let mut grads: Vec<Tensor> = Vec::new();
    let vocab = head.dims().0;
    for c0 in (0..n).step_by(CHUNK) {
        let c = CHUNK.min(n - c0);
        let mut v = crate::model::ops::matmul_t_vec(head, &detached.narrow(0, c0, c)?)?;
        let tg = &targets[c0..c0 + c];
        // Each row becomes e^(logit − max) (vectorised), with its sum.
        let mut sums = vec![0f32; c];
        crate::model::rows::exp_rows(&mut v, vocab, &mut sums);
        let losses: Vec<f64> = v
            .par_chunks_mut(vocab)
            .zip(tg.par_iter().zip(sums.par_iter()))
            .map(|(row, (&t, &sum))| {
                let sum = sum as f64;
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
pub fn validation_loss(model: &Model, examples: &[Example], batch: usize) -> Result<f64> {
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
pub(super) fn dropout_mask(
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
