//! Fast ops that still carry gradients.
//!
//! candle's fused kernels (softmax, RMSNorm, RoPE, quantized matmul) have no
//! backward pass: `backward()` succeeds and the LoRA weights behind them get
//! no gradient. And a plain matmul against a frozen weight also computes (and
//! stores) the gradient of that weight. Here each op runs its fast forward on
//! a detached input, then [`attach`] joins the result back to the graph with
//! the op's analytic input gradient. When nothing upstream needs a gradient
//! (inference), the fast result is returned as is.

use candle_core::quantized::QMatMul;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Module, Result, Shape, Storage, Tensor, D,
};
use std::sync::Arc;

type Backward = dyn Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync;

/// The forward passes of the attach ops are never run: their results are
/// computed outside the graph and joined to it with candle's
/// `with_op*_result` (Dramatis' patch in `vendor/candle-core`), which
/// shares the result's storage instead of copying it.
fn not_run() -> Result<(CpuStorage, Shape)> {
    candle_core::bail!("an attached op's forward pass is computed outside the graph")
}

/// Backward: `grad_input(g, result)` for the input.
struct Attach {
    grad_input: Box<Backward>,
}

/// `t` in a plain buffer starting at offset 0.
fn plain(t: Tensor) -> Result<Tensor> {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        Ok(t)
    } else {
        t.copy()
    }
}

impl CustomOp1 for Attach {
    fn name(&self) -> &'static str {
        "dramatis-attach"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        not_run()
    }

    fn bwd(&self, _: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some((self.grad_input)(grad, res)?))
    }
}

type BackwardOpt = dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync;

/// For a result that is `f(input) + addend`, backward: `grad_input(g)` for
/// `input` and `g` itself for `addend`. One tensor in the graph where
/// `f(input)`, `addend` and their sum would be three.
struct AttachSum {
    grad_input: Box<BackwardOpt>,
}

impl CustomOp2 for AttachSum {
    fn name(&self) -> &'static str {
        "dramatis-attach-sum"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        not_run()
    }

    fn bwd(&self, _: &Tensor, _: &Tensor, _: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok(((self.grad_input)(grad)?, Some(grad.clone())))
    }
}

/// Join `result` (computed as `f(input.detach()) + addend.detach()`) to the
/// graphs of `input` and `addend`; `grad_input(g)` is `input`'s gradient
/// (`None` where it needs none).
fn attach_sum(
    input: &Tensor,
    addend: &Tensor,
    result: Tensor,
    grad_input: impl Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync + 'static,
) -> Result<Tensor> {
    input.with_op2_result(
        addend,
        &plain(result)?,
        Arc::new(Box::new(AttachSum {
            grad_input: Box::new(grad_input),
        })),
    )
}

pub(crate) type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);
type Backward3 = dyn Fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Result<Grads3> + Send + Sync;

/// For a result computed from three inputs, backward: `grads(a, b, c,
/// result, g)` gives their gradients (`None` for one that needs none).
struct Attach3 {
    grads: Box<Backward3>,
}

impl CustomOp3 for Attach3 {
    fn name(&self) -> &'static str {
        "dramatis-attach3"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        not_run()
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        (self.grads)(&a.detach(), &b.detach(), &c.detach(), &res.detach(), grad)
    }
}

/// Join `result` (computed from `a`, `b`, `c` detached) to their graphs;
/// `grads(a, b, c, result, g)` gives their gradients.
pub(crate) fn attach3(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    result: Tensor,
    grads: impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Result<Grads3> + Send + Sync + 'static,
) -> Result<Tensor> {
    a.with_op3_result(
        b,
        c,
        &plain(result)?,
        Arc::new(Box::new(Attach3 { grads: Box::new(grads) })),
    )
}

/// True when `t` is (or depends on) a trainable variable.
pub fn tracks(t: &Tensor) -> bool {
    t.is_variable() || t.track_op()
}

