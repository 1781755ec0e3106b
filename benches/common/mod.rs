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
