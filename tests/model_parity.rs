//! The transformer against Hugging Face transformers and PEFT.
//!
//! tests/fixtures/models/make_fixtures.py (run by scripts/make-fixtures.sh)
//! made tiny random checkpoints of each family with transformers and stored
//! their logits, PEFT LoRA adapters, and the LoRA gradients of one masked
//! loss. Tolerances: logits agree to 1e-4 absolute (f32, values of order
//! 1–6); the loss to 1e-5 relative; gradients to 1e-4 relative to each
//! tensor's largest entry.

mod common;

use candle_core::{backprop::GradStore, DType, Device, Tensor};
use dramatis::model::adapter;
use dramatis::model::transformer::masked_nll;
use dramatis::model::{KvCache, LoadOptions, Model};
use std::collections::HashMap;
use std::path::PathBuf;

use common::{load_dense as load, max_abs_diff, model_fixture as fixture};

fn reference(path: PathBuf) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(&path, &Device::Cpu).unwrap()
}

fn ids(t: &Tensor) -> Tensor {
    t.to_dtype(DType::U32).unwrap()
}

fn check_family(name: &str) {
    let m = load(name);
    let r = reference(fixture(name).join("reference.safetensors"));
    for case in ["0", "1"] {
        let input = ids(&r[&format!("input_ids_{case}")]);
        let want = &r[&format!("logits_{case}")];
        let got = m.net.forward(&input, None).unwrap();
        let d = max_abs_diff(&got, want);
        eprintln!("{name} case {case}: max logit difference {d:e}");
        assert!(d < 1e-4, "{name} case {case}: logits differ from transformers by {d}");
    }
    // The KV cache gives the same last-token logits as one full pass.
    let input = ids(&r["input_ids_1"]);
    let l = input.dim(1).unwrap();
    let mut cache = KvCache::new();
    m.net
        .forward_last(&input.narrow(1, 0, 5).unwrap(), Some(&mut cache))
        .unwrap();
    let mut last = None;
    for i in 5..l {
        last = Some(
            m.net
                .forward_last(&input.narrow(1, i, 1).unwrap(), Some(&mut cache))
                .unwrap(),
        );
    }
    let want = r["logits_1"].narrow(1, l - 1, 1).unwrap().squeeze(1).unwrap();
    let d = max_abs_diff(&last.unwrap(), &want);
    assert!(d < 1e-4, "{name}: cached decoding differs by {d}");
}

#[test]
fn llama_logits_match_transformers() {
    check_family("tiny-llama");
}

#[test]
fn llama3_rope_scaling_logits_match_transformers() {
    check_family("tiny-llama3");
}

#[test]
fn qwen2_logits_match_transformers() {
    check_family("tiny-qwen2");
}

#[test]
fn qwen3_logits_match_transformers() {
    check_family("tiny-qwen3");
}

/// Loss of the fixture batch: HF's shifted mean cross-entropy over labels ≠ -100.
fn fixture_loss(m: &Model, r: &HashMap<String, Tensor>, fused: bool) -> (Tensor, Tensor) {
    let input = ids(&r["input_ids"]);
    let labels: Vec<Vec<i64>> = r["labels"].to_vec2().unwrap();
    let (b, l) = input.dims2().unwrap();
    let pass = dramatis::model::transformer::Pass {
        grad: true,
        ..Default::default()
    };
    let logits = m.net.forward_with(&input, None, pass).unwrap();
    let shifted = logits.narrow(1, 0, l - 1).unwrap().reshape((b * (l - 1), ())).unwrap();
    let targets: Vec<u32> = labels
        .iter()
        .flat_map(|row| row[1..].iter().map(|&t| if t < 0 { u32::MAX } else { t as u32 }))
        .collect();
    if fused {
        // The trainer's path: hidden states → chunked loss with the frozen head.
        let h = m.net.hidden(&input, None, pass).unwrap();
        let rows = h.narrow(1, 0, l - 1).unwrap().reshape((b * (l - 1), ())).unwrap();
        let keep: Vec<u32> = (0..targets.len() as u32)
            .filter(|&i| targets[i as usize] != u32::MAX)
            .collect();
        let rows = rows
            .index_select(&Tensor::new(keep.as_slice(), &Device::Cpu).unwrap(), 0)
            .unwrap();
        let tg: Vec<u32> = keep.iter().map(|&i| targets[i as usize]).collect();
        let loss = dramatis::tune::fused_nll(&rows, &m.net.lm_head, &tg).unwrap();
        return (loss, logits);
    }
    let (loss, _) = masked_nll(&shifted, &targets, u32::MAX).unwrap();
    (loss, logits)
}

