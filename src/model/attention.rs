//! Attention of one new token over the KV cache, on the CPU in f32: each
//! query head reads its keys and values straight from the cache (no packed
//! copies of the cache, no score tensors), the heads spread over the kernel
//! pool. Generation spends most of its attention time here once the context
//! is long; prompts and training keep the batched path.

use super::qkernel::pool;
use candle_core::{DType, Device, Layout, Storage, Tensor};
use std::sync::Mutex;

/// `q`: `[b, nh, 1, hd]`; `k`, `v`: `[b, nkv, len, hd]` (views of the cache:
/// each row of `hd` contiguous, heads and batches at any stride); grouped
/// query heads share a kv head (`nh / nkv` of them, consecutive). Returns
/// softmax(q·kᵀ·scale)·v as `[b, 1, nh·hd]`, or `None` where this path does not
/// apply (another device or dtype, another layout).
pub fn decode(q: &Tensor, k: &Tensor, v: &Tensor, scale: f32) -> candle_core::Result<Option<Tensor>> {
    if !matches!(q.device(), Device::Cpu) || [q.dtype(), k.dtype(), v.dtype()].iter().any(|&d| d != DType::F32) {
        return Ok(None);
    }
    let (b, nh, l, hd) = q.dims4()?;
    let (_, nkv, len, _) = k.dims4()?;
    if l != 1
        || len == 0
        || nkv == 0
        || nh % nkv != 0
        || k.dims4()? != (b, nkv, len, hd)
        || v.dims4()? != (b, nkv, len, hd)
    {
        return Ok(None);
    }
    let rep = nh / nkv;
    let q = q.contiguous()?;
    let (qs, ql) = q.storage_and_layout();
    let (ks, kl) = k.storage_and_layout();
    let (vs, vl) = v.storage_and_layout();
    let (Storage::Cpu(qs), Storage::Cpu(ks), Storage::Cpu(vs)) = (&*qs, &*ks, &*vs) else {
        return Ok(None);
    };
    let rows_ok = |l: &Layout| l.stride()[3] == 1 && l.stride()[2] == hd;
    if !rows_ok(kl) || !rows_ok(vl) {
        return Ok(None);
    }
    let qd = &qs.as_slice::<f32>()?[ql.start_offset()..];
    let (kd, vd) = (ks.as_slice::<f32>()?, vs.as_slice::<f32>()?);
    let base = |l: &Layout, bi: usize, g: usize| l.start_offset() + bi * l.stride()[0] + g * l.stride()[1];
    // Pieces: (batch, kv head, stretch of the cache); the `rep` query heads
    // of a kv head read each key and value once. Long caches are cut in two
    // so that the pieces share out over the threads; the stretches' partial
    // softmaxes are merged below.
    let splits = if len >= 256 { 2 } else { 1 };
    let pieces = b * nkv * splits;
    let partials: Vec<Mutex<Partial>> = (0..pieces).map(|_| Mutex::new(Partial::new(rep, hd))).collect();
    let fast = super::qkernel::available();
    pool::run(pieces, &|p| {
        let (bg, part) = (p / splits, p % splits);
        let (bi, g) = (bg / nkv, bg % nkv);
        let (j0, j1) = (part * len / splits, (part + 1) * len / splits);
        let (kb, vb) = (base(kl, bi, g), base(vl, bi, g));
        let (Some(kh), Some(vh)) = (kd.get(kb + j0 * hd..kb + j1 * hd), vd.get(vb + j0 * hd..vb + j1 * hd)) else {
            return;
        };
        let q0 = (bi * nh + g * rep) * hd;
        let qh = &qd[q0..q0 + rep * hd];
        if let Ok(mut out) = partials[p].lock() {
            #[cfg(target_arch = "x86_64")]
            if fast && hd.is_multiple_of(8) {
                // SAFETY: `fast` says this CPU has AVX2 and FMA.
                unsafe { group_avx2(qh, kh, vh, scale, &mut out) };
                return;
            }
            let _ = fast;
            group(qh, kh, vh, scale, &mut out);
        }
    });
    let mut result = vec![0f32; b * nh * hd];
    for (bg, parts) in partials.chunks(splits).enumerate() {
        let parts: Vec<Partial> = parts
            .iter()
            .map(|m| std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner())))
            .collect();
        for r in 0..rep {
            let m = parts.iter().map(|p| p.max[r]).fold(f32::NEG_INFINITY, f32::max);
            let out = &mut result[(bg * rep + r) * hd..(bg * rep + r + 1) * hd];
            let mut sum = 0f32;
            for p in &parts {
                let w = (p.max[r] - m).exp();
                sum += p.sum[r] * w;
                for (o, &x) in out.iter_mut().zip(&p.out[r * hd..(r + 1) * hd]) {
                    *o += x * w;
                }
            }
            let inv = 1.0 / sum;
            out.iter_mut().for_each(|o| *o *= inv);
        }
    }
    Ok(Some(Tensor::from_vec(result, (b, 1, nh * hd), q.device())?))
}

/// One stretch's share of the softmax, per query head: the largest score,
/// the sum of exp(score − max) and the values weighted by those.
#[derive(Default)]
struct Partial {
    max: Vec<f32>,
    sum: Vec<f32>,
    out: Vec<f32>,
}

impl Partial {
    fn new(rep: usize, hd: usize) -> Self {
        Partial {
            max: vec![f32::NEG_INFINITY; rep],
            sum: vec![0.0; rep],
            out: vec![0.0; rep * hd],
        }
    }
}

