//! The llama-family transformer Dramatis runs and trains: Llama/SmolLM2/
//! TinyLlama, Qwen2 (q/k/v bias) and Qwen3 (q/k norm) from one
//! implementation. Weights are frozen tensors (dense or quantized); every
//! projection is a [`Linear`] that can carry a LoRA adapter.

use super::config::ModelConfig;
use super::linear::{Linear, Lora};
use super::ops::{self, Frozen};
use super::weights::{gguf_unpermute, QuantPolicy, WeightFile};
use crate::jobs::Result;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var, D};
use std::sync::{Arc, Mutex};

/// The seven projections LoRA can target, in PEFT's names.
pub const TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

#[derive(Clone)]
pub struct Block {
    pub input_norm: Tensor,
    pub post_norm: Tensor,
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub q_norm: Option<Tensor>,
    pub k_norm: Option<Tensor>,
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Block {
    pub fn linear_mut(&mut self, name: &str) -> Option<&mut Linear> {
        Some(match name {
            "q_proj" => &mut self.q_proj,
            "k_proj" => &mut self.k_proj,
            "v_proj" => &mut self.v_proj,
            "o_proj" => &mut self.o_proj,
            "gate_proj" => &mut self.gate_proj,
            "up_proj" => &mut self.up_proj,
            "down_proj" => &mut self.down_proj,
            _ => return None,
        })
    }

    pub fn linear(&self, name: &str) -> Option<&Linear> {
        Some(match name {
            "q_proj" => &self.q_proj,
            "k_proj" => &self.k_proj,
            "v_proj" => &self.v_proj,
            "o_proj" => &self.o_proj,
            "gate_proj" => &self.gate_proj,
            "up_proj" => &self.up_proj,
            "down_proj" => &self.down_proj,
            _ => return None,
        })
    }
}

/// Keys and values seen so far, per layer, in buffers that grow by doubling.
#[derive(Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    pub fn new() -> Self {
        KvCache::default()
    }

    /// Tokens already in the cache (the position of the next one).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.layers.clear();
        self.len = 0;
    }

    /// Drop everything after `n` tokens (to reuse a shared prompt prefix).
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Append `k`, `v` (`[b, kv_heads, new, d]`) for layer `i`; returns views of all of them.
    fn append(&mut self, i: usize, k: &Tensor, v: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        if self.layers.len() <= i {
            self.layers.resize(i + 1, None);
        }
        let new = k.dim(2)?;
        let need = self.len + new;
        let slot = &mut self.layers[i];
        let cap = slot.as_ref().map_or(0, |(kb, _)| kb.dim(2).unwrap_or(0));
        if need > cap {
            let (b, h, _, d) = k.dims4()?;
            let cap2 = need.next_power_of_two().max(64);
            let kb = Tensor::zeros((b, h, cap2, d), k.dtype(), k.device())?;
            let vb = Tensor::zeros((b, h, cap2, d), v.dtype(), v.device())?;
            if let Some((ok, ov)) = slot.as_ref() {
                if self.len > 0 {
                    kb.slice_set(&ok.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                    vb.slice_set(&ov.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
            }
            *slot = Some((kb, vb));
        }
        let (kb, vb) = slot.as_ref().expect("allocated above");
        kb.slice_set(&k.contiguous()?, 2, self.len)?;
        vb.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((kb.narrow(2, 0, need)?, vb.narrow(2, 0, need)?))
    }
}

pub struct Transformer {
    pub cfg: ModelConfig,
    pub embed: Tensor,
    pub blocks: Vec<Block>,
    pub norm: Tensor,
    /// The output projection; for tied models, the embedding matrix.
    pub lm_head: Frozen,
    cos: Tensor,
    sin: Tensor,
    pub device: Device,
    pub dtype: DType,
}

/// Makes the LoRA dropout mask for (block, target, input), if any.
pub type DropoutFn<'a> = &'a (dyn Fn(usize, &str, &Tensor) -> candle_core::Result<Option<Tensor>> + Sync);

/// Options for one forward pass.
#[derive(Default, Clone, Copy)]
pub struct Pass<'a> {
    /// LoRA dropout masks per block and target, for training.
    pub dropout: Option<DropoutFn<'a>>,
    /// Build the graph for gradients of the LoRA weights (training).
    pub grad: bool,
    /// Activation checkpointing (training): each block keeps
    /// only its input and is computed again in the backward pass, so the
    /// activations of one block, not of all, are held at a time. The
    /// adapter's gradients are collected here; merge them into the loss's
    /// gradients with [`Checkpoints::merge_into`]. Checkpointed blocks draw
    /// their dropout masks from the checkpoints ([`Checkpoints::with_dropout`]),
    /// the others from `dropout`.
    pub checkpoint: Option<&'a Checkpoints>,
}

/// Dropout masks that checkpointed blocks can draw again in the backward
/// pass: the function must give the same mask for the same arguments.
pub type SharedDropout = Arc<dyn Fn(usize, &str, &Tensor) -> candle_core::Result<Option<Tensor>> + Send + Sync>;

/// Which blocks are checkpointed (the first `blocks`, all by default), the
/// adapter gradients they gather during a backward pass, and the dropout
/// masks (if any) their forward passes draw.
#[derive(Clone)]
pub struct Checkpoints {
    grads: Arc<Mutex<Vec<(Tensor, Tensor)>>>,
    dropout: Option<SharedDropout>,
    blocks: usize,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            grads: Arc::default(),
            dropout: None,
            blocks: usize::MAX,
        }
    }
}

