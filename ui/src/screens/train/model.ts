// The training screen's logic, apart from React: folding the trainer's
// events into what the screen shows, and the advanced settings.
import type { CurvePoint, JobEvent, Preset, RunView, TrainConfig, TrainEvent, TrainSettings } from "../../api";

export const PRESETS: Preset[] = ["quick", "balanced", "deep"];

// ---- The live run ----

/** What the screen knows of a run while it trains. */
export interface LiveRun {
  totalSteps: number | null;
  step: number;
  epoch: number | null;
  /** The latest training loss. */
  loss: number | null;
  tokensPerS: number | null;
  elapsedS: number | null;
  etaS: number | null;
  train: CurvePoint[];
  val: CurvePoint[];
  bestStep: number | null;
  bestVal: number | null;
  lastCheckpoint: number | null;
  earlyStop: { step: number; bestStep: number } | null;
  /** Steps the run ended with (its `done` event). */
  doneSteps: number | null;
  trainExamples: number | null;
  valExamples: number | null;
  skipped: number;
  resumedFrom: number | null;
  /** Where the run trains ("cpu", "cuda:0"), once it started. */
  device: string | null;
}

export const emptyLive: LiveRun = {
  totalSteps: null,
  step: 0,
  epoch: null,
  loss: null,
  tokensPerS: null,
  elapsedS: null,
  etaS: null,
  train: [],
  val: [],
  bestStep: null,
  bestVal: null,
  lastCheckpoint: null,
  earlyStop: null,
  doneSteps: null,
  trainExamples: null,
  valExamples: null,
  skipped: 0,
  resumedFrom: null,
  device: null,
};

const TRAIN_TYPES = new Set(["start", "step", "eval", "checkpoint", "early_stop", "done"]);

/** A job event as a training event, when it is one. */
export function asTrainEvent(ev: JobEvent): TrainEvent | null {
  if (ev.event !== "train" || !TRAIN_TYPES.has(ev.type)) return null;
  return ev as unknown as TrainEvent;
}

/** Add a point, replacing any at or after its step (a resumed run replays from its checkpoint). */
function addPoint(points: CurvePoint[], p: CurvePoint): CurvePoint[] {
  const last = points[points.length - 1];
  if (!last || last.step < p.step) return [...points, p];
  return [...points.filter((q) => q.step < p.step), p];
}

/** The best (lowest) validation point. */
export function bestOf(val: CurvePoint[]): CurvePoint | null {
  let best: CurvePoint | null = null;
  for (const p of val) if (!best || p.loss < best.loss) best = p;
  return best;
}

/** The live run after one training event. */
export function foldTrainEvent(s: LiveRun, ev: TrainEvent): LiveRun {
  switch (ev.type) {
    case "start": {
      // Resumed: forget what was drawn after the checkpoint it resumes from.
      const from = ev.resumed_from;
      const keep = (p: CurvePoint) => from != null && p.step <= from;
      const val = s.val.filter(keep);
      const best = bestOf(val);
      return {
        ...s,
        totalSteps: ev.total_steps,
        trainExamples: ev.train_examples,
        valExamples: ev.val_examples,
        skipped: ev.skipped,
        resumedFrom: from,
        device: ev.device,
        step: from ?? 0,
        train: s.train.filter(keep),
        val,
        bestStep: best?.step ?? null,
        bestVal: best?.loss ?? null,
        earlyStop: null,
        doneSteps: null,
      };
    }
    case "step":
      return {
        ...s,
        step: ev.step,
        totalSteps: ev.total_steps,
        epoch: ev.epoch,
        loss: ev.loss,
        tokensPerS: ev.tokens_per_s,
        elapsedS: ev.elapsed_s,
        etaS: ev.eta_s,
        train: addPoint(s.train, { step: ev.step, loss: ev.loss }),
      };
    case "eval": {
      const val = addPoint(s.val, { step: ev.step, loss: ev.val_loss });
      const better = ev.improved || s.bestVal == null || ev.val_loss < s.bestVal;
      return {
        ...s,
        val,
        bestStep: better ? ev.step : s.bestStep,
        bestVal: better ? ev.val_loss : s.bestVal,
      };
    }
    case "checkpoint":
      return { ...s, lastCheckpoint: ev.step };
    case "early_stop":
      return { ...s, earlyStop: { step: ev.step, bestStep: ev.best_step }, bestStep: ev.best_step };
    case "done":
      return { ...s, doneSteps: ev.steps, step: Math.max(s.step, ev.steps), etaS: 0 };
  }
}

/** The live view of a stored run (to continue its curve when it resumes). */
export function liveFromRun(run: RunView): LiveRun {
  const last = run.train_curve[run.train_curve.length - 1];
  return {
    ...emptyLive,
    train: run.train_curve,
    val: run.val_curve,
    bestStep: run.best_step,
    bestVal: run.val_curve.find((p) => p.step === run.best_step)?.loss ?? bestOf(run.val_curve)?.loss ?? null,
    step: last?.step ?? 0,
    loss: last?.loss ?? null,
    totalSteps: run.summary?.total_steps ?? null,
  };
}

/**
 * The validation loss went up at each of the last two checks: the adapter is
 * starting to learn the lines by heart rather than the voice.
 */
export function isOverfitting(val: CurvePoint[]): boolean {
  const n = val.length;
  if (n < 3) return false;
  return val[n - 1].loss > val[n - 2].loss && val[n - 2].loss > val[n - 3].loss;
}

/** "2.3456": a loss as the screen shows it. */
export function formatLoss(loss: number | null | undefined): string {
  return loss == null || !Number.isFinite(loss) ? "—" : loss.toFixed(4);
}

// ---- Advanced settings ----