/// Join `result` (computed from `input.detach()`) to the graph of `input`.
/// The backward gets the incoming gradient and the result (so closures need
/// not keep their own copy of it).
pub fn attach(
    input: &Tensor,
    result: Tensor,
    grad_input: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Result<Tensor> {
    if !tracks(input) {
        return Ok(result);
    }
    input.with_op1_result(
        &plain(result)?,
        Arc::new(Box::new(Attach {
            grad_input: Box::new(grad_input),
        })),
    )
}

/// From this many rows on, a product with Dramatis' quantized weights runs
/// on the dequantized weights instead.
pub const DENSE_ROWS: usize = 32;

/// A quantized weight: Dramatis' own blocks and kernel (x86-64 CPUs, Q4_1
/// and Q8_0), or GGUF blocks with candle's kernel.
pub enum QWeight {
    Fast(super::qkernel::FastMat),
    Candle(Arc<candle_core::quantized::QTensor>, QMatMul),
}

/// A frozen weight: dense (any float dtype) or quantized (GGUF blocks).
#[derive(Clone)]
pub enum Frozen {
    Dense(Tensor),
    Quant(Arc<QWeight>),
}

impl Frozen {
    /// `[out, in]`
    pub fn dims(&self) -> (usize, usize) {
        match self {
            Frozen::Dense(t) => (t.dim(0).unwrap_or(0), t.dim(1).unwrap_or(0)),
            Frozen::Quant(q) => match q.as_ref() {
                QWeight::Fast(f) => (f.rows, f.cols),
                QWeight::Candle(qt, _) => {
                    let d = qt.shape().dims();
                    (d[0], d[1])
                }
            },
        }
    }

    /// The weight as a dense tensor of `dtype`.
    pub fn dense(&self, dtype: DType) -> Result<Tensor> {
        match self {
            Frozen::Dense(t) => t.to_dtype(dtype),
            Frozen::Quant(q) => match q.as_ref() {
                QWeight::Fast(f) => f.dequantize()?.to_dtype(dtype),
                QWeight::Candle(qt, _) => qt.dequantize(&qt.device())?.to_dtype(dtype),
            },
        }
    }

    /// Bytes the weight takes in memory.
    pub fn bytes(&self) -> usize {
        match self {
            Frozen::Dense(t) => t.elem_count() * t.dtype().size_in_bytes(),
            Frozen::Quant(q) => match q.as_ref() {
                QWeight::Fast(f) => f.bytes(),
                QWeight::Candle(qt, _) => qt.storage_size_in_bytes(),
            },
        }
    }

    /// `x · Wᵀ` for `x` of shape `[…, in]`; gradient flows to `x` only.
    pub fn matmul_t(&self, x: &Tensor) -> Result<Tensor> {
        self.matmul_t_plus(x, None)
    }

    /// `x · Wᵀ + extra` (`extra` shaped like the product, e.g. a LoRA
    /// update); gradients flow to `x` and to `extra`, and the graph keeps
    /// only the sum.
    pub fn matmul_t_plus(&self, x: &Tensor, extra: Option<&Tensor>) -> Result<Tensor> {
        // As a 2-D product: a broadcast batched matmul would copy W per batch row.
        let x2 = as_rows(x)?;
        let rows = x2.dim(0)?;
        let xd = x2.detach();
        let y = match self {
            Frozen::Dense(w) => xd.matmul(&w.t()?)?,
            Frozen::Quant(q) => match q.as_ref() {
                // Many rows (a long prompt): the weights dequantized for the
                // f32 matrix kernels beat the row-by-row quantized kernel
                // (SmolLM2, 540-token prompt: about 2.5× on 2 cores).
                QWeight::Fast(f) if rows >= DENSE_ROWS => xd
                    .to_dtype(candle_core::DType::F32)?
                    .matmul(&f.dequantize()?.t()?)?
                    .to_dtype(xd.dtype())?,
                QWeight::Fast(f) => f
                    .matmul_t(&xd.to_dtype(candle_core::DType::F32)?)?
                    .to_dtype(xd.dtype())?,
                QWeight::Candle(_, mm) => mm.forward(&xd)?,
            },
        };
        let outs = y.dim(1)?;
        let extra = extra
            .map(|e| e.reshape((rows, outs))?.to_dtype(y.dtype()))
            .transpose()?;
        let y = match &extra {
            Some(e) => (y + e.detach())?,
            None => y,
        };
        let (x_tracks, e_tracks) = (tracks(x), extra.as_ref().is_some_and(tracks));
        let w = self.clone();
        let dtype = x.dtype();
        let grad_x = move |g: &Tensor| -> Result<Tensor> {
            match &w {
                Frozen::Dense(w) => g.matmul(w),
                Frozen::Quant(..) => g.matmul(&w.dense(dtype)?),
            }
        };
        let y = match &extra {
            Some(e) if e_tracks => attach_sum(&x2, e, y, move |g| x_tracks.then(|| grad_x(g)).transpose())?,
            _ if x_tracks => attach(&x2, y, move |g, _| grad_x(g))?,
            _ => y,
        };
        unflatten(y, x.dims())
    }
}

/// `x` `[…, in]` as a 2-D `[rows, in]`.
pub(super) fn as_rows(x: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    let (lead, last) = dims.split_at(dims.len().saturating_sub(1));
    x.reshape((lead.iter().product::<usize>(), last.first().copied().unwrap_or(1)))
}

/// A product's `[rows, out]` as `[…, out]`, the leading dimensions those of
/// the input `dims`.
fn unflatten(y: Tensor, dims: &[usize]) -> Result<Tensor> {
    let mut out = dims.to_vec();
    if let Some(last) = out.last_mut() {
        *last = y.dim(1)?;
    }
    y.reshape(out)
}

/// RMSNorm with a frozen weight `w` over the last dimension.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let xd = x.detach().contiguous()?;
    let y = candle_nn::ops::rms_norm(&xd, w, eps as f32)?;
    if !tracks(x) {
        return Ok(y);
    }
    let w = w.clone();
    attach(x, y, move |g, _| {
        if fast(&xd) && fast(&w) && fast(g) {
            let mut out = dst(xd.elem_count());
            with_f32s(&xd, |x| {
                with_f32s(&w, |w| {
                    with_f32s(g, |g| {
                        super::rows::rms_norm_backward(x, w, g, &mut out, eps as f32);
                        Ok(())
                    })
                })
            })?;
            return Tensor::from_vec(out, xd.shape(), xd.device());
        }
        // r·u − x·r³·mean(u·x), u = g·w, r = 1/√(mean(x²)+ε)
        let n = xd.dim(D::Minus1)? as f64;
        let r = (xd.sqr()?.sum_keepdim(D::Minus1)? / n)?
            .affine(1.0, eps)?
            .sqrt()?
            .recip()?;
        let u = g.broadcast_mul(&w)?;
        let dot = ((&u * &xd)?.sum_keepdim(D::Minus1)? / n)?;
        u.broadcast_mul(&r)? - xd.broadcast_mul(&r.powf(3.0)?.mul(&dot)?)?
    })
}

