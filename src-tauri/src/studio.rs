//! The commands of the app's second half: models, training, evaluation,
//! chat and exports. Each parses, calls one engine function and returns its
//! result or its error; long steps are jobs with a channel of events.

use crate::commands::{watcher, AppStateRef};
use crate::AppState;
use dramatis::jobs::registry::JobMessage;
use dramatis::jobs::{Error, Result};
use dramatis::pipeline::chat::{self, ChatSettings, ChatState, PersonaChatRequest};
use dramatis::pipeline::export::{self, PersonaExport};
use dramatis::pipeline::models::{self, DeviceInfo, LocalModel, RecommendedModel};
use dramatis::pipeline::runs::{self, AdapterView, InterruptedRun, PersonaTrainRequest, TrainPage};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tauri::ipc::Channel;

fn json<T: Serialize>(v: T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Invalid(e.to_string()))
}

fn hub_cache() -> PathBuf {
    dramatis::model::hub::HubClient::from_env().cache_dir
}

// ---- models ----

#[tauri::command]
pub async fn models_list(state: AppStateRef<'_>) -> Result<Vec<LocalModel>> {
    models::local_models(&hub_cache(), Some(&state.library()))
}

#[tauri::command]
pub async fn models_recommended(state: AppStateRef<'_>) -> Result<Vec<RecommendedModel>> {
    Ok(models::recommended(&models::local_models(
        &hub_cache(),
        Some(&state.library()),
    )?))
}

#[tauri::command]
pub async fn model_add(state: AppStateRef<'_>, path: PathBuf) -> Result<LocalModel> {
    crate::commands::blocking(&state, move |s| models::add_local(&mut s.library(), &path)).await
}

#[tauri::command]
pub async fn model_download(state: AppStateRef<'_>, id: String, on_event: Channel<JobMessage>) -> Result<u64> {
    let lib = state.library_path().to_owned();
    Ok(state
        .jobs
        .start("download", &id.clone(), watcher(on_event), move |job| {
            let dir = models::download(&id, job)?;
            let library = dramatis::store::Library::open(&lib)?;
            let list = models::local_models(&hub_cache(), Some(&library))?;
            let m = list.into_iter().find(|m| m.path == dir || m.reference == id);
            json(m.ok_or_else(|| {
                Error::Invalid(format!("{id} was downloaded to {} but cannot be read", dir.display()))
            })?)
        }))
}

#[tauri::command]
pub async fn devices() -> Result<Vec<DeviceInfo>> {
    Ok(models::devices())
}

// ---- training and evaluation ----

#[tauri::command]
pub async fn train_page(state: AppStateRef<'_>, persona: i64) -> Result<TrainPage> {
    runs::train_page(&state.library(), persona)
}

#[tauri::command]
pub async fn adapters_list(state: AppStateRef<'_>, persona: i64) -> Result<Vec<AdapterView>> {
    runs::adapters_of(&state.library(), persona)
}

#[tauri::command]
pub async fn adapter_activate(state: AppStateRef<'_>, persona: i64, adapter: i64) -> Result<()> {
    state.library().set_active_adapter(persona, Some(adapter))
}

#[tauri::command]
pub async fn runs_interrupted(state: AppStateRef<'_>) -> Result<Vec<InterruptedRun>> {
    runs::interrupted_runs(&state.library())
}

#[tauri::command]
pub async fn train_estimate(
    state: AppStateRef<'_>,
    persona: i64,
    model: String,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    let lib = state.library_path().to_owned();
    Ok(state
        .jobs
        .start("estimate", &model.clone(), watcher(on_event), move |job| {
            json(runs::estimate_persona(&lib, persona, &model, job)?)
        }))
}

/// Start a training job whose stop becomes a pause when `train_pause` asked.
fn start_training(
    state: &Arc<AppState>,
    persona: i64,
    label: &str,
    on_event: Channel<JobMessage>,
    work: impl FnOnce(&dramatis::jobs::Job) -> Result<runs::RunView> + Send + 'static,
) -> u64 {
    let lib = state.library_path().to_owned();
    let pause = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&pause);
    let id = state.jobs.start("train", label, watcher(on_event), move |job| {
        let result = work(job);
        if matches!(result, Err(Error::Cancelled)) && flag.load(Ordering::SeqCst) {
            runs::mark_paused(&lib, persona)?;
        }
        json(result?)
    });
    state.add_pause_flag(id, pause);
    id
}

#[tauri::command]
pub async fn train_start(
    state: AppStateRef<'_>,
    request: PersonaTrainRequest,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    let lib = state.library_path().to_owned();
    let label = state.library().persona(request.persona)?.persona.name;
    let persona = request.persona;
    Ok(start_training(&state, persona, &label, on_event, move |job| {
        runs::train_persona(&lib, &request, job)
    }))
}

#[tauri::command]
pub async fn train_resume(state: AppStateRef<'_>, run_id: i64, on_event: Channel<JobMessage>) -> Result<u64> {
    let lib = state.library_path().to_owned();
    let run = state.library().runs()?.into_iter().find(|r| r.id == run_id);
    let persona = run
        .and_then(|r| r.persona_id)
        .ok_or_else(|| Error::Invalid(format!("there is no training run {run_id} of a persona")))?;
    let label = state.library().persona(persona)?.persona.name;
    Ok(start_training(&state, persona, &label, on_event, move |job| {
        runs::resume_run(&lib, run_id, job)
    }))
}

#[tauri::command]
pub async fn train_pause(state: AppStateRef<'_>, job_id: u64) -> Result<()> {
    let flag = state
        .pause_flag(job_id)
        .ok_or_else(|| Error::Invalid("this is not a running training job".into()))?;
    flag.store(true, Ordering::SeqCst);
    state.jobs.cancel(job_id)
}