impl Checkpoints {
    /// Checkpoints whose blocks apply LoRA dropout with masks from `dropout`
    /// (deterministic: the backward pass draws the forward pass's masks again).
    pub fn with_dropout(dropout: SharedDropout) -> Self {
        Checkpoints {
            dropout: Some(dropout),
            ..Default::default()
        }
    }

    /// Checkpoint only the first `n` blocks; the others keep their activations.
    pub fn first(self, n: usize) -> Self {
        Checkpoints { blocks: n, ..self }
    }

    /// Add the gathered gradients to `grads` (and forget them).
    pub fn merge_into(&self, grads: &mut GradStore) -> Result<()> {
        let gathered = std::mem::take(&mut *self.grads.lock().unwrap_or_else(|e| e.into_inner()));
        for (var, g) in gathered {
            let g = match grads.get(&var) {
                Some(old) => (old + &g)?,
                None => g,
            };
            grads.insert(&var, g);
        }
        Ok(())
    }

    /// Block `i` on `x`: computed without a graph now, and again with one
    /// when the backward pass reaches it.
    fn block(&self, i: usize, blk: &Block, x: &Tensor, ctx: &PassCtx) -> candle_core::Result<Tensor> {
        let y = blk.run(i, &x.detach(), ctx, None, false, self.mask())?;
        // The embeddings need no gradient, but the first block's adapter does:
        // give the backward pass a way in.
        let input = if ops::tracks(x) {
            x.clone()
        } else {
            Var::from_tensor(x)?.as_tensor().clone()
        };
        let (blk, ctx, me, saved) = (blk.clone(), ctx.clone(), self.clone(), x.detach());
        ops::attach(&input, y, move |g, _| {
            let xv = Var::from_tensor(&saved)?;
            let y = blk.run(i, xv.as_tensor(), &ctx, None, true, me.mask())?;
            let grads = (y * g.detach())?.sum_all()?.backward()?;
            let mut out = me.grads.lock().unwrap_or_else(|e| e.into_inner());
            for lin in blk.linears() {
                if let Some(l) = &lin.lora {
                    for v in [&l.a, &l.b] {
                        if let Some(gv) = grads.get(v.as_tensor()) {
                            out.push((v.as_tensor().clone(), gv.clone()));
                        }
                    }
                }
            }
            grads
                .get(xv.as_tensor())
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg("a checkpointed block gave no input gradient".into()))
        })
    }

    fn mask(&self) -> Option<DropoutFn<'_>> {
        self.dropout.as_deref().map(|f| f as DropoutFn)
    }
}

