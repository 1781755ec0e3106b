//! Causal attention for prompts and training, on the CPU in f32.
//!
//! The batched path multiplies every query by every key and then masks the
//! half a causal model may not see. Here the queries go in blocks of
//! [`BLOCK`] rows and each block multiplies only the keys its last row sees:
//! about 60% of the products at 256 tokens, falling towards half for longer
//! sequences. The scores of one block (`BLOCK × keys`) are the only scratch,
//! and the backward pass computes them again block by block, so nothing of
//! `rows × keys` size is kept between the passes. The products of one stacked
//! head run on one thread (`gemm_on(…, 1)`); the heads spread over the cores.

use super::ops::{self, dst, Grads3};
use super::rows;
use candle_core::{Result, Tensor};
use rayon::prelude::*;

/// Query rows per block.
const BLOCK: usize = 64;

/// `softmax(q·kᵀ·scale + causal mask)·v` for `q` `[b, g, rep·l, d]` (the
/// `rep` query heads that share kv head g stacked along the sequence axis)
/// and `k`, `v` `[b, g, t, d]`, t ≥ l: row i of each stacked head is at
/// position `t − l + i` and sees keys `0..=t − l + i` (the `t − l` before it
/// are cached). Gradients flow to q, k and v. `None` where this path does
/// not apply (another device or dtype, other shapes).
pub fn causal(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64, rep: usize) -> Result<Option<Tensor>> {
    if !(ops::fast(q) && ops::fast(k) && ops::fast(v)) || q.rank() != 4 || k.rank() != 4 {
        return Ok(None);
    }
    let (b, g, rows, d) = q.dims4()?;
    let t = k.dim(2)?;
    if rep == 0
        || rows == 0
        || d == 0
        || rows % rep != 0
        || rows / rep > t
        || k.dims4()? != (b, g, t, d)
        || v.dims4()? != (b, g, t, d)
    {
        return Ok(None);
    }
    let c = Causal {
        heads: b * g,
        rep,
        l: rows / rep,
        t,
        d,
        scale: scale as f32,
    };
    let out = ops::with_f32s(&q.detach(), |qs| {
        ops::with_f32s(&k.detach(), |ks| {
            ops::with_f32s(&v.detach(), |vs| c.forward(qs, ks, vs))
        })
    })?;
    let out = Tensor::from_vec(out, q.shape(), q.device())?;
    if !(ops::tracks(q) || ops::tracks(k) || ops::tracks(v)) {
        return Ok(Some(out));
    }
    ops::attach3(q, k, v, out, move |q, k, v, _, g| c.backward(q, k, v, g)).map(Some)
}

/// The shapes of one causal attention: `heads` kv heads (batch × g), each
/// with `rep` stacked query heads of `l` rows, `t` keys, `d` values a row.
#[derive(Clone, Copy)]
struct Causal {
    heads: usize,
    rep: usize,
    l: usize,
    t: usize,
    d: usize,
    scale: f32,
}

impl Causal {
    /// Rows of the block starting at query row `s0` and the keys its last
    /// row sees.
    fn block(&self, s0: usize) -> (usize, usize) {
        let m = BLOCK.min(self.l - s0);
        (m, self.t - self.l + s0 + m)
    }

    /// Scratch for one block's scores.
    fn scratch(&self) -> Vec<f32> {
        dst(BLOCK.min(self.l) * self.t)
    }

    /// The probabilities `p` (`m × n`) of the block at `s0` of one stacked
    /// head's queries `qh` over its keys `kh`; `s` is scratch of that size.
    fn probs(&self, qh: &[f32], kh: &[f32], s0: usize, s: &mut [f32], p: &mut [f32]) -> Result<()> {
        let ((m, n), d) = (self.block(s0), self.d);
        // S = Q[s0..s0+m] · K[..n]ᵀ (Kᵀ read in place: row stride 1, column stride d).
        ops::gemm_on(s, false, (m, n, d), (&qh[s0 * d..(s0 + m) * d], d, 1), (kh, 1, d), 1)?;
        rows::causal_softmax(s, p, n, self.t - self.l + s0 + 1, self.scale);
        Ok(())
    }