/// `rep` query heads (`q`: `rep·hd`) over one stretch of their kv head's keys
/// and values (`n·hd` each), portable.
fn group(q: &[f32], k: &[f32], v: &[f32], scale: f32, p: &mut Partial) {
    let hd = p.out.len() / p.max.len();
    let n = k.len() / hd;
    let rep = p.max.len();
    let mut s = vec![0f32; rep * n];
    for (j, kj) in k.chunks_exact(hd).enumerate() {
        for r in 0..rep {
            s[r * n + j] = dot(&q[r * hd..(r + 1) * hd], kj) * scale;
        }
    }
    softmax_parts(&mut s, n, p);
    for (j, vj) in v.chunks_exact(hd).enumerate() {
        for r in 0..rep {
            let w = s[r * n + j];
            for (o, &x) in p.out[r * hd..(r + 1) * hd].iter_mut().zip(vj) {
                *o += x * w;
            }
        }
    }
}

/// Per query head: its max, exp(score − max) in place, and their sum.
fn softmax_parts(s: &mut [f32], n: usize, p: &mut Partial) {
    for (r, row) in s.chunks_exact_mut(n).enumerate() {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for x in row.iter_mut() {
            *x = (*x - m).exp();
            sum += *x;
        }
        p.max[r] = m;
        p.sum[r] = sum;
    }
}

/// [`group`] with AVX2+FMA (`hd` a multiple of 8).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_avx2(q: &[f32], k: &[f32], v: &[f32], scale: f32, p: &mut Partial) {
    use std::arch::x86_64::*;
    let rep = p.max.len();
    let hd = p.out.len() / rep;
    let n = k.len() / hd;
    let mut s = vec![0f32; rep * n];
    for (j, kj) in k.chunks_exact(hd).enumerate() {
        let kp = kj.as_ptr();
        for r in 0..rep {
            let qp = q.as_ptr().add(r * hd);
            let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut i = 0;
            while i + 16 <= hd {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), _mm256_loadu_ps(kp.add(i)), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), _mm256_loadu_ps(kp.add(i + 8)), a1);
                i += 16;
            }
            if i < hd {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), _mm256_loadu_ps(kp.add(i)), a0);
            }
            let a = _mm256_add_ps(a0, a1);
            let h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            let h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
            s[r * n + j] = _mm_cvtss_f32(h) * scale;
        }
    }
    softmax_parts(&mut s, n, p);
    let op = p.out.as_mut_ptr();
    for (j, vj) in v.chunks_exact(hd).enumerate() {
        let vp = vj.as_ptr();
        for r in 0..rep {
            let w = _mm256_set1_ps(s[r * n + j]);
            let o = op.add(r * hd);
            for c in (0..hd).step_by(8) {
                _mm256_storeu_ps(
                    o.add(c),
                    _mm256_fmadd_ps(_mm256_loadu_ps(vp.add(c)), w, _mm256_loadu_ps(o.add(c))),
                );
            }
        }
    }
}

/// Dot product with eight running sums.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batched path, written out: softmax(q·kᵀ·scale)·v per head.
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Tensor {
        let (b, nh, _, hd) = q.dims4().unwrap();
        let nkv = k.dim(1).unwrap();
        let rep = nh / nkv;
        // Each kv head repeated for the query heads that share it.
        let expand = |t: &Tensor| {
            t.unsqueeze(2)
                .unwrap()
                .repeat((1, 1, rep, 1, 1))
                .unwrap()
                .flatten(1, 2)
                .unwrap()
        };
        let (k, v) = (expand(k), expand(v));
        let s = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let p = candle_nn::ops::softmax_last_dim(&s).unwrap();
        p.matmul(&v).unwrap().reshape((b, 1, nh * hd)).unwrap()
    }

    #[test]
    fn one_token_over_a_cache_view_matches_the_batched_attention() {
        // hd 64: the AVX2 kernel where the CPU has it; 20: the portable one.
        // 300 cached: cut into two stretches whose softmaxes are merged.
        for hd in [64, 20] {
            for (cap, len) in [(64, 37), (512, 300)] {
                one_cache(hd, cap, len);
            }
        }
    }

    fn one_cache(hd: usize, cap: usize, len: usize) {
        let (b, nh, nkv) = (2, 6, 2);
        let dev = Device::Cpu;
        let q = Tensor::randn(0f32, 1.0, (b, nh, 1, hd), &dev).unwrap();
        // Views of a larger cache buffer, as the KV cache hands them out.
        let kb = Tensor::randn(0f32, 1.0, (b, nkv, cap, hd), &dev).unwrap();
        let vb = Tensor::randn(0f32, 1.0, (b, nkv, cap, hd), &dev).unwrap();
        let (k, v) = (kb.narrow(2, 0, len).unwrap(), vb.narrow(2, 0, len).unwrap());
        let scale = 1.0 / (hd as f64).sqrt();
        let got = decode(&q, &k, &v, scale as f32).unwrap().expect("applies");
        let want = reference(&q, &k.contiguous().unwrap(), &v.contiguous().unwrap(), scale);
        let err = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(err < 1e-5, "hd {hd}, {len} cached: max error {err}");
    }

    #[test]
    fn other_shapes_fall_back() {
        let dev = Device::Cpu;
        let q = Tensor::zeros((1, 4, 2, 8), DType::F32, &dev).unwrap(); // two tokens
        let k = Tensor::zeros((1, 2, 5, 8), DType::F32, &dev).unwrap();
        assert!(decode(&q, &k, &k, 1.0).unwrap().is_none());
        let q = Tensor::zeros((1, 4, 1, 8), DType::F16, &dev).unwrap();
        assert!(decode(&q, &k, &k, 1.0).unwrap().is_none());
    }
}
