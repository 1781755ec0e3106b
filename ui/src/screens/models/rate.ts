// Download speed and time left, from successive progress reports.

/** One progress report: bytes done at a time (ms). */
export interface RateSample {
  at: number;
  done: number;
}

export interface RateState {
  /** Recent samples, oldest first (within `WINDOW_MS` of the newest). */
  samples: RateSample[];
  /** Bytes per second over the recent samples; null until it can be told. */
  speed: number | null;
}

/** Speed is measured over the last few seconds, so it follows changes without jumping. */
export const WINDOW_MS = 8000;
/** Less than this between the first and last sample is too little to measure. */
export const MIN_SPAN_MS = 500;

export const emptyRate: RateState = { samples: [], speed: null };

/** The state after a report of `done` bytes at `at` ms. */
export function addSample(state: RateState, done: number, at: number): RateState {
  const last = state.samples[state.samples.length - 1];
  // Fewer bytes than before: the download started again (or resumed from a
  // different point). Measure afresh.
  if (last && (done < last.done || at < last.at)) return { samples: [{ at, done }], speed: null };
  const samples = [...state.samples, { at, done }].filter((s) => at - s.at <= WINDOW_MS);
  // Keep at least the sample before the window, so a slow trickle still measures.
  if (samples.length < 2 && last) samples.unshift(last);
  const first = samples[0];
  const span = at - first.at;
  const speed = span >= MIN_SPAN_MS ? ((done - first.done) * 1000) / span : state.speed;
  return { samples, speed };
}

/** Seconds left at `speed`; null when the total or the speed is unknown (or zero). */
export function etaSeconds(speed: number | null, done: number, total: number | null): number | null {
  if (speed == null || speed <= 0 || total == null || total <= 0) return null;
  return Math.max(0, (total - done) / speed);
}
