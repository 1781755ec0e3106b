//! LoRA adapters in PEFT's layout (`adapter_config.json` +
//! `adapter_model.safetensors`), so adapters move freely between Dramatis and
//! Python PEFT. Dramatis keeps q/k weights in the Hugging Face layout even for
//! GGUF bases, so no tensor needs reordering on the way in or out.

use super::linear::Lora;
use super::transformer::{Transformer, TARGETS};
use crate::jobs::{write_atomic, Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdapterConfig {
    #[serde(default = "lora")]
    pub peft_type: String,
    #[serde(default = "causal")]
    pub task_type: String,
    pub r: usize,
    pub lora_alpha: f64,
    #[serde(default)]
    pub lora_dropout: f64,
    #[serde(default)]
    pub use_rslora: bool,
    pub target_modules: TargetModules,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    #[serde(default = "none")]
    pub bias: String,
    #[serde(default)]
    pub fan_in_fan_out: bool,
    #[serde(default)]
    pub rank_pattern: BTreeMap<String, usize>,
    #[serde(default)]
    pub alpha_pattern: BTreeMap<String, f64>,
    #[serde(default)]
    pub inference_mode: bool,
}

fn lora() -> String {
    "LORA".into()
}
fn causal() -> String {
    "CAUSAL_LM".into()
}
fn none() -> String {
    "none".into()
}

/// PEFT writes a list; a single regex string is also allowed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TargetModules {
    List(Vec<String>),
    Regex(String),
}

impl AdapterConfig {
    pub fn new(r: usize, alpha: f64, dropout: f64, rslora: bool, targets: &[&str], base: Option<&str>) -> Self {
        AdapterConfig {
            peft_type: lora(),
            task_type: causal(),
            r,
            lora_alpha: alpha,
            lora_dropout: dropout,
            use_rslora: rslora,
            target_modules: TargetModules::List(targets.iter().map(|s| s.to_string()).collect()),
            base_model_name_or_path: base.map(str::to_owned),
            bias: none(),
            fan_in_fan_out: false,
            rank_pattern: BTreeMap::new(),
            alpha_pattern: BTreeMap::new(),
            inference_mode: true,
        }
    }

    /// The LoRA scale for rank `r` and `alpha`.
    pub fn scale(&self, r: usize, alpha: f64) -> f64 {
        if self.use_rslora {
            alpha / (r as f64).sqrt()
        } else {
            alpha / r as f64
        }
    }
}

/// PEFT's tensor name for one LoRA matrix (`which` is "A" or "B").
pub fn peft_name(layer: usize, target: &str, which: &str) -> String {
    let group = if matches!(target, "gate_proj" | "up_proj" | "down_proj") {
        "mlp"
    } else {
        "self_attn"
    };
    format!("base_model.model.model.layers.{layer}.{group}.{target}.lora_{which}.weight")
}

/// Parse a PEFT tensor name into (layer, target, "A"/"B").
pub fn parse_peft_name(name: &str) -> Option<(usize, &str, &str)> {
    let rest = name.split("layers.").nth(1)?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let target = TARGETS.iter().copied().find(|t| rest.contains(&format!(".{t}.")))?;
    let which = if rest.contains(".lora_A.") {
        "A"
    } else if rest.contains(".lora_B.") {
        "B"
    } else {
        return None;
    };
    Some((layer, target, which))
}

fn bad(path: &Path, detail: String) -> Error {
    Error::Format {
        path: path.into(),
        detail,
    }
}