/// Attention `softmax(q·kᵀ·scale + mask)·v` for `q` of shape `[…, rows, d]`
/// and `k`, `v` of `[…, keys, d]`, `mask` (additive) broadcast over the
/// leading dimensions. In training the graph keeps q, k, v and the output
/// only: the scores and probabilities, `rows × keys` per head, exist only
/// while one layer computes them, and its backward pass computes them again
/// (one more `q·kᵀ`) instead of every layer holding them until then.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64, mask: Option<&Tensor>) -> Result<Tensor> {
    let mask = mask.cloned();
    let probs = move |q: &Tensor, k: &Tensor| -> Result<Tensor> {
        let z = q.matmul(&k.t()?)?;
        if fast(&z) {
            return z.apply_op1_no_bwd(&ScaledSoftmax {
                scale: scale as f32,
                mask: mask.clone(),
            });
        }
        let z = (z * scale)?;
        let z = match &mask {
            Some(m) => z.broadcast_add(m)?,
            None => z,
        };
        candle_nn::ops::softmax_last_dim(&z)
    };
    let out = probs(&q.detach(), &k.detach())?.matmul(&v.detach())?;
    if !(tracks(q) || tracks(k) || tracks(v)) {
        return Ok(out);
    }
    attach3(q, k, v, out, move |q, k, v, o, g| {
        let g = g.contiguous()?;
        let p = probs(q, k)?;
        let dv = p.t()?.matmul(&g)?;
        let dp = g.matmul(&v.t()?)?;
        let ds = if fast(&dp) {
            p.apply_op2_no_bwd(&dp, &SoftmaxBackward { scale: scale as f32 })?
        } else {
            // Σ_j p·dp over a row is g·o (o = p·v).
            let d = (&g * o)?.sum_keepdim(D::Minus1)?;
            (p * dp.broadcast_sub(&d)?)?.affine(scale, 0.0)?
        };
        Ok((Some(ds.matmul(k)?), Some(ds.t()?.matmul(q)?), Some(dv)))
    })
}

