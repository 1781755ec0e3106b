//! `dramatis persona create`, `library list|show|export|delete`, `conversations`.

mod common;
use serde_json::Value;

fn run(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    common::run_cli(args, Some(db))
}

#[test]
fn persona_lifecycle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let script = common::repo().join("personas/lighthouse/script.txt");
    let (code, out, err) = run(
        &db,
        &[
            "persona",
            "create",
            script.to_str().unwrap(),
            "--character",
            "MAGS",
            "--name",
            "Mags",
            "--alias",
            "Mags",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let (pid, did) = (v["persona"].as_i64().unwrap(), v["dataset"].as_i64().unwrap());
    assert!(v["rows"].as_u64().unwrap() > 100);
    // A second persona from the same file reuses the stored source.
    let (code, out, _) = run(
        &db,
        &[
            "persona",
            "create",
            script.to_str().unwrap(),
            "--character",
            "TOM",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let v2: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v2["sources"], v["sources"]);

    let (_, out, _) = run(&db, &["library", "list", "--json"]);
    let l: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(l["personas"].as_array().unwrap().len(), 2);
    assert_eq!(l["sources"].as_array().unwrap().len(), 1);
    let (_, out, _) = run(&db, &["library", "show", "persona", &pid.to_string(), "--json"]);
    let p: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["persona"]["character"], "MAGS");
    assert!(p["alias_groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["main_name"] == "MAGS"));

    let exp = dir.path().join("export");
    let (code, _, err) = run(
        &db,
        &[
            "library",
            "export",
            "dataset",
            &did.to_string(),
            "-o",
            exp.to_str().unwrap(),
            "--format",
            "sharegpt",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let info: Value = serde_json::from_str(&std::fs::read_to_string(exp.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(info["mags_train"]["formatting"], "sharegpt");

    // Deleting asks first: nothing goes without --yes.
    let (code, out, _) = run(&db, &["library", "delete", "persona", &pid.to_string()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Would delete") && out.contains("Nothing was deleted"),
        "{out}"
    );
    let (_, out, _) = run(&db, &["library", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["personas"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (code, out, _) = run(
        &db,
        &[
            "library",
            "delete",
            "persona",
            &pid.to_string(),
            "--keep",
            "datasets",
            "--yes",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("Deleted"), "{out}");
    let (_, out, _) = run(&db, &["library", "list", "--json"]);
    let l: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(l["personas"].as_array().unwrap().len(), 1);
    assert_eq!(l["datasets"].as_array().unwrap().len(), 2, "the kept dataset stays");

    let (code, _, err) = run(&db, &["library", "show", "dataset", "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no dataset 999") && err.contains("library list"), "{err}");
    let (code, _, err) = run(&db, &["library", "delete", "persona", "1", "--keep", "everything"]);
    assert_eq!(code, 1);
    assert!(err.contains("choose from"), "{err}");
    let (code, out, _) = run(&db, &["conversations", "list", "--json"]);
    assert_eq!((code, out.trim()), (0, "[]"));
}

#[test]
fn conversations_show_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let cid = {
        let mut lib = dramatis::store::Library::open(&db).unwrap();
        let cid = lib.create_conversation(None, "Harbour talk").unwrap();
        lib.add_message(cid, "user", "Is the kettle on?", "{}", None).unwrap();
        lib.add_message(cid, "assistant", "Always.", "{\"seed\":1}", None)
            .unwrap();
        cid
    };
    let (code, out, _) = run(&db, &["conversations", "show", &cid.to_string()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("user: Is the kettle on?") && out.contains("assistant: Always."),
        "{out}"
    );
    let md = dir.path().join("c.md");
    let js = dir.path().join("c.json");
    assert_eq!(
        run(
            &db,
            &["conversations", "export", &cid.to_string(), "-o", md.to_str().unwrap()]
        )
        .0,
        0
    );
    assert_eq!(
        run(
            &db,
            &["conversations", "export", &cid.to_string(), "-o", js.to_str().unwrap()]
        )
        .0,
        0
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("**assistant**: Always."));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(v["conversations"][1]["from"], "gpt");
    assert_eq!(v["conversations"][0]["value"], "Is the kettle on?");
}
