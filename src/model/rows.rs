//! Row kernels for training's elementwise and narrow work on the CPU:
//! softmax (with the scale and additive mask folded in) and its backward
//! pass, the loss's exponentials, RMSNorm's backward pass, the SwiGLU
//! activation with its backward pass, and LoRA's rank-wide products, each
//! one pass over memory (with a polynomial `exp` that the compiler
//! vectorises where one is needed). Each public function runs
//! the same code compiled for AVX-512, AVX2+FMA or the portable path, as
//! [`super::cpu::path`] says.

use super::cpu::{self, Path};

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Below this `exp` is taken as 0 (e^-87.3 is the smallest normal f32).
const EXP_LOW: f32 = -87.0;
const EXP_HIGH: f32 = 88.5;

/// `e^x` within 2 ulp for normal results; 0 below −87 (and for −∞).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let c = x.clamp(EXP_LOW, EXP_HIGH);
    // c = n·ln2 + r with |r| ≤ ln2/2; 1.5·2²³ rounds to the nearest integer.
    let n = (c * LOG2E + 12_582_912.0) - 12_582_912.0;
    let r = c - n * LN2_HI - n * LN2_LO;
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    if x < EXP_LOW {
        0.0
    } else {
        p * scale
    }
}

const LANES: usize = 16;

/// Largest element (−∞ for an empty row), in independent lanes so that it
/// vectorises.
#[inline(always)]
fn max_of(row: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            m[i] = if c[i] > m[i] { c[i] } else { m[i] };
        }
    }
    let mut best = tail.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in m {
        best = best.max(v);
    }
    best
}

/// `row ← e^(row − max)`, returning the sum.
#[inline(always)]
fn exp_shifted(row: &mut [f32], max: f32) -> f32 {
    let mut s = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            let e = exp(c[i] - max);
            c[i] = e;
            s[i] += e;
        }
    }
    let mut sum = 0f32;
    for x in chunks.into_remainder() {
        *x = exp(*x - max);
        sum += *x;
    }
    sum + s.iter().sum::<f32>()
}

#[inline(always)]
fn softmax_row(x: &[f32], out: &mut [f32], mask: Option<&[f32]>, scale: f32) {
    match mask {
        Some(m) => {
            for ((o, x), m) in out.iter_mut().zip(x).zip(m) {
                *o = x * scale + m;
            }
        }
        None => {
            for (o, x) in out.iter_mut().zip(x) {
                *o = x * scale;
            }
        }
    }
    let max = max_of(out);
    if max == f32::NEG_INFINITY {
        out.fill(0.0);
        return;
    }
    let inv = 1.0 / exp_shifted(out, max);
    out.iter_mut().for_each(|x| *x *= inv);
}

/// `out ← p · (dp − Σ p·dp) · scale`, softmax's backward pass for one row.
#[inline(always)]
fn softmax_backward_row(p: &[f32], dp: &[f32], out: &mut [f32], scale: f32) {
    let d = dot(p, dp);
    for ((o, p), g) in out.iter_mut().zip(p).zip(dp) {
        *o = p * (g - d) * scale;
    }
}

/// RMSNorm's backward pass for one row: `out ← u·r − x·r³·mean(u·x)`, with
/// `u = g·w` and `r = 1/√(mean(x²) + ε)`.
#[inline(always)]
fn rms_norm_backward_row(x: &[f32], w: &[f32], g: &[f32], out: &mut [f32], eps: f32) {
    let (mut ss, mut dot) = ([0f32; LANES], [0f32; LANES]);
    let (xc, wc, gc) = (x.chunks_exact(LANES), w.chunks_exact(LANES), g.chunks_exact(LANES));
    let (mut ss_t, mut dot_t) = (0f32, 0f32);
    for ((x, w), g) in xc.remainder().iter().zip(wc.remainder()).zip(gc.remainder()) {
        ss_t += x * x;
        dot_t += g * w * x;
    }
    for ((x, w), g) in xc.zip(wc).zip(gc) {
        for i in 0..LANES {
            ss[i] += x[i] * x[i];
            dot[i] += g[i] * w[i] * x[i];
        }
    }
    let n = x.len().max(1) as f32;
    let r = 1.0 / ((ss_t + ss.iter().sum::<f32>()) / n + eps).sqrt();
    let c = r * r * r * (dot_t + dot.iter().sum::<f32>()) / n;
    for (((o, x), w), g) in out.iter_mut().zip(x).zip(w).zip(g) {
        *o = g * w * r - x * c;
    }
}

