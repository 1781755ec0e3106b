import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, asAppError, type AppError, type DraftView, type JobInfo, type JobMessage } from "../api";
import { t } from "../i18n";
import { baseName } from "../lib/format";
import { session } from "../lib/session";
import { ImportContext, initialImportState, type ImportSession, type ImportState } from "./importSession";
import { useRouter } from "./router";

function labelFor(paths: string[]): string {
  return paths.map(baseName).join(", ");
}

/**
 * Owns the import job so that it keeps running (and reporting) while the user
 * moves between screens, and re-attaches to it after a reload of the window.
 */
export function ImportProvider({ children }: { children: ReactNode }) {
  const { navigate } = useRouter();
  const [state, setState] = useState<ImportState>(initialImportState);
  // Each start (or re-attach) gets a token; messages of older jobs are ignored.
  const token = useRef(0);
  const restored = useRef(false);
  // Whether an import is in flight, readable outside a render.
  const running = useRef(false);

  const handlerFor = useCallback((mine: number) => {
    return (m: JobMessage<DraftView>) => {
      if (token.current !== mine) return;
      if (m.type !== "event") running.current = false;
      switch (m.type) {
        case "event": {
          const ev = m.event;
          if (ev.event === "progress") setState((s) => ({ ...s, progress: ev }));
          else if (ev.event === "log" && ev.level === "warning")
            setState((s) => ({ ...s, warnings: [...s.warnings, ev.message].slice(-20) }));
          break;
        }
        case "done":
          session.setJobId(null);
          session.setDraftId(m.result.id);
          setState((s) => ({ ...s, running: false, cancelling: false, jobId: null, progress: null, draft: m.result }));
          break;
        case "failed":
          session.setJobId(null);
          setState((s) => ({ ...s, running: false, cancelling: false, jobId: null, progress: null, error: m.error }));
          break;
        case "cancelled":
          session.setJobId(null);
          setState((s) => ({ ...s, running: false, cancelling: false, jobId: null, progress: null, cancelled: true }));
          break;
      }
    };
  }, []);

  const start = useCallback(
    async (paths: string[]) => {
      if (paths.length === 0) return;
      if (running.current) {
        setState((s) => ({
          ...s,
          error: { kind: "busy", message: t("import.busy"), hint: t("import.busyHint") },
        }));
        return;
      }
      const mine = ++token.current;
      running.current = true;
      setState((s) => ({
        ...initialImportState,
        draft: s.draft,
        running: true,
        label: labelFor(paths),
      }));
      try {
        const id = await api.importStart(paths, handlerFor(mine));
        if (token.current !== mine) return;
        setState((s) => {
          if (!s.running) return s; // already finished
          session.setJobId(id);
          return { ...s, jobId: id };
        });
      } catch (e) {
        if (token.current !== mine) return;
        running.current = false;
        setState((s) => ({ ...s, running: false, error: asAppError(e) }));
      }
    },
    [handlerFor],
  );

  const cancel = useCallback(async () => {
    const id = state.jobId;
    if (id === null) return;
    setState((s) => ({ ...s, cancelling: true }));
    try {
      await api.jobCancel(id);
    } catch (e) {
      setState((s) => ({ ...s, cancelling: false, error: asAppError(e) }));
    }
  }, [state.jobId]);

  const setDraft = useCallback((draft: DraftView) => {
    session.setDraftId(draft.id);
    setState((s) => ({ ...s, draft }));
  }, []);

  const setError = useCallback((error: AppError | null) => {
    setState((s) => ({ ...s, error }));
  }, []);

  // After a reload: re-attach to the import that was running, or bring back the draft.
  useEffect(() => {
    if (restored.current) return;
    restored.current = true;
    const savedJob = session.jobId();
    const savedDraft = session.draftId();
    void (async () => {
      let jobs: JobInfo[];
      try {
        jobs = (await api.jobsList()) ?? [];
      } catch {
        jobs = [];
      }
      const imports = jobs.filter((j) => j.kind === "import");
      const job =
        imports.find((j) => j.id === savedJob) ?? imports.find((j) => j.state === "running") ?? null;
      if (job && (job.state === "running" || job.id === savedJob)) {
        const mine = ++token.current;
        const last = job.last_event;
        running.current = true;
        setState((s) => ({
          ...s,
          running: true,
          jobId: job.id,
          label: job.label,
          progress: last && last.event === "progress" ? last : null,
        }));
        session.setJobId(job.id);
        if (job.state === "running") navigate({ name: "import" });
        try {
          await api.jobAttach(job.id, handlerFor(mine));
        } catch (e) {
          if (token.current !== mine) return;
          running.current = false;
          session.setJobId(null);
          setState((s) => ({ ...s, running: false, jobId: null, error: asAppError(e) }));
        }
        // The draft the job produced arrives with its end; a finished job's
        // draft may still be the saved one.
        if (job.state === "running") return;
      } else if (savedJob !== null) {
        session.setJobId(null);
      }
      if (savedDraft !== null) {
        try {
          const draft = await api.draftGet(savedDraft);
          setState((s) => (s.draft || s.running ? s : { ...s, draft }));
        } catch {
          // The draft is gone (the engine restarted): start afresh.
          session.setDraftId(null);
        }
      }
    })();
  }, [handlerFor, navigate]);

  const value = useMemo<ImportSession>(
    () => ({ ...state, start, cancel, setDraft, setError }),
    [state, start, cancel, setDraft, setError],
  );
  return <ImportContext.Provider value={value}>{children}</ImportContext.Provider>;
}