export type NumberKnob =
  | "max_steps"
  | "epochs"
  | "rank"
  | "alpha"
  | "dropout"
  | "batch_size"
  | "grad_accum"
  | "max_len"
  | "lr"
  | "warmup_ratio"
  | "weight_decay"
  | "eval_every"
  | "save_every"
  | "patience"
  | "max_val"
  | "seed";

export type KnobGroup = "length" | "adapter" | "batches" | "learning" | "checks";

export interface KnobDef {
  key: NumberKnob;
  group: KnobGroup;
  min: number;
  max: number;
  /** The input's step ("any" for decimals). */
  step: number | "any";
  integer: boolean;
  /** The preset's value (null: none, e.g. no step limit). */
  preset: (c: TrainConfig) => number | null;
}

export const KNOBS: KnobDef[] = [
  { key: "max_steps", group: "length", min: 1, max: 1_000_000, step: 1, integer: true, preset: (c) => c.max_steps },
  { key: "epochs", group: "length", min: 1, max: 20, step: 1, integer: true, preset: (c) => c.epochs },
  { key: "rank", group: "adapter", min: 1, max: 256, step: 1, integer: true, preset: (c) => c.rank },
  { key: "alpha", group: "adapter", min: 0.1, max: 1024, step: "any", integer: false, preset: (c) => c.alpha },
  { key: "dropout", group: "adapter", min: 0, max: 0.9, step: "any", integer: false, preset: (c) => c.dropout },
  { key: "batch_size", group: "batches", min: 1, max: 128, step: 1, integer: true, preset: (c) => c.batch_size },
  { key: "grad_accum", group: "batches", min: 1, max: 256, step: 1, integer: true, preset: (c) => c.grad_accum },
  { key: "max_len", group: "batches", min: 32, max: 8192, step: 1, integer: true, preset: (c) => c.max_len },
  { key: "lr", group: "learning", min: 0.000001, max: 0.01, step: "any", integer: false, preset: (c) => c.lr },
  { key: "warmup_ratio", group: "learning", min: 0, max: 0.5, step: "any", integer: false, preset: (c) => c.warmup_ratio },
  { key: "weight_decay", group: "learning", min: 0, max: 1, step: "any", integer: false, preset: (c) => c.weight_decay },
  { key: "seed", group: "learning", min: 0, max: 4_294_967_295, step: 1, integer: true, preset: (c) => c.seed },
  { key: "eval_every", group: "checks", min: 0, max: 100_000, step: 1, integer: true, preset: (c) => c.eval_every },
  { key: "save_every", group: "checks", min: 0, max: 100_000, step: 1, integer: true, preset: (c) => c.save_every },
  { key: "patience", group: "checks", min: 0, max: 100, step: 1, integer: true, preset: (c) => c.patience },
  { key: "max_val", group: "checks", min: 1, max: 100_000, step: 1, integer: true, preset: (c) => c.max_val_samples },
];

export const KNOB_GROUPS: KnobGroup[] = ["length", "adapter", "batches", "learning", "checks"];

/** The projections a LoRA adapter can sit on (the engine's TARGETS). */
export const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** What the user typed or ticked over the preset. Absent: the preset's value. */
export interface Overrides {
  numbers: Partial<Record<NumberKnob, string>>;
  rslora?: boolean;
  targets?: string[];
}

export const noOverrides: Overrides = { numbers: {} };

/** The preset's value as the field shows it ("" for none). */
export function presetText(def: KnobDef, config: TrainConfig): string {
  const v = def.preset(config);
  return v == null ? "" : String(v);
}

/** What the field shows: the user's text, else the preset's value. */
export function knobText(def: KnobDef, config: TrainConfig, o: Overrides): string {
  return o.numbers[def.key] ?? presetText(def, config);
}

export type KnobProblem = "number" | "whole" | "range";

/** What is wrong with a typed value, if anything. Empty is fine: the preset decides. */
export function knobProblem(def: KnobDef, text: string): KnobProblem | null {
  const s = text.trim();
  if (s === "") return null;
  const n = Number(s);
  if (!Number.isFinite(n)) return "number";
  if (def.integer && !Number.isInteger(n)) return "whole";
  if (n < def.min || n > def.max) return "range";
  return null;
}

/** Whether the user changed this knob (to a value other than the preset's). */
export function isChanged(def: KnobDef, config: TrainConfig, o: Overrides): boolean {
  const text = o.numbers[def.key];
  if (text === undefined || text.trim() === "") return false;
  const preset = def.preset(config);
  return preset == null || Number(text) !== preset;
}

const sameTargets = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * The settings to send: only what the user changed, with the problems of
 * values that cannot be sent (the run must not start with them).
 */
export function settingsFrom(
  o: Overrides,
  config: TrainConfig,
): { settings: TrainSettings; problems: Partial<Record<NumberKnob, KnobProblem>>; changed: number } {
  const settings: TrainSettings = {};
  const problems: Partial<Record<NumberKnob, KnobProblem>> = {};
  let changed = 0;
  for (const def of KNOBS) {
    const text = o.numbers[def.key];
    if (text === undefined) continue;
    const problem = knobProblem(def, text);
    if (problem) {
      problems[def.key] = problem;
      continue;
    }
    if (!isChanged(def, config, o)) continue;
    settings[def.key] = Number(text);
    changed++;
  }
  if (o.rslora !== undefined && o.rslora !== config.rslora) {
    settings.rslora = o.rslora;
    changed++;
  }
  if (o.targets !== undefined && !sameTargets(o.targets, config.targets)) {
    settings.targets = TARGETS.filter((t) => o.targets?.includes(t));
    changed++;
  }
  return { settings, problems, changed };
}

/** No target ticked: the adapter would have nowhere to learn. */
export function targetsProblem(o: Overrides): boolean {
  return o.targets !== undefined && o.targets.length === 0;
}
