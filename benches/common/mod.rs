//! What the model benches share: flags and the Python that runs the reference tools.

use std::path::{Path, PathBuf};

/// The number after `name` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `$DRAMATIS_REF_PYTHON`, else the reference virtualenv beside the repository
/// (scripts/make-fixtures.sh makes it).
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DRAMATIS_REF_PYTHON") {
        return Some(p.into());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("../venv-ref/bin/python"), root.join(".venv-ref/bin/python")]
        .into_iter()
        .find(|p| p.exists())
}

/// The SmolLM2 GGUF the benches run on (scripts/fetch-smollm2.sh fetches it).
pub fn smollm2() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !p.exists() {
        eprintln!("{} is missing: run scripts/fetch-smollm2.sh", p.display());
        std::process::exit(1);
    }
    p
}

/// Prints the devices, the CPU's features and the kernel paths that run
/// (`DRAMATIS_CPU=avx2|generic` lowers them).
pub fn print_devices() {
    for d in dramatis::pipeline::models::devices() {
        println!("device {}: {} [{}]", d.name, d.description, d.features.join(" "));
        if !d.kernels.is_empty() {
            println!("kernel path: {}", d.kernels.join(", "));
        }
    }
}

/// Keeps the reference (PyTorch: MKL, oneDNN, ATen) on the same instruction
/// set when `DRAMATIS_CPU` lowers Dramatis' path, so the ratio compares like
/// with like. llama.cpp's build decides its own path and is not lowered.
pub fn same_path_for_reference(cmd: &mut std::process::Command) {
    match dramatis::model::cpu::forced() {
        Some(dramatis::model::cpu::Path::Avx2) => {
            cmd.env("ATEN_CPU_CAPABILITY", "avx2")
                .env("MKL_ENABLE_INSTRUCTIONS", "AVX2")
                .env("ONEDNN_MAX_CPU_ISA", "AVX2");
            println!("reference limited to AVX2 (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA)");
        }
        Some(dramatis::model::cpu::Path::Generic) => {
            cmd.env("ATEN_CPU_CAPABILITY", "default")
                .env("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")
                .env("ONEDNN_MAX_CPU_ISA", "SSE41");
            println!("reference limited to SSE4.2 (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA)");
        }
        _ => {}
    }
}
