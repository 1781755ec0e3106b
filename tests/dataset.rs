//! Persona datasets: pairs, history, filters, split, mixing, import/export.

mod common;
use dramatis::dataset::{self, io, io::Format, DatasetOptions, Split};
use dramatis::extract::{extract, ExtractOptions, Extraction};
use dramatis::ingest::{import_bytes, import_file, IngestOptions};
use dramatis::jobs::Job;
use std::collections::HashSet;
use std::path::Path;

fn zhenhuan() -> Extraction {
    let docs: Vec<_> = common::zhenhuan_files()
        .iter()
        .map(|p| import_file(p, &IngestOptions::default(), &Job::silent()).unwrap())
        .collect();
    extract(&docs, &ExtractOptions::default())
}

/// Options for `character` with a validation share, the rest default.
fn opts(character: &str, validation_ratio: f64) -> DatasetOptions {
    DatasetOptions {
        character: character.into(),
        validation_ratio,
        ..Default::default()
    }
}

fn script(text: &str) -> Extraction {
    let d = import_bytes(Path::new("s.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    extract(&[d], &ExtractOptions::default())
}

#[test]
fn zhenhuan_pairs_like_chat_huanhuan() {
    let s = zhenhuan();
    let opts = DatasetOptions {
        character: "甄嬛".into(),
        source_title: "甄嬛传".into(),
        ..Default::default()
    };
    let data = dataset::build(&s, &opts).unwrap();
    let n = data.samples.len();
    assert!((3400..=4000).contains(&n), "pairs: {n}");
    assert!(data
        .samples
        .iter()
        .all(|x| !x.output.contains('（') && !x.instruction.contains('（')));
    let first = &data
        .samples
        .iter()
        .find(|x| x.output == "嘘——都说许愿说破是不灵的。")
        .unwrap();
    assert!(first.instruction.starts_with("小姐，别的秀女都在求中选"));
    assert!(first.system.contains("甄嬛传") && first.system.contains("甄嬛"));
    // History: earlier exchanges of the same scene, at most three.
    assert!(data.samples.iter().all(|x| x.history.len() <= 3));
    let with_history = data.samples.iter().filter(|x| !x.history.is_empty()).count();
    assert!(with_history > n / 3, "{with_history}");
    // No scene is in both splits; roughly a tenth is held out.
    let train: HashSet<usize> = data
        .samples
        .iter()
        .filter(|x| x.split == Split::Train)
        .filter_map(|x| x.scene)
        .collect();
    let val: HashSet<usize> = data
        .samples
        .iter()
        .filter(|x| x.split == Split::Validation)
        .filter_map(|x| x.scene)
        .collect();
    assert!(train.is_disjoint(&val));
    let r = &data.report;
    assert!(r.validation * 100 / n >= 4 && r.validation * 100 / n <= 20, "{r:?}");
    assert!(r.no_context > 0 && r.dropped_short > 0);
    assert_eq!(r.kept, n);
    // Deterministic for a seed; another seed splits differently.
    let again = dataset::build(&s, &opts).unwrap();
    assert_eq!(again.samples, data.samples);
    let other = dataset::build(
        &s,
        &DatasetOptions {
            seed: 7,
            ..opts.clone()
        },
    )
    .unwrap();
    let val2: HashSet<usize> = other
        .samples
        .iter()
        .filter(|x| x.split == Split::Validation)
        .filter_map(|x| x.scene)
        .collect();
    assert_ne!(val, val2);
}

const SMALL: &str = "第1幕\nA：你好。\nB：你好啊。\nA：吃了吗？\nB：吃了。\n第2幕\nA：你好。\nB：你好啊。\nC：我来了。\nD：也来了。\nB：嗯，都来了。\n第3幕\nB：我先说。\nA：好的好的。\nB：再见了朋友。\n第4幕\nA：在吗\nB：在的在的。\n";

#[test]
fn filters_and_context() {
    let s = script(SMALL);
    let b = opts("B", 0.0);
    let d = dataset::build(&s, &b).unwrap();
    let r = &d.report;
    // Scene 2 repeats scene 1's first exchange; scene 3 opens with B (no context).
    assert_eq!(r.dropped_exact_duplicates, 1, "{r:?}");
    assert_eq!(r.no_context, 1);
    let pairs: Vec<(&str, &str)> = d
        .samples
        .iter()
        .map(|x| (x.instruction.as_str(), x.output.as_str()))
        .collect();
    assert!(pairs.contains(&("吃了吗？", "吃了。")));
    assert!(pairs.contains(&("好的好的。", "再见了朋友。")));
    assert!(pairs.contains(&("也来了。", "嗯，都来了。")));
    // Several lines of context name their speakers.
    let d = dataset::build(
        &s,
        &DatasetOptions {
            context_lines: 2,
            ..b.clone()
        },
    )
    .unwrap();
    assert!(
        d.samples.iter().any(|x| x.instruction == "C：我来了。\nD：也来了。"),
        "{:?}",
        d.samples
    );
    // Near duplicates: same words, other punctuation.
    let s = script("第1幕\nA：你好！\nB：你好啊！\n第2幕\nA：你好。\nB：你好啊。\n");
    let d = dataset::build(&s, &opts("B", 0.0)).unwrap();
    assert_eq!(d.report.dropped_near_duplicates, 1);
    // An unknown character is a clear error naming the real speakers.
    let e = dataset::build(
        &s,
        &DatasetOptions {
            character: "Z".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("\"Z\"") && e.to_string().contains("B (2)"),
        "{e}"
    );
}

#[test]
fn sharegpt_conversations_follow_scenes() {
    let s = script(SMALL);
    let d = dataset::build(&s, &opts("B", 0.0)).unwrap();
    let c = &d.conversations[0];
    let roles: Vec<&str> = c.conversations.iter().map(|m| m.from.as_str()).collect();
    assert_eq!(roles, vec!["human", "gpt", "human", "gpt"]);
    assert_eq!(c.conversations[3].value, "吃了。");
}

#[test]
fn mixing_adds_the_general_set_at_the_ratio() {
    let s = zhenhuan();
    let mut d = dataset::build(
        &s,
        &DatasetOptions {
            character: "甄嬛".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let general = dataset::builtin_general();
    assert!(general.len() >= 100, "the shipped general set has {}", general.len());
    let persona_train = d.samples.iter().filter(|x| x.split == Split::Train).count();
    // The built-in set is small; ask for a ratio it can fill.
    let small: Vec<_> = d
        .samples
        .iter()
        .filter(|x| x.split == Split::Train)
        .take(400)
        .cloned()
        .collect();
    let mut mixed = small.clone();
    let n = dataset::mix(&mut mixed, &general, 0.2, 1);
    assert_eq!(n, 100);
    assert_eq!(mixed.len(), 500);
    assert!(mixed.iter().filter(|x| x.scene.is_none()).count() == 100);
    // Deterministic and interleaved, not appended at the end.
    let mut again = small.clone();
    dataset::mix(&mut again, &general, 0.2, 1);
    assert_eq!(mixed, again);
    assert!(mixed[..250].iter().any(|x| x.scene.is_none()));
    // Capped by what the set holds.
    let n = dataset::mix(&mut d.samples, &general, 0.2, 1);
    assert_eq!(n, general.len().min(persona_train / 4));
}

#[test]
fn export_and_import_round_trip() {
    let s = script(SMALL);
    let d = dataset::build(&s, &opts("B", 0.3)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (format, jsonl) in [
        (Format::Alpaca, false),
        (Format::Alpaca, true),
        (Format::ShareGpt, false),
        (Format::ShareGpt, true),
    ] {
        let sub = dir.path().join(format!("{format:?}{jsonl}"));
        let files = io::export(&sub, "b", format, jsonl, &d.samples, &d.conversations).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files.dataset_info).unwrap()).unwrap();
        let entry = &info["b_train"];
        assert!(sub.join(entry["file_name"].as_str().unwrap()).is_file());
        match (format, io::read(&files.train).unwrap()) {
            (Format::Alpaca, io::Imported::Alpaca(back)) => {
                assert_eq!(entry["columns"]["history"], "history");
                let want: Vec<_> = d.samples.iter().filter(|x| x.split == Split::Train).collect();
                assert_eq!(back.len(), want.len());
                for (a, b) in back.iter().zip(want) {
                    assert_eq!(
                        (&a.instruction, &a.output, &a.history, &a.system),
                        (&b.instruction, &b.output, &b.history, &b.system)
                    );
                }
            }
            (Format::ShareGpt, io::Imported::ShareGpt(back)) => {
                assert_eq!(entry["formatting"], "sharegpt");
                let want: Vec<_> = d.conversations.iter().filter(|x| x.split == Split::Train).collect();
                assert_eq!(back.len(), want.len());
                assert_eq!(back[0].conversations, want[0].conversations);
            }
            _ => panic!("read back the wrong format"),
        }
    }
}
