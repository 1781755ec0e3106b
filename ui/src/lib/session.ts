// What survives a reload of the window (but not a restart of the app).
const JOB_KEY = "dramatis.importJob";
const DRAFT_KEY = "dramatis.draft";

function readNumber(key: string): number | null {
  try {
    const v = sessionStorage.getItem(key);
    if (v === null) return null;
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function writeNumber(key: string, n: number | null): void {
  try {
    if (n === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, String(n));
  } catch {
    // storage unavailable: a reload then starts afresh
  }
}

export const session = {
  jobId: () => readNumber(JOB_KEY),
  setJobId: (id: number | null) => writeNumber(JOB_KEY, id),
  draftId: () => readNumber(DRAFT_KEY),
  setDraftId: (id: number | null) => writeNumber(DRAFT_KEY, id),
};
