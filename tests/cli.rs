//! The `dramatis` binary: the interfaces other tools script against.

mod common;
use serde_json::Value;

fn dramatis(args: &[&str]) -> (i32, String, String) {
    common::run_cli(args, None)
}

#[test]
fn extract_json_lists_utterances_with_offsets() {
    let f = common::samples().join("fountain/brick-and-steel.fountain");
    let (code, out, err) = dramatis(&["extract", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert!(arr.len() > 10);
    let original: Vec<char> = std::fs::read_to_string(&f).unwrap().chars().collect();
    for u in arr {
        for k in ["speaker", "text", "start", "end", "confidence", "scene"] {
            assert!(u.get(k).is_some(), "{k} missing in {u}");
        }
        let (s, e) = (
            u["start"].as_u64().unwrap() as usize,
            u["end"].as_u64().unwrap() as usize,
        );
        let span: String = original[s..e].iter().collect();
        let text = u["text"].as_str().unwrap();
        let first_word = text.split_whitespace().next().unwrap();
        assert!(span.starts_with(first_word), "{span:?} vs {text:?}");
    }
}

#[test]
fn extract_builds_a_dataset_from_several_files() {
    let files = common::zhenhuan_files();
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["extract".into()];
    args.extend(files[..2].iter().map(|p| p.display().to_string()));
    args.extend(["--character", "甄嬛", "--format", "sharegpt", "--jsonl", "--mix", "-o"].map(String::from));
    args.push(dir.path().display().to_string());
    args.push("--json".into());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = dramatis(&a);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["character"], "甄嬛");
    assert!(v["report"]["kept"].as_u64().unwrap() > 500);
    assert!(v["report"]["general_mixed"].as_u64().unwrap() > 0);
    let train = std::fs::read_to_string(dir.path().join("甄嬛_train.jsonl")).unwrap();
    let first: Value = serde_json::from_str(train.lines().next().unwrap()).unwrap();
    assert!(first["conversations"].is_array());
    assert!(dir.path().join("dataset_info.json").is_file());
    assert!(dir.path().join("甄嬛_report.json").is_file());
    // The same files one at a time: the second file's utterances say file 1.
    let (_, out, _) = dramatis(&[
        "extract",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let last = v.as_array().unwrap().last().unwrap();
    assert_eq!(last["file"], 1);
}

#[test]
fn errors_say_what_to_do() {
    let (code, _, err) = dramatis(&["import", "/no/such/book.txt"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/no/such/book.txt") && err.contains("Check the path"),
        "{err}"
    );
    let f = common::samples().join("plays/tinyshakespeare.txt");
    let (code, _, err) = dramatis(&[
        "extract",
        f.to_str().unwrap(),
        "--character",
        "Nobody Here",
        "-o",
        "/tmp/x",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Nobody Here") && err.contains("Speakers with the most lines"),
        "{err}"
    );
    let (code, _, err) = dramatis(&["extract", f.to_str().unwrap(), "--character", "ROMEO"]);
    assert_eq!(code, 1);
    assert!(err.contains("-o OUT"), "{err}");
}

#[test]
fn import_and_cast_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gbk.txt");
    std::fs::write(
        &p,
        encoding_rs::GB18030
            .encode("第1幕\n甄嬛：臣妾给皇上请安。\n皇帝：起来吧，地上凉。\n甄嬛：谢皇上。\n")
            .0,
    )
    .unwrap();
    let (code, out, err) = dramatis(&["import", p.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["encoding"], "GB18030/GBK");
    let (code, out, _) = dramatis(&["cast", p.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cast"]["members"][0]["name"], "甄嬛");
    assert_eq!(v["cast"]["members"][0]["lines"], 2);
}

#[test]
fn demo_runs_the_bundled_personas() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = dramatis(&["demo", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("沈清禾") && out.contains("MAGS"), "{out}");
    for pack in ["lanting", "lighthouse"] {
        let info = std::fs::read_to_string(dir.path().join(pack).join("dataset_info.json")).unwrap();
        assert!(info.contains("_train"));
    }
    let train: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("lighthouse/mags_train.json")).unwrap()).unwrap();
    assert!(train.as_array().unwrap().len() > 100);
}

#[test]
fn dataset_check_and_convert() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.jsonl");
    std::fs::write(
        &good,
        "{\"instruction\": \"你好\", \"input\": \"\", \"output\": \"你好呀\", \"history\": [[\"在吗\", \"在\"]]}\n{\"instruction\": \"Hi\", \"output\": \"Hello\"}\n",
    )
    .unwrap();
    let out = dir.path().join("conv");
    let (code, stdout, err) = dramatis(&[
        "dataset",
        good.to_str().unwrap(),
        "--to",
        "sharegpt",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["samples"], 2);
    let conv: Value = serde_json::from_str(&std::fs::read_to_string(out.join("mine_train.json")).unwrap()).unwrap();
    // The history becomes the first exchange of the conversation.
    assert_eq!(conv[0]["conversations"][0]["value"], "在吗");
    assert_eq!(conv[0]["conversations"][3]["value"], "你好呀");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": [1]}\n",
    )
    .unwrap();
    let (code, _, err) = dramatis(&["dataset", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 2") && err.contains("\"output\""), "{err}");
}

#[test]
fn confirmed_cast_merges_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(
        &script,
        "第1幕\n皇帝：你来了。\n莞嫔：臣妾来了。\n皇帝：坐吧。\n熹贵妃：谢皇上。\n",
    )
    .unwrap();
    let cast = dir.path().join("cast.json");
    std::fs::write(&cast, r#"[{"aliases": ["甄嬛", "莞嫔", "熹贵妃"], "gender": "F"}]"#).unwrap();
    let (code, out, err) = dramatis(&[
        "cast",
        script.to_str().unwrap(),
        "--cast-file",
        cast.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let members = v["cast"]["members"].as_array().unwrap();
    let zh = members.iter().find(|m| m["name"] == "甄嬛").unwrap();
    assert_eq!(zh["lines"], 2);
    assert!(members.iter().all(|m| m["name"] != "莞嫔"));
    std::fs::write(&cast, "[{\"aliases\": 3}]").unwrap();
    let (code, _, err) = dramatis(&["cast", script.to_str().unwrap(), "--cast-file", cast.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("cast.json") && err.contains("aliases"), "{err}");
}

/// The engine's errors carry a plain-words hint (no flags) and serialise as
/// `{kind, message, hint, path?, line?}` for the app; the CLI names its flag.
#[test]
fn errors_carry_a_hint_and_the_cli_adds_its_flag() {
    use dramatis::jobs::Error;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "word ".repeat(300_000)).unwrap();
    let (code, _, err) = dramatis(&["import", big.to_str().unwrap(), "--max-mb", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("more than the limit of 1 MB") && err.contains("--max-mb"),
        "{err}"
    );

    let e = Error::Dataset {
        path: "d.json".into(),
        line: 7,
        detail: "\"output\" is missing".into(),
    };
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["kind"], "dataset");
    assert_eq!(v["line"], 7);
    assert_eq!(v["path"], "d.json");
    assert!(v["hint"].is_null());
    let e = Error::TooLarge {
        path: "b.txt".into(),
        detail: "3 MB".into(),
        limit_mb: 1,
    };
    let v = serde_json::to_value(&e).unwrap();
    let hint = v["hint"].as_str().unwrap();
    assert!(hint.contains("size limit") && !hint.contains("--"), "{hint}");
    assert!(!v["message"].as_str().unwrap().contains(hint));
    assert!(v.get("line").is_none());
}
