//! LoRA training: it learns, every adapter weight gets a gradient, a
//! cancelled or killed run resumes to the same adapter, early stopping keeps
//! the best checkpoint, and SmolLM2 improves on the sample persona.

mod common;

use candle_core::Tensor;
use dramatis::dataset::Sample;
use dramatis::jobs::{CancelToken, Event, Job};
use dramatis::model::transformer::Pass;
use dramatis::model::{LoadOptions, Model, QuantPolicy};
use dramatis::tune::{self, TrainConfig, TrainEvent};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn tiny() -> Model {
    let dir = common::repo().join("tests/fixtures/models/tiny-llama");
    let opts = LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    };
    Model::load_folder(&dir, &opts).unwrap()
}

fn sample(q: &str, a: &str) -> Sample {
    Sample {
        system: "Be Mags.".into(),
        instruction: q.into(),
        output: a.into(),
        ..Default::default()
    }
}

fn small_set() -> Vec<Sample> {
    vec![
        sample("Tea?", "Always."),
        sample("Storm coming?", "Glass is falling."),
        sample("Who are you?", "The keeper."),
        sample("Lonely?", "Never with the lamp."),
        sample("Where is Tom?", "At sea."),
        sample("Cold?", "Put the kettle on."),
    ]
}

fn config(steps: usize) -> TrainConfig {
    TrainConfig {
        rank: 4,
        alpha: 8.0,
        lr: 1e-2,
        max_steps: Some(steps),
        batch_size: 2,
        grad_accum: 1,
        max_len: 128,
        warmup_ratio: 0.0,
        eval_every: 0,
        save_every: 0,
        patience: 0,
        ..TrainConfig::default()
    }
}

fn run_with(
    model: &mut Model,
    cfg: TrainConfig,
    train: &[Sample],
    val: &[Sample],
    out: &Path,
    job: &Job,
) -> dramatis::Result<tune::TrainSummary> {
    let (t, skipped) = tune::prepare(model, train, cfg.max_len).unwrap();
    let (v, _) = tune::prepare(model, val, cfg.max_len).unwrap();
    assert_eq!(skipped, 0);
    let mut r = tune::Run {
        model,
        cfg,
        train: t,
        val: v,
        skipped,
        out: out.into(),
        base_name: Some("tiny-llama".into()),
    };
    r.train(job)
}

