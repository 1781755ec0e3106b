//! The Dramatis desktop app: a Tauri shell over the engine. Each command
//! parses its arguments, calls one engine function and returns its result or
//! its `{kind, message, hint}` error. Long jobs run on threads of their own
//! (the engine's job registry) and stream events over a Tauri channel.

mod commands;
mod state;
mod studio;

pub use state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

/// The environment variable that moves everything the app writes.
pub const DATA_DIR_VAR: &str = "DRAMATIS_DATA_DIR";

/// Where the app keeps its library, models and adapters: `DRAMATIS_DATA_DIR`
/// when set, else the platform's app-data folder.
pub fn data_dir(default: Option<PathBuf>) -> PathBuf {
    match std::env::var_os(DATA_DIR_VAR) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => default.unwrap_or_else(|| {
            dramatis::store::Library::default_path()
                .parent()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
        }),
    }
}

/// The app's commands and state on any runtime (the real one, or the mock
/// runtime in tests).
pub fn builder<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            if app.try_state::<Arc<AppState>>().is_some() {
                return Ok(());
            }
            let dir = data_dir(app.path().app_data_dir().ok());
            let state = AppState::open(&dir).map_err(|e| {
                // No window can say it yet: print it where a terminal sees it.
                eprintln!("Dramatis could not open its library: {}", e.message());
                Box::new(std::io::Error::other(e.message())) as Box<dyn std::error::Error>
            })?;
            state.add_opened(opened_files(std::env::args_os().skip(1).map(PathBuf::from)));
            app.manage(Arc::new(state));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::library_list,
            commands::persona_delete_plan,
            commands::persona_delete,
            commands::persona_import,
            commands::persona_export,
            commands::persona_set_system,
            commands::import_start,
            commands::job_cancel,
            commands::jobs_list,
            commands::job_attach,
            commands::job_end,
            commands::opened_files,
            commands::update_prefs,
            commands::update_set_prefs,
            commands::update_check,
            commands::draft_get,
            commands::cast_merge,
            commands::cast_rename,
            commands::cast_split,
            commands::cast_set_narrator,
            commands::dataset_preview,
            commands::dataset_open,
            commands::dataset_row_update,
            commands::dataset_fix,
            commands::dataset_set_system,
            commands::dataset_set_mix,
            commands::dataset_save,
            commands::dataset_export,
            commands::pick_files,
            commands::pick_folder,
            commands::pick_save_path,
            studio::models_list,
            studio::models_recommended,
            studio::model_add,
            studio::model_download,
            studio::devices,
            studio::train_page,
            studio::adapters_list,
            studio::adapter_activate,
            studio::runs_interrupted,
            studio::train_estimate,
            studio::train_start,
            studio::train_resume,
            studio::train_pause,
            studio::eval_start,
            studio::chat_open,
            studio::chat_send,
            studio::chat_regenerate,
            studio::chat_edit,
            studio::chat_set_adapter,
            studio::chat_close,
            studio::chat_rate,
            studio::conversations_list,
            studio::conversation_rename,
            studio::conversation_delete,
            studio::export_start,
            studio::reveal_path,
        ])
}

/// The files among the app's arguments (the file manager's "Open With"
/// passes them on Linux and Windows); options and missing paths are left out.
pub fn opened_files(args: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    args.into_iter()
        .filter(|p| !p.to_string_lossy().starts_with('-') && p.is_file())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .collect()
}

/// Start the app.
pub fn run() {
    #[cfg(target_os = "linux")]
    light_webview();
    // The window (and the rest of the desktop) keeps a core when there are
    // more than two: model work on every core makes the app stutter.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        if n > 2 {
            std::env::set_var("RAYON_NUM_THREADS", (n - 1).to_string());
        }
    }
    dramatis::jobs::init_runtime();
    builder(tauri::Builder::default())
        .build(tauri::generate_context!())
        .expect("Dramatis could not start its window")
        .run(|_app, _event| {
            // macOS hands files opened with the app over as an event.
            #[cfg(any(target_os = "macos", target_os = "ios"))]
            if let tauri::RunEvent::Opened { urls } = &_event {
                use tauri::Emitter;
                let files: Vec<PathBuf> = urls.iter().filter_map(|u| u.to_file_path().ok()).collect();
                let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                match _app.try_state::<Arc<AppState>>() {
                    Some(state) if !state.window_listens() => state.add_opened(files),
                    _ => {
                        let _ = _app.emit("files-opened", paths);
                    }
                }
            }
        });
}

/// WebKitGTK's GPU compositing loads the whole GL stack into the web process
/// (about 85 MB more at rest; with software GL most of it is LLVM) and is
/// behind blank windows with some drivers (DMA-BUF). Nothing the window
/// draws needs it. A value the user set wins. Under WebDriver (the end-to-end
/// test) the compositing mode stays: WebKitWebDriver's screenshots wait for
/// it and never return without it.
#[cfg(target_os = "linux")]
fn light_webview() {
    if std::env::var_os("TAURI_WEBVIEW_AUTOMATION").is_some() {
        return;
    }
    for key in ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, "1");
        }
    }
}
