import { locale, translate, type Lang } from "../i18n";

/**
 * A duration in plain words, rounded to what matters:
 * 45 → "45 s", 734 → "12 min", 3900 → "1 h 5 min", 100000 → "27 h 47 min".
 */
export function formatDuration(seconds: number, lang: Lang): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return translate(lang, "train.dur.seconds", { n: s });
  const minutes = Math.round(s / 60);
  if (minutes < 60) return translate(lang, "train.dur.minutes", { n: minutes });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? translate(lang, "train.dur.hours", { h }) : translate(lang, "train.dur.hoursMinutes", { h, m });
}

/** MiB of memory → "3.2 GB" / "640 MB" (binary units, as memory is sold). */
export function formatMemory(mib: number, lang: Lang): string {
  const gib = mib / 1024;
  const digits = gib >= 100 ? 0 : 1;
  const fmt = (n: number, d: number) =>
    new Intl.NumberFormat(locale(lang), { maximumFractionDigits: d, minimumFractionDigits: d }).format(n);
  if (gib < 1) return `${fmt(Math.max(1, Math.round(mib)), 0)} MB`;
  return `${fmt(gib, digits)} GB`;
}
