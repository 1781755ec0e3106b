/** A progress bar; indeterminate when the total is unknown. */
export function ProgressBar({ done, total, label }: { done: number; total: number | null; label: string }) {
  const known = total != null && total > 0;
  const pct = known ? Math.min(100, Math.max(0, (done / total) * 100)) : 0;
  return (
    <div
      className={known ? "progress" : "progress progress--indeterminate"}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={known ? total : undefined}
      aria-valuenow={known ? done : undefined}
    >
      <div className="progress__fill" style={known ? { width: `${pct}%` } : undefined} />
    </div>
  );
}
