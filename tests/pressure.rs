//! Memory and disk under pressure: a run that would not fit is refused before
//! it starts, a run killed by the system is offered for resume, and a full
//! disk gives a clear error with the last checkpoint and the library intact.

mod common;
use dramatis::store::Library;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

fn tiny_model() -> PathBuf {
    common::repo().join("tests/fixtures/models/tiny-llama")
}

fn write_dataset(dir: &Path, n: usize, reply: &str) -> PathBuf {
    let samples: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "system": "Be Mags.",
                "instruction": format!("Question {i}?"),
                "input": "",
                "output": format!("{reply} {i}"),
            })
        })
        .collect();
    let p = dir.join("tiny_train.json");
    std::fs::write(&p, serde_json::to_string(&samples).unwrap()).unwrap();
    p
}

/// The CLI with a resource limit set in the child only.
fn limited(resource: libc::__rlimit_resource_t, bytes: u64) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"));
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(resource, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

fn train_args<'a>(model: &'a str, data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--model",
        model,
        "--dataset",
        data,
        "--out",
        out,
        "--rank",
        "4",
        "--batch-size",
        "2",
        "--grad-accum",
        "1",
        "--json",
    ]
}

#[test]
fn a_run_that_would_not_fit_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let long = "The glass is falling and the boats are not in yet, so the lamp burns all night. ".repeat(3);
    let data = write_dataset(dir.path(), 600, &long);
    let out = dir.path().join("run");
    let model = tiny_model();
    let mut args = train_args(model.to_str().unwrap(), data.to_str().unwrap(), out.to_str().unwrap());
    let at = args.iter().position(|a| *a == "--batch-size").unwrap();
    args[at + 1] = "2048";
    args.extend(["--max-len", "256", "--max-steps", "2"]);
    // 4 GB of address space: the run needs about 14, even with every block
    // checkpointed.
    let o = limited(libc::RLIMIT_AS, 4 << 30).args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("MiB of memory") && err.contains("smaller preset"), "{err}");
    assert!(!out.join("checkpoints").exists());
}

fn wait_for(path: &Path) {
    let t0 = std::time::Instant::now();
    while !path.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(path.exists(), "{} never appeared", path.display());
}

/// Start a long run, wait for its first checkpoint, and SIGKILL it (as the
/// kernel's out-of-memory killer would).
fn killed_run(dir: &Path, db: Option<&Path>) -> PathBuf {
    let data = write_dataset(dir, 6, "Always.");
    let out = dir.join("run");
    let model = tiny_model();
    let mut args = train_args(model.to_str().unwrap(), data.to_str().unwrap(), out.to_str().unwrap());
    args.extend(["--max-steps", "400", "--save-every", "5"]);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"));
    c.args(&args);
    if let Some(db) = db {
        c.args(["--save", "--db", db.to_str().unwrap()]);
    }
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&out.join("checkpoints/latest"));
    if let Some(db) = db {
        let runs = Library::open(db).unwrap().runs().unwrap();
        assert_eq!(runs[0].status, "running", "a live run is not interrupted");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    out
}

#[test]
fn a_run_killed_by_the_system_is_offered_for_resume() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let out = killed_run(dir.path(), Some(&db));
    let lib = Library::open(&db).unwrap();
    let runs = lib.interrupted_runs().unwrap();
    assert_eq!(runs.len(), 1);
    let folder = runs[0].folder.clone().unwrap();
    assert_eq!(Path::new(&folder), std::path::absolute(&out).unwrap());
    let (code, list, _) = common::run_cli(&["library", "list"], Some(&db));
    assert_eq!(code, 0);
    assert!(
        list.contains("was interrupted") && list.contains(&format!("train --resume {folder}")),
        "{list}"
    );
    // Resumed, the same record finishes.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args([
            "train",
            "--resume",
            &folder,
            "--json",
            "--save",
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = lib.runs().unwrap();
    assert_eq!(runs.len(), 1, "the resumed run got a second record");
    assert_eq!(runs[0].status, "finished");
    assert!(lib.interrupted_runs().unwrap().is_empty());
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_full_disk_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = killed_run(dir.path(), None);
    let checkpoints = out.join("checkpoints");
    let before = snapshot(&checkpoints);
    // The largest checkpoint file does not fit under the limit any more.
    let largest = before.iter().map(|(_, b)| b.len() as u64).max().unwrap();
    let o = limited(libc::RLIMIT_FSIZE, largest / 2)
        .args(["train", "--resume", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "killed instead of an error: {err}");
    assert!(err.contains("disk is full"), "{err}");
    // Nothing that was saved is damaged: every earlier checkpoint file is as it was.
    let after = snapshot(&checkpoints);
    for (p, bytes) in &before {
        let now = after.iter().find(|(q, _)| q == p).map(|(_, b)| b);
        assert_eq!(now, Some(bytes), "{} changed", p.display());
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["train", "--resume", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("adapter_model.safetensors").is_file());
}

#[test]
fn a_full_disk_leaves_the_library_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let script = common::repo().join("personas/lighthouse/script.txt");
    let (code, _, err) = common::run_cli(
        &["persona", "create", script.to_str().unwrap(), "--character", "MAGS"],
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    // No file may grow past 64 KiB: the new persona's writes to the
    // write-ahead log do not fit.
    let limit = 64 * 1024;
    let lanting = common::repo().join("personas/lanting/script.txt");
    let o = limited(libc::RLIMIT_FSIZE, limit)
        .args(["persona", "create", lanting.to_str().unwrap(), "--character", "沈清禾"])
        .env("DRAMATIS_LIBRARY", &db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("disk is full"), "{err}");
    let lib = Library::open(&db).unwrap();
    assert_eq!(lib.integrity_check().unwrap(), "ok");
    let personas = lib.personas().unwrap();
    assert_eq!(personas.len(), 1, "{personas:?}");
    assert_eq!(lib.datasets().unwrap().len(), 1);
    assert_eq!(lib.sources().unwrap().len(), 1);
}

/// Ctrl-C: the first press stops the run cleanly with a checkpoint to resume
/// from, and the CLI exits with 130.
#[test]
fn ctrl_c_stops_a_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_dataset(dir.path(), 6, "Always.");
    let out = dir.path().join("run");
    let model = tiny_model();
    let mut args = train_args(model.to_str().unwrap(), data.to_str().unwrap(), out.to_str().unwrap());
    args.extend(["--max-steps", "100000", "--save-every", "100000"]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it trains (its metrics file has steps), then press Ctrl-C.
    let metrics = out.join("metrics.jsonl");
    let t0 = std::time::Instant::now();
    while t0.elapsed().as_secs() < 120
        && !std::fs::read_to_string(&metrics).is_ok_and(|m| m.contains("\"type\":\"step\""))
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let latest = std::fs::read_to_string(out.join("checkpoints/latest")).unwrap();
    assert!(latest.starts_with("step-"), "{latest}");
    assert!(!out.join("adapter_model.safetensors").exists());
}