#[inline(always)]
fn silu_mul(a: f32, b: f32) -> f32 {
    a / (1.0 + exp(-a)) * b
}

#[inline(always)]
fn swiglu_rows(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = silu_mul(a, b);
    }
}

/// `da ← g·b·σ(a)·(1 + a·(1 − σ(a)))`, `db ← g·a·σ(a)`.
#[inline(always)]
fn swiglu_backward_rows(a: &[f32], b: &[f32], g: &[f32], da: &mut [f32], db: &mut [f32]) {
    for ((((da, db), &g), &a), &b) in da.iter_mut().zip(db.iter_mut()).zip(g).zip(a).zip(b) {
        let s = 1.0 / (1.0 + exp(-a));
        *db = g * a * s;
        *da = g * b * s * (1.0 + a * (1.0 - s));
    }
}

/// The path, read once.
fn path() -> Path {
    static PATH: std::sync::OnceLock<Path> = std::sync::OnceLock::new();
    *PATH.get_or_init(cpu::path)
}

/// Defines `$name` running `$body` compiled for the CPU's path (the body
/// must not hand work to closures run elsewhere: they would not inherit it).
macro_rules! dispatch {
    (fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn imp($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) { imp($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) { imp($($arg),*) }
            match path() {
                // SAFETY: the path is one this CPU supports (cpu::path only lowers it).
                #[cfg(target_arch = "x86_64")]
                Path::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                Path::Avx2 => unsafe { avx2($($arg),*) },
                _ => imp($($arg),*),
            }
        }
    };
}

/// Rows per parallel piece of the row kernels.
const ROWS: usize = 16;

dispatch! {
    fn softmax_block(x: &[f32], out: &mut [f32], cols: usize, mask: Option<&[f32]>, first: usize, mask_rows: usize, scale: f32) {
        for (i, (o, x)) in out.chunks_mut(cols).zip(x.chunks(cols)).enumerate() {
            let r = (first + i) % mask_rows;
            softmax_row(x, o, mask.map(|m| &m[r * cols..(r + 1) * cols]), scale);
        }
    }
}

/// `out ←` the softmax of `x · scale + mask` over each row of `cols` values;
/// `mask` holds whole rows (row r uses mask row r mod their number).
pub fn softmax(x: &[f32], out: &mut [f32], cols: usize, mask: Option<&[f32]>, scale: f32) {
    use rayon::prelude::*;
    let cols = cols.max(1);
    let mask_rows = mask.map_or(1, |m| (m.len() / cols).max(1));
    out.par_chunks_mut(cols * ROWS)
        .zip(x.par_chunks(cols * ROWS))
        .enumerate()
        .for_each(|(blk, (o, x))| softmax_block(x, o, cols, mask, blk * ROWS, mask_rows, scale));
}

dispatch! {
    fn softmax_backward_block(p: &[f32], dp: &[f32], out: &mut [f32], cols: usize, scale: f32) {
        for ((o, p), dp) in out.chunks_mut(cols).zip(p.chunks(cols)).zip(dp.chunks(cols)) {
            softmax_backward_row(p, dp, o, scale);
        }
    }
}

/// Softmax's backward pass over rows of `cols` values: `out ← p · (dp − Σ
/// p·dp) · scale`, `p` the probabilities and `dp` their gradient.
pub fn softmax_backward(p: &[f32], dp: &[f32], out: &mut [f32], cols: usize, scale: f32) {
    use rayon::prelude::*;
    let cols = cols.max(1);
    out.par_chunks_mut(cols * ROWS)
        .zip(p.par_chunks(cols * ROWS))
        .zip(dp.par_chunks(cols * ROWS))
        .for_each(|((o, p), dp)| softmax_backward_block(p, dp, o, cols, scale));
}

dispatch! {
    fn causal_softmax_block(x: &[f32], out: &mut [f32], cols: usize, first: usize, scale: f32) {
        for (j, (o, x)) in out.chunks_mut(cols).zip(x.chunks(cols)).enumerate() {
            let seen = (first + j).min(cols);
            softmax_row(&x[..seen], &mut o[..seen], None, scale);
            o[seen..].fill(0.0);
        }
    }
}

/// Causal softmax of `x · scale` on the calling thread: row j of `cols`
/// values sees its first `first + j` (the rest of `out` is 0).
pub fn causal_softmax(x: &[f32], out: &mut [f32], cols: usize, first: usize, scale: f32) {
    causal_softmax_block(x, out, cols.max(1), first, scale);
}

