import type { DatasetView, HealthFix } from "../../api";
import { useI18n } from "../../i18n";
import { enabledWithFlag } from "./model";

/** The dataset's health report, with one-click fixes. */
export function HealthPanel({ view, busy, onFix }: { view: DatasetView; busy: string | null; onFix: (f: HealthFix) => void }) {
  const { t, num } = useI18n();
  const r = view.report;
  const dups = enabledWithFlag(view.rows, "duplicate");
  const short = enabledWithFlag(view.rows, "short");
  const facts: [string, string][] = [
    [t("health.kept"), t("health.keptOf", { kept: r.kept, candidates: r.candidates })],
    [t("health.split"), t("health.splitValue", { train: r.train, validation: r.validation })],
    [t("health.droppedShort"), num(r.dropped_short)],
    [t("health.droppedDuplicates"), num(r.dropped_exact_duplicates + r.dropped_near_duplicates)],
    [t("health.leakage"), num(r.leaked_removed)],
    [t("health.tokens"), num(r.total_tokens)],
  ];
  return (
    <section className="card panel" aria-labelledby="health-title">
      <h2 id="health-title" className="panel__title">
        {t("health.title")}
      </h2>
      <dl className="health">
        {facts.map(([k, v]) => (
          <div key={k} className="health__item">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <div className="panel__actions panel__actions--stack">
        <button
          type="button"
          className="button button--small"
          onClick={() => onFix("duplicates")}
          disabled={busy !== null || dups === 0}
        >
          {t("health.fixDuplicates", { count: dups })}
        </button>
        <button
          type="button"
          className="button button--small"
          onClick={() => onFix("short")}
          disabled={busy !== null || short === 0}
        >
          {t("health.fixShort", { count: short })}
        </button>
      </div>
    </section>
  );
}