/// The LoRA update `x · Aᵀ · Bsᵀ` for `x` `[rows, in]`, `a` `[r, in]` and
/// `bs` `[out, r]` (B with its scale); gradients flow to all three. On the
/// CPU in f32 each product is one pass of a narrow-product kernel (a rank-8
/// product through `gemm` runs at a fifth of its speed on wide ones);
/// candle's matmuls elsewhere.
pub fn lora_update(x: &Tensor, a: &Tensor, bs: &Tensor) -> Result<Tensor> {
    if !(fast(x) && fast(a) && fast(bs)) {
        return x.matmul(&a.t()?)?.matmul(&bs.t()?);
    }
    lora_product(None, x, a, bs)
}

/// `x · Wᵀ + x · Aᵀ · Bsᵀ`: a frozen dense weight `w` `[out, in]` with its
/// LoRA update, for `x` `[…, in]`, gradients to `x`, `a` and `bs`. On
/// the CPU in f32 the update is written first and gemm adds the base
/// product onto it; the backward pass builds x's gradient the same way. So
/// neither pass sums two whole activations or allocates the second one,
/// which the base product and the update as separate graph nodes did (7
/// projections × 30 layers × 2 passes per step). `None` where this path
/// does not apply (another device or dtype, a quantized weight).
pub fn lora_linear(w: &Frozen, x: &Tensor, a: &Tensor, bs: &Tensor) -> Result<Option<Tensor>> {
    match w {
        Frozen::Dense(w) if fast(w) && fast(x) && fast(a) && fast(bs) => {
            unflatten(lora_product(Some(w.clone()), &as_rows(x)?, a, bs)?, x.dims()).map(Some)
        }
        _ => Ok(None),
    }
}

