//! The commands the UI calls (see `ui/src/api/index.ts`). Each one parses,
//! calls one engine function and returns its result or its error.

use crate::AppState;
use dramatis::jobs::registry::{JobInfo, JobMessage, Watcher};
use dramatis::jobs::{Error, Result};
use dramatis::pipeline::review::{
    self, DatasetTarget, DatasetView, DraftView, ExportFormat, HealthFix, RowChange, RowPatch, SavedPersona,
};
use dramatis::pipeline::{persona_cards, PersonaCard};
use dramatis::store::{DeletionPlan, Keep};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

pub(crate) type AppStateRef<'a> = State<'a, Arc<AppState>>;

/// Run a step that may take a while off the async runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<T> + Send + 'static,
) -> Result<T> {
    let s = Arc::clone(state);
    tauri::async_runtime::spawn_blocking(move || f(&s))
        .await
        .map_err(|_| Error::Invalid("the step stopped on an internal error; nothing was changed.".into()))?
}

#[derive(Serialize)]
pub struct AppInfo {
    version: &'static str,
    data_dir: String,
    library_path: String,
}

#[tauri::command]
pub async fn app_info(state: AppStateRef<'_>) -> Result<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        data_dir: state.data_dir.display().to_string(),
        library_path: state.library().path().display().to_string(),
    })
}

#[tauri::command]
pub async fn library_list(state: AppStateRef<'_>) -> Result<Vec<PersonaCard>> {
    persona_cards(&state.library())
}

const KEEP_NOTHING: Keep = Keep {
    datasets: false,
    conversations: false,
    adapters: false,
};

#[tauri::command]
pub async fn persona_delete_plan(state: AppStateRef<'_>, id: i64) -> Result<DeletionPlan> {
    state.library().plan_delete_persona(id, KEEP_NOTHING)
}

#[tauri::command]
pub async fn persona_delete(state: AppStateRef<'_>, id: i64) -> Result<DeletionPlan> {
    let plan = state.library().delete_persona(id, KEEP_NOTHING)?;
    state.forget_reviews();
    Ok(plan)
}

#[tauri::command]
pub async fn persona_import(state: AppStateRef<'_>, path: PathBuf) -> Result<i64> {
    blocking(&state, move |s| s.library().import_persona_file(&path)).await
}