fn check_lora(name: &str) {
    check_lora_with(name, false);
    check_lora_with(name, true);
}

fn check_lora_with(name: &str, fused: bool) {
    let mut m = load(name);
    let dir = fixture(name).join("lora");
    let cfg = adapter::load_peft(&dir, &mut m.net).unwrap();
    assert_eq!(cfg.r, 4);
    let r = reference(dir.join("reference.safetensors"));
    let (loss, logits) = fixture_loss(&m, &r, fused);
    let d = max_abs_diff(&logits, &r["logits"]);
    assert!(d < 1e-4, "{name}: LoRA logits differ from PEFT by {d}");
    let want: f32 = r["loss"].to_vec1::<f32>().unwrap()[0];
    let got: f32 = loss.to_scalar().unwrap();
    assert!(((got - want) / want).abs() < 1e-5, "{name}: loss {got} vs PEFT {want}");
    let grads: GradStore = loss.backward().unwrap();
    let mut checked = 0;
    let mut worst = 0f32;
    for (layer, target, lin) in m.net.linears() {
        let Some(l) = &lin.lora else { continue };
        for (which, var) in [("A", &l.a), ("B", &l.b)] {
            let key = format!("grad.{}", adapter::peft_name(layer, target, which));
            let want = &r[&key];
            let got = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient reached {key}"));
            let scale: f32 = want
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(scale > 0.0, "{key}: the reference gradient is zero");
            let d = max_abs_diff(got, want) / scale;
            worst = worst.max(d);
            assert!(d < 1e-4, "{name} {key}: gradient differs from PEFT by {d} (relative)");
            checked += 1;
        }
    }
    eprintln!("{name}: worst relative gradient difference {worst:e}");
    assert_eq!(checked, 28, "{name}: every LoRA matrix of both layers is compared");
}

#[test]
fn llama_lora_logits_loss_and_gradients_match_peft() {
    check_lora("tiny-llama");
}

#[test]
fn qwen3_lora_logits_loss_and_gradients_match_peft() {
    check_lora("tiny-qwen3");
}

