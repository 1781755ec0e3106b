//! A projection with a frozen base weight and an optional LoRA adapter that
//! can be attached, trained, merged into the base and detached again.

use super::ops::Frozen;
use candle_core::{DType, Result, Tensor, Var};

/// LoRA: `y += scale · B·A·x`, A `[rank, in]`, B `[out, rank]`, kept in f32.
#[derive(Clone)]
pub struct Lora {
    pub a: Var,
    pub b: Var,
    pub scale: f64,
    pub dropout: f32,
}

impl Lora {
    /// `scale · B·A` as `[out, in]`.
    pub fn delta(&self) -> Result<Tensor> {
        self.b.as_tensor().matmul(self.a.as_tensor())?.affine(self.scale, 0.0)
    }
}

#[derive(Clone)]
pub struct Linear {
    pub weight: Frozen,
    pub bias: Option<Tensor>,
    pub lora: Option<Lora>,
}

impl Linear {
    pub fn new(weight: Frozen, bias: Option<Tensor>) -> Self {
        Linear {
            weight,
            bias,
            lora: None,
        }
    }

    /// `x · Wᵀ (+ b) (+ LoRA)`; `mask` is an optional dropout mask for the
    /// LoRA input (already scaled by 1/(1−p)). Without `grad` the adapter's
    /// weights are read as constants (evaluation, chat).
    pub fn forward(&self, x: &Tensor, dropout_mask: Option<&Tensor>, grad: bool) -> Result<Tensor> {
        let Some(l) = &self.lora else {
            let y = self.weight.matmul_t(x)?;
            return match &self.bias {
                Some(b) => y.broadcast_add(b),
                None => Ok(y),
            };
        };
        let xin = if x.dtype() == DType::F32 {
            x.clone()
        } else {
            x.to_dtype(DType::F32)?
        };
        let xin = match dropout_mask {
            Some(m) => xin.broadcast_mul(m)?,
            None => xin,
        };
        let (a, b) = if grad {
            (l.a.as_tensor().clone(), l.b.as_tensor().clone())
        } else {
            (l.a.as_tensor().detach(), l.b.as_tensor().detach())
        };
        // The scale goes on B (r columns), not on the [rows, out] update.
        let bs = (b * l.scale)?;
        let fused = match dropout_mask {
            None => super::ops::lora_linear(&self.weight, &xin, &a, &bs)?,
            Some(_) => None,
        };
        let y = match fused {
            Some(y) => y.to_dtype(x.dtype())?,
            None => {
                let d = super::ops::lora_update(&super::ops::as_rows(&xin)?, &a, &bs)?;
                self.weight.matmul_t_plus(x, Some(&d))?
            }
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }

    /// Fold the adapter into a dense base weight (for faster chat and for
    /// export); the adapter is removed from the layer and returned.
    pub fn merge(&mut self) -> Result<Option<Lora>> {
        let Some(l) = self.lora.take() else {
            return Ok(None);
        };
        let w = self.weight.dense(DType::F32)?;
        let dtype = match &self.weight {
            Frozen::Dense(t) => t.dtype(),
            Frozen::Quant(..) => DType::F32,
        };
        self.weight = Frozen::Dense((w + l.delta()?)?.to_dtype(dtype)?);
        Ok(Some(l))
    }
}
