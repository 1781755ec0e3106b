//! Reading model weights by their Hugging Face names from safetensors files
//! (sharded too) or from a GGUF file, checking every shape against the config.

use super::config::{Arch, ModelConfig};
use super::ops::Frozen;
use crate::jobs::{Error, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How quantized weights are kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantPolicy {
    /// Every weight dense in the model dtype (exact reference numerics).
    Dense,
    /// GGUF blocks stay quantized (Q4_1 is re-packed as Q8_0, whose CPU
    /// kernel is far faster); dense sources stay dense.
    Keep,
    /// Quantize the projection weights to this format (QLoRA from a dense source).
    To(GgmlDType),
}

pub enum WeightFile {
    Safetensors {
        files: Vec<PathBuf>,
        st: MmapedSafetensors,
    },
    Gguf {
        path: PathBuf,
        content: gguf_file::Content,
        file: std::fs::File,
    },
}

fn bad(path: &Path, detail: String) -> Error {
    Error::Format {
        path: path.into(),
        detail,
    }
}

/// The GGUF name of a Hugging Face tensor name.
pub fn gguf_name(hf: &str) -> String {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return f.into();
    }
    let Some(rest) = hf.strip_prefix("model.layers.") else {
        return hf.into();
    };
    let (layer, rest) = rest.split_once('.').unwrap_or((rest, ""));
    let table = [
        ("input_layernorm.", "attn_norm."),
        ("post_attention_layernorm.", "ffn_norm."),
        ("self_attn.q_proj.", "attn_q."),
        ("self_attn.k_proj.", "attn_k."),
        ("self_attn.v_proj.", "attn_v."),
        ("self_attn.o_proj.", "attn_output."),
        ("self_attn.q_norm.", "attn_q_norm."),
        ("self_attn.k_norm.", "attn_k_norm."),
        ("mlp.gate_proj.", "ffn_gate."),
        ("mlp.up_proj.", "ffn_up."),
        ("mlp.down_proj.", "ffn_down."),
    ];
    for (h, g) in table {
        if let Some(tail) = rest.strip_prefix(h) {
            return format!("blk.{layer}.{g}{tail}");
        }
    }
    hf.into()
}

/// Row order that undoes llama.cpp's q/k permutation (interleaved RoPE back
/// to the Hugging Face "rotate half" layout): HF row `r` is GGUF row `perm[r]`.
pub fn unpermute_rows(heads: usize, head_dim: usize) -> Vec<usize> {
    let half = head_dim / 2;
    let mut perm = Vec::with_capacity(heads * head_dim);
    for h in 0..heads {
        for j in 0..2 {
            for i in 0..half {
                perm.push(h * head_dim + 2 * i + j);
            }
        }
    }
    perm
}

