//! Exports of a model with its adapter merged in: a Hugging Face folder
//! (config.json, model.safetensors, tokenizer files) and a GGUF file (F16,
//! Q8_0 or F32) that llama.cpp and Ollama run, plus an Ollama Modelfile.

use super::adapter::safetensors_bytes;
use super::config::{Arch, ModelConfig, RopeScaling};
use super::transformer::TARGETS;
use super::weights::unpermute_rows;
use super::{Model, ModelSource};
use crate::jobs::{write_atomic, Error, Result};
use candle_core::quantized::gguf_file::Value as GValue;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

/// Every weight under its Hugging Face name, dense f32 on the CPU, with the
/// adapters merged into their projections.
pub fn merged_tensors(model: &Model) -> Result<BTreeMap<String, Tensor>> {
    let net = &model.net;
    let cpu = Device::Cpu;
    let f32 = |t: &Tensor| -> Result<Tensor> { Ok(t.to_dtype(DType::F32)?.to_device(&cpu)?) };
    let mut out = BTreeMap::new();
    out.insert("model.embed_tokens.weight".into(), f32(&net.embed)?);
    out.insert("model.norm.weight".into(), f32(&net.norm)?);
    if !net.cfg.tie_word_embeddings {
        out.insert("lm_head.weight".into(), f32(&net.lm_head.dense(DType::F32)?)?);
    }
    for (i, b) in net.blocks.iter().enumerate() {
        let p = |s: &str| format!("model.layers.{i}.{s}");
        out.insert(p("input_layernorm.weight"), f32(&b.input_norm)?);
        out.insert(p("post_attention_layernorm.weight"), f32(&b.post_norm)?);
        if let (Some(q), Some(k)) = (&b.q_norm, &b.k_norm) {
            out.insert(p("self_attn.q_norm.weight"), f32(q)?);
            out.insert(p("self_attn.k_norm.weight"), f32(k)?);
        }
        for t in TARGETS {
            let lin = b.linear(t).expect("known target");
            let mut w = lin.weight.dense(DType::F32)?;
            if let Some(l) = &lin.lora {
                w = (w + l.delta()?)?;
            }
            let group = if matches!(t, "gate_proj" | "up_proj" | "down_proj") {
                "mlp"
            } else {
                "self_attn"
            };
            out.insert(p(&format!("{group}.{t}.weight")), f32(&w)?);
            if let Some(bias) = &lin.bias {
                out.insert(p(&format!("{group}.{t}.bias")), f32(bias)?);
            }
        }
    }
    Ok(out)
}

/// config.json for `cfg` in the transformers layout.
pub fn hf_config(cfg: &ModelConfig) -> Result<serde_json::Value> {
    let (arch, model_type) = match cfg.arch {
        Arch::Llama => ("LlamaForCausalLM", "llama"),
        Arch::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
        Arch::Qwen3 => ("Qwen3ForCausalLM", "qwen3"),
    };
    let scaling = match &cfg.rope_scaling {
        None => serde_json::Value::Null,
        Some(RopeScaling::Linear { factor }) => serde_json::json!({"rope_type": "linear", "factor": factor}),
        Some(RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        }) => serde_json::json!({
            "rope_type": "llama3", "factor": factor, "low_freq_factor": low_freq_factor,
            "high_freq_factor": high_freq_factor, "original_max_position_embeddings": original_max_position_embeddings
        }),
        Some(RopeScaling::Factors(_)) => {
            return Err(Error::Invalid(
                "this GGUF model stores its RoPE scaling as per-frequency factors, which config.json cannot express; export it as GGUF instead".into(),
            ))
        }
    };
    Ok(serde_json::json!({
        "architectures": [arch],
        "model_type": model_type,
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
        "num_key_value_heads": cfg.num_kv_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": scaling,
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "attention_bias": cfg.qkv_bias,
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_ids.first(),
        "torch_dtype": "float32",
    }))
}

/// Write a Hugging Face folder with the merged weights.
pub fn write_hf_folder(model: &Model, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let tensors = merged_tensors(model)?;
    write_atomic(&dir.join("model.safetensors"), &safetensors_bytes(&tensors)?)?;
    let cfg = hf_config(&model.net.cfg)?;
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomic(&dir.join("config.json"), &json(&cfg))?;
    let tok = &model.tokenizer;
    let name = |id: Option<u32>| id.and_then(|i| tok.inner.id_to_token(i));
    let tjson = tok
        .inner
        .to_string(true)
        .map_err(|e| Error::Invalid(format!("could not write the tokenizer ({e})")))?;
    write_atomic(&dir.join("tokenizer.json"), tjson.as_bytes())?;
    let tcfg = serde_json::json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": name(tok.bos),
        "eos_token": name(tok.eos),
        "chat_template": model.template,
        "clean_up_tokenization_spaces": false,
    });
    write_atomic(&dir.join("tokenizer_config.json"), &json(&tcfg))?;
    let gen = serde_json::json!({"bos_token_id": tok.bos, "eos_token_id": tok.stop});
    write_atomic(&dir.join("generation_config.json"), &json(&gen))?;
    Ok(())
}

