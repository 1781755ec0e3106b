//! The app on Tauri's mock runtime, for the command tests.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples")
}

pub struct App {
    _app: tauri::App<MockRuntime>,
    view: WebviewWindow<MockRuntime>,
}

impl App {
    pub fn start(data: &std::path::Path) -> App {
        // One test function per process part: the variable is read in setup.
        std::env::set_var(dramatis_app::DATA_DIR_VAR, data);
        let app = dramatis_app::builder(mock_builder())
            // The app's own context: its capabilities decide what the window may call.
            .build(tauri::generate_context!())
            .expect("the app builds on the mock runtime");
        // The mock runtime never runs the setup hook: open the state the way it does.
        let dir = dramatis_app::data_dir(None);
        assert_eq!(dir, data);
        app.manage(std::sync::Arc::new(dramatis_app::AppState::open(&dir).unwrap()));
        let view = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("a mock window");
        App { _app: app, view }
    }

    /// Call a command; Ok(result) or Err(the error object the UI gets).
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        tauri::test::get_ipc_response(
            &self.view,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                // The app's own origin on Linux and macOS (Windows: http://tauri.localhost).
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: tauri::test::INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Start an import and wait for its job to end; returns its final state.
    pub fn import(&self, paths: &[PathBuf]) -> (u64, String) {
        let id = self
            .ok("import_start", json!({"paths": paths, "onEvent": "__CHANNEL__:7"}))
            .as_u64()
            .unwrap();
        let start = Instant::now();
        loop {
            let jobs = self.ok("jobs_list", json!({}));
            let job = jobs.as_array().unwrap().iter().find(|j| j["id"] == id).unwrap().clone();
            if job["state"] != "running" {
                return (id, job["state"].as_str().unwrap().to_owned());
            }
            assert!(start.elapsed() < Duration::from_secs(120), "the import takes too long");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl App {
    /// Wait for a job to end; returns how it ended (`{"type": "done", "result": …}`, …).
    pub fn wait(&self, id: u64, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let end = self.ok("job_end", json!({"id": id}));
            if !end.is_null() {
                return end;
            }
            assert!(start.elapsed() < limit, "job {id} takes too long");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Start a job command and wait for its result; panics unless it is done.
    pub fn job(&self, cmd: &str, mut args: Value, limit: Duration) -> Value {
        args["onEvent"] = json!("__CHANNEL__:9");
        let id = self.ok(cmd, args).as_u64().unwrap();
        let end = self.wait(id, limit);
        assert_eq!(end["type"], "done", "{cmd}: {end}");
        end["result"].clone()
    }

    /// The app's state, as the commands see it.
    pub fn state(&self) -> std::sync::Arc<dramatis_app::AppState> {
        self._app
            .state::<std::sync::Arc<dramatis_app::AppState>>()
            .inner()
            .clone()
    }

    /// The last event of a running job.
    pub fn last_event(&self, id: u64) -> Value {
        let jobs = self.ok("jobs_list", json!({}));
        jobs.as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .map(|j| j["last_event"].clone())
            .unwrap_or_default()
    }
}
