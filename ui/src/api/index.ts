// The only module that talks to the app's shell. One typed function per command.
import { Channel, invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import type {
  AppError,
  AppInfo,
  DatasetTarget,
  DatasetView,
  DeletionPlan,
  DraftView,
  ExportFormat,
  HealthFix,
  JobInfo,
  JobMessage,
  PersonaCard,
  RowChange,
  RowPatch,
  SavedPersona,
  AdapterView,
  ChatSettings,
  ChatView,
  ConversationView,
  DeviceInfo,
  Estimate,
  EvalReport,
  ExportKind,
  InterruptedRun,
  LocalModel,
  RecommendedModel,
  RunView,
  TrainPage,
  TrainRequest,
  UpdateInfo,
  UpdatePrefs,
} from "./types";

export * from "./types";

/** Turn whatever a command rejected with into an AppError. */
export function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "message" in e && "kind" in e) return e as AppError;
  return { kind: "internal", message: String(e) };
}

/** Start a job: `cmd` gets a channel as `onEvent`; resolves to the job id. */
function job<T>(cmd: string, args: Record<string, unknown>, onMessage: (m: JobMessage<T>) => void) {
  const ch = new Channel<JobMessage<T>>();
  ch.onmessage = onMessage;
  return call<number>(cmd, { ...args, onEvent: ch });
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  libraryList: () => call<PersonaCard[]>("library_list"),
  personaDeletePlan: (id: number) => call<DeletionPlan>("persona_delete_plan", { id }),
  personaDelete: (id: number) => call<DeletionPlan>("persona_delete", { id }),
  /** Import a persona pack (.zip) or a character card (.png/.json); returns the persona id. */
  personaImport: (path: string) => call<number>("persona_import", { path }),
  /** Export a persona pack to `path`; returns the file written. */
  personaExport: (id: number, path: string) => call<string>("persona_export", { id, path }),
  personaSetSystem: (id: number, system: string) => call<void>("persona_set_system", { id, system }),

  /** Start importing files as one source; returns the job id. */
  importStart: (paths: string[], onMessage: (m: JobMessage<DraftView>) => void) => {
    const ch = new Channel<JobMessage<DraftView>>();
    ch.onmessage = onMessage;
    return call<number>("import_start", { paths, onEvent: ch });
  },
  jobCancel: (id: number) => call<void>("job_cancel", { id }),
  jobsList: () => call<JobInfo[]>("jobs_list"),
  /** How a job ended (null while it runs). */
  jobEnd: <T,>(id: number) => call<JobMessage<T> | null>("job_end", { id }),
  /** Re-attach to a job after a reload: replays its last event and its end. */
  jobAttach: (id: number, onMessage: (m: JobMessage<DraftView>) => void) => {
    const ch = new Channel<JobMessage<DraftView>>();
    ch.onmessage = onMessage;
    return call<void>("job_attach", { id, onEvent: ch });
  },

  draftGet: (draftId: number) => call<DraftView>("draft_get", { draftId }),
  castMerge: (draftId: number, names: string[], into: string) =>
    call<DraftView>("cast_merge", { draftId, names, into }),
  castRename: (draftId: number, name: string, newName: string) =>
    call<DraftView>("cast_rename", { draftId, name, newName }),
  castSplit: (draftId: number, name: string, alias: string) =>
    call<DraftView>("cast_split", { draftId, name, alias }),
  /** Name the first-person narrator of a novel (null: leave as "Narrator"). */
  castSetNarrator: (draftId: number, name: string | null) =>
    call<DraftView>("cast_set_narrator", { draftId, name }),

  /** Build the dataset of one character from a draft (not saved yet). */
  datasetPreview: (draftId: number, character: string) =>
    call<DatasetView>("dataset_preview", { draftId, character }),
  /** A saved dataset from the library. */
  datasetOpen: (datasetId: number) => call<DatasetView>("dataset_open", { datasetId }),
  datasetRowUpdate: (target: DatasetTarget, rowId: number, patch: RowPatch) =>
    call<RowChange>("dataset_row_update", { target, rowId, patch }),
  datasetFix: (target: DatasetTarget, fix: HealthFix) => call<DatasetView>("dataset_fix", { target, fix }),
  datasetSetSystem: (target: DatasetTarget, system: string) =>
    call<void>("dataset_set_system", { target, system }),
  datasetSetMix: (target: DatasetTarget, ratio: number) => call<void>("dataset_set_mix", { target, ratio }),
  /** Save a draft's dataset as a new persona in the library. */
  datasetSave: (draftId: number, name: string | null) => call<SavedPersona>("dataset_save", { draftId, name }),
  /** Write the dataset's enabled rows to a folder; returns the files written. */
  datasetExport: (target: DatasetTarget, format: ExportFormat, dir: string) =>
    call<string[]>("dataset_export", { target, format, dir }),

  // ---- Models ----
  /** Models on this computer: the Hugging Face cache and added files/folders. */
  modelsList: () => call<LocalModel[]>("models_list"),
  modelsRecommended: () => call<RecommendedModel[]>("models_recommended"),
  /** Add a .gguf file or a Hugging Face model folder by path. */
  modelAdd: (path: string) => call<LocalModel>("model_add", { path }),
  /** Download `owner/name` from the hub (resumes partial files); cancel with jobCancel (= pause). */
  modelDownload: (id: string, onMessage: (m: JobMessage<LocalModel>) => void) =>
    job<LocalModel>("model_download", { id }, onMessage),
  devices: () => call<DeviceInfo[]>("devices"),

  // ---- Training ----
  trainPage: (persona: number) => call<TrainPage>("train_page", { persona }),
  /** Measure every preset on this computer (short calibration). */
  trainEstimate: (persona: number, model: string, onMessage: (m: JobMessage<Estimate[]>) => void) =>
    job<Estimate[]>("train_estimate", { persona, model }, onMessage),
  trainStart: (request: TrainRequest, onMessage: (m: JobMessage<RunView>) => void) =>
    job<RunView>("train_start", { request }, onMessage),
  /** Continue a paused or interrupted run from its last checkpoint. */
  trainResume: (runId: number, onMessage: (m: JobMessage<RunView>) => void) =>
    job<RunView>("train_resume", { runId }, onMessage),
  /** Stop a training job at once, keeping a checkpoint to resume from (jobCancel cancels the run). */
  trainPause: (jobId: number) => call<void>("train_pause", { jobId }),
  /** Runs left running when the app closed or crashed, for every persona. */
  runsInterrupted: () => call<InterruptedRun[]>("runs_interrupted"),
  adapterActivate: (persona: number, adapter: number) => call<void>("adapter_activate", { persona, adapter }),
  adaptersList: (persona: number) => call<AdapterView[]>("adapters_list", { persona }),

  // ---- Evaluation ----
  /** Base model vs the adapter on the persona's held-out lines. */
  evalStart: (persona: number, adapter: number, onMessage: (m: JobMessage<EvalReport>) => void) =>
    job<EvalReport>("eval_start", { persona, adapter }, onMessage),

  // ---- Chat ----
  /**
   * Load a model and open a conversation (null: a new one). `adapter` null
   * chats with the base model `model` (null: the persona's last model).
   */
  chatOpen: (
    persona: number,
    conversation: number | null,
    adapter: number | null,
    model: string | null,
    onMessage: (m: JobMessage<ChatView>) => void,
  ) => job<ChatView>("chat_open", { persona, conversation, adapter, model }, onMessage),
  /** Send a message; tokens stream as `token` events; stop with jobCancel. */
  chatSend: (session: number, text: string, settings: ChatSettings, onMessage: (m: JobMessage<ChatView>) => void) =>
    job<ChatView>("chat_send", { session, text, settings }, onMessage),
  /** Answer the last user message again (the last reply is replaced). */
  chatRegenerate: (session: number, settings: ChatSettings, onMessage: (m: JobMessage<ChatView>) => void) =>
    job<ChatView>("chat_regenerate", { session, settings }, onMessage),
  /** Replace the user message at `index` of `messages` with `text`, drop what followed, answer again. */
  chatEdit: (
    session: number,
    index: number,
    text: string,
    settings: ChatSettings,
    onMessage: (m: JobMessage<ChatView>) => void,
  ) => job<ChatView>("chat_edit", { session, index, text, settings }, onMessage),
  /** Switch adapter (null: base model) without reloading the base. */
  chatSetAdapter: (session: number, adapter: number | null) =>
    call<ChatView>("chat_set_adapter", { session, adapter }),
  chatClose: (session: number) => call<void>("chat_close", { session }),
  /** Thumbs up (1), down (-1) or none (null) on a stored reply. */
  chatRate: (messageId: number, rating: number | null) => call<void>("chat_rate", { messageId, rating }),
  conversationsList: (persona: number, query: string) =>
    call<ConversationView[]>("conversations_list", { persona, query }),
  conversationRename: (id: number, title: string) => call<void>("conversation_rename", { id, title }),
  conversationDelete: (id: number) => call<void>("conversation_delete", { id }),

  // ---- Export ----
  /** Export a persona; `adapter` null uses the active one. Resolves to the files written. */
  exportStart: (
    persona: number,
    kind: ExportKind,
    path: string,
    adapter: number | null,
    onMessage: (m: JobMessage<string[]>) => void,
  ) => job<string[]>("export_start", { persona, kind, path, adapter }, onMessage),
  /** Show a file or folder in the system's file manager. */
  revealPath: (path: string) => call<void>("reveal_path", { path }),

  updatePrefs: () => call<UpdatePrefs>("update_prefs"),
  updateSetPrefs: (prefs: UpdatePrefs) => call<void>("update_set_prefs", { prefs }),
  /** A newer release, only when the user opted in (null otherwise, with no network call). */
  updateCheck: () => call<UpdateInfo | null>("update_check"),

  /** Files the app was asked to open (from the file manager), each handed out once. */
  openedFiles: () => call<string[]>("opened_files"),

  /** The native file dialog: chosen paths (empty when cancelled). */
  pickFiles: (multiple: boolean) => call<string[]>("pick_files", { multiple }),
  pickFolder: () => call<string | null>("pick_folder"),
  pickSavePath: (defaultName: string) => call<string | null>("pick_save_path", { defaultName }),
};

/** Files opened with Dramatis while it runs (macOS "Open With"). Returns the function that stops listening. */
export async function onFilesOpened(handler: (paths: string[]) => void) {
  const { listen } = await import("@tauri-apps/api/event");
  return listen<string[]>("files-opened", (e) => handler(e.payload));
}

/**
 * Files dropped anywhere on the window. `onHover(true)` while files are held
 * over it. Returns the function that stops listening.
 */
export async function onFileDrop(onDrop: (paths: string[]) => void, onHover?: (over: boolean) => void) {
  return getCurrentWebview().onDragDropEvent((e) => {
    const p = e.payload;
    if (p.type === "enter" || p.type === "over") onHover?.(true);
    else if (p.type === "leave") onHover?.(false);
    else if (p.type === "drop") {
      onHover?.(false);
      if (p.paths.length) onDrop(p.paths);
    }
  });
}
