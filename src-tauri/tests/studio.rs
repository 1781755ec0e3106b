//! The app's second half through the mock runtime: add the real SmolLM2
//! GGUF, train a persona (pause, resume), chat with the adapter and the base
//! model in one conversation, rate a reply, export, and find it all again
//! after a restart.

mod common;
use common::{samples, App};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(600);

fn gguf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// A persona from the first episode of the script, saved in the library.
fn persona(app: &App) -> i64 {
    let mut eps: Vec<PathBuf> = std::fs::read_dir(samples().join("zhenhuan-script"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    eps.sort();
    assert_eq!(app.import(&eps[..1]).1, "done");
    app.ok("dataset_preview", json!({"draftId": 1, "character": "甄嬛"}));
    app.ok("dataset_save", json!({"draftId": 1, "name": null}))["persona"]
        .as_i64()
        .unwrap()
}

fn small_run(persona: i64, steps: usize) -> Value {
    json!({"request": {
        "persona": persona,
        "model": gguf(),
        "preset": "quick",
        "settings": {"max_steps": steps, "batch_size": 1, "max_len": 160, "eval_every": 2, "max_val": 2, "save_every": 1},
    }})
}

#[test]
fn models_training_chat_and_export_through_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path());
    let p = persona(&app);

    // Models: a wrong file is refused with what to do; the GGUF is added once.
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let err = app.call("model_add", json!({"path": txt})).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains(".gguf"), "{err}");
    let m = app.ok("model_add", json!({"path": gguf()}));
    assert_eq!(m["architecture"], "llama");
    assert_eq!(m["quantization"], "q4_1");
    app.ok("model_add", json!({"path": gguf()}));
    let list = app.ok("models_list", json!({}));
    let ours: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "gguf")
        .collect();
    assert_eq!(ours.len(), 1, "{list}");
    let rec = app.ok("models_recommended", json!({}));
    assert!(rec.as_array().unwrap().iter().any(|r| r["languages"] == "both"));
    assert!(app
        .ok("devices", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["chosen"] == true));

    // No adapter yet: chatting needs a model, which the library now has.
    let page = app.ok("train_page", json!({"persona": p}));
    assert!(page["samples"].as_u64().unwrap() > 10, "{page}");
    assert_eq!(page["presets"].as_array().unwrap().len(), 3);
    assert_eq!(page["runs"], json!([]));

    // A run paused after its first steps is offered for resume, then finishes.
    let id = app.ok("train_start", {
        let mut a = small_run(p, 4);
        a["onEvent"] = json!("__CHANNEL__:3");
        a
    });
    let id = id.as_u64().unwrap();
    let t0 = std::time::Instant::now();
    while app.last_event(id)["type"] != "checkpoint" {
        assert!(t0.elapsed() < LONG, "no checkpoint");
        assert!(
            app.ok("job_end", json!({"id": id})).is_null(),
            "ended before a checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    app.ok("train_pause", json!({"jobId": id}));
    let end = app.wait(id, LONG);
    assert_eq!(end["type"], "cancelled", "{end}");
    let page = app.ok("train_page", json!({"persona": p}));
    let run = &page["runs"][0];
    assert_eq!(run["status"], "paused", "{run}");
    assert_eq!(run["resumable"], true);
    let run_id = run["id"].as_i64().unwrap();
    let done = app.job("train_resume", json!({"runId": run_id}), LONG);
    assert_eq!(done["status"], "finished", "{done}");
    assert_eq!(done["summary"]["steps"], 4);
    assert_eq!(done["train_curve"].as_array().unwrap().len(), 4, "{done}");
    assert!(!done["val_curve"].as_array().unwrap().is_empty());
    assert_eq!(done["active"], true, "a new adapter becomes the active one");
    let adapter = done["adapter_id"].as_i64().unwrap();

    // Chat with the adapter, then with the base model in the same conversation.
    let settings = json!({"temperature": 0.0, "top_p": 1.0, "max_tokens": 6});
    let chat = app.job(
        "chat_open",
        json!({"persona": p, "conversation": null, "adapter": adapter, "model": null}),
        LONG,
    );
    assert_eq!(chat["adapter_id"], adapter);
    // The window shows where the model runs (this machine has no GPU).
    assert_eq!(chat["device"], "cpu", "{chat}");
    let greeting = &chat["messages"][0];
    assert_eq!(greeting["greeting"], true, "the persona greets first: {chat}");
    assert!(!greeting["content"].as_str().unwrap().is_empty());
    let session = chat["session"].as_u64().unwrap();
    let bad = json!({"temperature": 9.0, "top_p": 1.0, "max_tokens": 6});
    let id = app.ok(
        "chat_send",
        json!({"session": session, "text": "Hello", "settings": bad, "onEvent": "__CHANNEL__:4"}),
    );
    assert_eq!(app.wait(id.as_u64().unwrap(), LONG)["type"], "failed");
    let v = app.job(
        "chat_send",
        json!({"session": session, "text": "Who are you?", "settings": settings}),
        LONG,
    );
    let msgs = v["messages"].as_array().unwrap();
    let reply = msgs.last().unwrap();
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["adapter_id"], adapter);
    let first_reply = reply["id"].as_i64().unwrap();
    let v = app.ok("chat_set_adapter", json!({"session": session, "adapter": null}));
    assert_eq!(v["adapter_id"], Value::Null);
    let v = app.job(
        "chat_send",
        json!({"session": session, "text": "And now?", "settings": settings}),
        LONG,
    );
    let msgs = v["messages"].as_array().unwrap().clone();
    assert_eq!(msgs.iter().filter(|m| m["role"] == "user").count(), 2);
    assert_eq!(
        msgs.last().unwrap()["adapter_id"],
        Value::Null,
        "the base model wrote it"
    );
    app.ok("chat_rate", json!({"messageId": first_reply, "rating": 1}));
    assert!(app
        .call("chat_rate", json!({"messageId": first_reply, "rating": 5}))
        .is_err());
    // Regenerate replaces the last reply; the count stays.
    let v = app.job(
        "chat_regenerate",
        json!({"session": session, "settings": settings}),
        LONG,
    );
    assert_eq!(v["messages"].as_array().unwrap().len(), msgs.len());
    let conversation = v["conversation"].as_i64().unwrap();
    app.ok("chat_close", json!({"session": session}));

    let found = app.ok("conversations_list", json!({"persona": p, "query": "who are"}));
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        app.ok("conversations_list", json!({"persona": p, "query": "nowhere"})),
        json!([])
    );
    app.ok(
        "conversation_rename",
        json!({"id": conversation, "title": "First talk"}),
    );

    // Exports: the adapter folder and a card.
    let out = dir.path().join("exported-adapter");
    let files = app.job(
        "export_start",
        json!({"persona": p, "kind": "adapter", "path": out, "adapter": null}),
        LONG,
    );
    assert!(out.join("adapter_model.safetensors").is_file(), "{files}");
    let card = dir.path().join("card.png");
    app.job(
        "export_start",
        json!({"persona": p, "kind": "card", "path": card, "adapter": null}),
        LONG,
    );
    assert!(std::fs::read(&card).unwrap().starts_with(b"\x89PNG"));
    drop(app);

    // After a restart: the run, the active adapter and the rated conversation.
    let app = App::start(dir.path());
    let page = app.ok("train_page", json!({"persona": p}));
    assert_eq!(page["runs"][0]["status"], "finished");
    assert_eq!(page["adapters"][0]["id"], adapter);
    assert_eq!(page["adapters"][0]["active"], true);
    let list = app.ok("conversations_list", json!({"persona": p, "query": ""}));
    assert_eq!(list[0]["title"], "First talk");
    let chat = app.job(
        "chat_open",
        json!({"persona": p, "conversation": conversation, "adapter": null, "model": null}),
        LONG,
    );
    let msgs = chat["messages"].as_array().unwrap();
    let rated = msgs.iter().find(|m| m["id"] == first_reply).expect("the rated reply");
    assert_eq!(rated["rating"], 1);
    assert_eq!(
        chat["settings"]["max_tokens"], 6,
        "the conversation's settings came back"
    );
}
