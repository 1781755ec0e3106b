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

// ---- Part 2: models, training, evaluation, chat, exports ----

/** A model on this computer. */
export interface LocalModel {
  /** How Dramatis names it: a hub id (owner/name) or a path. */
  reference: string;
  kind: "hub" | "folder" | "gguf";
  path: string;
  size_bytes: number;
  /** "llama", "qwen2", … ("" when unknown). */
  architecture: string;
  /** "q4_1", "f16", … ("" when unknown). */
  quantization: string;
  /** "hub" (downloaded), "added" (a file or folder the user added). */
  origin: string;
}

/** A small chat model Dramatis recommends, by hub id. */
export interface RecommendedModel {
  id: string;
  name: string;
  /** Approximate parameters, e.g. "0.5B". */
  parameters: string;
  /** Download size in bytes (approximate). */
  download_bytes: number;
  /** Memory needed to train a LoRA on it with the Balanced preset, MiB (approximate). */
  train_memory_mib: number;
  /** "en", "zh" or "both": which books it suits best. */
  languages: string;
  /** One plain sentence on what it is good for. */
  note: string;
  /** Already on this computer. */
  local: boolean;
}

/** A device Dramatis can run on. */
export interface DeviceInfo {
  name: string; // "cpu", "cuda:0", "metal"
  description: string;
  features: string[];
  /** The one "auto" uses. */
  chosen: boolean;
}

export type Preset = "quick" | "balanced" | "deep";

/** Knobs on top of a preset (null/undefined keeps the preset's value). */
export interface TrainSettings {
  max_steps?: number | null;
  epochs?: number | null;
  rank?: number | null;
  alpha?: number | null;
  dropout?: number | null;
  rslora?: boolean;
  targets?: string[] | null;
  batch_size?: number | null;
  grad_accum?: number | null;
  max_len?: number | null;
  lr?: number | null;
  warmup_ratio?: number | null;
  weight_decay?: number | null;
  eval_every?: number | null;
  save_every?: number | null;
  patience?: number | null;
  max_val?: number | null;
  seed?: number | null;
}

/** A preset's full configuration (the engine's TrainConfig). */
export interface TrainConfig {
  rank: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targets: string[];
  lr: number;
  epochs: number;
  max_steps: number | null;
  batch_size: number;
  grad_accum: number;
  max_len: number;
  warmup_ratio: number;
  weight_decay: number;
  clip: number;
  min_lr_ratio: number;
  seed: number;
  eval_every: number;
  save_every: number;
  patience: number;
  max_val_samples: number;
}

export interface PresetInfo {
  preset: Preset;
  label: string;
  description: string;
  config: TrainConfig;
}

/** A preset measured on this computer (the engine's calibration). */
export interface Estimate {
  preset: Preset | null;
  label: string;
  description: string;
  total_steps: number;
  seconds_per_step: number;
  estimated_seconds: number;
  peak_memory_mib: number | null;
  needed_mib: number;
  available_mib: number | null;
  /** False: the run would not fit in memory (it is refused). */
  fits: boolean;
  config: TrainConfig;
}

export interface TrainRequest {
  persona: number;
  /** A LocalModel's reference. */
  model: string;
  preset: Preset;
  settings: TrainSettings;
  /** "auto", "cpu", … */
  device: string;
}

/** Training events (JobEvent with event "train"). */
export type TrainEvent =
  | {
      type: "start";
      total_steps: number;
      train_examples: number;
      val_examples: number;
      skipped: number;
      trainable_parameters: number;
      resumed_from: number | null;
      /** Where it runs: "cpu", "cuda:0", "metal". */
      device: string;
    }
  | {
      type: "step";
      step: number;
      total_steps: number;
      epoch: number;
      loss: number;
      lr: number;
      grad_norm: number;
      tokens: number;
      tokens_per_s: number;
      elapsed_s: number;
      eta_s: number;
    }
  | { type: "eval"; step: number; val_loss: number; best_val_loss: number; improved: boolean }
  | { type: "checkpoint"; step: number }
  | { type: "early_stop"; step: number; best_step: number }
  | { type: "done"; steps: number };