/// Read an adapter folder and put its LoRA weights on `net` (replacing any
/// adapter there). Returns the config. Shapes are checked against the model.
pub fn load_peft(dir: &Path, net: &mut Transformer) -> Result<AdapterConfig> {
    let cfg_path = dir.join("adapter_config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => bad(
            dir,
            "no adapter_config.json here: an adapter folder holds adapter_config.json and adapter_model.safetensors"
                .into(),
        ),
        _ => Error::io(&cfg_path, e),
    })?;
    let cfg: AdapterConfig =
        serde_json::from_str(&text).map_err(|e| bad(&cfg_path, format!("not a PEFT LoRA configuration ({e})")))?;
    if cfg.peft_type.to_uppercase() != "LORA" {
        return Err(bad(
            &cfg_path,
            format!("adapter type {} is not supported (LoRA is)", cfg.peft_type),
        ));
    }
    if cfg.fan_in_fan_out {
        return Err(bad(
            &cfg_path,
            "fan_in_fan_out adapters (GPT-2 style) are not supported".into(),
        ));
    }
    let weights = ["adapter_model.safetensors", "adapter_model.bin"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| {
            bad(
                dir,
                "no adapter_model.safetensors here; copy the whole adapter folder".into(),
            )
        })?;
    if weights.extension().is_some_and(|e| e == "bin") {
        return Err(bad(
            &weights,
            "PyTorch .bin adapters cannot be read safely; save the adapter again with safe_serialization=True".into(),
        ));
    }
    let tensors = candle_core::safetensors::load(&weights, &Device::Cpu)
        .map_err(|e| bad(&weights, format!("the adapter weights are damaged or truncated ({e})")))?;
    type Pair = (Option<Tensor>, Option<Tensor>);
    let mut pairs: HashMap<(usize, &str), Pair> = HashMap::new();
    for (name, t) in &tensors {
        let Some((layer, target, which)) = parse_peft_name(name) else {
            if name.contains("lora_embedding") || name.contains("lm_head") || name.contains("embed_tokens") {
                return Err(bad(
                    &weights,
                    format!("tensor \"{name}\": adapters on embeddings or the output layer are not supported"),
                ));
            }
            continue;
        };
        let e = pairs.entry((layer, target)).or_default();
        if which == "A" {
            e.0 = Some(t.clone());
        } else {
            e.1 = Some(t.clone());
        }
    }
    if pairs.is_empty() {
        return Err(bad(&weights, "the adapter holds no LoRA weights".into()));
    }
    net.clear_lora();
    let dev = net.device.clone();
    for ((layer, target), (a, b)) in pairs {
        let (Some(a), Some(b)) = (a, b) else {
            return Err(bad(
                &weights,
                format!("layer {layer} {target} has only one of lora_A / lora_B; the file is incomplete"),
            ));
        };
        let lin = net
            .blocks
            .get(layer)
            .and_then(|blk| blk.linear(target))
            .ok_or_else(|| bad(&weights, format!("the adapter names layer {layer}, but the model has {} layers: it was trained for another model", net.blocks.len())))?;
        let (out, inp) = lin.weight.dims();
        let r = a.dim(0)?;
        if a.dims() != [r, inp] || b.dims() != [out, r] {
            return Err(bad(
                &weights,
                format!(
                    "layer {layer} {target}: adapter shapes {:?} / {:?} do not fit the model's {out}×{inp} weight: it was trained for another model",
                    a.dims(),
                    b.dims()
                ),
            ));
        }
        let key = format!("model.layers.{layer}.{target}");
        let r_eff = cfg
            .rank_pattern
            .iter()
            .find(|(k, _)| key.ends_with(k.as_str()))
            .map_or(r, |(_, &v)| v);
        let alpha = cfg
            .alpha_pattern
            .iter()
            .find(|(k, _)| key.ends_with(k.as_str()))
            .map_or(cfg.lora_alpha, |(_, &v)| v);
        let lora = Lora {
            a: Var::from_tensor(&a.to_dtype(DType::F32)?.to_device(&dev)?)?,
            b: Var::from_tensor(&b.to_dtype(DType::F32)?.to_device(&dev)?)?,
            scale: cfg.scale(r_eff, alpha),
            dropout: cfg.lora_dropout as f32,
        };
        net.set_lora(layer, target, Some(lora))?;
    }
    Ok(cfg)
}

/// Write the adapter on `net` in PEFT's layout (atomically, file by file).
pub fn save_peft(dir: &Path, net: &Transformer, cfg: &AdapterConfig) -> Result<usize> {
    let mut tensors: BTreeMap<String, Tensor> = BTreeMap::new();
    for (layer, target, lin) in net.linears() {
        if let Some(l) = &lin.lora {
            tensors.insert(peft_name(layer, target, "A"), l.a.as_tensor().to_device(&Device::Cpu)?);
            tensors.insert(peft_name(layer, target, "B"), l.b.as_tensor().to_device(&Device::Cpu)?);
        }
    }
    if tensors.is_empty() {
        return Err(Error::Invalid("the model carries no adapter to save".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let bytes = safetensors_bytes(&tensors)?;
    write_atomic(&dir.join("adapter_model.safetensors"), &bytes)?;
    let json = serde_json::to_vec_pretty(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&dir.join("adapter_config.json"), &json)?;
    Ok(tensors.len())
}

/// Serialise f32 tensors as a safetensors file in memory.
pub fn safetensors_bytes(tensors: &BTreeMap<String, Tensor>) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    let mut bodies = Vec::new();
    for (name, t) in tensors {
        let v: Vec<f32> = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let start = data.len() + bodies.iter().map(|b: &Vec<u8>| b.len()).sum::<usize>();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.dims(), "data_offsets": [start, start + bytes.len()]}),
        );
        bodies.push(bytes);
    }
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut h = serde_json::to_vec(&serde_json::Value::Object(header)).map_err(|e| Error::Invalid(e.to_string()))?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    data.extend_from_slice(&(h.len() as u64).to_le_bytes());
    data.extend_from_slice(&h);
    for b in bodies {
        data.extend_from_slice(&b);
    }
    Ok(data)
}
