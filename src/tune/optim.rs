//! AdamW with decoupled weight decay (as PyTorch's `torch.optim.AdamW`),
//! with its moments exposed so checkpoints can save and restore them.

use candle_core::{backprop::GradStore, Result, Tensor, Var};

pub struct AdamW {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Steps taken so far.
    pub t: usize,
    pub slots: Vec<Slot>,
}

pub struct Slot {
    pub var: Var,
    pub m: Tensor,
    pub v: Tensor,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, weight_decay: f64) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|var| {
                let z = var.as_tensor().zeros_like()?;
                Ok(Slot {
                    m: z.clone(),
                    v: z,
                    var,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            t: 0,
            slots,
        })
    }

    /// Add this backward pass's gradients to `acc` (one per slot, in order).
    pub fn accumulate(&self, acc: &mut [Option<Tensor>], grads: &GradStore) -> Result<()> {
        for (slot, a) in self.slots.iter().zip(acc.iter_mut()) {
            if let Some(g) = grads.get(slot.var.as_tensor()) {
                *a = Some(match a.take() {
                    Some(prev) => (prev + g)?,
                    None => g.clone(),
                });
            }
        }
        Ok(())
    }

    /// The global L2 norm of the gradients (one per slot, in order).
    pub fn grad_norm(grads: &[Option<Tensor>]) -> Result<f64> {
        let mut sq = 0f64;
        for g in grads.iter().flatten() {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
        Ok(sq.sqrt())
    }

    /// One update with learning rate `lr`; gradients are multiplied by `scale`
    /// first (for clipping). Returns how many variables had a gradient.
    pub fn step(&mut self, grads: &[Option<Tensor>], lr: f64, scale: f64) -> Result<usize> {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t as i32);
        let c2 = 1.0 - b2.powi(self.t as i32);
        let mut n = 0;
        for (s, g) in self.slots.iter_mut().zip(grads) {
            let Some(g) = g else {
                continue;
            };
            n += 1;
            let g = if scale != 1.0 { g.affine(scale, 0.0)? } else { g.clone() };
            s.m = ((&s.m * b1)? + (&g * (1.0 - b1))?)?;
            s.v = ((&s.v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let mhat = (&s.m / c1)?;
            let denom = ((&s.v / c2)?.sqrt()? + self.eps)?;
            let w = s.var.as_tensor();
            let decayed = (w * (1.0 - lr * self.weight_decay))?;
            let next = (decayed - (mhat / denom)? * lr)?;
            s.var.set(&next)?;
        }
        Ok(n)
    }
}

/// Linear warm-up, then cosine decay to `min_ratio` of the peak.
pub fn lr_at(step: usize, total: usize, warmup: usize, peak: f64, min_ratio: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    peak * (min_ratio + (1.0 - min_ratio) * cos)
}
