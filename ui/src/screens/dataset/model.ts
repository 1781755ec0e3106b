import type { DatasetRow, DatasetView, RowChange, RowPatch } from "../../api";

export type RowFilter = "all" | "unsure" | "short" | "duplicates" | "disabled";
export const FILTERS: RowFilter[] = ["all", "unsure", "short", "duplicates", "disabled"];

/** The rows a filter shows, in the order it shows them. */
export function filterRows(rows: DatasetRow[], filter: RowFilter): DatasetRow[] {
  switch (filter) {
    case "all":
      return rows;
    case "unsure":
      // Least sure first; rows without a score (scripts) last.
      return rows
        .filter((r) => r.flags.includes("unsure"))
        .sort((a, b) => (a.confidence ?? 2) - (b.confidence ?? 2) || a.position - b.position);
    case "short":
      return rows.filter((r) => r.flags.includes("short"));
    case "duplicates":
      return rows.filter((r) => r.flags.includes("duplicate"));
    case "disabled":
      return rows.filter((r) => !r.enabled);
  }
}

export function countFor(rows: DatasetRow[], filter: RowFilter): number {
  return filter === "all" ? rows.length : filterRows(rows, filter).length;
}

/** The view as it will be once `patch` is applied (shown before the engine answers). */
export function applyPatch(view: DatasetView, rowId: number, patch: RowPatch): DatasetView {
  const row = view.rows.find((r) => r.id === rowId);
  if (!row) return view;
  if (patch.deleted) {
    return {
      ...view,
      rows: view.rows.filter((r) => r.id !== rowId),
      count: view.count - 1,
      enabled: view.enabled - (row.enabled ? 1 : 0),
    };
  }
  let enabled = view.enabled;
  const next: DatasetRow = { ...row };
  if (patch.enabled !== undefined && patch.enabled !== row.enabled) {
    next.enabled = patch.enabled;
    enabled += patch.enabled ? 1 : -1;
  }
  if (patch.output !== undefined) {
    next.output = patch.output;
    next.edited = true;
  }
  return { ...view, enabled, rows: view.rows.map((r) => (r.id === rowId ? next : r)) };
}

/** The view with the engine's answer to a row update. */
export function applyChange(view: DatasetView, rowId: number, change: RowChange): DatasetView {
  const rows = change.row
    ? view.rows.map((r) => (r.id === rowId ? (change.row as DatasetRow) : r))
    : view.rows.filter((r) => r.id !== rowId);
  return { ...view, rows, count: change.count, enabled: change.enabled };
}

/** Undo an optimistic patch that the engine refused: put `original` back. */
export function revertPatch(view: DatasetView, original: DatasetRow, patch: RowPatch): DatasetView {
  if (patch.deleted) {
    if (view.rows.some((r) => r.id === original.id)) return view;
    const rows = [...view.rows, original].sort((a, b) => a.position - b.position);
    return { ...view, rows, count: view.count + 1, enabled: view.enabled + (original.enabled ? 1 : 0) };
  }
  const current = view.rows.find((r) => r.id === original.id);
  let enabled = view.enabled;
  if (current && current.enabled !== original.enabled) enabled += original.enabled ? 1 : -1;
  return { ...view, enabled, rows: view.rows.map((r) => (r.id === original.id ? original : r)) };
}

/** Rows with a flag that are still enabled (what a one-click fix would disable). */
export function enabledWithFlag(rows: DatasetRow[], flag: "duplicate" | "short"): number {
  let n = 0;
  for (const r of rows) if (r.enabled && r.flags.includes(flag)) n++;
  return n;
}

export function targetKey(view: DatasetView): string {
  return "draft" in view.target ? `draft-${view.target.draft}` : `dataset-${view.target.dataset}`;
}
