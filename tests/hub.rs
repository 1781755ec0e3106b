//! Model downloads through hf-hub against a local HTTP server that serves the
//! hub's URL layout (`/api/models/{repo}/revision/{rev}` and
//! `/{repo}/resolve/{rev}/{file}` with the headers hf-hub reads).

mod common;

use dramatis::model::hub::HubClient;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const REPO: &str = "dramatis-test/tiny-llama";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

struct Hub {
    endpoint: String,
    /// (path, Range header) of every request.
    log: Arc<Mutex<Vec<(String, String)>>>,
    files: Arc<BTreeMap<String, Vec<u8>>>,
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn fixture_files() -> BTreeMap<String, Vec<u8>> {
    let dir = common::repo().join("tests/fixtures/models/tiny-llama");
    [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
    ]
    .iter()
    .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
    .collect()
}

fn serve(files: BTreeMap<String, Vec<u8>>) -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let files = Arc::new(files);
    let (l2, f2) = (log.clone(), files.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, files) = (l2.clone(), f2.clone());
            std::thread::spawn(move || handle(stream, &log, &files));
        }
    });
    Hub { endpoint, log, files }
}

fn handle(stream: TcpStream, log: &Mutex<Vec<(String, String)>>, files: &BTreeMap<String, Vec<u8>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut range = String::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("range") {
                    range = v.trim().to_owned();
                }
            }
        }
        log.lock().unwrap().push((path.clone(), range.clone()));
        let api = format!("/api/models/{REPO}/revision/main");
        let resolve = format!("/{REPO}/resolve/main/");
        let (status, headers, body): (&str, Vec<(String, String)>, Vec<u8>) = if path == api {
            let siblings: Vec<_> = files.keys().map(|k| serde_json::json!({"rfilename": k})).collect();
            let body = serde_json::to_vec(&serde_json::json!({"sha": COMMIT, "siblings": siblings})).unwrap();
            ("200 OK", vec![("Content-Type".into(), "application/json".into())], body)
        } else if let Some(data) = path.strip_prefix(&resolve).and_then(|f| files.get(f)) {
            let total = data.len();
            let start: usize = range
                .strip_prefix("bytes=")
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let end: usize = range
                .strip_prefix("bytes=")
                .and_then(|r| r.split('-').nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or(total - 1)
                .min(total - 1);
            let headers = vec![
                ("x-repo-commit".into(), COMMIT.into()),
                ("etag".into(), format!("\"{}\"", sha(data))),
                ("Content-Range".into(), format!("bytes {start}-{end}/{total}")),
            ];
            ("206 Partial Content", headers, data[start..=end].to_vec())
        } else {
            ("404 Not Found", vec![], b"not found".to_vec())
        };
        let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err() {
            return;
        }
    }
}

fn client(hub: &Hub, cache: &Path) -> HubClient {
    HubClient {
        cache_dir: cache.into(),
        endpoint: hub.endpoint.clone(),
        offline: false,
        token: None,
    }
}

fn same_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (name, data) in files {
        let mut got = Vec::new();
        std::fs::File::open(dir.join(name))
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(&got, data, "{name} arrived intact");
    }
}

