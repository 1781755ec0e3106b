//! The persona library: every kind of item round-trips across restarts,
//! migrations run forward from every earlier version, bad files are refused.

mod common;
use dramatis::dataset::{Sample, Split};
use dramatis::ingest::{import_bytes, IngestOptions};
use dramatis::store::{AliasGroup, Keep, Library, ModelRecord, Persona, SampleFields, SCHEMA_VERSION};
use std::path::Path;

fn sample(i: usize, split: Split) -> Sample {
    Sample {
        system: "你是甄嬛。".into(),
        instruction: format!("问题 {i}"),
        input: String::new(),
        output: format!("回答 {i}"),
        history: vec![("早".into(), "早安".into())],
        scene: Some(i),
        split,
        confidence: None,
    }
}

#[test]
fn everything_round_trips_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib/library.sqlite");
    let text = "第1幕\n皇帝：你来了。\n甄嬛：臣妾来了。\n";
    let doc = import_bytes(Path::new("s.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let adapter_dir = dir.path().join("adapter");
    std::fs::create_dir_all(&adapter_dir).unwrap();
    std::fs::write(adapter_dir.join("adapter_config.json"), "{}").unwrap();
    let (pid, did, cid, src) = {
        let mut lib = Library::open(&db).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let src = lib.add_source(&doc, text.as_bytes()).unwrap();
        // The same file twice is one source.
        assert_eq!(lib.add_source(&doc, text.as_bytes()).unwrap(), src);
        let p = Persona {
            name: "嬛嬛".into(),
            character: "甄嬛".into(),
            source_title: "甄嬛传".into(),
            system_prompt: "你是甄嬛。".into(),
            greeting: "皇上万福。".into(),
            ..Default::default()
        };
        let pid = lib.create_persona(&p, None, &[src]).unwrap();
        lib.set_alias_groups(
            pid,
            &[AliasGroup {
                id: 0,
                main_name: "甄嬛".into(),
                aliases: vec!["嬛嬛".into(), "莞嫔".into()],
                gender: Some("F".into()),
                lines: 2,
                confirmed: true,
            }],
        )
        .unwrap();
        let samples: Vec<Sample> = (0..10)
            .map(|i| sample(i, if i < 8 { Split::Train } else { Split::Validation }))
            .collect();
        let did = lib
            .create_dataset(Some(pid), "甄嬛", &samples, "{\"kept\": 10}")
            .unwrap();
        let rows = lib.dataset_rows(did).unwrap();
        lib.set_row_enabled(rows[1].id, false).unwrap();
        lib.edit_row(
            rows[2].id,
            &SampleFields {
                instruction: "改过的问题".into(),
                output: "改过的回答".into(),
                ..Default::default()
            },
        )
        .unwrap();
        lib.set_row_split(rows[3].id, Split::Validation).unwrap();
        let mid = lib
            .add_model(&ModelRecord {
                id: 0,
                kind: "gguf".into(),
                reference: "/m/smollm2.gguf".into(),
                architecture: "llama".into(),
                size_bytes: 100,
                quantization: "Q4_1".into(),
            })
            .unwrap();
        assert!(mid > 0);
        let aid = lib.add_adapter(Some(pid), None, &adapter_dir).unwrap();
        let cid = lib.create_conversation(Some(pid), "第一次").unwrap();
        lib.add_message(cid, "user", "你好", "{}", None).unwrap();
        lib.add_message(cid, "assistant", "皇上万福。", "{\"temperature\":0.7}", Some(aid))
            .unwrap();
        (pid, did, cid, src)
    };
    let lib = Library::open(&db).unwrap();
    assert_eq!(lib.integrity_check().unwrap(), "ok");
    assert_eq!(lib.sources().unwrap()[0].id, src);
    assert_eq!(lib.source_text(src).unwrap(), doc.text);
    let p = lib.persona(pid).unwrap();
    assert_eq!(
        (p.persona.name.as_str(), p.persona.greeting.as_str()),
        ("嬛嬛", "皇上万福。")
    );
    assert_eq!(lib.persona_sources(pid).unwrap(), vec![src]);
    assert_eq!(lib.alias_groups(pid).unwrap()[0].aliases, vec!["嬛嬛", "莞嫔"]);
    let rows = lib.dataset_rows(did).unwrap();
    assert_eq!(rows.len(), 10);
    assert!(!rows[1].enabled && rows[2].edited && rows[2].sample.output == "改过的回答");
    assert_eq!(rows[0].sample.history, vec![("早".to_string(), "早安".to_string())]);
    let samples = lib.dataset_samples(did).unwrap();
    assert_eq!(samples.len(), 9);
    assert_eq!(samples.iter().filter(|s| s.split == Split::Validation).count(), 3);
    let d = &lib.datasets().unwrap()[0];
    assert_eq!((d.rows, d.enabled_rows), (10, 9));
    assert_eq!(lib.models().unwrap()[0].quantization, "Q4_1");
    let msgs = lib.messages(cid).unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1].settings, "{\"temperature\":0.7}");
    assert!(msgs[1].adapter_id.is_some());
    assert_eq!(lib.conversations().unwrap()[0].messages, 2);
}

