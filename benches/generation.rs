//! Chat generation speed on the SmolLM2 GGUF: prompt processing and decode
//! tokens/s for Dramatis, and in the same run for llama.cpp (llama-cpp-python)
//! at the same file, prompt, token count and threads, and for Hugging Face
//! transformers in f32; then the ratios.
//!
//! Run: cargo bench --bench generation [-- --n-predict N --threads T --busy --prompt-file P]
//! Python: $DRAMATIS_REF_PYTHON, else ../venv-ref/bin/python
//! (pip install llama-cpp-python transformers torch gguf; see benches/reference/README.md).

mod common;

use candle_core::Tensor;
use common::{arg, python, smollm2};
use dramatis::model::{KvCache, LoadOptions, Model, QuantPolicy};
use std::path::Path;
use std::time::Instant;

/// Best prefill and decode tokens/s over `repeat` runs (greedy, EOS ignored).
fn dramatis(model: &Model, prompt: &[u32], n: usize, repeat: usize) -> (f64, f64) {
    let (mut best_p, mut best_d) = (0f64, 0f64);
    for _ in 0..repeat {
        let mut cache = KvCache::new();
        let t = Instant::now();
        let input = Tensor::new(prompt, &model.net.device).unwrap().unsqueeze(0).unwrap();
        let logits = model.net.forward_last(&input, Some(&mut cache)).unwrap();
        let mut next = logits
            .squeeze(0)
            .unwrap()
            .argmax(0)
            .unwrap()
            .to_scalar::<u32>()
            .unwrap();
        best_p = best_p.max(prompt.len() as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..n {
            let input = Tensor::new(&[next], &model.net.device).unwrap().unsqueeze(0).unwrap();
            let logits = model.net.forward_last(&input, Some(&mut cache)).unwrap();
            next = logits
                .squeeze(0)
                .unwrap()
                .argmax(0)
                .unwrap()
                .to_scalar::<u32>()
                .unwrap();
        }
        best_d = best_d.max(n as f64 / t.elapsed().as_secs_f64());
    }
    (best_p, best_d)
}

fn reference(
    py: &Path,
    script: &str,
    gguf: &Path,
    prompt_file: &Path,
    threads: usize,
    n: usize,
) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = std::process::Command::new(py);
    common::same_path_for_reference(&mut cmd);
    let out = cmd
        .arg(root.join("benches/reference").join(script))
        .arg("--model")
        .arg(gguf)
        .args([
            "--threads",
            &threads.to_string(),
            "--n-predict",
            &n.to_string(),
            "--json",
        ])
        .arg("--prompt-file")
        .arg(prompt_file)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        println!("{script}: failed: {}", err.lines().last().unwrap_or(""));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().rev().find(|l| l.starts_with('{'))?).ok()
}

fn main() {
    let n = arg("--n-predict", 64);
    // --busy: measure again beside a program that keeps one core busy.
    let busy = std::env::args().any(|a| a == "--busy");
    let threads = arg("--threads", std::thread::available_parallelism().map_or(2, |n| n.get()));
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    dramatis::jobs::init_runtime();
    std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
    common::print_devices();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gguf = smollm2();
    // --prompt-file PATH: another prompt (e.g. a long one, for prefill).
    let args: Vec<String> = std::env::args().collect();
    let prompt_file = args
        .iter()
        .position(|a| a == "--prompt-file")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("benches/reference/prompt_chatml.txt"));
    let prompt_text = std::fs::read_to_string(&prompt_file).unwrap();
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    for (label, policy) in [
        ("dramatis (Q4_1, own kernels)", QuantPolicy::Keep),
        ("dramatis (f32)", QuantPolicy::Dense),
    ] {
        let opts = LoadOptions {
            policy,
            ..Default::default()
        };
        let model = Model::load_gguf(&gguf, &opts).unwrap();
        let ids = model.tokenizer.encode(&prompt_text).unwrap();
        let (p, d) = dramatis(&model, &ids, n, 3);
        println!(
            "{label:38} prefill {p:8.1} tok/s  decode {d:7.1} tok/s  ({} prompt tokens, {n} generated, {threads} threads; first token after {:.0} ms, best of 3)",
            ids.len(),
            1000.0 * ids.len() as f64 / p
        );
        if busy && policy == QuantPolicy::Keep {
            // Another program keeps one core busy, as on a desktop.
            let mut hog = std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh");
            std::thread::sleep(std::time::Duration::from_millis(300));
            let (bp, bd) = dramatis(&model, &ids, n, 3);
            let _ = hog.kill();
            let _ = hog.wait();
            println!(
                "{:38} prefill {bp:8.1} tok/s  decode {bd:7.1} tok/s  ({:.0}% / {:.0}% of idle; target ≥ 40%)",
                "  the same, one core busy elsewhere",
                100.0 * bp / p,
                100.0 * bd / d
            );
        }
        rows.push((label.into(), p, d));
    }
    let Some(py) = python() else {
        println!("llama.cpp / transformers: not run (no Python found; set DRAMATIS_REF_PYTHON)");
        return;
    };
    let speeds = |v: &serde_json::Value| {
        (
            v["prefill_tokens_per_s"].as_f64().unwrap_or(f64::NAN),
            v["decode_tokens_per_s"].as_f64().unwrap_or(f64::NAN),
        )
    };
    let row = |label: &str, (p, d): (f64, f64), note: String| {
        println!("{label:38} prefill {p:8.1} tok/s  decode {d:7.1} tok/s  ({note})");
    };
    if let Some(v) = reference(&py, "llamacpp_speed.py", &gguf, &prompt_file, threads, n) {
        let (p, d) = speeds(&v);
        row(
            "llama.cpp (Q4_1)",
            (p, d),
            format!("llama.cpp {}", v["version"].as_str().unwrap_or("?")),
        );
        println!(
            "ratio vs llama.cpp: decode {:.2}× (target ≥ 1.1×), prompt processing {:.2}× (target ≥ 1.0× on 512-token prompts)",
            rows[0].2 / d,
            rows[0].1 / p
        );
    }
    if let Some(v) = reference(&py, "transformers_speed.py", &gguf, &prompt_file, threads, n) {
        let (p, d) = speeds(&v);
        row(
            "transformers (f32)",
            (p, d),
            format!("transformers {}", v["version"].as_str().unwrap_or("?")),
        );
        println!(
            "ratio vs transformers, both f32: decode {:.2}×, prompt processing {:.2}×",
            rows[1].2 / d,
            rows[1].1 / p
        );
    }
}
