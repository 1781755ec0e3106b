// Model downloads, kept outside the screen so they go on (and keep
// reporting) while the user is elsewhere in the app.
import { useSyncExternalStore } from "react";
import { api, asAppError, type AppError, type JobMessage, type LocalModel } from "../../api";
import { addSample, emptyRate, type RateState } from "./rate";

export type DownloadStatus = "starting" | "running" | "pausing" | "paused" | "failed" | "done";

export interface Download {
  /** The hub id (owner/name). */
  id: string;
  jobId: number | null;
  status: DownloadStatus;
  done: number;
  total: number | null;
  rate: RateState;
  message: string;
  error: AppError | null;
}

export interface Downloads {
  byId: Record<string, Download>;
  /** Bumped each time a download finishes: the screen lists the models again. */
  finished: number;
}

let state: Downloads = { byId: {}, finished: 0 };
// Each start gets a token: messages of an older start of the same id are ignored.
const tokens: Record<string, number> = {};
let nextToken = 1;
const listeners = new Set<() => void>();

function update(next: Downloads) {
  state = next;
  for (const l of listeners) l();
}

function patch(id: string, change: Partial<Download>) {
  const cur = state.byId[id];
  if (!cur) return;
  update({ ...state, byId: { ...state.byId, [id]: { ...cur, ...change } } });
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function useDownloads(): Downloads {
  return useSyncExternalStore(subscribe, () => state);
}

/** Forget every download (tests). */
export function resetDownloads() {
  state = { byId: {}, finished: 0 };
  for (const k of Object.keys(tokens)) delete tokens[k];
}

function handlerFor(id: string, mine: number, now: () => number) {
  return (m: JobMessage<LocalModel>) => {
    if (tokens[id] !== mine) return;
    const cur = state.byId[id];
    if (!cur) return;
    switch (m.type) {
      case "event": {
        const ev = m.event;
        if (ev.event !== "progress") return;
        patch(id, {
          status: cur.status === "pausing" ? "pausing" : "running",
          done: ev.done,
          total: ev.total,
          message: ev.message,
          rate: addSample(cur.rate, ev.done, now()),
        });
        break;
      }
      case "done":
        delete tokens[id];
        update({
          finished: state.finished + 1,
          byId: { ...state.byId, [id]: { ...cur, status: "done", jobId: null, done: cur.total ?? cur.done } },
        });
        break;
      case "failed":
        delete tokens[id];
        patch(id, { status: "failed", jobId: null, error: m.error });
        break;
      case "cancelled":
        delete tokens[id];
        patch(id, { status: "paused", jobId: null, rate: emptyRate });
        break;
    }
  };
}

function begin(id: string, jobId: number | null): number {
  const mine = nextToken++;
  tokens[id] = mine;
  const prev = state.byId[id];
  update({
    ...state,
    byId: {
      ...state.byId,
      [id]: {
        id,
        jobId,
        status: jobId === null ? "starting" : "running",
        // A resumed download starts where the last one stopped.
        done: prev?.done ?? 0,
        total: prev?.total ?? null,
        rate: emptyRate,
        message: "",
        error: null,
      },
    },
  });
  return mine;
}

/** Start (or resume) downloading `id`. */
export async function startDownload(id: string, now: () => number = Date.now): Promise<void> {
  const cur = state.byId[id];
  if (cur && (cur.status === "starting" || cur.status === "running" || cur.status === "pausing")) return;
  const mine = begin(id, null);
  try {
    const jobId = await api.modelDownload(id, handlerFor(id, mine, now));
    if (tokens[id] === mine) patch(id, { jobId });
  } catch (e) {
    if (tokens[id] !== mine) return;
    delete tokens[id];
    patch(id, { status: "failed", error: asAppError(e) });
  }
}

/** Pause: stop the job; the partial files stay and the next start resumes them. */
export async function pauseDownload(id: string): Promise<void> {
  const cur = state.byId[id];
  if (!cur || cur.jobId === null) return;
  patch(id, { status: "pausing" });
  try {
    await api.jobCancel(cur.jobId);
  } catch (e) {
    patch(id, { status: "running", error: asAppError(e) });
  }
}

/** Follow a download started before the window was reloaded. */
export async function attachDownload(id: string, jobId: number, now: () => number = Date.now): Promise<void> {
  if (tokens[id] !== undefined) return;
  const mine = begin(id, jobId);
  const onMessage = handlerFor(id, mine, now);
  try {
    await api.jobAttach(jobId, (m) => onMessage(m as unknown as JobMessage<LocalModel>));
  } catch {
    if (tokens[id] !== mine) return;
    delete tokens[id];
    const { [id]: _gone, ...rest } = state.byId;
    update({ ...state, byId: rest });
  }
}