/// What every block of one forward pass shares.
#[derive(Clone)]
struct PassCtx {
    b: usize,
    l: usize,
    rep: usize,
    nh: usize,
    nkv: usize,
    hd: usize,
    eps: f64,
    cos: Tensor,
    sin: Tensor,
    /// Keys cached before the `l` new tokens.
    pos: usize,
    /// The additive causal mask of the batched attention, built the first
    /// time a block takes that path (the CPU's causal path needs none).
    mask: std::sync::OnceLock<Option<Tensor>>,
}

impl PassCtx {
    fn mask(&self, like: &Tensor) -> candle_core::Result<Option<&Tensor>> {
        if self.mask.get().is_none() {
            let _ = self
                .mask
                .set(causal_mask(self.l, self.pos, self.rep, like.device(), like.dtype())?);
        }
        Ok(self.mask.get().and_then(Option::as_ref))
    }
}

impl Block {
    fn linears(&self) -> [&Linear; 7] {
        [
            &self.q_proj,
            &self.k_proj,
            &self.v_proj,
            &self.o_proj,
            &self.gate_proj,
            &self.up_proj,
            &self.down_proj,
        ]
    }

    /// This block (number `i`) on `x`.
    fn run(
        &self,
        i: usize,
        x: &Tensor,
        ctx: &PassCtx,
        cache: Option<&mut KvCache>,
        grad: bool,
        dropout: Option<DropoutFn>,
    ) -> candle_core::Result<Tensor> {
        let PassCtx {
            b,
            l,
            rep,
            nh,
            nkv,
            hd,
            eps,
            ..
        } = *ctx;
        let dmask = |name: &str, t: &Tensor| -> candle_core::Result<Option<Tensor>> {
            match dropout {
                Some(f) => f(i, name, t),
                None => Ok(None),
            }
        };
        let lin = |lin: &Linear, name: &str, t: &Tensor| -> candle_core::Result<Tensor> {
            let m = if lin.lora.is_some() { dmask(name, t)? } else { None };
            lin.forward(t, m.as_ref(), grad)
        };
        let r = x.clone();
        let hn = ops::rms_norm(x, &self.input_norm, eps)?;
        let q = lin(&self.q_proj, "q_proj", &hn)?.reshape((b, l, nh, hd))?;
        let k = lin(&self.k_proj, "k_proj", &hn)?.reshape((b, l, nkv, hd))?;
        let v = lin(&self.v_proj, "v_proj", &hn)?.reshape((b, l, nkv, hd))?;
        let (q, k) = match (&self.q_norm, &self.k_norm) {
            (Some(qn), Some(kn)) => (ops::rms_norm(&q, qn, eps)?, ops::rms_norm(&k, kn, eps)?),
            _ => (q, k),
        };
        let q = ops::rope(&q.transpose(1, 2)?, &ctx.cos, &ctx.sin)?;
        let k = ops::rope(&k.transpose(1, 2)?, &ctx.cos, &ctx.sin)?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let (k, v) = match cache {
            Some(c) => c.append(i, &k, &v)?,
            None => (k, v),
        };
        // One new token (generation): straight from the cache.
        if l == 1 && !grad {
            if let Some(att) = super::attention::decode(&q, &k, &v, 1.0 / (hd as f32).sqrt())? {
                return self.mlp_after_attention(r, &att, &lin, eps);
            }
        }
        // Grouped-query attention without copying k/v: the `rep` query
        // heads that share a kv head are stacked along the sequence axis.
        let q = q.contiguous()?.reshape((b, nkv, rep * l, hd))?;
        let scale = 1.0 / (hd as f64).sqrt();
        // Several tokens (prompts, training) mask out the keys after each
        // one: the causal path skips those products.
        let causal = if l > 1 {
            super::causal::causal(&q, &k, &v, scale, rep)?
        } else {
            None
        };
        let att = match causal {
            Some(att) => att,
            None => ops::attention(&q, &k, &v, scale, ctx.mask(x)?)?,
        };
        let att = att.reshape((b, nh, l, hd))?.transpose(1, 2)?.reshape((b, l, nh * hd))?;
        self.mlp_after_attention(r, &att, &lin, eps)
    }