/// [`lora_update`] on the CPU in f32, plus `x · Wᵀ` when `w` is given
/// ([`lora_linear`]). The backward pass keeps h = x·Aᵀ and Bsᵀ (rows × r
/// and r × out: small) and skips x's gradient where x needs none.
fn lora_product(w: Option<Tensor>, x: &Tensor, a: &Tensor, bs: &Tensor) -> Result<Tensor> {
    use super::rows;
    let ((rows, k), (r, _), n) = (x.dims2()?, a.dims2()?, bs.dim(0)?);
    let bs_t = bs.detach().t()?.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
    let mut h = dst(rows * r);
    let mut y = dst(rows * n);
    with_f32s(&x.detach(), |x| {
        with_f32s(&a.detach(), |a| {
            rows::times_few_t(x, a, &mut h, k);
            Ok(())
        })?;
        rows::times_few(&h, &bs_t, &mut y, n);
        match &w {
            // y += x · Wᵀ
            Some(w) => with_f32s(w, |w| gemm_add(&mut y, (rows, n, k), (x, k, 1), (w, 1, k))),
            None => Ok(()),
        }
    })?;
    let y = Tensor::from_vec(y, (rows, n), x.device())?;
    let x_tracks = tracks(x);
    if !(x_tracks || tracks(a) || tracks(bs)) {
        return Ok(y);
    }
    attach3(x, a, bs, y, move |x, a, _, _, g| {
        let dev = x.device();
        with_f32s(g, |g| {
            // dBs = gᵀ·h, dh = g·Bs, dA = dhᵀ·x, dx = dh·A (+ g·W).
            let d_bs = rows::few_t_times(&h, g, r, n);
            let mut dh = dst(rows * r);
            rows::times_few_t(g, &bs_t, &mut dh, n);
            let d_a = with_f32s(x, |x| Ok(rows::few_t_times(&dh, x, r, k)))?;
            let d_x = if x_tracks {
                let mut d_x = dst(rows * k);
                with_f32s(a, |a| {
                    rows::times_few(&dh, a, &mut d_x, k);
                    Ok(())
                })?;
                if let Some(w) = &w {
                    with_f32s(w, |w| gemm_add(&mut d_x, (rows, k, n), (g, n, 1), (w, k, 1)))?;
                }
                Some(Tensor::from_vec(d_x, (rows, k), dev)?)
            } else {
                None
            };
            Ok((
                d_x,
                Some(Tensor::from_vec(d_a, (r, k), dev)?),
                Some(Tensor::from_vec(d_bs, (r, n), dev)?.t()?.contiguous()?),
            ))
        })
    })
}

/// `out ← x · Wᵀ` (`x` `[rows, in]`, `w` `[out, in]`, `out` `rows × out`
/// values): on the CPU in f32 gemm writes straight into `out` (the loss's
/// logits, tens of MB a chunk, reuse one buffer); elsewhere through
/// [`Frozen::matmul_t`].
pub fn matmul_t_into(w: &Frozen, x: &Tensor, out: &mut [f32]) -> Result<()> {
    let ((rows, k), n) = (x.dims2()?, w.dims().0);
    if out.len() != rows * n {
        candle_core::bail!("matmul_t_into: {} values for [{rows}, {n}]", out.len());
    }
    match w {
        Frozen::Dense(t) if fast(t) && fast(x) => with_f32s(x, |x| {
            with_f32s(t, |w| gemm_into(out, false, (rows, n, k), (x, k, 1), (w, 1, k)))
        }),
        _ => {
            let v = w.matmul_t(x)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            out.copy_from_slice(&v);
            Ok(())
        }
    }
}

/// `x · w` as a plain vector, for `x` `rows × k` values and `w` `[k, n]` in
/// f32: gemm on the CPU, the tensor product elsewhere.
pub fn matmul_vec(x: &[f32], rows: usize, w: &Tensor) -> Result<Vec<f32>> {
    let (k, n) = w.dims2()?;
    if x.len() != rows * k {
        candle_core::bail!("matmul_vec: {} values for [{rows}, {k}]", x.len());
    }
    if fast(w) {
        let mut out = dst(rows * n);
        with_f32s(w, |w| gemm_into(&mut out, false, (rows, n, k), (x, k, 1), (w, n, 1)))?;
        return Ok(out);
    }
    Tensor::from_slice(x, (rows, k), w.device())?
        .matmul(w)?
        .flatten_all()?
        .to_vec1()
}

/// `dst += lhs · rhs` with gemm on all cores, `dst` `[m, n]` row-major and
/// each operand given as (values, row stride, column stride) for `[m, k]`
/// and `[k, n]`.
fn gemm_add(
    dst: &mut [f32],
    dims: (usize, usize, usize),
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) -> Result<()> {
    gemm_into(dst, true, dims, lhs, rhs)
}

/// `dst ← lhs · rhs`, or `dst += lhs · rhs` when `add`, as [`gemm_add`].
fn gemm_into(
    dst: &mut [f32],
    add: bool,
    dims: (usize, usize, usize),
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) -> Result<()> {
    gemm_on(dst, add, dims, lhs, rhs, rayon::current_num_threads())
}