#[test]
fn adapter_round_trips_through_peft_layout() {
    let mut m = load("tiny-llama");
    let cfg = adapter::load_peft(&fixture("tiny-llama/lora"), &mut m.net).unwrap();
    let input = Tensor::new(&[[5u32, 9, 77, 120, 3]], &Device::Cpu).unwrap();
    let before = m.net.forward(&input, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    assert_eq!(adapter::save_peft(out.path(), &m.net, &cfg).unwrap(), 28);
    let mut fresh = load("tiny-llama");
    let plain = fresh.net.forward(&input, None).unwrap();
    assert!(max_abs_diff(&plain, &before) > 1e-3, "the adapter changes the output");
    adapter::load_peft(out.path(), &mut fresh.net).unwrap();
    let after = fresh.net.forward(&input, None).unwrap();
    assert!(max_abs_diff(&after, &before) < 1e-6);
    // Merged into the base weights, the model computes the same function.
    for b in &mut fresh.net.blocks {
        for t in dramatis::model::transformer::TARGETS {
            b.linear_mut(t).unwrap().merge().unwrap();
        }
    }
    let merged = fresh.net.forward(&input, None).unwrap();
    assert!(max_abs_diff(&merged, &before) < 1e-4);
    assert_eq!(fresh.net.clear_lora(), 0, "merging removed the adapters");
}

#[test]
fn bad_model_folders_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions::default();
    let err = |p: &std::path::Path| Model::load_folder(p, &opts).err().expect("must fail").to_string();
    assert!(err(dir.path()).contains("no config.json"), "{}", err(dir.path()));
    let src = fixture("tiny-llama");
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    assert!(err(dir.path()).contains("no model weights"), "{}", err(dir.path()));
    // A truncated weights file.
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let e = err(dir.path());
    assert!(e.contains("damaged or truncated"), "{e}");
    // Weights of another shape than the config says.
    std::fs::write(dir.path().join("model.safetensors"), &bytes).unwrap();
    let cfg = std::fs::read_to_string(src.join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        cfg.replace("\"intermediate_size\": 128", "\"intermediate_size\": 96"),
    )
    .unwrap();
    let e = err(dir.path());
    assert!(e.contains("belong to different models"), "{e}");
    // An architecture Dramatis does not run.
    std::fs::write(
        dir.path().join("config.json"),
        cfg.replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\""),
    )
    .unwrap();
    let e = err(dir.path());
    assert!(e.contains("not supported"), "{e}");
    // No tokenizer.
    std::fs::write(dir.path().join("config.json"), &cfg).unwrap();
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let e = err(dir.path());
    assert!(e.contains("no tokenizer.json"), "{e}");
}

/// A second turn reuses the cached prefix of the first; the reply is the
/// same as from a model that computes everything afresh.
#[test]
fn reused_prefix_gives_the_same_reply_as_a_fresh_model() {
    use dramatis::model::{ChatMessage, ChatModel, GenerateOptions};
    let opts = GenerateOptions {
        max_tokens: 12,
        temperature: 0.0,
        ..Default::default()
    };
    let mut warm = ChatModel::new(load("tiny-qwen2"));
    let mut msgs = vec![
        ChatMessage::new("system", "You are Mags."),
        ChatMessage::new("user", "Hello there"),
    ];
    let first = warm.generate(&msgs, &opts, &Default::default(), |_| {}).unwrap();
    msgs.push(ChatMessage::new("assistant", &first.text));
    msgs.push(ChatMessage::new("user", "大海很宽广。"));
    let second = warm.generate(&msgs, &opts, &Default::default(), |_| {}).unwrap();
    let mut cold = ChatModel::new(load("tiny-qwen2"));
    let fresh = cold.generate(&msgs, &opts, &Default::default(), |_| {}).unwrap();
    assert_eq!(second.token_ids, fresh.token_ids);
    assert_eq!(second.generated_tokens, 12);
}