    /// The rest of the block after attention: output projection, residual,
    /// norm, SwiGLU MLP, residual.
    fn mlp_after_attention(
        &self,
        r: Tensor,
        att: &Tensor,
        lin: &dyn Fn(&Linear, &str, &Tensor) -> candle_core::Result<Tensor>,
        eps: f64,
    ) -> candle_core::Result<Tensor> {
        let att = lin(&self.o_proj, "o_proj", att)?;
        let x = (r + att)?;
        let r = x.clone();
        let hn = ops::rms_norm(&x, &self.post_norm, eps)?;
        let g = lin(&self.gate_proj, "gate_proj", &hn)?;
        let u = lin(&self.up_proj, "up_proj", &hn)?;
        let m = lin(&self.down_proj, "down_proj", &ops::swiglu(&g, &u)?)?;
        r + m
    }
}

impl Transformer {
    /// Build the model from `file`, checking every weight against `cfg`.
    pub fn load(
        cfg: ModelConfig,
        file: &mut WeightFile,
        dtype: DType,
        policy: QuantPolicy,
        dev: &Device,
    ) -> Result<Self> {
        let (h, kv, hd, inter) = (
            cfg.hidden_size,
            cfg.num_kv_heads * cfg.head_dim,
            cfg.head_dim,
            cfg.intermediate_size,
        );
        let q = cfg.num_heads * hd;
        let perms = gguf_unpermute(&cfg, file);
        let embed = file.dense("model.embed_tokens.weight", &[cfg.vocab_size, h], dtype, dev)?;
        let mut blocks = Vec::with_capacity(cfg.num_layers);
        for i in 0..cfg.num_layers {
            let p = |s: &str| format!("model.layers.{i}.{s}");
            let lin = |file: &mut WeightFile, name: &str, shape: [usize; 2], bias: bool, perm: Option<&[usize]>| {
                let w = file.frozen(&p(&format!("{name}.weight")), shape, dtype, policy, dev, perm)?;
                let b = if bias {
                    let mut b = file.dense(&p(&format!("{name}.bias")), &[shape[0]], dtype, dev)?;
                    if let Some(perm) = perm.filter(|_| matches!(file, WeightFile::Gguf { .. })) {
                        let idx = Tensor::new(perm.iter().map(|&x| x as u32).collect::<Vec<_>>(), dev)?;
                        b = b.index_select(&idx, 0)?;
                    }
                    Some(b)
                } else {
                    None
                };
                Ok::<_, crate::jobs::Error>(Linear::new(w, b))
            };
            let (pq, pk) = match &perms {
                Some((a, b)) => (Some(a.as_slice()), Some(b.as_slice())),
                None => (None, None),
            };
            let q_proj = lin(file, "self_attn.q_proj", [q, h], cfg.qkv_bias, pq)?;
            let k_proj = lin(file, "self_attn.k_proj", [kv, h], cfg.qkv_bias, pk)?;
            let v_proj = lin(file, "self_attn.v_proj", [kv, h], cfg.qkv_bias, None)?;
            let o_proj = lin(file, "self_attn.o_proj", [h, q], false, None)?;
            let gate_proj = lin(file, "mlp.gate_proj", [inter, h], false, None)?;
            let up_proj = lin(file, "mlp.up_proj", [inter, h], false, None)?;
            let down_proj = lin(file, "mlp.down_proj", [h, inter], false, None)?;
            let (q_norm, k_norm) = if cfg.qk_norm {
                (
                    Some(file.dense(&p("self_attn.q_norm.weight"), &[hd], dtype, dev)?),
                    Some(file.dense(&p("self_attn.k_norm.weight"), &[hd], dtype, dev)?),
                )
            } else {
                (None, None)
            };
            blocks.push(Block {
                input_norm: file.dense(&p("input_layernorm.weight"), &[h], dtype, dev)?,
                post_norm: file.dense(&p("post_attention_layernorm.weight"), &[h], dtype, dev)?,
                q_proj,
                k_proj,
                v_proj,
                o_proj,
                q_norm,
                k_norm,
                gate_proj,
                up_proj,
                down_proj,
            });
        }
        let norm = file.dense("model.norm.weight", &[h], dtype, dev)?;
        let lm_head = if !cfg.tie_word_embeddings && file.has("lm_head.weight") {
            file.frozen("lm_head.weight", [cfg.vocab_size, h], dtype, policy, dev, None)?
        } else if matches!(policy, QuantPolicy::Dense) || matches!(file, WeightFile::Safetensors { .. }) {
            Frozen::Dense(embed.clone())
        } else {
            // Tied GGUF: the quantized embedding is also the (fast) output projection.
            file.frozen(
                "model.embed_tokens.weight",
                [cfg.vocab_size, h],
                dtype,
                policy,
                dev,
                None,
            )?
        };
        let (cos, sin) = rope_tables(&cfg, dtype, dev)?;
        Ok(Transformer {
            cfg,
            embed,
            blocks,
            norm,
            lm_head,
            cos,
            sin,
            device: dev.clone(),
            dtype,
        })
    }

