//! Persona packs move between libraries (machines) intact; a broken pack is
//! refused with a clear error and changes nothing. Cards and training configs.

mod common;
use dramatis::dataset::{Sample, Split};
use dramatis::store::pack::PackOptions;
use dramatis::store::{Library, Persona};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn filled_library(dir: &Path) -> (Library, i64) {
    let mut lib = Library::open(&dir.join("a.sqlite")).unwrap();
    let pid = lib
        .create_persona(
            &Persona {
                name: "Mags".into(),
                character: "MAGS".into(),
                greeting: "Kettle's on.".into(),
                system_prompt: "You are Mags.".into(),
                description: "Keeps the kettle on.".into(),
                source_title: "Kitchen Sink".into(),
            },
            None,
            &[],
        )
        .unwrap();
    let samples: Vec<Sample> = (0..6)
        .map(|i| Sample {
            system: "You are Mags.".into(),
            instruction: format!("q{i}"),
            input: String::new(),
            output: format!("a{i}"),
            history: vec![],
            scene: Some(i),
            split: if i == 5 { Split::Validation } else { Split::Train },
            confidence: None,
        })
        .collect();
    let did = lib.create_dataset(Some(pid), "MAGS", &samples, "{}").unwrap();
    let row = lib.dataset_rows(did).unwrap()[2].id;
    lib.set_row_enabled(row, false).unwrap();
    let cid = lib.create_conversation(Some(pid), "tea").unwrap();
    lib.add_message(cid, "user", "Tea?", "{}", None).unwrap();
    lib.add_message(cid, "assistant", "Always.", "{\"temperature\":0.7}", None)
        .unwrap();
    let adapter = dir.join("adapter");
    std::fs::create_dir_all(&adapter).unwrap();
    std::fs::write(adapter.join("adapter_config.json"), "{\"r\": 8}").unwrap();
    std::fs::write(adapter.join("adapter_model.safetensors"), vec![7u8; 4096]).unwrap();
    lib.add_adapter(Some(pid), None, &adapter).unwrap();
    (lib, pid)
}

#[test]
fn a_pack_exported_here_imports_there() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, pid) = filled_library(dir.path());
    let pack = dir.path().join("mags.zip");
    let m = lib
        .export_pack(
            pid,
            &pack,
            &PackOptions {
                conversations: true,
                base_model: Some("HuggingFaceTB/SmolLM2-135M-Instruct".into()),
            },
        )
        .unwrap();
    assert!(m.files.iter().any(|f| f.path == "adapter/adapter_model.safetensors"));
    // "Another machine": a fresh library in another folder.
    let other = tempfile::tempdir().unwrap();
    let mut lib2 = Library::open(&other.path().join("b.sqlite")).unwrap();
    let pid2 = lib2.import_pack(&pack).unwrap();
    let p = lib2.persona(pid2).unwrap();
    assert_eq!(
        (p.persona.name.as_str(), p.persona.greeting.as_str()),
        ("Mags", "Kettle's on.")
    );
    assert_eq!(
        p.persona,
        lib.persona(pid).unwrap().persona,
        "every field of the persona travels"
    );
    let d = &lib2.datasets().unwrap()[0];
    assert_eq!((d.rows, d.enabled_rows), (6, 5));
    let rows = lib2.dataset_rows(d.id).unwrap();
    assert_eq!(rows[5].split, "validation");
    let c = &lib2.conversations().unwrap()[0];
    assert_eq!(lib2.messages(c.id).unwrap()[1].settings, "{\"temperature\":0.7}");
    assert_eq!(
        lib2.models().unwrap()[0].reference,
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    );
    let adapter_dir = std::fs::read_dir(lib2.files_dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read(adapter_dir.join("adapter_model.safetensors")).unwrap(),
        vec![7u8; 4096]
    );
    assert_eq!(lib2.integrity_check().unwrap(), "ok");
}