/// [`softmax_backward`] on the calling thread.
pub fn softmax_backward_here(p: &[f32], dp: &[f32], out: &mut [f32], cols: usize, scale: f32) {
    softmax_backward_block(p, dp, out, cols.max(1), scale);
}

dispatch! {
    fn rms_norm_backward_block(x: &[f32], w: &[f32], g: &[f32], out: &mut [f32], eps: f32) {
        let cols = w.len().max(1);
        for ((o, x), g) in out.chunks_mut(cols).zip(x.chunks(cols)).zip(g.chunks(cols)) {
            rms_norm_backward_row(x, w, g, o, eps);
        }
    }
}

/// RMSNorm's backward pass over rows of `w.len()` values: `out` is the
/// gradient of `x` given the output's gradient `g` (the weight `w` frozen).
pub fn rms_norm_backward(x: &[f32], w: &[f32], g: &[f32], out: &mut [f32], eps: f32) {
    use rayon::prelude::*;
    let cols = w.len().max(1);
    out.par_chunks_mut(cols * ROWS)
        .zip(x.par_chunks(cols * ROWS))
        .zip(g.par_chunks(cols * ROWS))
        .for_each(|((o, x), g)| rms_norm_backward_block(x, w, g, o, eps));
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(a, b)| a * b).sum();
    for (a, b) in ac.zip(bc) {
        for i in 0..LANES {
            s[i] += a[i] * b[i];
        }
    }
    tail + s.iter().sum::<f32>()
}

dispatch! {
    fn dots_block(x: &[f32], w: &[f32], out: &mut [f32], k: usize) {
        let r = w.len() / k;
        for (o, x) in out.chunks_mut(r).zip(x.chunks(k)) {
            for (o, w) in o.iter_mut().zip(w.chunks(k)) {
                *o = dot(x, w);
            }
        }
    }
}

/// `out ← x · wᵀ` for `x` `[rows, k]` and a few rows `w` `[r, k]` (out
/// `[rows, r]`): LoRA's narrow products, one pass over `x`.
pub fn times_few_t(x: &[f32], w: &[f32], out: &mut [f32], k: usize) {
    let k = k.max(1);
    let r = (w.len() / k).max(1);
    by_rows(x, k, out, r, |x, o| dots_block(x, w, o, k));
}

/// Runs `block` on all cores on pieces of 64 rows of `inp` (rows of
/// `in_cols`) and the same rows of `out` (rows of `out_cols`).
fn by_rows(inp: &[f32], in_cols: usize, out: &mut [f32], out_cols: usize, block: impl Fn(&[f32], &mut [f32]) + Sync) {
    use rayon::prelude::*;
    out.par_chunks_mut(out_cols * 64)
        .zip(inp.par_chunks(in_cols * 64))
        .for_each(|(o, i)| block(i, o));
}

dispatch! {
    fn combine_block(h: &[f32], w: &[f32], out: &mut [f32], n: usize) {
        let r = w.len() / n;
        for (o, h) in out.chunks_mut(n).zip(h.chunks(r)) {
            o.fill(0.0);
            for (&c, w) in h.iter().zip(w.chunks(n)) {
                for (o, w) in o.iter_mut().zip(w) {
                    *o += c * w;
                }
            }
        }
    }
}

/// `out ← h · w` for `h` `[rows, r]` and a few rows `w` `[r, n]` (out
/// `[rows, n]`).
pub fn times_few(h: &[f32], w: &[f32], out: &mut [f32], n: usize) {
    let n = n.max(1);
    let r = (w.len() / n).max(1);
    by_rows(h, r, out, n, |h, o| combine_block(h, w, o, n));
}

dispatch! {
    fn outer_block(h: &[f32], x: &[f32], acc: &mut [f32], n: usize) {
        let r = acc.len() / n;
        for (h, x) in h.chunks(r).zip(x.chunks(n)) {
            for (&c, a) in h.iter().zip(acc.chunks_mut(n)) {
                for (a, x) in a.iter_mut().zip(x) {
                    *a += c * x;
                }
            }
        }
    }
}

/// `hᵀ · x` for `h` `[rows, r]` and `x` `[rows, n]`: `[r, n]`, summed over
/// the rows in pieces on all cores.
pub fn few_t_times(h: &[f32], x: &[f32], r: usize, n: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let (r, n) = (r.max(1), n.max(1));
    h.par_chunks(r * 256)
        .zip(x.par_chunks(n * 256))
        .fold(
            || vec![0f32; r * n],
            |mut acc, (h, x)| {
                outer_block(h, x, &mut acc, n);
                acc
            },
        )
        .reduce(
            || vec![0f32; r * n],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        )
}

