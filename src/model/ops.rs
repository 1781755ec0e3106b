//! Fast ops that still carry gradients.
//!
//! candle's fused kernels (softmax, RMSNorm, RoPE, quantized matmul) have no
//! backward pass: `backward()` succeeds and the LoRA weights behind them get
//! no gradient. And a plain matmul against a frozen weight also computes (and
//! stores) the gradient of that weight. Here each op runs its fast forward on
//! a detached input, then [`attach`] joins the result back to the graph with
//! the op's analytic input gradient. When nothing upstream needs a gradient
//! (inference), the fast result is returned as is.

use candle_core::backend::BackendStorage;
use candle_core::quantized::QMatMul;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Module, Result, Shape, Storage, Tensor, D};
use std::sync::{Arc, Mutex};

type Backward = dyn Fn(&Tensor, &Tensor) -> Result<Tensor> + Send + Sync;

/// Forward: the value of `result`; backward: `grad_input(g, result)` for
/// `input`. The result waits in the op until the forward copies it out and
/// is then dropped, so the graph holds one copy of it (the op's output), not
/// two.
struct Attach {
    result: Mutex<Option<Tensor>>,
    grad_input: Box<Backward>,
}

/// `t` in a plain buffer starting at offset 0, as the ops' forward copies it.
fn plain(t: Tensor) -> Result<Tensor> {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        Ok(t)
    } else {
        t.copy()
    }
}

/// The result waiting in an op until its forward copies it out.
fn take(stash: &Mutex<Option<Tensor>>) -> Result<Tensor> {
    stash
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| candle_core::Error::Msg("an attached result was used twice".into()))
}

fn cpu_copy(stash: &Mutex<Option<Tensor>>) -> Result<(CpuStorage, Shape)> {
    let r = take(stash)?;
    let (st, l) = r.storage_and_layout();
    match &*st {
        Storage::Cpu(s) => Ok((s.try_clone(l)?, l.shape().clone())),
        _ => candle_core::bail!("an attached result is not on the CPU"),
    }
}

#[cfg(feature = "cuda")]
fn cuda_copy(stash: &Mutex<Option<Tensor>>) -> Result<(candle_core::CudaStorage, Shape)> {
    let r = take(stash)?;
    let (st, l) = r.storage_and_layout();
    match &*st {
        Storage::Cuda(s) => Ok((s.try_clone(l)?, l.shape().clone())),
        _ => candle_core::bail!("an attached result is not on the GPU"),
    }
}

#[cfg(feature = "metal")]
fn metal_copy(stash: &Mutex<Option<Tensor>>) -> Result<(candle_core::MetalStorage, Shape)> {
    let r = take(stash)?;
    let (st, l) = r.storage_and_layout();
    match &*st {
        Storage::Metal(s) => Ok((s.try_clone(l)?, l.shape().clone())),
        _ => candle_core::bail!("an attached result is not on the GPU"),
    }
}

impl CustomOp1 for Attach {
    fn name(&self) -> &'static str {
        "dramatis-attach"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cpu_copy(&self.result)
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(&self, _: &candle_core::CudaStorage, _: &Layout) -> Result<(candle_core::CudaStorage, Shape)> {
        cuda_copy(&self.result)
    }

    #[cfg(feature = "metal")]
    fn metal_fwd(&self, _: &candle_core::MetalStorage, _: &Layout) -> Result<(candle_core::MetalStorage, Shape)> {
        metal_copy(&self.result)
    }

    fn bwd(&self, _: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some((self.grad_input)(grad, res)?))
    }
}

type BackwardOpt = dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync;

/// Forward: the value of `result`, which is `f(input) + addend`; backward:
/// `grad_input(g)` for `input` and `g` itself for `addend`. One tensor in
/// the graph where `f(input)`, `addend` and their sum would be three.
struct AttachSum {
    result: Mutex<Option<Tensor>>,
    grad_input: Box<BackwardOpt>,
}

impl CustomOp2 for AttachSum {
    fn name(&self) -> &'static str {
        "dramatis-attach-sum"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cpu_copy(&self.result)
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        _: &candle_core::CudaStorage,
        _: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        cuda_copy(&self.result)
    }

    #[cfg(feature = "metal")]
    fn metal_fwd(
        &self,
        _: &candle_core::MetalStorage,
        _: &Layout,
        _: &candle_core::MetalStorage,
        _: &Layout,
    ) -> Result<(candle_core::MetalStorage, Shape)> {
        metal_copy(&self.result)
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
    let result = plain(result)?;
    input.apply_op2_arc(
        addend,
        Arc::new(Box::new(AttachSum {
            result: Mutex::new(Some(result)),
            grad_input: Box::new(grad_input),
        })),
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
    let result = plain(result)?;
    input.apply_op1_arc(Arc::new(Box::new(Attach {
        result: Mutex::new(Some(result)),
        grad_input: Box::new(grad_input),
    })))
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
        let dims = x.dims().to_vec();
        let (rows, inp) = (dims[..dims.len() - 1].iter().product::<usize>(), dims[dims.len() - 1]);
        let x2 = x.reshape((rows, inp))?;
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
        let mut out = dims;
        let last = out.len() - 1;
        out[last] = outs;
        y.reshape(out)
    }
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

/// Attention probabilities: softmax of `x · scale (+ mask)` over the last
/// dimension, `mask` broadcast over the leading ones. The graph keeps `x`
/// and the probabilities, not the scaled and masked scores in between.
pub fn scaled_masked_softmax(x: &Tensor, scale: f64, mask: Option<&Tensor>) -> Result<Tensor> {
    let z = (x.detach() * scale)?;
    let z = match mask {
        Some(m) => z.broadcast_add(m)?,
        None => z,
    };
    let y = candle_nn::ops::softmax_last_dim(&z.contiguous()?)?;
    drop(z);
    if !tracks(x) {
        return Ok(y);
    }
    attach(x, y, move |g, y| {
        // scale · y·(g − Σ g·y); masked positions have y = 0.
        let s = (g * y)?.sum_keepdim(D::Minus1)?;
        y.mul(&g.broadcast_sub(&s)?)? * scale
    })
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

/// SiLU(a)·b, the gated MLP's activation (composite: candle's silu has a backward).
pub fn swiglu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.silu()? * b
}