fn arr_str(v: impl IntoIterator<Item = String>) -> GValue {
    GValue::Array(v.into_iter().map(GValue::String).collect())
}

/// The GGUF tokenizer keys for a byte-level BPE tokenizer.json.
fn tokenizer_metadata(model: &Model) -> Result<Vec<(String, GValue)>> {
    let tok = &model.tokenizer;
    let v: serde_json::Value = serde_json::from_str(
        &tok.inner
            .to_string(false)
            .map_err(|e| Error::Invalid(format!("could not read the tokenizer ({e})")))?,
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    if v["model"]["type"].as_str() != Some("BPE") {
        return Err(Error::Invalid(
            "only byte-level BPE tokenizers can be written to GGUF so far; export a Hugging Face folder instead".into(),
        ));
    }
    let n = model.net.cfg.vocab_size;
    let mut tokens: Vec<String> = (0..n).map(|i| format!("[PAD{i}]")).collect();
    let mut types = vec![1i32; n];
    if let Some(vocab) = v["model"]["vocab"].as_object() {
        for (t, id) in vocab {
            if let Some(i) = id.as_u64().map(|i| i as usize).filter(|&i| i < n) {
                tokens[i] = t.clone();
            }
        }
    }
    for a in v["added_tokens"].as_array().into_iter().flatten() {
        if let (Some(i), Some(c)) = (a["id"].as_u64().map(|i| i as usize), a["content"].as_str()) {
            if i < n {
                tokens[i] = c.to_owned();
                types[i] = if a["special"].as_bool().unwrap_or(false) { 3 } else { 4 };
            }
        }
    }
    let merges: Vec<String> = v["model"]["merges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| match m {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(p) => Some(format!("{} {}", p.first()?.as_str()?, p.get(1)?.as_str()?)),
            _ => None,
        })
        .collect();
    let mut md = vec![
        ("tokenizer.ggml.model".into(), GValue::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), GValue::String("default".into())),
        ("tokenizer.ggml.tokens".into(), arr_str(tokens)),
        (
            "tokenizer.ggml.token_type".into(),
            GValue::Array(types.into_iter().map(GValue::I32).collect()),
        ),
        ("tokenizer.ggml.merges".into(), arr_str(merges)),
        ("tokenizer.chat_template".into(), GValue::String(model.template.clone())),
    ];
    if let Some(b) = tok.bos {
        md.push(("tokenizer.ggml.bos_token_id".into(), GValue::U32(b)));
    }
    if let Some(e) = tok.eos {
        md.push(("tokenizer.ggml.eos_token_id".into(), GValue::U32(e)));
    }
    Ok(md)
}

