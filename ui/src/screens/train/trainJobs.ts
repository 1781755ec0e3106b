// Training jobs, one per persona, kept outside the screen: a run goes on
// (and its curve keeps growing) while the user chats or looks elsewhere.
import { useSyncExternalStore } from "react";
import {
  api,
  asAppError,
  type AppError,
  type JobMessage,
  type RunView,
  type TrainRequest,
} from "../../api";
import { asTrainEvent, emptyLive, foldTrainEvent, liveFromRun, type LiveRun } from "./model";

export type TrainPhase = "starting" | "running" | "pausing" | "cancelling" | "done" | "paused" | "cancelled" | "failed";

export interface TrainJob {
  persona: number;
  jobId: number | null;
  phase: TrainPhase;
  live: LiveRun;
  /** The latest progress line before training starts (loading the model…). */
  message: string;
  warnings: string[];
  error: AppError | null;
  /** The run as it ended (done). */
  result: RunView | null;
  /** Bumped each time a job of this persona ends: the screen loads its runs again. */
  ended: number;
}

export const RUNNING: TrainPhase[] = ["starting", "running", "pausing", "cancelling"];

export function isRunning(job: TrainJob | undefined): boolean {
  return !!job && RUNNING.includes(job.phase);
}

let jobs: Record<number, TrainJob> = {};
const tokens: Record<number, number> = {};
let nextToken = 1;
const listeners = new Set<() => void>();

function set(persona: number, change: (j: TrainJob) => TrainJob) {
  const cur = jobs[persona];
  if (!cur) return;
  jobs = { ...jobs, [persona]: change(cur) };
  for (const l of listeners) l();
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
}

/** The persona's training job (running or the last one that ended), if any. */
export function useTrainJob(persona: number): TrainJob | undefined {
  return useSyncExternalStore(subscribe, () => jobs[persona]);
}

/** Forget every job (tests). */
export function resetTrainJobs() {
  jobs = {};
  for (const k of Object.keys(tokens)) delete tokens[Number(k)];
}

function handlerFor(persona: number, mine: number) {
  const ours = () => tokens[persona] === mine;
  return (m: JobMessage<RunView>) => {
    if (!ours()) return;
    switch (m.type) {
      case "event": {
        const ev = m.event;
        const tev = asTrainEvent(ev);
        if (tev) {
          set(persona, (j) => ({
            ...j,
            phase: j.phase === "starting" ? "running" : j.phase,
            live: foldTrainEvent(j.live, tev),
          }));
        } else if (ev.event === "progress") {
          set(persona, (j) => ({ ...j, message: ev.message }));
        } else if (ev.event === "log" && ev.level === "warning") {
          set(persona, (j) => ({ ...j, warnings: [...j.warnings, ev.message].slice(-10) }));
        }
        break;
      }
      case "done":
        delete tokens[persona];
        set(persona, (j) => ({ ...j, phase: "done", jobId: null, result: m.result, ended: j.ended + 1 }));
        break;
      case "failed":
        delete tokens[persona];
        set(persona, (j) => ({ ...j, phase: "failed", jobId: null, error: m.error, ended: j.ended + 1 }));
        break;
      case "cancelled":
        delete tokens[persona];
        // A pause stops the job too; the engine keeps its checkpoint.
        set(persona, (j) => ({
          ...j,
          phase: j.phase === "pausing" ? "paused" : "cancelled",
          jobId: null,
          ended: j.ended + 1,
        }));
        break;
    }
  };
}

async function begin(
  persona: number,
  live: LiveRun,
  launch: (onMessage: (m: JobMessage<RunView>) => void) => Promise<number>,
): Promise<void> {
  if (isRunning(jobs[persona])) return;
  const mine = nextToken++;
  tokens[persona] = mine;
  jobs = {
    ...jobs,
    [persona]: {
      persona,
      jobId: null,
      phase: "starting",
      live,
      message: "",
      warnings: [],
      error: null,
      result: null,
      ended: jobs[persona]?.ended ?? 0,
    },
  };
  for (const l of listeners) l();
  try {
    const jobId = await launch(handlerFor(persona, mine));
    if (tokens[persona] === mine) set(persona, (j) => ({ ...j, jobId }));
  } catch (e) {
    if (tokens[persona] !== mine) return;
    delete tokens[persona];
    set(persona, (j) => ({ ...j, phase: "failed", error: asAppError(e), ended: j.ended + 1 }));
  }
}

export function startTraining(request: TrainRequest): Promise<void> {
  return begin(request.persona, emptyLive, (on) => api.trainStart(request, on));
}

/** Continue a paused or interrupted run, its curve drawn from where it was. */
export function resumeTraining(persona: number, run: RunView): Promise<void> {
  return begin(persona, liveFromRun(run), (on) => api.trainResume(run.id, on));
}

async function stop(persona: number, phase: "pausing" | "cancelling", call: (jobId: number) => Promise<void>) {
  const j = jobs[persona];
  if (!j || j.jobId === null || !isRunning(j)) return;
  const before = j.phase;
  set(persona, (x) => ({ ...x, phase }));
  try {
    await call(j.jobId);
  } catch (e) {
    set(persona, (x) => (x.phase === phase ? { ...x, phase: before, error: asAppError(e) } : x));
  }
}

/** Stop now, keeping a checkpoint to resume from. */
export function pauseTraining(persona: number): Promise<void> {
  return stop(persona, "pausing", (id) => api.trainPause(id));
}

/** Stop and drop the run. */
export function cancelTraining(persona: number): Promise<void> {
  return stop(persona, "cancelling", (id) => api.jobCancel(id));
}

/** Hide an ended job's panel (its run stays in the history). */
export function dismissTraining(persona: number): void {
  const j = jobs[persona];
  if (!j || isRunning(j)) return;
  const { [persona]: _gone, ...rest } = jobs;
  jobs = rest;
  for (const l of listeners) l();
}