    /// Hidden states after the final norm, `[b, l, hidden]`, for token ids
    /// `[b, l]` placed after what `cache` holds (or at 0 without a cache).
    pub fn hidden(&self, ids: &Tensor, mut cache: Option<&mut KvCache>, pass: Pass) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let pos = cache.as_ref().map_or(0, |c| c.len());
        let total = pos + l;
        if total > self.cos.dim(0)? {
            return Err(crate::jobs::Error::Invalid(format!(
                "the conversation is {total} tokens long, more than this model's context of {} tokens; start a new conversation or shorten the history",
                self.cos.dim(0)?
            )));
        }
        let cos = self.cos.narrow(0, pos, l)?;
        let sin = self.sin.narrow(0, pos, l)?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((b, l, ()))?;
        let (nh, nkv, hd) = (self.cfg.num_heads, self.cfg.num_kv_heads, self.cfg.head_dim);
        let rep = nh / nkv;
        let ctx = PassCtx {
            b,
            l,
            rep,
            nh,
            nkv,
            hd,
            eps: self.cfg.rms_norm_eps,
            cos,
            sin,
            pos,
            mask: std::sync::OnceLock::new(),
        };
        for (i, blk) in self.blocks.iter().enumerate() {
            x = match pass.checkpoint {
                Some(ck) if pass.grad && cache.is_none() && i < ck.blocks => ck.block(i, blk, &x, &ctx)?,
                _ => blk.run(i, &x, &ctx, cache.as_deref_mut(), pass.grad, pass.dropout)?,
            };
        }
        if let Some(c) = cache {
            c.len = total;
        }
        Ok(ops::rms_norm(&x, &self.norm, ctx.eps)?)
    }

    /// Logits `[b, l, vocab]` for every position.
    pub fn forward(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        self.forward_with(ids, cache, Pass::default())
    }

    /// [`Transformer::forward`] with training options.
    pub fn forward_with(&self, ids: &Tensor, cache: Option<&mut KvCache>, pass: Pass) -> Result<Tensor> {
        let h = self.hidden(ids, cache, pass)?;
        Ok(self.lm_head.matmul_t(&h)?)
    }

    /// Logits `[b, vocab]` of the last position only (generation).
    pub fn forward_last(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        let h = self.hidden(ids, cache, Pass::default())?;
        let l = h.dim(1)?;
        let last = h.narrow(1, l - 1, 1)?.squeeze(1)?;
        Ok(self.lm_head.matmul_t(&last)?.to_dtype(DType::F32)?)
    }

    /// Every projection, with its block index and PEFT target name.
    pub fn linears(&self) -> impl Iterator<Item = (usize, &'static str, &Linear)> {
        self.blocks
            .iter()
            .enumerate()
            .flat_map(|(i, b)| TARGETS.iter().map(move |&t| (i, t, b.linear(t).expect("known target"))))
    }

    /// Put `lora` on projection `target` of block `layer`.
    pub fn set_lora(&mut self, layer: usize, target: &str, lora: Option<Lora>) -> Result<()> {
        let blk = self.blocks.get_mut(layer).ok_or_else(|| {
            crate::jobs::Error::Invalid(format!(
                "the adapter names layer {layer}, but the model has fewer layers"
            ))
        })?;
        let lin = blk
            .linear_mut(target)
            .ok_or_else(|| crate::jobs::Error::Invalid(format!("unknown LoRA target \"{target}\"")))?;
        lin.lora = lora;
        Ok(())
    }

    /// Remove every adapter; returns how many layers had one.
    pub fn clear_lora(&mut self) -> usize {
        let mut n = 0;
        for b in &mut self.blocks {
            for t in TARGETS {
                if let Some(l) = b.linear_mut(t) {
                    n += usize::from(l.lora.take().is_some());
                }
            }
        }
        n
    }

    /// Bytes of the frozen weights in memory.
    pub fn weight_bytes(&self) -> usize {
        let dense = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
        let mut n = dense(&self.embed) + dense(&self.norm);
        if !(self.cfg.tie_word_embeddings && matches!(self.lm_head, Frozen::Dense(_))) {
            n += self.lm_head.bytes();
        }
        for (_, _, l) in self.linears() {
            n += l.weight.bytes() + l.bias.as_ref().map_or(0, dense);
        }
        n
    }
}