/// Write the merged model as one GGUF file of `dtype` (F32, F16 or Q8_0;
/// norms stay F32). Metadata comes from the source GGUF when there is one.
pub fn write_gguf(model: &Model, path: &Path, dtype: GgmlDType) -> Result<()> {
    if !matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::Q8_0) {
        return Err(Error::Invalid("GGUF export writes F32, F16 or Q8_0".into()));
    }
    let cfg = &model.net.cfg;
    let arch = cfg.arch.name();
    let mut md: Vec<(String, GValue)> = Vec::new();
    let mut extra_tensors: Vec<(String, QTensor)> = Vec::new();
    if let ModelSource::Gguf { path: src } = &model.source {
        let mut f = std::fs::File::open(src).map_err(|e| Error::io(src, e))?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut f).map_err(|e| Error::Format {
            path: src.clone(),
            detail: format!("could not read the source GGUF ({e})"),
        })?;
        let mut keys: Vec<_> = content.metadata.keys().cloned().collect();
        keys.sort();
        for k in keys {
            if k == "general.file_type" || k == "general.quantization_version" {
                continue;
            }
            md.push((k.clone(), content.metadata[&k].clone()));
        }
        if content.tensor_infos.contains_key("rope_freqs.weight") {
            extra_tensors.push((
                "rope_freqs.weight".into(),
                content.tensor(&mut f, "rope_freqs.weight", &Device::Cpu)?,
            ));
        }
    } else {
        let u = |v: usize| GValue::U32(v as u32);
        md.push(("general.architecture".into(), GValue::String(arch.into())));
        md.push(("general.name".into(), GValue::String("dramatis-merged".into())));
        md.push((format!("{arch}.context_length"), u(cfg.max_position_embeddings)));
        md.push((format!("{arch}.embedding_length"), u(cfg.hidden_size)));
        md.push((format!("{arch}.block_count"), u(cfg.num_layers)));
        md.push((format!("{arch}.feed_forward_length"), u(cfg.intermediate_size)));
        md.push((format!("{arch}.attention.head_count"), u(cfg.num_heads)));
        md.push((format!("{arch}.attention.head_count_kv"), u(cfg.num_kv_heads)));
        md.push((format!("{arch}.attention.key_length"), u(cfg.head_dim)));
        md.push((format!("{arch}.attention.value_length"), u(cfg.head_dim)));
        md.push((
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            GValue::F32(cfg.rms_norm_eps as f32),
        ));
        md.push((format!("{arch}.rope.freq_base"), GValue::F32(cfg.rope_theta as f32)));
        match &cfg.rope_scaling {
            None => {}
            Some(RopeScaling::Linear { factor }) => {
                md.push((format!("{arch}.rope.scaling.type"), GValue::String("linear".into())));
                md.push((format!("{arch}.rope.scaling.factor"), GValue::F32(*factor as f32)));
            }
            Some(_) => {
                // llama.cpp stores llama3 scaling as per-frequency factors.
                let base = ModelConfig {
                    rope_scaling: None,
                    ..cfg.clone()
                }
                .inv_freq();
                let scaled = cfg.inv_freq();
                let factors: Vec<f32> = base.iter().zip(&scaled).map(|(b, s)| b / s).collect();
                let n = factors.len();
                let t = Tensor::from_vec(factors, n, &Device::Cpu)?;
                extra_tensors.push(("rope_freqs.weight".into(), QTensor::quantize(&t, GgmlDType::F32)?));
            }
        }
        md.extend(tokenizer_metadata(model)?);
    }
    md.push((
        "general.file_type".into(),
        GValue::U32(match dtype {
            GgmlDType::F32 => 0,
            GgmlDType::F16 => 1,
            _ => 7,
        }),
    ));
    md.push(("general.quantization_version".into(), GValue::U32(2)));
    let tensors = merged_tensors(model)?;
    let mut q: Vec<(String, QTensor)> = Vec::with_capacity(tensors.len());
    for (name, t) in &tensors {
        let mut t = t.clone();
        // llama.cpp's interleaved-RoPE row order for llama q/k.
        if cfg.arch == Arch::Llama && (name.ends_with("q_proj.weight") || name.ends_with("k_proj.weight")) {
            let heads = if name.contains("q_proj") {
                cfg.num_heads
            } else {
                cfg.num_kv_heads
            };
            let perm = unpermute_rows(heads, cfg.head_dim);
            let mut inv = vec![0u32; perm.len()];
            for (r, &g) in perm.iter().enumerate() {
                inv[g] = r as u32;
            }
            t = t.index_select(&Tensor::new(inv, &Device::Cpu)?, 0)?;
        }
        let ty = if t.rank() == 1 || (dtype == GgmlDType::Q8_0 && t.dim(1)? % 32 != 0) {
            if t.rank() == 1 {
                GgmlDType::F32
            } else {
                GgmlDType::F16
            }
        } else {
            dtype
        };
        q.push((super::weights::gguf_name(name), QTensor::quantize(&t, ty)?));
    }
    q.extend(extra_tensors);
    let md_refs: Vec<(&str, &GValue)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = q.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    candle_core::quantized::gguf_file::write(&mut bytes, &md_refs, &t_refs)?;
    write_atomic(path, &bytes.into_inner())
}

/// An Ollama Modelfile: `FROM` the merged GGUF, the chat template in Go
/// template syntax for the formats Dramatis recognises, stop tokens, the
/// persona's system prompt.
pub fn ollama_modelfile(model: &Model, from: &str, system: Option<&str>) -> String {
    let mut m = format!("# Made by Dramatis\nFROM {from}\n");
    let tpl = &model.template;
    if tpl.contains("<|im_start|>") {
        m.push_str(
            "TEMPLATE \"\"\"{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n{{ .Response }}<|im_end|>\n\"\"\"\n",
        );
    } else if tpl.contains("<|start_header_id|>") {
        m.push_str(
            "TEMPLATE \"\"\"{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>\"\"\"\n",
        );
    }
    for &id in &model.tokenizer.stop {
        if let Some(t) = model.tokenizer.inner.id_to_token(id) {
            m.push_str(&format!("PARAMETER stop \"{t}\"\n"));
        }
    }
    if let Some(s) = system.filter(|s| !s.is_empty()) {
        m.push_str(&format!("SYSTEM \"\"\"{}\"\"\"\n", s.replace("\"\"\"", "\"")));
    }
    m
}