export interface TrainSummary {
  steps: number;
  total_steps: number;
  train_loss_first: number | null;
  train_loss_last: number | null;
  val_loss_first: number | null;
  val_loss_last: number | null;
  best_val_loss: number | null;
  best_step: number | null;
  tokens_per_s: number;
  peak_memory_mib: number | null;
  stopped_early: boolean;
  adapter: string;
}

/** One point of a run's curve. */
export interface CurvePoint {
  step: number;
  loss: number;
}

/** A training run of a persona, as the history shows it. */
export interface RunView {
  id: number;
  /** "running" | "paused" | "finished" | "failed" | "cancelled" | "interrupted" */
  status: string;
  model: string;
  /** The settings it ran with. */
  config: TrainConfig | null;
  train_curve: CurvePoint[];
  val_curve: CurvePoint[];
  best_step: number | null;
  summary: TrainSummary | null;
  /** The error, when it failed. */
  error: AppError | null;
  /** The adapter it made, when finished. */
  adapter_id: number | null;
  /** That adapter is the persona's active one. */
  active: boolean;
  /** Can be continued from its last checkpoint (paused or interrupted). */
  resumable: boolean;
  started_at: number | null;
  finished_at: number | null;
}

/** An adapter of a persona (the choices of the chat's adapter selector). */
export interface AdapterView {
  id: number;
  run_id: number | null;
  path: string;
  /** The base model it was trained on. */
  model: string;
  label: string;
  active: boolean;
  created_at: number;
}

/** The persona's training page: what to train on and what exists. */
export interface TrainPage {
  persona: number;
  name: string;
  dataset_id: number | null;
  /** Enabled rows the run would train on. */
  samples: number;
  presets: PresetInfo[];
  runs: RunView[];
  adapters: AdapterView[];
  /** The model used last for this persona (preselect it), if any. */
  last_model: string | null;
}

export interface Scores {
  loss: number;
  perplexity: number;
  bleu: number;
  rouge_l: number;
  token_f1: number;
  general_perplexity: number | null;
}

export interface EvalReport {
  samples: number;
  base: Scores;
  adapter: Scores | null;
  examples: { prompt: string; reference: string; base: string; adapter: string | null }[];
}

/** Generation settings of a chat. */
export interface ChatSettings {
  temperature: number;
  top_p: number;
  max_tokens: number;
}

export interface ChatMessageView {
  /** The library's message id (null for the greeting, which is not stored). */
  id: number | null;
  role: "user" | "assistant";
  content: string;
  /** 1 thumbs up, -1 thumbs down, null none. */
  rating: number | null;
  /** The adapter that wrote an assistant message (null: base model). */
  adapter_id: number | null;
  greeting: boolean;
}

/** An open chat: a loaded model with a conversation. */
export interface ChatView {
  session: number;
  persona: number;
  conversation: number | null;
  title: string;
  model: string;
  /** The adapter in use; null: the base model. */
  adapter_id: number | null;
  messages: ChatMessageView[];
  settings: ChatSettings;
  /** Where the model runs: "cpu", "cuda:0", "metal". */
  device: string;
}

export interface ConversationView {
  id: number;
  persona_id: number | null;
  title: string;
  created_at: number;
  messages: number;
  /** The start of the last message, for the list. */
  preview: string;
}

export type ExportKind = "pack" | "card" | "adapter" | "merged_hf" | "merged_gguf" | "ollama" | "llamafactory";

/** A run left "running" when the app closed or crashed. */
export interface InterruptedRun {
  persona: number;
  persona_name: string;
  run: RunView;
}

/** The opt-in update check's setting. */
export interface UpdatePrefs {
  check: boolean;
}

export interface UpdateInfo {
  current: string;
  latest: string;
  newer: boolean;
  url: string;
}