#[test]
fn downloads_into_the_standard_cache_and_loads() {
    let hub = serve(fixture_files());
    let cache = tempfile::tempdir().unwrap();
    let job_log = Arc::new(Mutex::new(Vec::new()));
    let jl = job_log.clone();
    let job = dramatis::jobs::Job::new(
        Arc::new(move |e: &dramatis::jobs::Event| {
            if let dramatis::jobs::Event::Progress(p) = e {
                jl.lock().unwrap().push((p.stage, p.done, p.total))
            }
        }),
        Default::default(),
    );
    let dir = client(&hub, cache.path()).snapshot(REPO, "main", Some(&job)).unwrap();
    // The Python cache layout: models--owner--name/{blobs,snapshots/<commit>,refs/main}.
    let root = cache.path().join("models--dramatis-test--tiny-llama");
    assert_eq!(dir, root.join("snapshots").join(COMMIT));
    assert_eq!(std::fs::read_to_string(root.join("refs/main")).unwrap(), COMMIT);
    same_files(&dir, &hub.files);
    let weights = hub.files["model.safetensors"].len() as u64;
    assert!(job_log
        .lock()
        .unwrap()
        .iter()
        .any(|&(s, d, t)| s == "download" && d == weights && t == Some(weights)));
    let m = dramatis::model::Model::load_folder(&dir, &Default::default()).unwrap();
    assert_eq!(m.net.cfg.num_layers, 2);
    // A second request is served from the cache: no file is fetched again.
    let before = hub.log.lock().unwrap().len();
    client(&hub, cache.path()).snapshot(REPO, "main", None).unwrap();
    let log = hub.log.lock().unwrap();
    let again: Vec<_> = log[before..].iter().filter(|(p, _)| p.contains("/resolve/")).collect();
    assert!(again.is_empty(), "files fetched again: {again:?}");
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let hub = serve(fixture_files());
    let cache = tempfile::tempdir().unwrap();
    let data = &hub.files["model.safetensors"];
    let blobs = cache.path().join("models--dramatis-test--tiny-llama/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let half = data.len() / 2;
    std::fs::write(blobs.join(format!("{}.part", sha(data))), &data[..half]).unwrap();
    let dir = client(&hub, cache.path()).snapshot(REPO, "main", None).unwrap();
    same_files(&dir, &hub.files);
    let log = hub.log.lock().unwrap();
    assert!(
        log.iter()
            .any(|(p, r)| p.ends_with("/model.safetensors") && r == &format!("bytes={half}-")),
        "the weights were fetched from byte {half} on: {log:?}"
    );
}

#[test]
fn offline_mode_uses_the_cache_only() {
    let hub = serve(fixture_files());
    let cache = tempfile::tempdir().unwrap();
    client(&hub, cache.path()).snapshot(REPO, "main", None).unwrap();
    // Offline, and with the server gone: the cached copy is used.
    let mut offline = client(&hub, cache.path());
    offline.offline = true;
    let dir = offline.snapshot(REPO, "main", None).unwrap();
    same_files(&dir, &hub.files);
    let mut unreachable = client(&hub, cache.path());
    unreachable.endpoint = "http://127.0.0.1:9".into();
    assert_eq!(unreachable.snapshot(REPO, "main", None).unwrap(), dir);
    // Not in the cache: a clear error, not a hang.
    let empty = tempfile::tempdir().unwrap();
    let mut none = client(&hub, empty.path());
    none.offline = true;
    let e = none.snapshot(REPO, "main", None).unwrap_err().to_string();
    assert!(e.contains("not in the model cache"), "{e}");
    none.offline = false;
    none.endpoint = "http://127.0.0.1:9".into();
    let e = none.snapshot(REPO, "main", None).unwrap_err().to_string();
    assert!(e.contains("could not reach the model hub"), "{e}");
}

#[test]
fn a_repository_without_weights_is_refused() {
    let mut files = fixture_files();
    files.remove("model.safetensors");
    let hub = serve(files);
    let cache = tempfile::tempdir().unwrap();
    let e = client(&hub, cache.path())
        .snapshot(REPO, "main", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no safetensors weights"), "{e}");
}

#[test]
fn cli_generates_with_a_hub_id() {
    let hub = serve(fixture_files());
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args([
            "generate",
            "--model",
            REPO,
            "--max-tokens",
            "4",
            "--temperature",
            "0",
            "--json",
            "Hi",
        ])
        .env("HF_ENDPOINT", &hub.endpoint)
        .env("HF_HUB_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["generated_tokens"], 4);
    let snapshot: PathBuf = cache
        .path()
        .join("models--dramatis-test--tiny-llama/snapshots")
        .join(COMMIT);
    assert!(snapshot.join("model.safetensors").exists());
}

/// `dramatis models download|list|devices`: the engine's model actions.
#[test]
fn models_download_list_and_devices() {
    let hub = serve(fixture_files());
    let cache = tempfile::tempdir().unwrap();
    let db = cache.path().join("lib.sqlite");
    let cli = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
            .args(args)
            .env("HF_ENDPOINT", &hub.endpoint)
            .env("HF_HUB_CACHE", cache.path())
            .env("DRAMATIS_LIBRARY", &db)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (_, listed_before) = (cli(&["models", "list"]), cli(&["models", "list", "--json"]));
    assert_eq!(listed_before.trim(), "[]");
    let dir = cli(&["models", "download", REPO]);
    assert!(Path::new(dir.trim()).join("model.safetensors").is_file(), "{dir}");
    let list: serde_json::Value = serde_json::from_str(&cli(&["models", "list", "--json"])).unwrap();
    assert_eq!(list[0]["reference"], REPO);
    assert_eq!(list[0]["kind"], "hub");
    assert!(list[0]["size_bytes"].as_u64().unwrap() >= hub.files["model.safetensors"].len() as u64);
    let devices: serde_json::Value = serde_json::from_str(&cli(&["models", "devices", "--json"])).unwrap();
    let cpu = devices.as_array().unwrap().iter().find(|d| d["name"] == "cpu").unwrap();
    assert_eq!(cpu["chosen"], true, "no GPU here: auto picks the CPU");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["models", "download", "not-an-id"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("owner/name"));
}