#[test]
fn generate_cli_runs_a_folder_model_with_an_adapter() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate".to_string(),
            "--model".into(),
            fixture("tiny-llama").to_string_lossy().into_owned(),
            "--temperature".into(),
            "0".into(),
            "--max-tokens".into(),
            "6".into(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("Hello".into());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let plain = run(&[]);
    let lora = fixture("tiny-llama/lora");
    let adapted = run(&["--adapter", lora.to_str().unwrap()]);
    assert_eq!(plain["generated_tokens"], 6);
    assert_ne!(
        plain["token_ids"], adapted["token_ids"],
        "the adapter changes the reply"
    );
    // An adapter for another model is refused with a reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["generate", "--model", fixture("tiny-llama").to_str().unwrap()])
        .args(["--adapter", fixture("tiny-qwen3/lora").to_str().unwrap(), "Hi"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("another model"), "{err}");
}

/// An adapter trained by Dramatis, committed with the logits Dramatis gives
/// with it (tests/fixtures/models/tiny-llama/dramatis-lora). The script
/// tests/fixtures/models/check_dramatis_adapter.py loads it with transformers
/// and PEFT and checks PEFT gives the same logits. Here: Dramatis still reads
/// it and still computes them. `DRAMATIS_WRITE_FIXTURES=1` re-creates it.
#[test]
fn dramatis_adapter_fixture_for_peft() {
    use dramatis::dataset::Sample;
    use dramatis::tune::{self, TrainConfig};
    let dir = fixture("tiny-llama/dramatis-lora");
    let input = Tensor::new(
        &[
            [5u32, 80, 17, 230, 99, 41, 7, 300, 12, 64],
            [1, 150, 33, 8, 270, 92, 18, 5, 61, 2],
        ],
        &Device::Cpu,
    )
    .unwrap();
    if std::env::var_os("DRAMATIS_WRITE_FIXTURES").is_some() {
        let mut m = load("tiny-llama");
        let samples: Vec<Sample> = [
            ("Tea?", "Always."),
            ("Storm coming?", "Glass is falling."),
            ("Who are you?", "The keeper."),
        ]
        .iter()
        .map(|(q, a)| Sample {
            system: "Be Mags.".into(),
            instruction: q.to_string(),
            output: a.to_string(),
            ..Default::default()
        })
        .collect();
        let cfg = TrainConfig {
            rank: 4,
            alpha: 8.0,
            lr: 1e-2,
            max_steps: Some(20),
            batch_size: 3,
            grad_accum: 1,
            max_len: 128,
            eval_every: 0,
            save_every: 0,
            patience: 0,
            ..TrainConfig::default()
        };
        let (t, _) = tune::prepare(&m, &samples, 128).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        tune::Run {
            model: &mut m,
            cfg,
            train: t,
            val: vec![],
            skipped: 0,
            out: tmp.path().into(),
            base_name: Some("tiny-llama".into()),
        }
        .train(&dramatis::jobs::Job::silent())
        .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["adapter_config.json", "adapter_model.safetensors"] {
            std::fs::copy(tmp.path().join(f), dir.join(f)).unwrap();
        }
        let mut fresh = load("tiny-llama");
        adapter::load_peft(&dir, &mut fresh.net).unwrap();
        let logits = fresh.net.forward(&input, None).unwrap();
        let ids = input.to_dtype(DType::I64).unwrap();
        candle_core::safetensors::save(
            &HashMap::from([("input_ids".to_string(), ids), ("logits".to_string(), logits)]),
            dir.join("reference.safetensors"),
        )
        .unwrap();
    }
    let mut m = load("tiny-llama");
    adapter::load_peft(&dir, &mut m.net).unwrap();
    let r = reference(dir.join("reference.safetensors"));
    assert_eq!(
        ids(&r["input_ids"]).to_vec2::<u32>().unwrap(),
        input.to_vec2::<u32>().unwrap()
    );
    let d = max_abs_diff(&m.net.forward(&input, None).unwrap(), &r["logits"]);
    assert!(d < 1e-5, "{d}");
    let plain = load("tiny-llama").net.forward(&input, None).unwrap();
    assert!(max_abs_diff(&plain, &r["logits"]) > 1e-2, "the adapter matters");
}

/// `--temperature 0` is plain greedy: no repetition penalty unless asked for.
#[test]
fn greedy_decoding_is_plain_greedy() {
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
            .args(["generate", "--model", fixture("tiny-llama").to_str().unwrap()])
            // One thread: the same sums in the same order on every run.
            .args(["--temperature", "0", "--max-tokens", "32", "--threads", "1", "--json"])
            .args(extra)
            .arg("Hello there")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["token_ids"].clone()
    };
    let greedy = run(&[]);
    assert_eq!(greedy, run(&["--repeat-penalty", "1"]));
    assert_ne!(
        greedy,
        run(&["--repeat-penalty", "3"]),
        "the penalty must matter when asked for"
    );
}