/// [`gemm_into`] on `threads` threads: 1 for products that are already one
/// of many run in parallel.
pub(crate) fn gemm_on(
    dst: &mut [f32],
    add: bool,
    (m, n, k): (usize, usize, usize),
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
    threads: usize,
) -> Result<()> {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs;
    if dst.len() != m * n
        || (m * k > 0 && (lhs.0.len() <= last(m, k, lhs.1, lhs.2) || rhs.0.len() <= last(k, n, rhs.1, rhs.2)))
    {
        candle_core::bail!("gemm: operands do not match [{m}, {k}] · [{k}, {n}]");
    }
    if m * n * k == 0 {
        if !add {
            dst.fill(0.0);
        }
        return Ok(());
    }
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the bounds of all three matrices were checked above; dst is
    // borrowed mutably and the operands immutably, so they do not overlap.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            add,
            lhs.0.as_ptr(),
            lhs.2 as isize,
            lhs.1 as isize,
            rhs.0.as_ptr(),
            rhs.2 as isize,
            rhs.1 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

/// Whether the CPU row kernels ([`super::rows`]) can take `t`.
pub(crate) fn fast(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// The contiguous f32 values of a CPU storage.
fn f32s<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("a row kernel needs contiguous f32 values"),
    }
}

/// Runs `f` on the contiguous f32 values of `t` (a CPU tensor).
pub(crate) fn with_f32s<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (st, l) = t.storage_and_layout();
    match &*st {
        Storage::Cpu(s) => f(f32s(s, l)?),
        _ => candle_core::bail!("a row kernel needs a CPU tensor"),
    }
}

/// A destination for a kernel that writes every element before anything
/// reads it: not zeroed first (zeroing ran on one core while the other
/// waited, a memset for every activation and gradient).
#[allow(clippy::uninit_vec)]
pub(crate) fn dst(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    // SAFETY: any bit pattern is an f32, and each caller's kernel writes
    // every element (the row kernels' tests fill their destinations with NaN
    // first to check it).
    unsafe { v.set_len(n) };
    v
}

/// Softmax of `x · scale + mask` over the last dimension in one pass.
struct ScaledSoftmax {
    scale: f32,
    mask: Option<Tensor>,
}

impl CustomOp1 for ScaledSoftmax {
    fn name(&self) -> &'static str {
        "dramatis-scaled-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l)?;
        let cols = l.dims().last().copied().unwrap_or(1);
        let mut out = dst(x.len());
        match &self.mask {
            Some(m) => with_f32s(m, |m| {
                super::rows::softmax(x, &mut out, cols, Some(m), self.scale);
                Ok(())
            })?,
            None => super::rows::softmax(x, &mut out, cols, None, self.scale),
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

/// Softmax's backward pass from the probabilities and their gradient.
struct SoftmaxBackward {
    scale: f32,
}

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "dramatis-softmax-backward"
    }

    fn cpu_fwd(&self, p: &CpuStorage, lp: &Layout, dp: &CpuStorage, ldp: &Layout) -> Result<(CpuStorage, Shape)> {
        let (p, dp) = (f32s(p, lp)?, f32s(dp, ldp)?);
        let cols = lp.dims().last().copied().unwrap_or(1);
        let mut out = dst(p.len());
        super::rows::softmax_backward(p, dp, &mut out, cols, self.scale);
        Ok((CpuStorage::F32(out), lp.shape().clone()))
    }
}

/// SiLU(a)·b in one pass; the graph keeps a and b, not SiLU(a).
struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "dramatis-swiglu"
    }

    fn cpu_fwd(&self, a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (f32s(a, la)?, f32s(b, lb)?);
        let mut out = dst(a.len());
        super::rows::swiglu(a, b, &mut out);
        Ok((CpuStorage::F32(out), la.shape().clone()))
    }

    fn bwd(&self, a: &Tensor, b: &Tensor, _: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (mut da, mut db) = (dst(a.elem_count()), dst(a.elem_count()));
        with_f32s(a, |a| {
            with_f32s(b, |b| {
                with_f32s(g, |g| {
                    super::rows::swiglu_backward(a, b, g, &mut da, &mut db);
                    Ok(())
                })
            })
        })?;
        let da = Tensor::from_vec(da, a.shape(), a.device())?;
        let db = Tensor::from_vec(db, b.shape(), b.device())?;
        Ok((Some(da), Some(db)))
    }
}