/// Elements per parallel piece of the SwiGLU kernels.
const PIECE: usize = 1 << 14;

dispatch! {
    fn swiglu_block(a: &[f32], b: &[f32], out: &mut [f32]) {
        swiglu_rows(a, b, out)
    }
}

/// `out ← silu(a) · b`.
pub fn swiglu(a: &[f32], b: &[f32], out: &mut [f32]) {
    use rayon::prelude::*;
    out.par_chunks_mut(PIECE)
        .zip(a.par_chunks(PIECE))
        .zip(b.par_chunks(PIECE))
        .for_each(|((o, a), b)| swiglu_block(a, b, o));
}

dispatch! {
    fn swiglu_backward_block(a: &[f32], b: &[f32], g: &[f32], da: &mut [f32], db: &mut [f32]) {
        swiglu_backward_rows(a, b, g, da, db)
    }
}

/// SwiGLU's backward pass: from the output's gradient `g`, `a`'s gradient
/// into `da` and `b`'s into `db`.
pub fn swiglu_backward(a: &[f32], b: &[f32], g: &[f32], da: &mut [f32], db: &mut [f32]) {
    use rayon::prelude::*;
    da.par_chunks_mut(PIECE)
        .zip(db.par_chunks_mut(PIECE))
        .zip(g.par_chunks(PIECE))
        .zip(a.par_chunks(PIECE).zip(b.par_chunks(PIECE)))
        .for_each(|(((da, db), g), (a, b))| swiglu_backward_block(a, b, g, da, db));
}

dispatch! {
    fn exp_row(row: &mut [f32], sum: &mut f32) {
        let max = max_of(row);
        *sum = exp_shifted(row, max);
    }
}