impl WeightFile {
    /// Open `model.safetensors`, or every shard named in `model.safetensors.index.json`.
    pub fn safetensors(dir: &Path) -> Result<Self> {
        let index = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                bad(
                    &index,
                    format!("the shard index is not valid JSON ({e}); download it again"),
                )
            })?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| bad(&index, "the shard index has no weight_map; download it again".into()))?;
            let mut names: Vec<&str> = map.values().filter_map(|f| f.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            names.into_iter().map(|n| dir.join(n)).collect()
        } else {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("adapter_"))
                })
                .collect();
            found.sort();
            found
        };
        if files.is_empty() {
            return Err(bad(
                dir,
                "no model weights here (model.safetensors or its shards); download the model again or pick another folder"
                    .into(),
            ));
        }
        for f in &files {
            if !f.exists() {
                return Err(bad(f, "this weight shard is missing; download the model again".into()));
            }
        }
        // SAFETY: the files are mapped read-only; Dramatis never writes model files it has open.
        let st = unsafe { MmapedSafetensors::multi(&files) }.map_err(|e| {
            bad(
                &files[0],
                format!("the weights file is damaged or truncated ({e}); download it again"),
            )
        })?;
        Ok(WeightFile::Safetensors { files, st })
    }

    pub fn gguf(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| {
            bad(
                path,
                format!("the GGUF file could not be read ({e}); download it again"),
            )
        })?;
        Ok(WeightFile::Gguf {
            path: path.into(),
            content,
            file,
        })
    }

    pub fn path(&self) -> &Path {
        match self {
            WeightFile::Safetensors { files, .. } => &files[0],
            WeightFile::Gguf { path, .. } => path,
        }
    }

    pub fn has(&self, hf: &str) -> bool {
        match self {
            WeightFile::Safetensors { st, .. } => st.get(hf).is_ok(),
            WeightFile::Gguf { content, .. } => content.tensor_infos.contains_key(&gguf_name(hf)),
        }
    }

    /// A small tensor (norm, bias) as dense `dtype`.
    pub fn dense(&mut self, hf: &str, shape: &[usize], dtype: DType, dev: &Device) -> Result<Tensor> {
        let t = match self {
            WeightFile::Safetensors { st, files } => st.load(hf, dev).map_err(|e| {
                bad(
                    &files[0],
                    format!("weight \"{hf}\" is missing or unreadable ({e}); the download is incomplete or the model is of another kind"),
                )
            })?,
            WeightFile::Gguf { .. } => self.quant(hf, dev)?.dequantize(dev)?,
        };
        self.check(hf, t.dims(), shape)?;
        Ok(t.to_dtype(dtype)?)
    }

    fn check(&self, hf: &str, got: &[usize], want: &[usize]) -> Result<()> {
        if got == want {
            Ok(())
        } else {
            Err(bad(
                self.path(),
                format!("weight \"{hf}\" has shape {got:?} but config.json says {want:?}: the config and the weights belong to different models"),
            ))
        }
    }

    fn quant(&mut self, hf: &str, dev: &Device) -> Result<QTensor> {
        let WeightFile::Gguf { path, content, file } = self else {
            unreachable!("quant() is only called for GGUF files")
        };
        let name = gguf_name(hf);
        content.tensor(file, &name, dev).map_err(|e| {
            bad(
                path,
                format!("tensor \"{name}\" is missing or unreadable ({e}); the file is truncated or for another architecture"),
            )
        })
    }

    /// A projection weight `[out, in]`, kept as `policy` says. `unpermute`
    /// gives the GGUF row order to undo (llama q/k).
    pub fn frozen(
        &mut self,
        hf: &str,
        shape: [usize; 2],
        dtype: DType,
        policy: QuantPolicy,
        dev: &Device,
        unpermute: Option<&[usize]>,
    ) -> Result<Frozen> {
        let is_gguf = matches!(self, WeightFile::Gguf { .. });
        if !is_gguf || policy == QuantPolicy::Dense {
            let mut t = self.dense(hf, &shape, dtype, dev)?;
            if let (true, Some(p)) = (is_gguf, unpermute) {
                let idx = Tensor::new(p.iter().map(|&i| i as u32).collect::<Vec<_>>(), dev)?;
                t = t.index_select(&idx, 0)?;
            }
            return match policy {
                QuantPolicy::To(q) if shape[1].is_multiple_of(q.block_size()) => {
                    quantized(QTensor::quantize(&t.to_dtype(DType::F32)?, q)?)
                }
                _ => Ok(Frozen::Dense(t)),
            };
        }
        let q = self.quant(hf, dev)?;
        self.check(hf, q.shape().dims(), &shape)?;
        let q = match unpermute {
            Some(p) => permute_rows(&q, p, dev)?,
            None => q,
        };
        let target = match policy {
            QuantPolicy::To(t) => Some(t),
            // Q4_1 has no fast kernel in candle: Dramatis' own runs it on
            // x86-64 CPUs; elsewhere it is re-packed as Q8_0.
            _ if q.dtype() == GgmlDType::Q4_1
                && shape[1].is_multiple_of(32)
                && !(dev.is_cpu() && super::qkernel::available()) =>
            {
                Some(GgmlDType::Q8_0)
            }
            _ => None,
        };
        match q.dtype() {
            GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16 => Ok(Frozen::Dense(q.dequantize(dev)?.to_dtype(dtype)?)),
            d if target.is_some_and(|t| t != d) => {
                let t = target.unwrap_or(d);
                quantized(QTensor::quantize(&q.dequantize(dev)?, t)?)
            }
            _ => quantized(q),
        }
    }
}

fn quantized(q: QTensor) -> Result<Frozen> {
    use super::ops::QWeight;
    if q.device().is_cpu() {
        if let Some(f) = super::qkernel::FastMat::from_qtensor(&q)? {
            return Ok(Frozen::Quant(Arc::new(QWeight::Fast(f))));
        }
    }
    let q = Arc::new(q);
    Ok(Frozen::Quant(Arc::new(QWeight::Candle(
        q.clone(),
        QMatMul::from_arc(q)?,
    ))))
}

/// Reorder whole rows of a quantized matrix (blocks run along rows, so a
/// row is a run of bytes).
fn permute_rows(q: &QTensor, perm: &[usize], dev: &Device) -> Result<QTensor> {
    let dims = q.shape().dims().to_vec();
    let data = q.data()?;
    let row = data.len() / dims[0];
    let mut out = Vec::with_capacity(data.len());
    for &src in perm {
        out.extend_from_slice(&data[src * row..(src + 1) * row]);
    }
    let storage = QStorage::from_data(Cow::Owned(out), dev, q.dtype())?;
    Ok(QTensor::new(storage, dims)?)
}

/// Which rows to undo for a llama-architecture GGUF's q and k projections.
pub fn gguf_unpermute(cfg: &ModelConfig, file: &WeightFile) -> Option<(Vec<usize>, Vec<usize>)> {
    match (file, cfg.arch) {
        (WeightFile::Gguf { .. }, Arch::Llama) => Some((
            unpermute_rows(cfg.num_heads, cfg.head_dim),
            unpermute_rows(cfg.num_kv_heads, cfg.head_dim),
        )),
        _ => None,
    }
}