#[test]
fn training_fits_a_small_set() {
    let mut m = tiny();
    let out = tempfile::tempdir().unwrap();
    let s = run_with(&mut m, config(60), &small_set(), &[], out.path(), &Job::silent()).unwrap();
    let (first, last) = (s.train_loss_first.unwrap(), s.train_loss_last.unwrap());
    assert!(last < 0.25 * first, "loss {first} → {last}");
    // The PEFT files and the metrics are written.
    assert!(out.path().join("adapter_model.safetensors").exists());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!((cfg["r"].as_u64(), cfg["peft_type"].as_str()), (Some(4), Some("LORA")));
    let metrics = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap();
    let steps = metrics.lines().filter(|l| l.contains("\"type\":\"step\"")).count();
    assert_eq!(steps, 60);
    // The trained adapter loads on a fresh base and reproduces the replies.
    let mut fresh = tiny();
    dramatis::model::adapter::load_peft(out.path(), &mut fresh.net).unwrap();
    let mut chat = dramatis::model::ChatModel::new(fresh);
    let opts = dramatis::model::GenerateOptions {
        temperature: 0.0,
        max_tokens: 20,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let msgs = [
        dramatis::model::ChatMessage::new("system", "Be Mags."),
        dramatis::model::ChatMessage::new("user", "Storm coming?"),
    ];
    let g = chat.generate(&msgs, &opts, &CancelToken::new(), |_| {}).unwrap();
    assert_eq!(g.text, "Glass is falling.");
    assert_eq!(g.stop, "eos", "it learned to end its turn");
}

#[test]
fn every_lora_weight_receives_a_gradient() {
    let mut m = tiny();
    let out = tempfile::tempdir().unwrap();
    // One step makes B non-zero, so A's gradient is non-zero from then on.
    run_with(&mut m, config(1), &small_set(), &[], out.path(), &Job::silent()).unwrap();
    let (ex, _) = tune::prepare(&m, &small_set(), 128).unwrap();
    let batch: Vec<_> = ex.iter().collect();
    let pass = Pass {
        grad: true,
        ..Default::default()
    };
    let (loss, _) = tune::batch_loss(&m, &batch, pass).unwrap();
    let grads = loss.backward().unwrap();
    let mut n = 0;
    for (layer, target, lin) in m.net.linears() {
        let l = lin.lora.as_ref().expect("all seven projections carry an adapter");
        for (which, v) in [("A", &l.a), ("B", &l.b)] {
            let g = grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {layer} {target} {which}"));
            let norm: f32 = g.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
            assert!(norm > 0.0, "zero gradient for {layer} {target} {which}");
            n += 1;
        }
    }
    assert_eq!(n, 2 * 7 * 2);
}

/// Activation checkpointing (blocks computed again in the backward pass)
/// gives the same loss and the same gradient on every adapter weight.
#[test]
fn checkpointed_blocks_give_the_same_gradients() {
    checkpointing_matches(false, usize::MAX);
}

/// With LoRA dropout the recomputed blocks draw the forward pass's masks
/// again; here only the first of the two blocks is checkpointed (the other
/// keeps its activations and takes its masks from the pass).
#[test]
fn checkpointed_blocks_with_dropout_give_the_same_gradients() {
    checkpointing_matches(true, 1);
}

/// A dropout mask that depends only on where it is drawn (like training's).
fn fixed_mask(layer: usize, target: &str, x: &Tensor) -> candle_core::Result<Option<Tensor>> {
    let n = x.elem_count();
    let v: Vec<f32> = (0..n)
        .map(|j| {
            if (j * 7 + layer * 3 + target.len()).is_multiple_of(5) {
                0.0
            } else {
                1.25
            }
        })
        .collect();
    Ok(Some(Tensor::from_vec(v, x.shape(), x.device())?))
}

fn checkpointing_matches(dropout: bool, blocks: usize) {
    use dramatis::model::transformer::Checkpoints;
    let mut m = tiny();
    let out = tempfile::tempdir().unwrap();
    run_with(&mut m, config(1), &small_set(), &[], out.path(), &Job::silent()).unwrap();
    let (ex, _) = tune::prepare(&m, &small_set(), 128).unwrap();
    let batch: Vec<_> = ex.iter().collect();
    let plain = Pass {
        grad: true,
        dropout: if dropout { Some(&fixed_mask) } else { None },
        ..Default::default()
    };
    let (loss, _) = tune::batch_loss(&m, &batch, plain).unwrap();
    let want = loss.backward().unwrap();
    let ck = if dropout {
        Checkpoints::with_dropout(Arc::new(fixed_mask))
    } else {
        Checkpoints::default()
    }
    .first(blocks);
    let pass = Pass {
        grad: true,
        dropout: if dropout { Some(&fixed_mask) } else { None },
        checkpoint: Some(&ck),
    };
    let (loss2, _) = tune::batch_loss(&m, &batch, pass).unwrap();
    let mut got = loss2.backward().unwrap();
    // Before the merge the adapter has no gradient at all: it comes from the
    // recomputed blocks.
    let (_, _, first) = m.net.linears().next().unwrap();
    assert!(got.get(first.lora.as_ref().unwrap().a.as_tensor()).is_none());
    ck.merge_into(&mut got).unwrap();
    let l1: f32 = loss.to_scalar().unwrap();
    let l2: f32 = loss2.to_scalar().unwrap();
    assert!((l1 - l2).abs() <= 1e-6 * l1.abs(), "{l1} vs {l2}");
    let mut n = 0;
    for (layer, target, lin) in m.net.linears() {
        let l = lin.lora.as_ref().unwrap();
        for (which, v) in [("A", &l.a), ("B", &l.b)] {
            let (a, b) = (want.get(v.as_tensor()).unwrap(), got.get(v.as_tensor()).unwrap());
            let diff: f32 = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
            let scale: f32 = a.abs().unwrap().max_all().unwrap().to_scalar().unwrap();
            assert!(
                diff <= 1e-5 * scale.max(1e-12),
                "{layer} {target} {which}: {diff} (max {scale})"
            );
            n += 1;
        }
    }
    assert_eq!(n, 2 * 7 * 2);
}

fn read_adapter(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("adapter_model.safetensors")).unwrap()
}