    /// Stacked head `task`'s queries, and its kv head's keys and values.
    fn operands<'x>(&self, task: usize, q: &'x [f32], k: &'x [f32], v: &'x [f32]) -> [&'x [f32]; 3] {
        let (ld, td, h) = (self.l * self.d, self.t * self.d, task / self.rep);
        [
            &q[task * ld..(task + 1) * ld],
            &k[h * td..(h + 1) * td],
            &v[h * td..(h + 1) * td],
        ]
    }

    fn forward(&self, q: &[f32], k: &[f32], v: &[f32]) -> Result<Vec<f32>> {
        let (l, d) = (self.l, self.d);
        let mut out = dst(q.len());
        out.par_chunks_mut(l * d)
            .enumerate()
            .try_for_each(|(task, o)| -> Result<()> {
                let [qh, kh, vh] = self.operands(task, q, k, v);
                let (mut s, mut p) = (self.scratch(), self.scratch());
                for s0 in (0..l).step_by(BLOCK) {
                    let (m, n) = self.block(s0);
                    let p = &mut p[..m * n];
                    self.probs(qh, kh, s0, &mut s[..m * n], p)?;
                    ops::gemm_on(&mut o[s0 * d..(s0 + m) * d], false, (m, d, n), (p, n, 1), (vh, d, 1), 1)?;
                }
                Ok(())
            })?;
        Ok(out)
    }

    fn backward(&self, q: &Tensor, k: &Tensor, v: &Tensor, g: &Tensor) -> Result<Grads3> {
        let (dq, dk, dv) = ops::with_f32s(q, |qs| {
            ops::with_f32s(k, |ks| {
                ops::with_f32s(v, |vs| ops::with_f32s(g, |gs| self.grads(qs, ks, vs, gs)))
            })
        })?;
        let t = |x: Vec<f32>, like: &Tensor| Tensor::from_vec(x, like.shape(), like.device()).map(Some);
        Ok((t(dq, q)?, t(dk, k)?, t(dv, v)?))
    }

    /// The gradients of q, k and v from the output's `g`. Each stacked head
    /// sums its share of its kv head's dk and dv apart; the shares are added
    /// up at the end.
    fn grads(&self, q: &[f32], k: &[f32], v: &[f32], g: &[f32]) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
        let (l, t, d) = (self.l, self.t, self.d);
        let mut dq = dst(q.len());
        let shares: Vec<(Vec<f32>, Vec<f32>)> = dq
            .par_chunks_mut(l * d)
            .enumerate()
            .map(|(task, dqh)| {
                let [qh, kh, vh] = self.operands(task, q, k, v);
                let gh = &g[task * l * d..(task + 1) * l * d];
                let (mut dk, mut dv) = (vec![0f32; t * d], vec![0f32; t * d]);
                let (mut s, mut p, mut ds) = (self.scratch(), self.scratch(), self.scratch());
                for s0 in (0..l).step_by(BLOCK) {
                    let (m, n) = self.block(s0);
                    let (s, p, ds) = (&mut s[..m * n], &mut p[..m * n], &mut ds[..m * n]);
                    self.probs(qh, kh, s0, s, p)?;
                    let (qb, gb) = (&qh[s0 * d..(s0 + m) * d], &gh[s0 * d..(s0 + m) * d]);
                    // dV[..n] += Pᵀ · G
                    ops::gemm_on(&mut dv[..n * d], true, (n, d, m), (p, 1, n), (gb, d, 1), 1)?;
                    // dP = G · V[..n]ᵀ, then dS from it
                    ops::gemm_on(s, false, (m, n, d), (gb, d, 1), (vh, 1, d), 1)?;
                    rows::softmax_backward_here(p, s, ds, n, self.scale);
                    // dQ = dS · K[..n], dK[..n] += dSᵀ · Q
                    ops::gemm_on(
                        &mut dqh[s0 * d..(s0 + m) * d],
                        false,
                        (m, d, n),
                        (ds, n, 1),
                        (kh, d, 1),
                        1,
                    )?;
                    ops::gemm_on(&mut dk[..n * d], true, (n, d, m), (ds, 1, n), (qb, d, 1), 1)?;
                }
                Ok((dk, dv))
            })
            .collect::<Result<_>>()?;
        let (mut dk, mut dv) = (dst(self.heads * t * d), dst(self.heads * t * d));
        dk.par_chunks_mut(t * d)
            .zip(dv.par_chunks_mut(t * d))
            .zip(shares.par_chunks(self.rep))
            .for_each(|((dk, dv), shares)| {
                dk.copy_from_slice(&shares[0].0);
                dv.copy_from_slice(&shares[0].1);
                for (sk, sv) in &shares[1..] {
                    dk.iter_mut().zip(sk).for_each(|(a, b)| *a += b);
                    dv.iter_mut().zip(sv).for_each(|(a, b)| *a += b);
                }
            });
        Ok((dq, dk, dv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    /// The additive causal mask `[rep·l, t]` the batched path takes.
    fn mask(rep: usize, l: usize, t: usize) -> Tensor {
        let m: Vec<f32> = (0..rep * l * t)
            .map(|i| {
                let (row, key) = ((i / t) % l, i % t);
                if key > t - l + row {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        Tensor::from_vec(m, (rep * l, t), &Device::Cpu).unwrap()
    }

    use crate::model::ops::rel_diff as max_rel;

    /// Output and all three gradients against the batched path with its
    /// mask: 150 rows (blocks of 64, 64 and 22), with and without cached
    /// keys before them, one and three stacked heads.
    #[test]
    fn blocks_match_the_masked_batched_attention() {
        let dev = Device::Cpu;
        for (rep, l, t) in [(3, 150, 150), (3, 150, 171), (1, 64, 64), (2, 5, 9)] {
            let (b, g, d) = (2, 2, 16);
            let scale = 1.0 / (d as f64).sqrt();
            let q = Var::randn(0f32, 1.0, (b, g, rep * l, d), &dev).unwrap();
            let k = Var::randn(0f32, 1.0, (b, g, t, d), &dev).unwrap();
            let v = Var::randn(0f32, 1.0, (b, g, t, d), &dev).unwrap();
            let w = Tensor::randn(0f32, 1.0, (b, g, rep * l, d), &dev).unwrap();
            let got = causal(&q, &k, &v, scale, rep).unwrap().expect("applies");
            let want = ops::attention(&q, &k, &v, scale, Some(&mask(rep, l, t))).unwrap();
            let at = format!("rep {rep}, {l} rows over {t} keys");
            assert!(max_rel(&got, &want) < 1e-5, "{at}: output");
            let gg = (&got * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let gw = (&want * &w).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, x) in [("q", &q), ("k", &k), ("v", &v)] {
                let (a, b) = (gg.get(x).unwrap(), gw.get(x).unwrap());
                assert!(max_rel(a, b) < 1e-4, "{at}: gradient of {name}");
            }
        }
    }

    #[test]
    fn other_shapes_and_types_fall_back() {
        let dev = Device::Cpu;
        let q = Tensor::zeros((1, 2, 6, 8), DType::F32, &dev).unwrap();
        let k = Tensor::zeros((1, 2, 2, 8), DType::F32, &dev).unwrap();
        // 6 rows of 3 stacked heads are 2 positions: fits; of 1 head, 6 > 2 keys.
        assert!(causal(&q, &k, &k, 1.0, 3).unwrap().is_some());
        assert!(causal(&q, &k, &k, 1.0, 1).unwrap().is_none());
        let h = q.to_dtype(DType::F16).unwrap();
        assert!(causal(&h, &k, &k, 1.0, 3).unwrap().is_none());
    }
}
