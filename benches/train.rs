//! LoRA training speed on SmolLM2-135M (r=8 on all seven projections, batch
//! 4 × 256 tokens, f32 on the CPU), side by side with PyTorch + transformers +
//! PEFT doing the same work (benches/reference/peft_train_speed.py, when a
//! Python with torch/peft is found), and against this machine's f32 GEMM peak.
//!
//! Run: cargo bench --bench train [-- --steps N --batch B --seq L --threads T --busy --rounds R]
//! Python: $DRAMATIS_REF_PYTHON, else ../venv-ref/bin/python (scripts/make-fixtures.sh makes it).

mod common;

use candle_core::{Device, Tensor};
use common::{arg, python, smollm2};
use dramatis::model::transformer::{Checkpoints, Pass};
use dramatis::model::{LoadOptions, Model, QuantPolicy};
use dramatis::tune::{self, data::Example, optim::AdamW, TrainConfig};
use std::time::Instant;

/// Best f32 GEMM rate (GFLOP/s) of candle on this machine at 1024³.
fn gemm_peak() -> f64 {
    let n = 1024;
    let a = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu).unwrap();
    let b = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu).unwrap();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let c = a.matmul(&b).unwrap();
        let _ = c.sum_all().unwrap().to_scalar::<f32>().unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

fn main() {
    let steps = arg("--steps", 4);
    let batch = arg("--batch", 4);
    let seq = arg("--seq", 256);
    let threads = arg("--threads", std::thread::available_parallelism().map_or(2, |n| n.get()));
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    dramatis::jobs::init_runtime();
    common::print_devices();
    let gguf = smollm2();
    let opts = LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    };
    let mut model = Model::load_gguf(&gguf, &opts).unwrap();
    let cfg = TrainConfig {
        rank: 8,
        alpha: 16.0,
        ..TrainConfig::default()
    };
    let vars = tune::init_lora(&mut model, &cfg).unwrap();
    let mut opt = AdamW::new(vars, 0.0).unwrap();
    // Fixed pseudo-random tokens; every position counts in the loss.
    let mut rng = dramatis::random::Rng::new(7);
    let vocab = model.net.cfg.vocab_size as u64;
    let examples: Vec<Example> = (0..batch)
        .map(|_| {
            let ids: Vec<u32> = (0..seq).map(|_| (rng.next_u64() % vocab) as u32).collect();
            let mut targets: Vec<u32> = ids[1..].to_vec();
            targets.push(tune::data::IGNORE);
            Example { ids, targets }
        })
        .collect();
    let refs: Vec<&Example> = examples.iter().collect();
    // Activation checkpointing as training decides it.
    let run_cfg = TrainConfig {
        batch_size: batch,
        ..cfg.clone()
    };
    let ck_blocks = tune::memory::plan(&model, &run_cfg, seq).checkpointed;
    println!(
        "activation checkpointing: {ck_blocks} of {} blocks (DRAMATIS_CHECKPOINT=all/off forces it)",
        model.net.cfg.num_layers
    );
    let ck = Checkpoints::default().first(ck_blocks);
    let pass = Pass {
        grad: true,
        checkpoint: (ck_blocks > 0).then_some(&ck),
        ..Default::default()
    };
    // Seconds per step (after one warm-up step), and its forward and backward parts.
    let mut measure = |steps: usize| -> (f64, f64, f64) {
        let (mut total, mut fwd, mut bwd) = (0.0, 0.0, 0.0);
        for s in 0..=steps {
            let t = Instant::now();
            let (loss, _) = tune::batch_loss(&model, &refs, pass).unwrap();
            let _ = loss.to_scalar::<f32>().unwrap();
            let tf = t.elapsed().as_secs_f64();
            let mut grads = loss.backward().unwrap();
            ck.merge_into(&mut grads).unwrap();
            let tb = t.elapsed().as_secs_f64() - tf;
            let g: Vec<Option<Tensor>> = opt
                .slots
                .iter()
                .map(|s| grads.get(s.var.as_tensor()).cloned())
                .collect();
            opt.step(&g, 1e-4, 1.0).unwrap();
            if s > 0 {
                total += t.elapsed().as_secs_f64();
                fwd += tf;
                bwd += tb;
            }
        }
        let n = steps.max(1) as f64;
        (total / n, fwd / n, bwd / n)
    };
    let peak_before = gemm_peak();
    let tokens = (batch * seq) as f64;
    let c = &model.net.cfg;
    // Frozen base: forward 2·P·T, backward 2·P·T (input gradients only); LoRA and attention extra.
    let p_layers = (c.num_layers
        * (c.hidden_size * (c.num_heads + 2 * c.num_kv_heads) * c.head_dim
            + c.num_heads * c.head_dim * c.hidden_size
            + 3 * c.hidden_size * c.intermediate_size)) as f64;
    let p_head = (c.vocab_size * c.hidden_size) as f64;
    // Attention per token, forward: q·kᵀ and p·v over the seq/2 keys a token
    // sees on average (causal: the masked half is not useful work).
    let attn = (2 * c.num_layers * seq * c.num_heads * c.head_dim) as f64;
    let flops_per_token = 4.0 * (p_layers + p_head) + 2.0 * attn;
    // --rounds N: N rounds of (Dramatis, then PyTorch), so that both sides
    // see the same phases of a machine whose speed drifts; the medians and
    // the median of the rounds' ratios are printed at the end.
    let rounds = arg("--rounds", 1).max(1);
    let py = python();
    let (mut ours, mut refs_tps, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        if rounds > 1 {
            println!("round {round} of {rounds}");
        }
        let (per_step, fwd, bwd) = measure(steps);
        eprintln!(
            "  per step: forward {fwd:.2} s, backward {bwd:.2} s, optimizer {:.2} s",
            per_step - fwd - bwd
        );
        let tps = tokens / per_step;
        ours.push(tps);
        let achieved = flops_per_token * tps / 1e9;
        let mem = tune::peak_memory_mib().unwrap_or(0.0);
        // The machine's speed drifts: the better of a measure before and after the steps.
        let peak = gemm_peak().max(peak_before);
        println!(
            "dramatis      : {tps:8.1} tokens/s  {per_step:6.2} s/step  peak RSS {mem:6.0} MiB  ({achieved:.1} GFLOP/s = {:.0}% of f32 GEMM peak {peak:.1} GFLOP/s), batch {batch}×{seq}, r=8 on 7 projections, {threads} threads",
            100.0 * achieved / peak
        );
        if round == 1 && std::env::args().any(|a| a == "--busy") {
            // --busy: the same steps again beside a program that keeps one core busy.
            let mut hog = std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh");
            std::thread::sleep(std::time::Duration::from_millis(300));
            let (busy_step, _, _) = measure(steps.min(3));
            let _ = hog.kill();
            let _ = hog.wait();
            let busy_tps = tokens / busy_step;
            println!(
                "  the same, one core busy elsewhere: {busy_tps:8.1} tokens/s ({:.0}% of idle; target ≥ 40%)",
                100.0 * busy_tps / tps
            );
        }
        let Some(py) = &py else {
            if round == 1 {
                println!("pytorch+peft  : not run (no Python with torch and peft; set DRAMATIS_REF_PYTHON or run scripts/make-fixtures.sh)");
            }
            continue;
        };
        if let Some(ref_tps) = reference(py, &gguf, batch, seq, steps, threads) {
            refs_tps.push(ref_tps);
            ratios.push(tps / ref_tps);
            println!("ratio         : {:.2}× PyTorch + PEFT (target ≥ 1.5×)", tps / ref_tps);
        }
    }
    if rounds > 1 {
        let (lo, hi) = (
            ratios.iter().cloned().fold(f64::INFINITY, f64::min),
            ratios.iter().cloned().fold(0.0, f64::max),
        );
        println!(
            "median of {rounds} rounds: dramatis {:.1} tokens/s, pytorch+peft {:.1} tokens/s, ratio {:.2}× (rounds {lo:.2}–{hi:.2}×; target ≥ 1.5×)",
            median(&mut ours),
            median(&mut refs_tps),
            median(&mut ratios),
        );
    }
}

