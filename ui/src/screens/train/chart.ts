// The loss chart's geometry, apart from React: domains, "nice" ticks,
// scales and the paths drawn.
import type { CurvePoint } from "../../api";

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Domain {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** A linear map from [d0, d1] to [r0, r1] (the middle of the range when d0 = d1). */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Round, readable tick values covering [min, max] (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  // Rounding keeps 0.30000000000000004 out of the labels.
  const round = (v: number) => Number(v.toPrecision(12));
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(round(v));
  return ticks;
}

/**
 * What the axes cover: steps from 0 to the run's length (or the last point),
 * losses from the lowest to the highest point with a little room.
 */
export function domainOf(train: CurvePoint[], val: CurvePoint[], totalSteps: number | null = null): Domain {
  let lo = Infinity;
  let hi = -Infinity;
  let last = 0;
  for (const p of [...train, ...val]) {
    if (!Number.isFinite(p.loss)) continue;
    lo = Math.min(lo, p.loss);
    hi = Math.max(hi, p.loss);
    last = Math.max(last, p.step);
  }
  if (lo === Infinity) return { x0: 0, x1: Math.max(1, totalSteps ?? 1), y0: 0, y1: 1 };
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.max(0.1, Math.abs(hi) * 0.1);
  return {
    x0: 0,
    x1: Math.max(1, last, totalSteps ?? 0),
    y0: Math.max(0, lo - pad),
    y1: hi + pad,
  };
}

/** At most `max` points, evenly picked, always keeping the first and the last. */
export function downsample(points: CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max || max < 2) return points;
  const out: CurvePoint[] = [];
  const stride = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * stride)]);
  return out;
}

/** An SVG path through the points ("" for none). */
export function linePath(points: CurvePoint[], sx: (v: number) => number, sy: (v: number) => number): string {
  const parts: string[] = [];
  for (const p of points) {
    if (!Number.isFinite(p.loss)) continue;
    parts.push(`${parts.length === 0 ? "M" : "L"}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`);
  }
  return parts.join(" ");
}

/** Everything the chart draws, in the SVG's coordinates. */
export interface ChartGeometry {
  domain: Domain;
  sx: (v: number) => number;
  sy: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
  trainPath: string;
  valPath: string;
  valDots: { x: number; y: number; step: number; loss: number }[];
  best: { x: number; y: number; step: number; loss: number } | null;
}

export function geometry(
  train: CurvePoint[],
  val: CurvePoint[],
  bestStep: number | null,
  box: Box,
  totalSteps: number | null = null,
  maxPoints = 600,
): ChartGeometry {
  const domain = domainOf(train, val, totalSteps);
  const sx = linear(domain.x0, domain.x1, box.left, box.width - box.right);
  const sy = linear(domain.y0, domain.y1, box.height - box.bottom, box.top);
  const valDots = val.filter((p) => Number.isFinite(p.loss)).map((p) => ({ x: sx(p.step), y: sy(p.loss), step: p.step, loss: p.loss }));
  const bestVal = bestStep == null ? null : val.find((p) => p.step === bestStep);
  // A best step without a validation point there (e.g. no validation set): mark it on the training line.
  const bestPoint = bestVal ?? (bestStep == null ? null : nearest(train, bestStep));
  return {
    domain,
    sx,
    sy,
    xTicks: niceTicks(domain.x0, domain.x1, 5).filter((v) => Number.isInteger(v)),
    yTicks: niceTicks(domain.y0, domain.y1, 4),
    trainPath: linePath(downsample(train, maxPoints), sx, sy),
    valPath: linePath(val, sx, sy),
    valDots,
    best: bestPoint ? { x: sx(bestPoint.step), y: sy(bestPoint.loss), step: bestPoint.step, loss: bestPoint.loss } : null,
  };
}

function nearest(points: CurvePoint[], step: number): CurvePoint | null {
  let best: CurvePoint | null = null;
  for (const p of points) if (!best || Math.abs(p.step - step) < Math.abs(best.step - step)) best = p;
  return best;
}

/** A tick label: "1.5", "0.25", "1,200". */
export function tickLabel(v: number, locale: string): string {
  const abs = Math.abs(v);
  const digits = abs >= 100 || Number.isInteger(v) ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(v);
}