#[test]
fn a_cancelled_run_resumes_to_the_same_adapter() {
    let mut cfg = config(12);
    cfg.save_every = 4;
    cfg.dropout = 0.1; // masks must be drawn the same after resuming
    let straight = tempfile::tempdir().unwrap();
    run_with(
        &mut tiny(),
        cfg.clone(),
        &small_set(),
        &[],
        straight.path(),
        &Job::silent(),
    )
    .unwrap();

    let out = tempfile::tempdir().unwrap();
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let job = Job::new(
        Arc::new(move |e: &Event| {
            if let Event::Progress(p) = e {
                if p.stage == "train" && p.done == 6 {
                    c.cancel();
                }
            }
        }),
        cancel,
    );
    let e = run_with(&mut tiny(), cfg.clone(), &small_set(), &[], out.path(), &job).unwrap_err();
    assert_eq!(e.kind(), "cancelled");
    let latest = std::fs::read_to_string(out.path().join("checkpoints/latest")).unwrap();
    assert_eq!(latest, "step-6", "cancelling saves a checkpoint");
    // A fresh process would start from a fresh model: so does this.
    let s = run_with(&mut tiny(), cfg, &small_set(), &[], out.path(), &Job::silent()).unwrap();
    assert_eq!(s.steps, 12);
    assert_eq!(
        read_adapter(out.path()),
        read_adapter(straight.path()),
        "same adapter, byte for byte"
    );
    let metrics = std::fs::read_to_string(out.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "step")
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=12).collect::<Vec<_>>(), "each step once in the metrics");
}

#[test]
fn early_stopping_keeps_the_best_adapter() {
    // Train on one set of replies, validate on different replies to the same
    // questions: memorising the training replies makes validation worse.
    let train: Vec<Sample> = small_set();
    let val: Vec<Sample> = vec![
        sample("Tea?", "No thank you, I had coffee."),
        sample("Storm coming?", "The sky is clear all week."),
        sample("Who are you?", "A visitor from the mainland."),
    ];
    let mut cfg = config(200);
    cfg.eval_every = 5;
    cfg.patience = 2;
    cfg.lr = 2e-2;
    let out = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut m = tiny();
    let (t, _) = tune::prepare(&m, &train, 128).unwrap();
    let (v, _) = tune::prepare(&m, &val, 128).unwrap();
    let mut r = tune::Run {
        model: &mut m,
        cfg,
        train: t,
        val: v,
        skipped: 0,
        out: out.path().into(),
        base_name: None,
    };
    let ev = events.clone();
    let job = Job::new(
        Arc::new(move |e: &Event| {
            if let Event::Train(t) = e {
                ev.lock().unwrap().push(t.clone());
            }
        }),
        CancelToken::new(),
    );
    let s = r.train(&job).unwrap();
    assert!(s.stopped_early, "validation loss kept improving: {:?}", s);
    assert!(s.steps < 200);
    let events = events.lock().unwrap();
    let evals: Vec<(usize, f64)> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Eval { step, val_loss, .. } => Some((*step, *val_loss)),
            _ => None,
        })
        .collect();
    let best = evals
        .iter()
        .cloned()
        .fold((0, f64::INFINITY), |b, e| if e.1 < b.1 { e } else { b });
    assert_eq!(Some(best.0), s.best_step);
    assert!(evals.last().unwrap().1 > best.1, "the curve turned up: {evals:?}");
    // The adapter of the run is the best one, not the last.
    assert_eq!(read_adapter(out.path()), read_adapter(&out.path().join("best")));
    assert!(events.iter().any(|e| matches!(e, TrainEvent::EarlyStop { .. })));
}

fn write_dataset(dir: &Path, samples: &[Sample]) -> PathBuf {
    let p = dir.join("tiny_train.json");
    std::fs::write(&p, serde_json::to_string(samples).unwrap()).unwrap();
    p
}

fn cli(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"));
    c.args(args);
    c
}