/// The middle value (the mean of the two middle ones for an even count); NaN when empty.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One run of benches/reference/peft_train_speed.py: prints its line and
/// returns its tokens/s, or prints why it failed.
fn reference(
    py: &std::path::Path,
    gguf: &std::path::Path,
    batch: usize,
    seq: usize,
    steps: usize,
    threads: usize,
) -> Option<f64> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/peft_train_speed.py");
    let mut cmd = std::process::Command::new(py);
    common::same_path_for_reference(&mut cmd);
    let out = cmd
        .arg(&script)
        .args(["--batch", &batch.to_string(), "--seq", &seq.to_string()])
        .args([
            "--steps",
            &steps.to_string(),
            "--threads",
            &threads.to_string(),
            "--json",
        ])
        .arg("--model")
        .arg(gguf)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let ref_tps = v["tokens_per_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "pytorch+peft  : {ref_tps:8.1} tokens/s  {:6.2} s/step  peak RSS {:6.0} MiB  (torch {}, peft {})",
                v["seconds_per_step"].as_f64().unwrap_or(f64::NAN),
                v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
                v["torch"].as_str().unwrap_or("?"),
                v["peft"].as_str().unwrap_or("?"),
            );
            Some(ref_tps)
        }
        Ok(o) => {
            println!(
                "pytorch+peft  : failed: {}",
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("pytorch+peft  : could not start {}: {e}", py.display());
            None
        }
    }
}
