#![allow(dead_code)]
use std::path::{Path, PathBuf};

/// The shared sample sources (never copied into the repository).
pub fn samples() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
    assert!(p.is_dir(), "the sample sources are expected at {}", p.display());
    p
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the `dramatis` CLI from the repository root: exit code, stdout, stderr.
/// With `library`, DRAMATIS_LIBRARY points at that file.
pub fn run_cli(args: &[&str], library: Option<&Path>) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"));
    cmd.args(args).current_dir(repo());
    if let Some(db) = library {
        cmd.env("DRAMATIS_LIBRARY", db);
    }
    let out = cmd.output().expect("run dramatis");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The 甄嬛传 script files in episode order.
pub fn zhenhuan_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples().join("zhenhuan-script"))
        .expect("zhenhuan-script")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// Minimal RFC 4180 CSV reader (quoted fields with newlines and doubled quotes).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                '\r' => {}
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// A tiny model made by tests/fixtures/models/make_fixtures.py.
pub fn model_fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/models").join(name)
}

/// Load a fixture model with every weight dense in f32 on the CPU.
pub fn load_dense(name: &str) -> dramatis::model::Model {
    let opts = dramatis::model::LoadOptions {
        policy: dramatis::model::QuantPolicy::Dense,
        ..Default::default()
    };
    dramatis::model::Model::load_folder(&model_fixture(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar())
        .expect("tensor difference")
}