#[test]
fn deleting_a_persona_keeps_what_you_ask_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
    let adapter = dir.path().join("adapter.safetensors");
    std::fs::write(&adapter, b"weights").unwrap();
    let pid = lib
        .create_persona(
            &Persona {
                name: "A".into(),
                character: "A".into(),
                ..Default::default()
            },
            None,
            &[],
        )
        .unwrap();
    let did = lib
        .create_dataset(Some(pid), "a", &[sample(0, Split::Train)], "{}")
        .unwrap();
    let cid = lib.create_conversation(Some(pid), "t").unwrap();
    lib.add_message(cid, "user", "hi", "{}", None).unwrap();
    lib.add_adapter(Some(pid), None, &adapter).unwrap();
    let keep = Keep {
        conversations: true,
        ..Default::default()
    };
    let plan = lib.plan_delete_persona(pid, keep).unwrap();
    assert_eq!(
        (plan.datasets.clone(), plan.conversations.clone(), plan.adapters.len()),
        (vec![did], vec![], 1)
    );
    // Planning removes nothing.
    assert!(adapter.exists() && lib.personas().unwrap().len() == 1);
    lib.delete_persona(pid, keep).unwrap();
    assert!(lib.personas().unwrap().is_empty());
    assert!(lib.datasets().unwrap().is_empty());
    assert!(!adapter.exists(), "the adapter file goes with its row");
    // The kept conversation stays, no longer tied to the persona.
    let c = &lib.conversations().unwrap()[0];
    assert_eq!((c.id, c.persona_id, c.messages), (cid, None, 1));
    assert_eq!(lib.integrity_check().unwrap(), "ok");
    assert!(lib.persona(pid).unwrap_err().to_string().contains("library list"));
}

#[test]
fn migrations_run_forward_from_every_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    for start in 0..SCHEMA_VERSION {
        let db = dir.path().join(format!("v{start}.sqlite"));
        {
            // Build a library at version `start` with the migrations of that time.
            let conn = rusqlite::Connection::open(&db).unwrap();
            for (i, sql) in dramatis::store::MIGRATIONS.iter().enumerate().take(start as usize) {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
            }
        }
        let mut lib = Library::open(&db).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        lib.create_persona(
            &Persona {
                name: "x".into(),
                character: "x".into(),
                ..Default::default()
            },
            None,
            &[],
        )
        .unwrap();
        assert_eq!(lib.integrity_check().unwrap(), "ok");
    }
}

#[test]
fn bad_library_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(
        &junk,
        b"this is not a database at all, just some words that go on for a while......",
    )
    .unwrap();
    let e = Library::open(&junk).err().expect("junk refused");
    assert!(e.to_string().contains("not a Dramatis library"), "{e}");
    let newer = dir.path().join("newer.sqlite");
    {
        let conn = rusqlite::Connection::open(&newer).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5).unwrap();
    }
    let e = Library::open(&newer).err().expect("newer refused");
    assert!(e.to_string().contains("newer Dramatis"), "{e}");
}

#[test]
fn training_runs_move_through_their_states() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
    let run = lib.create_run(None, None, None, "{\"rank\":8}").unwrap();
    assert_eq!(lib.runs().unwrap()[0].status, "queued");
    lib.set_run_status(run, "running", None).unwrap();
    let started = lib.runs().unwrap()[0].started_at;
    assert!(started.is_some());
    lib.set_run_status(run, "paused", None).unwrap();
    lib.set_run_status(run, "running", None).unwrap();
    assert_eq!(
        lib.runs().unwrap()[0].started_at,
        started,
        "a resumed run keeps its start"
    );
    lib.set_run_status(run, "finished", Some("{\"val_loss\":1.9}")).unwrap();
    let r = &lib.runs().unwrap()[0];
    assert_eq!(
        (r.status.as_str(), r.metrics.as_str(), r.params.as_str()),
        ("finished", "{\"val_loss\":1.9}", "{\"rank\":8}")
    );
    assert!(r.finished_at.is_some());
    assert!(lib
        .set_run_status(run, "exploded", None)
        .unwrap_err()
        .to_string()
        .contains("queued, running"));
    assert!(lib.set_run_status(run + 1, "running", None).is_err());
}

fn safetensors(header: &str, data: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend(header.as_bytes());
    v.extend(std::iter::repeat_n(0u8, data));
    v
}

#[test]
fn peft_adapters_trained_elsewhere_come_in_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
    let ad = dir.path().join("peft");
    std::fs::create_dir_all(&ad).unwrap();
    // Missing config, wrong type, missing weights, damaged weights: all refused.
    assert!(lib
        .import_peft_adapter(None, &ad)
        .unwrap_err()
        .to_string()
        .contains("adapter_config.json"));
    std::fs::write(ad.join("adapter_config.json"), r#"{"peft_type": "PREFIX_TUNING"}"#).unwrap();
    assert!(lib
        .import_peft_adapter(None, &ad)
        .unwrap_err()
        .to_string()
        .contains("LoRA"));
    std::fs::write(
        ad.join("adapter_config.json"),
        r#"{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}"#,
    )
    .unwrap();
    assert!(lib
        .import_peft_adapter(None, &ad)
        .unwrap_err()
        .to_string()
        .contains("adapter_model.safetensors"));
    std::fs::write(
        ad.join("adapter_model.safetensors"),
        b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk",
    )
    .unwrap();
    assert!(lib
        .import_peft_adapter(None, &ad)
        .unwrap_err()
        .to_string()
        .contains("damaged"));
    assert!(lib.adapters().unwrap().is_empty());
    let header = r#"{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight":{"dtype":"F32","shape":[8,4],"data_offsets":[0,128]}}"#;
    std::fs::write(ad.join("adapter_model.safetensors"), safetensors(header, 128)).unwrap();
    let id = lib.import_peft_adapter(None, &ad).unwrap();
    let a = &lib.adapters().unwrap()[0];
    assert_eq!(a.id, id);
    let copied = Path::new(&a.path);
    assert!(copied.starts_with(lib.files_dir()));
    assert_eq!(
        std::fs::read(copied.join("adapter_model.safetensors")).unwrap(),
        safetensors(header, 128)
    );
    assert_eq!(a.checksum, dramatis::store::checksum_file(copied).unwrap());
}