/// `row ← e^(row − max(row))` for each row of `cols` values, in place; the
/// rows' sums go to `sums`.
pub fn exp_rows(x: &mut [f32], cols: usize, sums: &mut [f32]) {
    use rayon::prelude::*;
    x.par_chunks_mut(cols.max(1))
        .zip(sums.par_iter_mut())
        .for_each(|(row, s)| exp_row(row, s));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_the_library_one() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    fn reference_softmax(x: &[f32], mask: &[f32], scale: f32) -> Vec<f32> {
        let z: Vec<f64> = x.iter().zip(mask).map(|(x, m)| (*x * scale + m) as f64).collect();
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|z| (z - max).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|e| (e / s) as f32).collect()
    }

    #[test]
    fn softmax_rows_match_a_plain_softmax() {
        // 37 rows of 45 (not a multiple of the lane count), a causal mask of
        // 9 rows repeated.
        let (rows, cols, mrows) = (37, 45, 9);
        let mut rng = crate::random::Rng::new(3);
        let x: Vec<f32> = (0..rows * cols).map(|_| (rng.uniform() as f32 - 0.5) * 40.0).collect();
        let mask: Vec<f32> = (0..mrows * cols)
            .map(|i| {
                if i % cols > i / cols + 30 {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mut y = vec![f32::NAN; x.len()];
        softmax(&x, &mut y, cols, Some(&mask), 0.7);
        for r in 0..rows {
            let m = &mask[(r % mrows) * cols..(r % mrows + 1) * cols];
            let want = reference_softmax(&x[r * cols..(r + 1) * cols], m, 0.7);
            for (c, (a, b)) in y[r * cols..(r + 1) * cols].iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-6, "row {r} col {c}: {a} vs {b}");
                if m[c] == f32::NEG_INFINITY {
                    assert_eq!(*a, 0.0);
                }
            }
        }
    }

    #[test]
    fn softmax_backward_matches_the_formula() {
        let (rows, cols) = (21, 33);
        let mut rng = crate::random::Rng::new(4);
        let x: Vec<f32> = (0..rows * cols).map(|_| (rng.uniform() as f32 - 0.5) * 8.0).collect();
        let dp: Vec<f32> = (0..rows * cols).map(|_| rng.uniform() as f32 - 0.5).collect();
        let mut p = vec![f32::NAN; x.len()];
        softmax(&x, &mut p, cols, None, 1.0);
        let mut out = vec![f32::NAN; x.len()];
        softmax_backward(&p, &dp, &mut out, cols, 0.5);
        for r in 0..rows {
            let row = r * cols..(r + 1) * cols;
            let d: f64 = p[row.clone()]
                .iter()
                .zip(&dp[row.clone()])
                .map(|(a, b)| (a * b) as f64)
                .sum();
            for c in row {
                let want = p[c] as f64 * (dp[c] as f64 - d) * 0.5;
                assert!((out[c] as f64 - want).abs() < 1e-6, "at {c}");
            }
        }
    }

    #[test]
    fn rms_norm_backward_matches_the_formula() {
        let (rows, cols, eps) = (19, 37, 1e-5f32);
        let mut rng = crate::random::Rng::new(6);
        let mut v = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect() };
        let (x, w, g) = (v(rows * cols), v(cols), v(rows * cols));
        let mut out = vec![f32::NAN; x.len()];
        rms_norm_backward(&x, &w, &g, &mut out, eps);
        for r in 0..rows {
            let row = r * cols..(r + 1) * cols;
            let n = cols as f64;
            let ms: f64 = x[row.clone()].iter().map(|x| (x * x) as f64).sum::<f64>() / n;
            let rr = 1.0 / (ms + eps as f64).sqrt();
            let dot: f64 = row.clone().map(|i| (g[i] * w[i - r * cols] * x[i]) as f64).sum::<f64>() / n;
            for i in row {
                let u = (g[i] * w[i - r * cols]) as f64;
                let want = u * rr - x[i] as f64 * rr.powi(3) * dot;
                assert!(
                    (out[i] as f64 - want).abs() < 1e-5 * (1.0 + want.abs()),
                    "at {i}: {} vs {want}",
                    out[i]
                );
            }
        }
    }

    #[test]
    fn narrow_products_match_plain_loops() {
        // Small and odd; then past a chunk of k, with partial tiles and groups.
        for (rows, k, r, n) in [(300, 37, 5, 29), (150, 1100, 11, 1045)] {
            narrow_products(rows, k, r, n);
        }
    }

    fn narrow_products(rows: usize, k: usize, r: usize, n: usize) {
        let mut rng = crate::random::Rng::new(8);
        let mut v = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.uniform() as f32 - 0.5).collect() };
        let (x, w, h, wn, xn) = (v(rows * k), v(r * k), v(rows * r), v(r * n), v(rows * n));
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-5 * (1.0 + b.abs());
        let mut out = vec![f32::NAN; rows * r];
        times_few_t(&x, &w, &mut out, k);
        for i in 0..rows {
            for j in 0..r {
                let want: f64 = (0..k).map(|t| (x[i * k + t] * w[j * k + t]) as f64).sum();
                assert!(close(out[i * r + j], want), "x·wᵀ at {i},{j}");
            }
        }
        let mut out = vec![f32::NAN; rows * n];
        times_few(&h, &wn, &mut out, n);
        for i in 0..rows {
            for c in 0..n {
                let want: f64 = (0..r).map(|j| (h[i * r + j] * wn[j * n + c]) as f64).sum();
                assert!(close(out[i * n + c], want), "h·w at {i},{c}");
            }
        }
        let out = few_t_times(&h, &xn, r, n);
        for j in 0..r {
            for c in 0..n {
                let want: f64 = (0..rows).map(|i| (h[i * r + j] * xn[i * n + c]) as f64).sum();
                assert!(close(out[j * n + c], want), "hᵀ·x at {j},{c}");
            }
        }
    }

    #[test]
    fn swiglu_and_its_gradients_match_the_formulas() {
        let n = 3 * PIECE + 77;
        let mut rng = crate::random::Rng::new(5);
        let a: Vec<f32> = (0..n).map(|_| (rng.uniform() as f32 - 0.5) * 30.0).collect();
        let b: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let g: Vec<f32> = (0..n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let mut y = vec![0f32; n];
        swiglu(&a, &b, &mut y);
        let (mut da, mut db) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        swiglu_backward(&a, &b, &g, &mut da, &mut db);
        for i in 0..n {
            let (a, b, g) = (a[i] as f64, b[i] as f64, g[i] as f64);
            let s = 1.0 / (1.0 + (-a).exp());
            let close = |x: f32, want: f64| (x as f64 - want).abs() <= 1e-6 * (1.0 + want.abs());
            assert!(close(y[i], a * s * b), "y at {i}");
            assert!(close(db[i], g * a * s), "db at {i}");
            assert!(close(da[i], g * b * s * (1.0 + a * (1.0 - s))), "da at {i}");
        }
    }
}