/// `kill -9` in the middle of a run, then `train --resume`: the same adapter
/// as a run that was never interrupted.
#[test]
fn a_killed_run_resumes_to_the_same_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let model = common::repo().join("tests/fixtures/models/tiny-llama");
    let args = |out: &Path| -> Vec<String> {
        [
            "train",
            "--model",
            model.to_str().unwrap(),
            "--dataset",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--max-steps",
            "400",
            "--save-every",
            "5",
            "--rank",
            "4",
            "--batch-size",
            "2",
            "--grad-accum",
            "1",
            "--lr",
            "0.005",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let straight = dir.path().join("straight");
    let st = cli(&[]).args(args(&straight)).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));

    let out = dir.path().join("killed");
    let mut child = cli(&[])
        .args(args(&out))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let latest = out.join("checkpoints/latest");
    let t0 = std::time::Instant::now();
    while !latest.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at = std::fs::read_to_string(&latest).unwrap();
    assert!(
        !out.join("adapter_model.safetensors").exists(),
        "the run was killed before it finished (checkpoint {at})"
    );
    let resumed = cli(&["train", "--resume", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(text.contains("\"resumed_from\":"), "{text}");
    assert!(!text.contains("\"resumed_from\":null"), "{text}");
    assert_eq!(read_adapter(&out), read_adapter(&straight));
}

/// The real model on the bundled persona: a few steps lower the validation loss.
#[test]
fn smollm2_learns_the_sample_persona() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(&["demo", "--out", dir.path().join("demo").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let data = dir.path().join("demo/lighthouse/mags_train.json");
    let gguf = common::repo().join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let out = dir.path().join("run");
    let o = cli(&[
        "train",
        "--model",
        gguf.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--preset",
        "quick",
        "--max-steps",
        "12",
        "--batch-size",
        "2",
        "--max-len",
        "192",
        "--lr",
        "2e-3",
        "--eval-every",
        "12",
        "--max-val",
        "12",
        "--json",
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let (first, last) = (
        summary["val_loss_first"].as_f64().unwrap(),
        summary["val_loss_last"].as_f64().unwrap(),
    );
    assert!(last < first - 0.05, "validation loss {first} → {last}");
    assert_eq!(summary["steps"], 12);
    // The adapter answers through the CLI.
    let g = cli(&[
        "generate",
        "--model",
        gguf.to_str().unwrap(),
        "--adapter",
        out.to_str().unwrap(),
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--json",
        "Tea?",
    ])
    .output()
    .unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
}

/// Issue 15's memory target: the Balanced preset (4 × 512, every projection)
/// on SmolLM2-135M and the bundled persona trains in a process whose address
/// space is capped at 3 GiB (`prlimit --as`), and reports a peak under it.
/// Without activation checkpointing the same run peaks at about 2.6 GB
/// (measured 2564 MiB; with the 5 checkpointed blocks its plan picks, 2347).
#[test]
fn the_balanced_preset_trains_in_3_gib() {
    let dir = tempfile::tempdir().unwrap();
    let demo = cli(&["demo", "--out", dir.path().join("demo").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let data = dir.path().join("demo/lighthouse/mags_train.json");
    let gguf = common::repo().join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let out = dir.path().join("run");
    let limit = 3u64 << 30;
    let o = std::process::Command::new("prlimit")
        .arg(format!("--as={limit}"))
        .arg(env!("CARGO_BIN_EXE_dramatis"))
        .args(["train", "--model", gguf.to_str().unwrap(), "--dataset"])
        .args([data.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args([
            "--preset",
            "balanced",
            "--max-steps",
            "1",
            "--eval-every",
            "1",
            "--max-val",
            "4",
            "--json",
        ])
        .env_remove("DRAMATIS_CHECKPOINT")
        .output()
        .expect("prlimit (util-linux) runs the CLI under a memory limit");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["steps"], 1, "{text}");
    let peak = summary["peak_memory_mib"].as_f64().unwrap();
    assert!(peak > 500.0 && peak < (limit >> 20) as f64, "peak {peak} MiB");
    // The Balanced preset really ran: batch 4, sequences up to 512 tokens.
    let state = std::fs::read_to_string(out.join("checkpoints/step-1/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let cfg = &state["config"];
    assert_eq!(
        (cfg["batch_size"].as_u64(), cfg["max_len"].as_u64()),
        (Some(4), Some(512)),
        "{cfg}"
    );
    assert_eq!(cfg["targets"].as_array().map(Vec::len), Some(7), "{cfg}");
}

/// `train` then `eval` from the CLI: the report puts the adapter beside the
/// base model, and the run folder gets its loss curve.
#[test]
fn eval_reports_the_adapter_beside_the_base_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let model = common::repo().join("tests/fixtures/models/tiny-llama");
    let out = dir.path().join("run");
    let t = cli(&[
        "train",
        "--model",
        model.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
    ])
    .args([
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "40",
        "--rank",
        "4",
        "--lr",
        "0.01",
    ])
    .args(["--batch-size", "2", "--grad-accum", "1", "--json"])
    .output()
    .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let png = std::fs::read(out.join("loss_curve.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let e = cli(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--adapter",
        out.to_str().unwrap(),
    ])
    .args([
        "--dataset",
        data.to_str().unwrap(),
        "--max-tokens",
        "12",
        "--general",
        "4",
        "--json",
    ])
    .output()
    .unwrap();
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let v: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    let r = &v["report"];
    let (base, adapted) = (&r["base"], &r["adapter"]);
    assert!(
        adapted["perplexity"].as_f64().unwrap() < base["perplexity"].as_f64().unwrap() / 2.0,
        "{r}"
    );
    assert!(
        adapted["bleu"].as_f64().unwrap() > base["bleu"].as_f64().unwrap(),
        "{r}"
    );
    assert!(base["general_perplexity"].as_f64().is_some());
    assert!(out.join("eval_report.json").exists());
}

/// QLoRA: the frozen base kept as Q8_0 blocks still trains, in less memory.
#[test]
fn qlora_on_a_quantized_base_learns() {
    use candle_core::quantized::GgmlDType;
    let dir = common::repo().join("tests/fixtures/models/tiny-llama");
    let opts = LoadOptions {
        policy: QuantPolicy::To(GgmlDType::Q8_0),
        ..Default::default()
    };
    let mut q = Model::load_folder(&dir, &opts).unwrap();
    let dense_bytes = tiny().net.weight_bytes();
    let out = tempfile::tempdir().unwrap();
    let s = run_with(&mut q, config(40), &small_set(), &[], out.path(), &Job::silent()).unwrap();
    assert!(s.train_loss_last.unwrap() < 0.5 * s.train_loss_first.unwrap(), "{s:?}");
    // Projections as Q8_0 blocks: about a quarter of f32 (embeddings stay dense).
    let proj = |m: &Model| m.net.linears().map(|(_, _, l)| l.weight.bytes()).sum::<usize>();
    assert!(proj(&q) * 3 < proj(&tiny()), "{} vs {}", proj(&q), proj(&tiny()));
    assert!(q.net.weight_bytes() < dense_bytes);
}

/// Adapters swap on one loaded base model; without one it is the base again.
#[test]
fn adapters_hot_swap_on_one_base() {
    use dramatis::model::{ChatMessage, ChatModel, GenerateOptions};
    let lora = common::repo().join("tests/fixtures/models/tiny-llama/lora");
    let opts = GenerateOptions {
        temperature: 0.0,
        max_tokens: 10,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let msgs = [ChatMessage::new("user", "Hello there")];
    let mut chat = ChatModel::new(tiny());
    let base = chat.generate(&msgs, &opts, &CancelToken::new(), |_| {}).unwrap();
    chat.set_adapter(Some(&lora)).unwrap();
    let adapted = chat.generate(&msgs, &opts, &CancelToken::new(), |_| {}).unwrap();
    assert_ne!(base.token_ids, adapted.token_ids);
    chat.set_adapter(None).unwrap();
    let again = chat.generate(&msgs, &opts, &CancelToken::new(), |_| {}).unwrap();
    assert_eq!(again.token_ids, base.token_ids);
}

#[test]
fn presets_come_with_measured_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let model = common::repo().join("tests/fixtures/models/tiny-llama");
    let o = cli(&[
        "train",
        "--model",
        model.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
    ])
    .args(["--estimate", "--json"])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Quick taste", "Balanced", "Deep"]);
    for e in v.as_array().unwrap() {
        assert!(e["seconds_per_step"].as_f64().unwrap() > 0.0);
        assert!(e["estimated_seconds"].as_f64().unwrap() >= e["seconds_per_step"].as_f64().unwrap());
        assert!(e["total_steps"].as_u64().unwrap() >= 1);
        assert!(e["peak_memory_mib"].as_f64().unwrap() > 0.0);
    }
}

/// `train --save` keeps the model, the run and the adapter in the library.
#[test]
fn a_saved_run_is_in_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let db = dir.path().join("lib.sqlite");
    let out = dir.path().join("run");
    let model = common::repo().join("tests/fixtures/models/tiny-llama");
    let o = cli(&[
        "train",
        "--model",
        model.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
    ])
    .args([
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "3",
        "--save",
        "--db",
        db.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = dramatis::store::Library::open(&db).unwrap();
    let models = lib.models().unwrap();
    assert_eq!(
        (models.len(), models[0].architecture.as_str(), models[0].kind.as_str()),
        (1, "llama", "folder")
    );
    let runs = lib.runs().unwrap();
    assert_eq!(runs[0].status, "finished");
    assert!(runs[0].started_at.is_some() && runs[0].finished_at.is_some());
    let metrics: serde_json::Value = serde_json::from_str(&runs[0].metrics).unwrap();
    assert_eq!(metrics["steps"], 3);
    let params: serde_json::Value = serde_json::from_str(&runs[0].params).unwrap();
    assert_eq!(params["max_steps"], 3);
    let adapters = lib.adapters().unwrap();
    assert_eq!(adapters.len(), 1);
    assert_eq!(adapters[0].run_id, Some(runs[0].id));
}

/// The one engine call both faces use: a request in, events through the job,
/// the run recorded in the library, an outcome out.
#[test]
fn the_train_action_streams_events_and_records_the_run() {
    use dramatis::pipeline::train::{self as action, LibraryTarget, TrainRequest, TrainSettings};
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let job = Job::new(
        Arc::new(move |e: &Event| ev.lock().unwrap().push(serde_json::to_value(e).unwrap())),
        CancelToken::new(),
    );
    let req = TrainRequest {
        model: common::repo()
            .join("tests/fixtures/models/tiny-llama")
            .display()
            .to_string(),
        dataset: data,
        val: None,
        out: dir.path().join("run"),
        preset: tune::Preset::Quick,
        settings: TrainSettings {
            max_steps: Some(4),
            batch_size: Some(2),
            ..Default::default()
        },
        quantize: None,
        device: "cpu".into(),
        record: Some(LibraryTarget {
            library: dir.path().join("lib.sqlite"),
            persona: None,
        }),
    };
    let o = action::train(&req, &job).unwrap();
    assert_eq!(o.summary.steps, 4);
    let events = events.lock().unwrap();
    let steps = events
        .iter()
        .filter(|e| e["event"] == "train" && e["type"] == "step")
        .count();
    assert_eq!(steps, 4, "{events:?}");
    assert!(events.iter().any(|e| e["event"] == "progress" && e["stage"] == "train"));
    let lib = dramatis::store::Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let runs = lib.runs().unwrap();
    assert_eq!(
        (runs.len(), runs[0].status.as_str(), o.run_id),
        (1, "finished", Some(runs[0].id))
    );
}

/// A CUDA job on a computer (or a build) without CUDA: it runs on the CPU
/// and says so in plain words, instead of failing.
#[test]
fn a_cuda_request_without_a_gpu_trains_on_the_cpu_and_says_why() {
    if dramatis::model::open_gpu("cuda", 0).is_ok() {
        return; // a working GPU here: nothing falls back
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), &small_set());
    let model = common::repo().join("tests/fixtures/models/tiny-llama");
    let out = dir.path().join("run");
    let o = cli(&[
        "train",
        "--model",
        model.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--device",
        "cuda",
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("NVIDIA GPU (cuda) could not be used") && err.contains("runs on the CPU instead"),
        "{err}"
    );
    assert!(err.contains("steps on") && err.contains("on cpu"), "{err}");
    assert!(out.join("adapter_model.safetensors").exists());
    // A device that does not exist is still an error, not a silent CPU run.
    let bad = cli(&[
        "train",
        "--model",
        model.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--device",
        "cuda:x",
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown device"));
}
