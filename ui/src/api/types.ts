// The shapes the app's commands return. Field names are the engine's
// (snake_case); the commands' argument names are camelCase (Tauri maps them).

/** Every command's error: the engine's error, serialised. */
export interface AppError {
  kind: string;
  message: string;
  hint?: string;
  path?: string;
  line?: number;
}

export interface AppInfo {
  version: string;
  data_dir: string;
  library_path: string;
}

export interface PersonaCard {
  id: number;
  name: string;
  character: string;
  source_title: string;
  /** A data: URL of the persona's own picture; null: show its initial. */
  avatar: string | null;
  dataset_id: number | null;
  dataset_rows: number;
  enabled_rows: number;
  adapters: number;
  /** Unix seconds of the last chat message, if any. */
  last_chat: number | null;
  created_at: number;
}

export interface DeletionPlan {
  persona: string;
  datasets: number[];
  conversations: number[];
  adapters: number[];
  files: string[];
  kept_files: string[];
}

/** One event of a long job (the engine's `jobs::Event`). */
export type JobEvent =
  | { event: "progress"; stage: string; done: number; total: number | null; unit: string; message: string }
  | { event: "train"; type: string; [k: string]: unknown }
  | { event: "token"; text: string }
  | { event: "log"; level: "info" | "warning"; message: string };

/** What a job's channel carries. */
export type JobMessage<T> =
  | { type: "event"; event: JobEvent }
  | { type: "done"; result: T }
  | { type: "failed"; error: AppError }
  | { type: "cancelled" };

export interface JobInfo {
  id: number;
  kind: string; // "import"
  label: string; // e.g. the file names
  state: "running" | "done" | "failed" | "cancelled";
  last_event: JobEvent | null;
}

export interface ImportSummary {
  file: string;
  format: string; // "txt" | "epub" | "srt" | "fountain" | ...
  encoding: string;
  bytes: number;
  chars: number;
  lines: number;
  chapters: number;
  cues: number;
  lossy: boolean;
}

export interface CastGroup {
  name: string;
  aliases: string[];
  lines: number;
  /** One line this character says (the first). */
  sample: string;
  /** The first-person narrator of a novel ("I"). */
  narrator: boolean;
}

export interface DraftView {
  id: number;
  files: ImportSummary[];
  /** "novel" | "script" | "screenplay" | "subtitles" | "play" ... */
  layout: string;
  utterances: number;
  /** Lines whose speaker was found. */
  attributed: number;
  unknown_lines: number;
  unsure: number;
  title: string;
  cast: CastGroup[];
  /** A novel told in the first person: ask who "I" is. */
  first_person: boolean;
}

export type RowFlag = "duplicate" | "short" | "unsure";

export interface DatasetRow {
  id: number;
  position: number;
  instruction: string;
  input: string;
  output: string;
  history: [string, string][];
  scene: number | null;
  confidence: number | null;
  split: string; // "train" | "validation"
  enabled: boolean;
  edited: boolean;
  flags: RowFlag[];
}

export interface HealthReport {
  candidates: number;
  kept: number;
  train: number;
  validation: number;
  dropped_short: number;
  dropped_exact_duplicates: number;
  dropped_near_duplicates: number;
  no_context: number;
  leaked_removed: number;
  total_tokens: number;
  general_mixed: number;
  [k: string]: unknown;
}

/** A dataset being reviewed: a draft (not yet in the library) or a saved one. */
export type DatasetTarget = { draft: number } | { dataset: number };

export interface DatasetView {
  target: DatasetTarget;
  character: string;
  persona_id: number | null;
  system_prompt: string;
  /** Share of general samples mixed in at training time, 0..0.9 (default 0.2). */
  mix_ratio: number;
  rows: DatasetRow[];
  count: number;
  enabled: number;
  /** Rows flagged as duplicates / short replies / unsure attributions. */
  duplicates: number;
  short: number;
  unsure: number;
  report: HealthReport;
}

export interface RowPatch {
  enabled?: boolean;
  output?: string;
  deleted?: boolean;
}

export interface RowChange {
  /** The row after the change; null when deleted. */
  row: DatasetRow | null;
  count: number;
  enabled: number;
}

export type HealthFix = "duplicates" | "short";

export interface SavedPersona {
  persona: number;
  dataset: number;
}

export type ExportFormat = "alpaca" | "sharegpt" | "llamafactory";