fn rope_tables(cfg: &ModelConfig, dtype: DType, dev: &Device) -> Result<(Tensor, Tensor)> {
    let inv = cfg.inv_freq();
    let n = cfg.max_position_embeddings.max(1);
    let mut cos = Vec::with_capacity(n * inv.len());
    let mut sin = Vec::with_capacity(n * inv.len());
    for p in 0..n {
        for &f in &inv {
            // f32 products, as Hugging Face computes them.
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    let shape = (n, inv.len());
    Ok((
        Tensor::from_vec(cos, shape, dev)?.to_dtype(dtype)?,
        Tensor::from_vec(sin, shape, dev)?.to_dtype(dtype)?,
    ))
}

/// Additive causal mask `[rep·l, pos+l]` for `l` new tokens after `pos`
/// cached ones, tiled for the stacked query heads; `None` for one token.
fn causal_mask(l: usize, pos: usize, rep: usize, dev: &Device, dtype: DType) -> candle_core::Result<Option<Tensor>> {
    if l == 1 {
        return Ok(None);
    }
    let t = pos + l;
    let mut m = Vec::with_capacity(rep * l * t);
    for _ in 0..rep {
        for i in 0..l {
            for j in 0..t {
                m.push(if j > pos + i { f32::NEG_INFINITY } else { 0.0 });
            }
        }
    }
    Ok(Some(Tensor::from_vec(m, (rep * l, t), dev)?.to_dtype(dtype)?))
}

/// The positions of `targets` that count in the loss (not `ignore`).
pub fn counted_positions(targets: &[u32], ignore: u32) -> Vec<u32> {
    targets
        .iter()
        .enumerate()
        .filter(|(_, &t)| t != ignore)
        .map(|(i, _)| i as u32)
        .collect()
}

/// Log-probabilities `[n, vocab]` → masked mean negative log-likelihood of
/// `targets` (`u32`, with `ignore` marking positions that do not count).
pub fn masked_nll(logits: &Tensor, targets: &[u32], ignore: u32) -> Result<(Tensor, usize)> {
    let dev = logits.device();
    let keep = counted_positions(targets, ignore);
    if keep.is_empty() {
        return Err(crate::jobs::Error::Invalid(
            "no response tokens to learn from in this batch".into(),
        ));
    }
    let rows = logits.index_select(&Tensor::new(keep.as_slice(), dev)?, 0)?;
    let tgt: Vec<u32> = keep.iter().map(|&i| targets[i as usize]).collect();
    let lsm = candle_nn::ops::log_softmax(&rows.to_dtype(DType::F32)?, D::Minus1)?;
    let picked = lsm.gather(&Tensor::new(tgt.as_slice(), dev)?.unsqueeze(1)?, 1)?;
    Ok(((picked.sum_all()? / -(keep.len() as f64))?, keep.len()))
}
