//! Merged-model exports load back and compute what the model with its
//! adapter computed: Hugging Face folders exactly, GGUF within the rounding of
//! the chosen format, for every family (q/k row order, biases, q/k norms,
//! llama3 RoPE factors).

mod common;

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};
use dramatis::model::{adapter, export, LoadOptions, Model, QuantPolicy};

use common::{max_abs_diff as diff, model_fixture as fixture};

fn dense() -> LoadOptions {
    LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    }
}

fn logits(m: &Model) -> Tensor {
    let ids = Tensor::new(&[[7u32, 100, 33, 250, 5, 61, 300, 12, 90]], &Device::Cpu).unwrap();
    m.net.forward(&ids, None).unwrap().to_dtype(DType::F32).unwrap()
}

fn with_adapter(name: &str) -> Model {
    let mut m = Model::load_folder(&fixture(name), &dense()).unwrap();
    let lora = fixture(name).join("lora");
    if lora.exists() {
        adapter::load_peft(&lora, &mut m.net).unwrap();
    }
    m
}

fn check(name: &str) {
    let m = with_adapter(name);
    let want = logits(&m);
    let dir = tempfile::tempdir().unwrap();
    // Hugging Face folder: the merged weights in f32.
    let hf = dir.path().join("hf");
    export::write_hf_folder(&m, &hf).unwrap();
    let back = Model::load_folder(&hf, &dense()).unwrap();
    let d = diff(&logits(&back), &want);
    assert!(d < 1e-4, "{name}: HF export differs by {d}");
    assert_eq!(back.template, m.template);
    assert_eq!(
        back.tokenizer.encode("Hello, 大海").unwrap(),
        m.tokenizer.encode("Hello, 大海").unwrap()
    );
    // GGUF in three formats.
    // Tolerances: f32 exact up to summation order; f16 and Q8_0 round every
    // weight (the tiny random models have large weights, so Q8_0 moves logits
    // of size ~6 by up to ~0.35).
    for (ty, tol) in [(GgmlDType::F32, 1e-4), (GgmlDType::F16, 0.05), (GgmlDType::Q8_0, 0.5)] {
        let path = dir.path().join(format!("m-{ty:?}.gguf"));
        export::write_gguf(&m, &path, ty).unwrap();
        let g = Model::load_gguf(&path, &dense()).unwrap();
        let d = diff(&logits(&g), &want);
        assert!(d < tol, "{name}: GGUF {ty:?} differs by {d}");
        assert_eq!(
            g.tokenizer.encode("Hello, world").unwrap(),
            m.tokenizer.encode("Hello, world").unwrap()
        );
    }
}

#[test]
fn llama_with_adapter_exports() {
    check("tiny-llama");
}

#[test]
fn llama3_scaling_exports() {
    check("tiny-llama3");
}

#[test]
fn qwen2_exports() {
    check("tiny-qwen2");
}

#[test]
fn qwen3_with_adapter_exports() {
    check("tiny-qwen3");
}

#[test]
fn ollama_folder_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ollama");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["adapter", "export", "--model", fixture("tiny-llama").to_str().unwrap()])
        .args(["--adapter", fixture("tiny-llama/lora").to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--system", "You are Mags."])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mf = std::fs::read_to_string(out.join("Modelfile")).unwrap();
    assert!(mf.contains("FROM ./model.gguf"), "{mf}");
    assert!(mf.contains("<|im_start|>system\n{{ .System }}<|im_end|>"), "{mf}");
    assert!(mf.contains("PARAMETER stop \"<|im_end|>\""), "{mf}");
    assert!(mf.contains("SYSTEM \"\"\"You are Mags.\"\"\""), "{mf}");
    assert!(out.join("adapter/adapter_model.safetensors").exists());
    // The GGUF runs in Dramatis.
    let g = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["generate", "--model", out.join("model.gguf").to_str().unwrap()])
        .args(["--max-tokens", "4", "--temperature", "0", "--json", "Hi"])
        .output()
        .unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
}

/// The real model: re-exported as Q8_0 GGUF it still answers.
#[test]
fn smollm2_round_trips_through_gguf() {
    use dramatis::model::{ChatMessage, ChatModel, GenerateOptions};
    let src = common::repo().join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let m = Model::load_gguf(&src, &dense()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smollm2-q8_0.gguf");
    export::write_gguf(&m, &path, GgmlDType::Q8_0).unwrap();
    let meta = dramatis::model::Gguf::open(&path).unwrap();
    assert_eq!(meta.get("tokenizer.ggml.pre").and_then(|v| v.as_str()), Some("smollm"));
    let mut chat = ChatModel::new(Model::load_gguf(&path, &LoadOptions::default()).unwrap());
    let opts = GenerateOptions {
        temperature: 0.0,
        max_tokens: 16,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let g = chat
        .generate(
            &[ChatMessage::new("user", "What is the capital of Germany?")],
            &opts,
            &Default::default(),
            |_| {},
        )
        .unwrap();
    assert!(g.text.contains("Berlin"), "{}", g.text);
}