fn rezip(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
    extra: Option<(&str, &[u8])>,
) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        if let Some((name, data)) = edit(f.name(), data) {
            w.start_file(name, o).unwrap();
            w.write_all(&data).unwrap();
        }
    }
    if let Some((name, data)) = extra {
        w.start_file(name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Writes a broken copy of the pack to the given path.
type Breaker<'a> = Box<dyn Fn(&Path) + 'a>;

#[test]
fn broken_packs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, pid) = filled_library(dir.path());
    let pack = dir.path().join("mags.zip");
    lib.export_pack(pid, &pack, &PackOptions::default()).unwrap();
    let target = tempfile::tempdir().unwrap();
    let mut lib2 = Library::open(&target.path().join("b.sqlite")).unwrap();
    let keep = |n: &str, d: Vec<u8>| Some((n.to_owned(), d));
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "path traversal",
            Box::new(|p: &Path| rezip(&pack, p, keep, Some(("../evil.txt", b"x")))),
        ),
        (
            "absolute path",
            Box::new(|p: &Path| rezip(&pack, p, keep, Some(("/etc/evil", b"x")))),
        ),
        (
            "unknown file",
            Box::new(|p: &Path| rezip(&pack, p, keep, Some(("run.sh", b"x")))),
        ),
        (
            "checksum",
            Box::new(|p: &Path| {
                rezip(
                    &pack,
                    p,
                    |n: &str, mut d: Vec<u8>| {
                        if n == "dataset.json" {
                            d.push(b' ');
                        }
                        Some((n.to_owned(), d))
                    },
                    None,
                )
            }),
        ),
        (
            "missing manifest",
            Box::new(|p: &Path| {
                rezip(
                    &pack,
                    p,
                    |n: &str, d: Vec<u8>| (n != "manifest.json").then(|| (n.to_owned(), d)),
                    None,
                )
            }),
        ),
        (
            "listed but missing",
            Box::new(|p: &Path| {
                rezip(
                    &pack,
                    p,
                    |n: &str, d: Vec<u8>| (n != "adapter/adapter_model.safetensors").then(|| (n.to_owned(), d)),
                    None,
                )
            }),
        ),
        (
            "truncated",
            Box::new(|p: &Path| {
                let b = std::fs::read(&pack).unwrap();
                std::fs::write(p, &b[..b.len() / 2]).unwrap();
            }),
        ),
    ];
    for (what, make) in cases {
        let bad = dir.path().join(format!("{what}.zip"));
        make(&bad);
        let e = lib2.import_pack(&bad).expect_err(what);
        assert!(e.to_string().contains("nothing changed"), "{what}: {e}");
        assert!(lib2.personas().unwrap().is_empty(), "{what} left a persona");
        assert!(
            !lib2.files_dir().exists() || std::fs::read_dir(lib2.files_dir()).unwrap().next().is_none(),
            "{what} left files"
        );
    }
    assert!(!target.path().join("evil.txt").exists() && !dir.path().join("evil.txt").exists());
}

#[test]
fn cards_and_training_configs_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let run = |args: &[&str]| common::run_cli(args, Some(&db));
    let script = common::repo().join("personas/lanting/script.txt");
    let (code, out, err) = run(&[
        "persona",
        "create",
        script.to_str().unwrap(),
        "--character",
        "沈清禾",
        "--title",
        "兰亭医女",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let (pid, did) = (
        v["persona"].as_i64().unwrap().to_string(),
        v["dataset"].as_i64().unwrap().to_string(),
    );
    let png = dir.path().join("card.png");
    assert_eq!(
        run(&[
            "library",
            "export",
            "card",
            &pid,
            "-o",
            png.to_str().unwrap(),
            "--base-model",
            "Qwen/Qwen2.5-0.5B-Instruct"
        ])
        .0,
        0
    );
    let card = dramatis::store::card::read_card(&std::fs::read(&png).unwrap(), &png).unwrap();
    assert_eq!(card["spec"], "chara_card_v2");
    assert_eq!(card["data"]["name"], "沈清禾");
    assert_eq!(
        card["data"]["extensions"]["dramatis"]["base_model"],
        "Qwen/Qwen2.5-0.5B-Instruct"
    );
    // Import the card back: a second persona.
    let (code, out, _) = run(&["library", "import", png.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    assert_ne!(serde_json::from_str::<Value>(&out).unwrap()["persona"].to_string(), pid);
    // A pack through the CLI, into the same library.
    let zip = dir.path().join("p.zip");
    assert_eq!(
        run(&["library", "export", "persona", &pid, "-o", zip.to_str().unwrap()]).0,
        0
    );
    assert_eq!(run(&["library", "import", zip.to_str().unwrap()]).0, 0);
    // Training configs name the dataset that dataset_info.json lists.
    let cfg = dir.path().join("cfg");
    assert_eq!(
        run(&[
            "library",
            "export",
            "train-config",
            &did,
            "-o",
            cfg.to_str().unwrap(),
            "--base-model",
            "Qwen/Qwen2.5-0.5B-Instruct"
        ])
        .0,
        0
    );
    let yaml = std::fs::read_to_string(cfg.join("llamafactory_lora.yaml")).unwrap();
    let info: Value = serde_json::from_str(&std::fs::read_to_string(cfg.join("dataset_info.json")).unwrap()).unwrap();
    let name = yaml.lines().find_map(|l| l.strip_prefix("dataset: ")).unwrap();
    assert!(info.get(name).is_some(), "{name} not in dataset_info.json");
    assert!(yaml.contains("template: qwen") && yaml.contains("finetuning_type: lora"));
    assert_eq!(
        run(&[
            "library",
            "export",
            "train-config",
            &did,
            "-o",
            cfg.to_str().unwrap(),
            "--tool",
            "axolotl"
        ])
        .0,
        0
    );
    let ax = std::fs::read_to_string(cfg.join("axolotl_lora.yaml")).unwrap();
    assert!(
        ax.contains("type: chat_template") && ax.contains("field_messages: messages"),
        "{ax}"
    );
    // axolotl reads chat messages with the system prompt and the scene's earlier turns.
    let path = ax.lines().find_map(|l| l.trim().strip_prefix("- path: ")).unwrap();
    let first = std::fs::read_to_string(cfg.join(path)).unwrap();
    let row: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let roles: Vec<&str> = row["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!((roles[0], *roles.last().unwrap()), ("system", "assistant"), "{roles:?}");
    // A PNG without a card is refused clearly.
    let plain = dir.path().join("plain.png");
    std::fs::write(&plain, dramatis::store::card::default_avatar("x")).unwrap();
    let (code, _, err) = run(&["library", "import", plain.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("no character card"), "{err}");
}
