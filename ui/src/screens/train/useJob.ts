import { useCallback, useEffect, useRef, useState } from "react";
import { api, asAppError, type AppError, type JobEvent, type JobMessage } from "../../api";

export type ProgressEvent = Extract<JobEvent, { event: "progress" }>;

export interface JobState<T> {
  jobId: number | null;
  running: boolean;
  cancelling: boolean;
  progress: ProgressEvent | null;
  result: T | null;
  error: AppError | null;
  cancelled: boolean;
}

const idle = { jobId: null, running: false, cancelling: false, progress: null, result: null, error: null, cancelled: false };

/**
 * A short job run from a panel (a measurement, an evaluation, an export):
 * its progress, its result or error, and cancel. `cancelOnUnmount` stops it
 * when the panel goes away (nobody would see its result).
 */
export function useJob<T>(cancelOnUnmount: boolean) {
  const [state, setState] = useState<JobState<T>>(idle);
  const token = useRef(0);
  const jobId = useRef<number | null>(null);

  useEffect(() => {
    // The refs hold values, not elements: reading them at cleanup is what is wanted.
    const tokens = token;
    const ids = jobId;
    return () => {
      tokens.current++;
      if (cancelOnUnmount && ids.current !== null) void api.jobCancel(ids.current).catch(() => undefined);
    };
  }, [cancelOnUnmount]);

  const start = useCallback(async (launch: (onMessage: (m: JobMessage<T>) => void) => Promise<number>) => {
    const mine = ++token.current;
    setState({ ...idle, running: true });
    const onMessage = (m: JobMessage<T>) => {
      if (token.current !== mine) return;
      if (m.type === "event") {
        const ev = m.event;
        if (ev.event === "progress") setState((s) => ({ ...s, progress: ev }));
        return;
      }
      jobId.current = null;
      if (m.type === "done") setState({ ...idle, result: m.result });
      else if (m.type === "failed") setState({ ...idle, error: m.error });
      else setState({ ...idle, cancelled: true });
    };
    try {
      const id = await launch(onMessage);
      if (token.current !== mine) return;
      setState((s) => {
        if (!s.running) return s;
        jobId.current = id;
        return { ...s, jobId: id };
      });
    } catch (e) {
      if (token.current !== mine) return;
      setState({ ...idle, error: asAppError(e) });
    }
  }, []);

  const cancel = useCallback(async () => {
    const id = jobId.current;
    if (id === null) return;
    setState((s) => ({ ...s, cancelling: true }));
    try {
      await api.jobCancel(id);
    } catch (e) {
      setState((s) => ({ ...s, cancelling: false, error: asAppError(e) }));
    }
  }, []);

  const clear = useCallback(() => {
    token.current++;
    jobId.current = null;
    setState(idle);
  }, []);

  const setError = useCallback((error: AppError | null) => setState((s) => ({ ...s, error })), []);

  return { ...state, start, cancel, clear, setError };
}