#[tauri::command]
pub async fn eval_start(
    state: AppStateRef<'_>,
    persona: i64,
    adapter: i64,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    let lib = state.library_path().to_owned();
    Ok(state.jobs.start("eval", "evaluation", watcher(on_event), move |job| {
        json(runs::evaluate_persona(&lib, persona, adapter, job)?)
    }))
}

// ---- chat ----

/// An open chat as the window shows it.
#[derive(Serialize)]
pub struct ChatView {
    session: u64,
    #[serde(flatten)]
    state: ChatState,
}

#[tauri::command]
pub async fn chat_open(
    state: AppStateRef<'_>,
    persona: i64,
    conversation: Option<i64>,
    adapter: Option<i64>,
    model: Option<String>,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    let s = Arc::clone(&state);
    let req = PersonaChatRequest {
        persona,
        conversation,
        adapter,
        model,
    };
    Ok(state
        .jobs
        .start("chat", "loading the model", watcher(on_event), move |job| {
            let session = chat::open_persona_chat(s.library_path(), &req, job)?;
            let view = session.state();
            json(ChatView {
                session: s.add_chat(session),
                state: view,
            })
        }))
}

/// Run a chat turn as a job: tokens stream as events, a cancel stops it.
fn chat_job(
    state: &Arc<AppState>,
    session: u64,
    on_event: Channel<JobMessage>,
    turn: impl FnOnce(&mut chat::ChatSession, &dramatis::jobs::Job) -> Result<()> + Send + 'static,
) -> u64 {
    let s = Arc::clone(state);
    state.jobs.start("chat", "reply", watcher(on_event), move |job| {
        s.with_chat(session, |c| {
            turn(c, job)?;
            json(ChatView {
                session,
                state: c.state(),
            })
        })
    })
}

#[tauri::command]
pub async fn chat_send(
    state: AppStateRef<'_>,
    session: u64,
    text: String,
    settings: ChatSettings,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    Ok(chat_job(&state, session, on_event, move |c, job| {
        c.say(&text, settings, job).map(|_| ())
    }))
}

#[tauri::command]
pub async fn chat_regenerate(
    state: AppStateRef<'_>,
    session: u64,
    settings: ChatSettings,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    Ok(chat_job(&state, session, on_event, move |c, job| {
        c.regenerate(settings, job).map(|_| ())
    }))
}

#[tauri::command]
pub async fn chat_edit(
    state: AppStateRef<'_>,
    session: u64,
    index: usize,
    text: String,
    settings: ChatSettings,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    Ok(chat_job(&state, session, on_event, move |c, job| {
        c.edit(index, &text, settings, job).map(|_| ())
    }))
}

#[tauri::command]
pub async fn chat_set_adapter(state: AppStateRef<'_>, session: u64, adapter: Option<i64>) -> Result<ChatView> {
    crate::commands::blocking(&state, move |s| {
        s.with_chat(session, |c| {
            c.use_persona_adapter(adapter)?;
            Ok(ChatView {
                session,
                state: c.state(),
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn chat_close(state: AppStateRef<'_>, session: u64) -> Result<()> {
    state.close_chat(session);
    Ok(())
}

#[tauri::command]
pub async fn chat_rate(state: AppStateRef<'_>, message_id: i64, rating: Option<i64>) -> Result<()> {
    state.library().rate_message(message_id, rating)
}

/// A conversation in the list.
#[derive(Serialize)]
pub struct ConversationView {
    #[serde(flatten)]
    conversation: dramatis::store::Conversation,
    preview: String,
}

#[tauri::command]
pub async fn conversations_list(state: AppStateRef<'_>, persona: i64, query: String) -> Result<Vec<ConversationView>> {
    Ok(state
        .library()
        .search_conversations(persona, &query)?
        .into_iter()
        .map(|(conversation, preview)| ConversationView {
            conversation,
            preview: preview.chars().take(120).collect(),
        })
        .collect())
}

#[tauri::command]
pub async fn conversation_rename(state: AppStateRef<'_>, id: i64, title: String) -> Result<()> {
    state.library().rename_conversation(id, &title)
}

#[tauri::command]
pub async fn conversation_delete(state: AppStateRef<'_>, id: i64) -> Result<()> {
    state.library().delete_conversation(id)
}

// ---- exports ----

#[tauri::command]
pub async fn export_start(
    state: AppStateRef<'_>,
    persona: i64,
    kind: PersonaExport,
    path: PathBuf,
    adapter: Option<i64>,
    on_event: Channel<JobMessage>,
) -> Result<u64> {
    let lib = state.library_path().to_owned();
    Ok(state
        .jobs
        .start("export", &path.display().to_string(), watcher(on_event), move |job| {
            let written = export::export_persona(&lib, persona, kind, &path, adapter, job)?;
            json(written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())
        }))
}

/// Show a file or folder in the system's file manager.
#[tauri::command]
pub async fn reveal_path(path: PathBuf) -> Result<()> {
    if !path.exists() {
        return Err(Error::NotFound { path });
    }
    let folder = if path.is_dir() {
        path.clone()
    } else {
        path.parent().map(PathBuf::from).unwrap_or(path.clone())
    };
    let mut cmd = if cfg!(target_os = "macos") {
        let mut c = std::process::Command::new("open");
        c.arg("-R").arg(&path);
        c
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("explorer");
        c.arg(format!("/select,{}", path.display()));
        c
    } else {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(&folder);
        c
    };
    cmd.spawn().map(|_| ()).map_err(|e| {
        Error::Invalid(format!(
            "could not open the file manager ({e}); the files are in {}",
            folder.display()
        ))
    })
}
