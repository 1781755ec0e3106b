//! The app's commands through Tauri's mock runtime (no display): the real
//! engine on real sample files and a real SQLite library in a temporary
//! DRAMATIS_DATA_DIR, called the way the web view calls them.

mod common;
use common::{samples, App};
use serde_json::{json, Value};
use std::path::PathBuf;

#[test]
fn from_dropped_script_to_a_saved_reviewed_persona() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path());

    let info = app.ok("app_info", json!({}));
    assert_eq!(info["data_dir"], dir.path().display().to_string());
    assert_eq!(app.ok("library_list", json!({})), json!([]));

    // Bad input: a PDF fails as a job with a readable error; no draft is made.
    let pdf = dir.path().join("notes.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n%%EOF\n").unwrap();
    assert_eq!(app.import(&[pdf]).1, "failed");
    let err = app.call("draft_get", json!({"draftId": 1})).unwrap_err();
    assert_eq!(err["kind"], "invalid");
    assert!(err["message"].as_str().unwrap().contains("no longer open"), "{err}");

    // Two episodes of the script given as their folder's first two files.
    let mut eps: Vec<PathBuf> = std::fs::read_dir(samples().join("zhenhuan-script"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    eps.sort();
    let (_, state) = app.import(&eps[..2]);
    assert_eq!(state, "done");
    let draft = app.ok("draft_get", json!({"draftId": 1}));
    assert_eq!(draft["files"].as_array().unwrap().len(), 2);
    assert_eq!(draft["layout"], "script");
    assert_eq!(draft["first_person"], false, "a script's narrator is not an \"I\"");
    let cast = draft["cast"].as_array().unwrap();
    assert!(cast.len() > 10);
    let lines: Vec<u64> = cast.iter().map(|g| g["lines"].as_u64().unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] >= w[1]), "sorted by lines");
    let zhen = cast.iter().find(|g| g["name"] == "甄嬛").expect("甄嬛 in the cast");
    assert!(!zhen["sample"].as_str().unwrap().is_empty());

    // Merge two minor characters, then split them apart again.
    let a = cast[cast.len() - 1]["name"].as_str().unwrap().to_owned();
    let b = cast[cast.len() - 2]["name"].as_str().unwrap().to_owned();
    let merged = app.ok("cast_merge", json!({"draftId": 1, "names": [a, b], "into": b}));
    let g = merged["cast"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == b)
        .unwrap()
        .clone();
    assert_eq!(g["aliases"], json!([a]));
    assert_eq!(merged["cast"].as_array().unwrap().len(), cast.len() - 1);
    let split = app.ok("cast_split", json!({"draftId": 1, "name": b, "alias": a}));
    assert_eq!(split["cast"].as_array().unwrap().len(), cast.len());

    // The dataset of 甄嬛: disable one row and edit another, then save.
    let ds = app.ok("dataset_preview", json!({"draftId": 1, "character": "甄嬛"}));
    let rows = ds["rows"].as_array().unwrap().clone();
    let n = rows.len();
    assert!(n > 50, "{n} rows");
    assert!(rows.iter().all(|r| r["confidence"].is_number()));
    let target = json!({"draft": 1});
    let off = rows[0]["id"].clone();
    let ch = app.ok(
        "dataset_row_update",
        json!({"target": target, "rowId": off, "patch": {"enabled": false}}),
    );
    assert_eq!(
        (ch["count"].as_u64(), ch["enabled"].as_u64()),
        (Some(n as u64), Some(n as u64 - 1))
    );
    let edited = rows[1]["id"].clone();
    app.ok(
        "dataset_row_update",
        json!({"target": target, "rowId": edited, "patch": {"output": "臣妾做不到啊。"}}),
    );
    let empty = app
        .call(
            "dataset_row_update",
            json!({"target": target, "rowId": edited, "patch": {"output": "  "}}),
        )
        .unwrap_err();
    assert!(empty["message"].as_str().unwrap().contains("empty"), "{empty}");
    app.ok("dataset_set_mix", json!({"target": target, "ratio": 0.3}));
    let saved = app.ok("dataset_save", json!({"draftId": 1, "name": null}));

    // The library shows it; the saved dataset keeps the review.
    let cards = app.ok("library_list", json!({}));
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert_eq!(cards[0]["character"], "甄嬛");
    assert_eq!(cards[0]["dataset_rows"].as_u64(), Some(n as u64));
    assert_eq!(cards[0]["enabled_rows"].as_u64(), Some(n as u64 - 1));
    assert!(
        cards[0]["avatar"].is_null(),
        "no picture of its own: the app shows an initial"
    );
    let view = app.ok("dataset_open", json!({"datasetId": saved["dataset"]}));
    assert_eq!(view["rows"][0]["enabled"], false);
    assert_eq!(view["rows"][1]["output"], "臣妾做不到啊。");
    assert_eq!(view["rows"][1]["edited"], true);
    assert_eq!(view["mix_ratio"], 0.3);

    // Edits to a saved dataset go to the library at once.
    let target = json!({"dataset": saved["dataset"]});
    let id2 = view["rows"][2]["id"].clone();
    app.ok(
        "dataset_row_update",
        json!({"target": target, "rowId": id2, "patch": {"deleted": true}}),
    );
    let view = app.ok("dataset_open", json!({"datasetId": saved["dataset"]}));
    assert_eq!(view["count"].as_u64(), Some(n as u64 - 1));

    // One click disables every enabled duplicate, in the library too.
    let dups = view["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["enabled"] == true && r["flags"].as_array().unwrap().contains(&json!("duplicate")))
        .count() as u64;
    assert!(dups > 0, "甄嬛 repeats some replies");
    let before = view["enabled"].as_u64().unwrap();
    let fixed = app.ok("dataset_fix", json!({"target": target, "fix": "duplicates"}));
    assert_eq!(fixed["enabled"].as_u64(), Some(before - dups));
    let view = app.ok("dataset_open", json!({"datasetId": saved["dataset"]}));
    assert_eq!(view["enabled"].as_u64(), Some(before - dups));

    // Export the reviewed rows for LLaMA-Factory.
    let out = dir.path().join("export");
    let files = app.ok(
        "dataset_export",
        json!({"target": target, "format": "llamafactory", "dir": out}),
    );
    let names: Vec<String> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|f| f.ends_with("dataset_info.json")), "{names:?}");
    assert!(names.iter().any(|f| f.ends_with(".yaml")), "{names:?}");
    let train: Value = serde_json::from_str(&std::fs::read_to_string(&names[0]).unwrap()).unwrap();
    let exported = train.as_array().unwrap().len();
    assert!(
        exported < n - 1,
        "disabled and validation rows are not in the training file"
    );

    // Deleting says what goes, then removes it.
    let pid = saved["persona"].clone();
    let plan = app.ok("persona_delete_plan", json!({"id": pid}));
    assert_eq!(plan["datasets"].as_array().unwrap().len(), 1);
    app.ok("persona_delete", json!({"id": pid}));
    assert_eq!(app.ok("library_list", json!({})), json!([]));
}
