import { formatNumber, locale, type Lang } from "../i18n";

/** "cpu" → "CPU", "cuda:0" → "GPU (cuda:0)": where a model runs. */
export function deviceLabel(device: string): string {
  return device === "cpu" ? "CPU" : `GPU (${device})`;
}

/** 1234567 → "1.2 MB" (decimal units, as file managers show them). */
export function formatBytes(bytes: number, lang: Lang): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : 1;
  const n = new Intl.NumberFormat(locale(lang), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v);
  return `${n} ${units[i]}`;
}

/** Unix seconds → "3 days ago" / "yesterday" / "3天前". */
export function formatRelative(unixSeconds: number, lang: Lang, nowMs: number = Date.now()): string {
  const diff = unixSeconds - nowMs / 1000; // negative: in the past
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale(lang), { numeric: "auto" });
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [
    ["second", 60],
    ["minute", 60],
    ["hour", 24],
    ["day", 7],
    ["week", 4.35],
    ["month", 12],
    ["year", Infinity],
  ];
  let value = diff;
  let scale = 1;
  for (const [unit, next] of steps) {
    if (abs / scale < next) {
      value = Math.round(diff / scale);
      return unit === "second" && Math.abs(value) < 45 ? rtf.format(0, "second") : rtf.format(value, unit);
    }
    scale *= next;
  }
  return rtf.format(Math.round(value), "year");
}

/** 0.873 → "87%". */
export function formatPercent(ratio: number, lang: Lang): string {
  return `${formatNumber(lang, Math.round(ratio * 100))}%`;
}

/** The last part of a path, either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** Paths pasted by the user: one a line or separated by ';', trimmed, quotes removed. */
export function splitPaths(text: string): string[] {
  return text
    .split(/[\n;]/)
    .map((p) => p.trim().replace(/^["']|["']$/g, "").trim())
    .filter((p) => p.length > 0);
}
