import { describe, expect, it } from "vitest";
import type { JobEvent, TrainEvent } from "../../api";
import {
  KNOBS,
  asTrainEvent,
  emptyLive,
  foldTrainEvent,
  formatLoss,
  isOverfitting,
  knobProblem,
  knobText,
  liveFromRun,
  settingsFrom,
  targetsProblem,
  type LiveRun,
} from "./model";
import { compareScore, fileNameFor } from "./labels";
import { run, trainConfig } from "./testFixtures";

const step = (n: number, loss: number, total = 10): TrainEvent => ({
  type: "step",
  step: n,
  total_steps: total,
  epoch: n / total,
  loss,
  lr: 1e-4,
  grad_norm: 1,
  tokens: n * 100,
  tokens_per_s: 900,
  elapsed_s: n * 2,
  eta_s: (total - n) * 2,
});

const start = (resumed_from: number | null = null): TrainEvent => ({
  type: "start",
  total_steps: 10,
  train_examples: 80,
  val_examples: 8,
  skipped: 2,
  trainable_parameters: 1000,
  resumed_from,
  device: "cpu",
});

const fold = (events: TrainEvent[], from: LiveRun = emptyLive) => events.reduce(foldTrainEvent, from);

describe("folding training events", () => {
  it("draws a point per step and keeps the latest numbers", () => {
    const s = fold([start(), step(1, 3.1), step(2, 2.9), step(3, 2.3456)]);
    expect(s.train.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(s.loss).toBe(2.3456);
    expect(s.step).toBe(3);
    expect(s.totalSteps).toBe(10);
    expect(s.etaS).toBe(14);
    expect(s.skipped).toBe(2);
    expect(s.trainExamples).toBe(80);
  });

  it("marks the best validation point, also when a later one is worse", () => {
    const s = fold([
      start(),
      step(1, 3),
      { type: "eval", step: 1, val_loss: 2.8, best_val_loss: 2.8, improved: true },
      step(2, 2.5),
      { type: "eval", step: 2, val_loss: 2.6, best_val_loss: 2.6, improved: true },
      step(3, 2.2),
      { type: "eval", step: 3, val_loss: 2.7, best_val_loss: 2.6, improved: false },
    ]);
    expect(s.val.map((p) => p.loss)).toEqual([2.8, 2.6, 2.7]);
    expect(s.bestStep).toBe(2);
    expect(s.bestVal).toBe(2.6);
  });

  it("records early stopping and the end", () => {
    const s = fold([start(), step(4, 2), { type: "checkpoint", step: 4 }, { type: "early_stop", step: 4, best_step: 2 }, { type: "done", steps: 4 }]);
    expect(s.lastCheckpoint).toBe(4);
    expect(s.earlyStop).toEqual({ step: 4, bestStep: 2 });
    expect(s.bestStep).toBe(2);
    expect(s.doneSteps).toBe(4);
    expect(s.etaS).toBe(0);
  });

  it("a resumed run keeps the curve up to its checkpoint and replaces what follows", () => {
    const before = fold([start(), step(1, 3), step(2, 2.8), step(3, 2.7), { type: "eval", step: 3, val_loss: 2.9, best_val_loss: 2.9, improved: true }]);
    const after = fold([start(2), step(3, 2.65), step(4, 2.5)], before);
    expect(after.train).toEqual([
      { step: 1, loss: 3 },
      { step: 2, loss: 2.8 },
      { step: 3, loss: 2.65 },
      { step: 4, loss: 2.5 },
    ]);
    expect(after.val).toEqual([]);
    expect(after.bestStep).toBeNull();
    expect(after.resumedFrom).toBe(2);
  });

  it("a fresh start forgets an earlier curve", () => {
    const s = fold([start(), step(1, 3), step(2, 2)]);
    expect(fold([start()], s).train).toEqual([]);
  });

  it("continues a stored run's curve", () => {
    const live = liveFromRun(run({ best_step: 3 }));
    expect(live.train).toHaveLength(3);
    expect(live.step).toBe(3);
    expect(live.loss).toBe(2.5);
    expect(live.bestVal).toBe(2.7);
    expect(live.totalSteps).toBe(3);
  });

  it("takes only training events from the job's stream", () => {
    const train: JobEvent = { event: "train", type: "done", steps: 3 };
    expect(asTrainEvent(train)).toEqual({ event: "train", type: "done", steps: 3 });
    expect(asTrainEvent({ event: "train", type: "mystery" })).toBeNull();
    expect(asTrainEvent({ event: "token", text: "hi" })).toBeNull();
  });
});

describe("overfitting", () => {
  const v = (...losses: number[]) => losses.map((loss, i) => ({ step: (i + 1) * 10, loss }));
  it("is when the validation loss rose at each of the last two checks", () => {
    expect(isOverfitting(v(2.5, 2.3, 2.4, 2.6))).toBe(true);
    expect(isOverfitting(v(2.3, 2.4, 2.6))).toBe(true);
  });
  it("is not one rise, a fall at the end, or too few checks", () => {
    expect(isOverfitting(v(2.5, 2.3, 2.4))).toBe(false);
    expect(isOverfitting(v(2.3, 2.4, 2.6, 2.5))).toBe(false);
    expect(isOverfitting(v(2.3, 2.4))).toBe(false);
    expect(isOverfitting(v(2.4, 2.4, 2.4))).toBe(false);
  });
});

describe("advanced settings", () => {
  const config = trainConfig();
  const def = (key: string) => KNOBS.find((k) => k.key === key)!;

  it("shows the preset's values until the user types", () => {
    expect(knobText(def("rank"), config, { numbers: {} })).toBe("16");
    expect(knobText(def("lr"), config, { numbers: {} })).toBe("0.0002");
    expect(knobText(def("max_steps"), config, { numbers: {} })).toBe("");
    expect(knobText(def("rank"), config, { numbers: { rank: "8" } })).toBe("8");
  });

  it("sends only what differs from the preset", () => {
    const { settings, problems, changed } = settingsFrom(
      { numbers: { max_steps: "3", rank: "16", lr: "0.0001", epochs: "" }, rslora: false, targets: [...config.targets].reverse() },
      config,
    );
    expect(settings).toEqual({ max_steps: 3, lr: 0.0001 });
    expect(problems).toEqual({});
    expect(changed).toBe(2);
  });

  it("sends the switches and the projections when changed, in the engine's order", () => {
    const { settings } = settingsFrom({ numbers: {}, rslora: true, targets: ["v_proj", "q_proj"] }, config);
    expect(settings).toEqual({ rslora: true, targets: ["q_proj", "v_proj"] });
  });

  it("refuses values out of range or not whole", () => {
    expect(knobProblem(def("rank"), "0")).toBe("range");
    expect(knobProblem(def("rank"), "2.5")).toBe("whole");
    expect(knobProblem(def("dropout"), "0.95")).toBe("range");
    expect(knobProblem(def("dropout"), "0.1")).toBeNull();
    expect(knobProblem(def("lr"), "abc")).toBe("number");
    expect(knobProblem(def("max_steps"), "")).toBeNull();
    const { settings, problems } = settingsFrom({ numbers: { rank: "0", epochs: "3" } }, config);
    expect(problems).toEqual({ rank: "range" });
    expect(settings).toEqual({ epochs: 3 });
    expect(targetsProblem({ numbers: {}, targets: [] })).toBe(true);
    expect(targetsProblem({ numbers: {} })).toBe(false);
  });

  it("every knob's preset value is within its own range", () => {
    for (const k of KNOBS) {
      const v = k.preset(config);
      if (v == null) continue;
      expect(v, k.key).toBeGreaterThanOrEqual(k.min);
      expect(v, k.key).toBeLessThanOrEqual(k.max);
    }
  });
});

describe("labels", () => {
  it("formats a loss as a plain number", () => {
    expect(formatLoss(2.345612)).toBe("2.3456");
    expect(formatLoss(null)).toBe("—");
    expect(formatLoss(Number.NaN)).toBe("—");
  });

  it("tells which score is better, lower or higher", () => {
    expect(compareScore(12, 6, true)).toBe("persona");
    expect(compareScore(6, 12, true)).toBe("base");
    expect(compareScore(3, 9, false)).toBe("persona");
    expect(compareScore(10, 10.01, true)).toBe("same");
    expect(compareScore(10, null, true)).toBeNull();
  });

  it("makes file names from persona names", () => {
    expect(fileNameFor("Zhen Huan", "zip")).toBe("Zhen Huan.zip");
    expect(fileNameFor("甄嬛", "png")).toBe("甄嬛.png");
    expect(fileNameFor("a/b:c?", "gguf")).toBe("abc.gguf");
    expect(fileNameFor("  ", "zip")).toBe("persona.zip");
  });
});
