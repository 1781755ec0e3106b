import { createContext, useContext } from "react";
import type { AppError, DraftView, JobEvent } from "../api";

export type ProgressEvent = Extract<JobEvent, { event: "progress" }>;

/** The import in progress (or last finished) and the draft it produced. */
export interface ImportState {
  /** The engine's job id, once import_start answered. */
  jobId: number | null;
  running: boolean;
  cancelling: boolean;
  /** What is being imported (file names), for the progress line. */
  label: string;
  progress: ProgressEvent | null;
  warnings: string[];
  cancelled: boolean;
  error: AppError | null;
  /** The draft the last import produced, kept current by the Cast screen. */
  draft: DraftView | null;
}

export interface ImportSession extends ImportState {
  /** Import `paths` as one source. */
  start: (paths: string[]) => Promise<void>;
  cancel: () => Promise<void>;
  setDraft: (draft: DraftView) => void;
  setError: (error: AppError | null) => void;
}

export const initialImportState: ImportState = {
  jobId: null,
  running: false,
  cancelling: false,
  label: "",
  progress: null,
  warnings: [],
  cancelled: false,
  error: null,
  draft: null,
};

export const ImportContext = createContext<ImportSession | null>(null);

export function useImportSession(): ImportSession {
  const ctx = useContext(ImportContext);
  if (!ctx) throw new Error("useImportSession outside <ImportProvider>");
  return ctx;
}
