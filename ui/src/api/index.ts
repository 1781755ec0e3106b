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
} from "./types";

export * from "./types";

/** Turn whatever a command rejected with into an AppError. */
export function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "message" in e && "kind" in e) return e as AppError;
  return { kind: "internal", message: String(e) };
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

  /** The native file dialog: chosen paths (empty when cancelled). */
  pickFiles: (multiple: boolean) => call<string[]>("pick_files", { multiple }),
  pickFolder: () => call<string | null>("pick_folder"),
  pickSavePath: (defaultName: string) => call<string | null>("pick_save_path", { defaultName }),
};

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