/// Rotary embedding in the Hugging Face layout (halves rotated), `x` of
/// shape `[batch, heads, seq, head_dim]`, `cos`/`sin` of `[seq, head_dim/2]`.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let y = candle_nn::rotary_emb::rope(&x.detach().contiguous()?, cos, sin)?;
    if !tracks(x) {
        return Ok(y);
    }
    let (cos, sin) = (cos.clone(), sin.neg()?);
    attach(x, y, move |g, _| {
        candle_nn::rotary_emb::rope(&g.contiguous()?, &cos, &sin)
    })
}

/// SiLU(a)·b, the gated MLP's activation: one pass with its own backward
/// on the CPU in f32, candle's ops elsewhere.
pub fn swiglu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !(fast(a) && a.is_contiguous() && b.is_contiguous() && a.dims() == b.dims()) {
        return a.silu()? * b;
    }
    if tracks(a) || tracks(b) {
        a.apply_op2_arc(b, Arc::new(Box::new(SwiGlu)))
    } else {
        a.apply_op2_no_bwd(b, &SwiGlu)
    }
}

/// Largest difference between `a` and `b` over `b`'s largest magnitude (for tests).
#[cfg(test)]
pub(crate) fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let max = |t: &Tensor| -> f32 { t.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() };
    max(&(a - b).unwrap()) / max(b).max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn fused_lora_linear_matches_the_plain_products() {
        let dev = Device::Cpu;
        // 70 rows: one whole piece of 64 rows and a short one.
        let (rows, k, n, r) = (70, 40, 24, 3);
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
        for x_tracks in [true, false] {
            let x0 = Tensor::randn(0f32, 1.0, (rows, k), &dev).unwrap();
            let xv = Var::from_tensor(&x0).unwrap();
            let x = if x_tracks { xv.as_tensor().clone() } else { x0.clone() };
            let a = Var::randn(0f32, 1.0, (r, k), &dev).unwrap();
            let bs = Var::randn(0f32, 1.0, (n, r), &dev).unwrap();
            let up = Tensor::randn(0f32, 1.0, (rows, n), &dev).unwrap();
            let fused = lora_linear(&Frozen::Dense(w.clone()), &x, a.as_tensor(), bs.as_tensor())
                .unwrap()
                .expect("the CPU f32 path");
            // The update alone (the dropout path) too, counted half again.
            let update = lora_update(&x, a.as_tensor(), bs.as_tensor()).unwrap();
            let y = (fused + update.affine(0.5, 0.0).unwrap()).unwrap();
            let (at, bt) = (a.as_tensor().t().unwrap(), bs.as_tensor().t().unwrap());
            let plain_update = x.matmul(&at).unwrap().matmul(&bt).unwrap();
            let plain = (x.matmul(&w.t().unwrap()).unwrap() + plain_update.affine(1.5, 0.0).unwrap()).unwrap();
            assert!(rel_diff(&y, &plain) < 1e-5, "forward");
            let g1 = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (plain * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for v in [&a, &bs] {
                let (u, p) = (g1.get(v.as_tensor()).unwrap(), g2.get(v.as_tensor()).unwrap());
                assert!(rel_diff(u, p) < 1e-5, "adapter gradient");
            }
            // A constant input gets no gradient (the plain graph computes one anyway).
            match (g1.get(&x), x_tracks) {
                (Some(u), true) => assert!(rel_diff(u, g2.get(&x).unwrap()) < 1e-5, "x gradient"),
                (None, false) => {}
                (u, _) => panic!("x gradient computed: {}, x tracks: {x_tracks}", u.is_some()),
            }
        }
    }
}
