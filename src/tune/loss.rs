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

/// Bytes of logits the loss computes at a time: the rows of a chunk are as
/// many as fit (16 to 512), and one buffer serves every chunk of a batch.
/// Bigger chunks make better products (gemm at 128 rows of SmolLM2's 49k
/// vocabulary: ~170 GFLOP/s on two cores; at 336 rows: ~200).
pub const LOGITS_BYTES: usize = 64 << 20;

/// Rows of logits per chunk for a vocabulary of `vocab` ([`LOGITS_BYTES`]).
pub fn loss_chunk_rows(vocab: usize) -> usize {
    (LOGITS_BYTES / (vocab.max(1) * 4)).clamp(16, 512) / 16 * 16
}

/// Mean negative log-likelihood of `targets` under `rows · headᵀ`, computed
/// in chunks of rows ([`loss_chunk_rows`]) so the full `[rows, vocab]`
/// logits never exist at once. When `rows` needs a gradient it is computed
/// in the same pass and attached: with `e` the exponentiated logits of a
/// row, `s` their sum and `t` the target, the gradient of the mean over `n`
/// rows is `(e/s − onehot(t))/n · head = (e · head)/(s·n) − head[t]/n` (the
/// head frozen), so the logits are never scaled in place.
pub fn fused_nll(rows: &Tensor, head: &crate::model::ops::Frozen, targets: &[u32]) -> Result<Tensor> {
    nll_in_chunks(rows, head, targets, loss_chunk_rows(head.dims().0))
}

/// [`fused_nll`] with `chunk` rows of logits at a time.
fn nll_in_chunks(rows: &Tensor, head: &crate::model::ops::Frozen, targets: &[u32], chunk: usize) -> Result<Tensor> {
    use crate::model::ops;
    let (n, hidden) = rows.dims2()?;
    let want_grad = ops::tracks(rows);
    let dev = rows.device().clone();
    let detached = rows.detach();
    let dense_head = if want_grad { Some(head.dense(DType::F32)?) } else { None };
    let vocab = head.dims().0;
    let chunk = chunk.clamp(1, n.max(1));
    let mut logits = ops::dst(chunk * vocab);
    let mut total = 0f64;
    let mut grads: Vec<f32> = Vec::with_capacity(if want_grad { n * hidden } else { 0 });
    for c0 in (0..n).step_by(chunk) {
        let c = chunk.min(n - c0);
        let v = &mut logits[..c * vocab];
        ops::matmul_t_into(head, &detached.narrow(0, c0, c)?, v)?;
        let tg = &targets[c0..c0 + c];
        // Each row becomes e^(logit − max) (vectorised), with its sum.
        let mut sums = vec![0f32; c];
        crate::model::rows::exp_rows(v, vocab, &mut sums);
        // In row order, so that a run's losses repeat exactly.
        total += v
            .chunks(vocab)
            .zip(tg.iter().zip(&sums))
            .map(|(row, (&t, &sum))| -((row[t as usize] as f64 / sum as f64).max(f64::MIN_POSITIVE)).ln())
            .sum::<f64>();
        if let Some(w) = &dense_head {
            let mut d = ops::matmul_vec(v, c, w)?;
            let picked = w
                .index_select(&Tensor::new(tg, &dev)?, 0)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let per_row = 1.0 / n as f32;
            for ((d, w_t), &sum) in d.chunks_mut(hidden).zip(picked.chunks(hidden)).zip(&sums) {
                let inv = (1.0 / sum) * per_row;
                for (d, &w_t) in d.iter_mut().zip(w_t) {
                    *d = *d * inv - w_t * per_row;
                }
            }
            grads.extend_from_slice(&d);
        }
    }
    let loss = Tensor::new((total / n as f64) as f32, &dev)?;
    if !want_grad {
        return Ok(loss);
    }
    let g = Tensor::from_vec(grads, (n, hidden), &dev)?.to_dtype(rows.dtype())?;
    Ok(ops::attach(rows, loss, move |up, _| g.broadcast_mul(up))?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::Frozen;
    use candle_core::{Device, Var};

    /// The chunked loss and its gradient equal the plain masked loss over
    /// the full logits, for chunks that split the rows unevenly.
    #[test]
    fn chunks_give_the_loss_and_gradient_of_the_full_logits() {
        let dev = Device::Cpu;
        let (n, hidden, vocab) = (37, 24, 301);
        let head = Tensor::randn(0f32, 0.5, (vocab, hidden), &dev).unwrap();
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (n, hidden), &dev).unwrap()).unwrap();
        let targets: Vec<u32> = (0..n as u32).map(|i| (i * 97 + 5) % vocab as u32).collect();
        let logits = x.as_tensor().matmul(&head.t().unwrap()).unwrap();
        let (want, _) = crate::model::transformer::masked_nll(&logits, &targets, IGNORE).unwrap();
        let want_grad = want.backward().unwrap().get(x.as_tensor()).unwrap().clone();
        let want: f32 = want.to_scalar().unwrap();
        for chunk in [1, 8, 16, 36, 37, 512] {
            let got = nll_in_chunks(x.as_tensor(), &Frozen::Dense(head.clone()), &targets, chunk).unwrap();
            let grad = got.backward().unwrap().get(x.as_tensor()).unwrap().clone();
            let got: f32 = got.to_scalar().unwrap();
            assert!(
                (got - want).abs() < 1e-5 * want.abs(),
                "chunk {chunk}: loss {got} vs {want}"
            );
            let d = crate::model::ops::rel_diff(&grad, &want_grad);
            assert!(d < 1e-5, "chunk {chunk}: gradient differs by {d} of its largest value");
        }
    }
}