#[tauri::command]
pub async fn persona_export(state: AppStateRef<'_>, id: i64, path: PathBuf) -> Result<String> {
    blocking(&state, move |s| {
        s.library().export_pack(id, &path, &Default::default())?;
        Ok(path.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn persona_set_system(state: AppStateRef<'_>, id: i64, system: String) -> Result<()> {
    state.library().set_system_prompt(id, &system)
}

pub(crate) fn watcher(ch: Channel<JobMessage>) -> Watcher {
    Arc::new(move |m: &JobMessage| {
        // A closed window drops its channel; the job goes on.
        let _ = ch.send(m.clone());
    })
}

/// Read files as one source and find its cast, as a job.
#[tauri::command]
pub async fn import_start(state: AppStateRef<'_>, paths: Vec<PathBuf>, on_event: Channel<JobMessage>) -> Result<u64> {
    let label = paths
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(", ");
    let s = Arc::clone(&state);
    Ok(state.jobs.start("import", &label, watcher(on_event), move |job| {
        let draft = review::open_sources(&paths, job)?;
        let view_of = |id| s.with_draft(id, |d| Ok(d.view(id)));
        let view = view_of(s.add_draft(draft))?;
        Ok(serde_json::to_value(view).unwrap_or_default())
    }))
}

#[tauri::command]
pub async fn job_cancel(state: AppStateRef<'_>, id: u64) -> Result<()> {
    state.jobs.cancel(id)
}

#[tauri::command]
pub async fn jobs_list(state: AppStateRef<'_>) -> Result<Vec<JobInfo>> {
    Ok(state.jobs.list())
}

/// How a job ended (`null` while it runs).
#[tauri::command]
pub async fn job_end(state: AppStateRef<'_>, id: u64) -> Result<Option<JobMessage>> {
    state.jobs.end(id)
}

#[tauri::command]
pub async fn job_attach(state: AppStateRef<'_>, id: u64, on_event: Channel<JobMessage>) -> Result<()> {
    state.jobs.attach(id, watcher(on_event))
}

#[tauri::command]
pub async fn draft_get(state: AppStateRef<'_>, draft_id: u64) -> Result<DraftView> {
    state.with_draft(draft_id, |d| Ok(d.view(draft_id)))
}

#[tauri::command]
pub async fn cast_merge(state: AppStateRef<'_>, draft_id: u64, names: Vec<String>, into: String) -> Result<DraftView> {
    state.with_draft(draft_id, |d| {
        d.merge(&names, &into)?;
        Ok(d.view(draft_id))
    })
}

#[tauri::command]
pub async fn cast_rename(state: AppStateRef<'_>, draft_id: u64, name: String, new_name: String) -> Result<DraftView> {
    state.with_draft(draft_id, |d| {
        d.rename(&name, &new_name)?;
        Ok(d.view(draft_id))
    })
}

#[tauri::command]
pub async fn cast_split(state: AppStateRef<'_>, draft_id: u64, name: String, alias: String) -> Result<DraftView> {
    state.with_draft(draft_id, |d| {
        d.split(&name, &alias)?;
        Ok(d.view(draft_id))
    })
}

#[tauri::command]
pub async fn cast_set_narrator(state: AppStateRef<'_>, draft_id: u64, name: Option<String>) -> Result<DraftView> {
    state.with_draft(draft_id, |d| {
        d.set_narrator(name.as_deref())?;
        Ok(d.view(draft_id))
    })
}

#[tauri::command]
pub async fn dataset_preview(state: AppStateRef<'_>, draft_id: u64, character: String) -> Result<DatasetView> {
    blocking(&state, move |s| {
        s.with_draft(draft_id, |d| {
            Ok(d.preview(&character)?.view(DatasetTarget::Draft(draft_id)))
        })
    })
    .await
}

#[tauri::command]
pub async fn dataset_open(state: AppStateRef<'_>, dataset_id: i64) -> Result<DatasetView> {
    blocking(&state, move |s| s.open_review(dataset_id)).await
}

#[tauri::command]
pub async fn dataset_row_update(
    state: AppStateRef<'_>,
    target: DatasetTarget,
    row_id: i64,
    patch: RowPatch,
) -> Result<RowChange> {
    state.with_dataset(target, |ds, lib| ds.update_row(lib, row_id, &patch))
}

#[tauri::command]
pub async fn dataset_fix(state: AppStateRef<'_>, target: DatasetTarget, fix: HealthFix) -> Result<DatasetView> {
    state.with_dataset(target, |ds, lib| {
        ds.fix(lib, fix)?;
        Ok(ds.view(target))
    })
}

#[tauri::command]
pub async fn dataset_set_system(state: AppStateRef<'_>, target: DatasetTarget, system: String) -> Result<()> {
    state.with_dataset(target, |ds, lib| ds.set_system(lib, &system))
}

#[tauri::command]
pub async fn dataset_set_mix(state: AppStateRef<'_>, target: DatasetTarget, ratio: f64) -> Result<()> {
    state.with_dataset(target, |ds, lib| {
        let saved = match target {
            DatasetTarget::Dataset(id) => lib.map(|l| (l, id)),
            DatasetTarget::Draft(_) => None,
        };
        ds.set_mix(saved, ratio)
    })
}

#[tauri::command]
pub async fn dataset_save(state: AppStateRef<'_>, draft_id: u64, name: Option<String>) -> Result<SavedPersona> {
    blocking(&state, move |s| {
        let saved = s.with_draft(draft_id, |d| review::save_draft(&mut s.library(), d, name.as_deref()))?;
        s.forget_reviews();
        Ok(saved)
    })
    .await
}

#[tauri::command]
pub async fn dataset_export(
    state: AppStateRef<'_>,
    target: DatasetTarget,
    format: ExportFormat,
    dir: PathBuf,
) -> Result<Vec<String>> {
    blocking(&state, move |s| {
        s.with_dataset(target, |ds, _| review::export_dataset(ds, format, &dir))
            .map(|files| files.iter().map(|f| f.display().to_string()).collect())
    })
    .await
}

/// Files the app was opened with (a `.fountain` or `.epub` from the file
/// manager), each handed out once: the window imports them.
#[tauri::command]
pub async fn opened_files(state: AppStateRef<'_>) -> Result<Vec<String>> {
    Ok(state.take_opened().iter().map(|p| p.display().to_string()).collect())
}

use dramatis::pipeline::update::{self, UpdateInfo, UpdatePrefs};

#[tauri::command]
pub async fn update_prefs(state: AppStateRef<'_>) -> Result<UpdatePrefs> {
    Ok(update::load_prefs(&state.data_dir))
}

#[tauri::command]
pub async fn update_set_prefs(state: AppStateRef<'_>, prefs: UpdatePrefs) -> Result<()> {
    update::save_prefs(&state.data_dir, prefs)
}

/// A newer release, when the person opted in to checking (no network call otherwise).
#[tauri::command]
pub async fn update_check(state: AppStateRef<'_>) -> Result<Option<UpdateInfo>> {
    let prefs = update::load_prefs(&state.data_dir);
    blocking(&state, move |_| update::check(prefs, env!("CARGO_PKG_VERSION"))).await
}

// ---- native dialogs: the only way besides drop and typing that a path reaches the engine ----

fn path_of(p: tauri_plugin_dialog::FilePath) -> Option<String> {
    p.into_path().ok().map(|p| p.display().to_string())
}

#[tauri::command]
pub async fn pick_files<R: Runtime>(app: AppHandle<R>, multiple: bool) -> Result<Vec<String>> {
    let dialog = app.dialog().file();
    let picked = if multiple {
        dialog.blocking_pick_files().unwrap_or_default()
    } else {
        dialog.blocking_pick_file().into_iter().collect()
    };
    Ok(picked.into_iter().filter_map(path_of).collect())
}

#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>) -> Result<Option<String>> {
    Ok(app.dialog().file().blocking_pick_folder().and_then(path_of))
}

#[tauri::command]
pub async fn pick_save_path<R: Runtime>(app: AppHandle<R>, default_name: String) -> Result<Option<String>> {
    Ok(app
        .dialog()
        .file()
        .set_file_name(default_name)
        .blocking_save_file()
        .and_then(path_of))
}
