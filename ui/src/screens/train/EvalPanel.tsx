import { useId, useState } from "react";
import { api, type AdapterView, type EvalReport, type Scores } from "../../api";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { locale, useI18n, type MessageKey } from "../../i18n";
import { adapterName, compareScore } from "./labels";
import { useJob } from "./useJob";

type Metric = "perplexity" | "bleu" | "rouge_l" | "token_f1" | "general_perplexity";

const METRICS: { key: Metric; label: MessageKey; help: MessageKey; lowerIsBetter: boolean; percent: boolean }[] = [
  { key: "perplexity", label: "eval.perplexity", help: "eval.perplexityHelp", lowerIsBetter: true, percent: false },
  { key: "bleu", label: "eval.bleu", help: "eval.bleuHelp", lowerIsBetter: false, percent: false },
  { key: "rouge_l", label: "eval.rougeL", help: "eval.rougeLHelp", lowerIsBetter: false, percent: true },
  { key: "token_f1", label: "eval.tokenF1", help: "eval.tokenF1Help", lowerIsBetter: false, percent: true },
  { key: "general_perplexity", label: "eval.generalPerplexity", help: "eval.generalPerplexityHelp", lowerIsBetter: true, percent: false },
];

function value(s: Scores | null, key: Metric): number | null {
  if (!s) return null;
  return s[key];
}

/** Base model against the persona's adapter, on lines held back from training. */
export function EvalPanel({ persona, adapters }: { persona: number; adapters: AdapterView[] }) {
  const { t } = useI18n();
  const selectId = useId();
  const job = useJob<EvalReport>(true);
  const active = adapters.find((a) => a.active) ?? adapters[0] ?? null;
  const [chosen, setChosen] = useState<number | null>(null);
  const adapter = adapters.find((a) => a.id === chosen) ?? active;

  const start = () => {
    if (!adapter) return;
    void job.start((on) => api.evalStart(persona, adapter.id, on));
  };

  return (
    <section className="card section" aria-labelledby="eval-title">
      <div className="section__head">
        <h2 id="eval-title" className="section__title">
          {t("eval.title")}
        </h2>
        <p className="section__help">{t("eval.help")}</p>
      </div>
      {adapters.length === 0 ? (
        <p className="muted">{t("eval.noAdapters")}</p>
      ) : (
        <div className="form-row">
          <label htmlFor={selectId} className="form-row__label">
            {t("eval.adapter")}
          </label>
          <select
            id={selectId}
            className="select"
            data-testid="eval-adapter"
            value={adapter?.id ?? ""}
            onChange={(e) => setChosen(Number(e.target.value))}
            disabled={job.running}
          >
            {adapters.map((a) => (
              <option key={a.id} value={a.id}>
                {adapterName(a, t)}
              </option>
            ))}
          </select>
          {job.running ? (
            <button type="button" className="button" onClick={() => void job.cancel()} disabled={job.jobId === null || job.cancelling}>
              {t("common.cancel")}
            </button>
          ) : (
            <button type="button" className="button button--primary" data-testid="eval-start" onClick={start} disabled={!adapter}>
              <Icon name="chart" />
              {job.result ? t("eval.again") : t("eval.start")}
            </button>
          )}
        </div>
      )}
      {job.running && (
        <div className="job-inline">
          <ProgressBar done={job.progress?.done ?? 0} total={job.progress?.total ?? null} label={t("eval.progress")} />
          <p className="muted">{job.progress?.message || t("eval.running")}</p>
        </div>
      )}
      {job.cancelled && <p className="muted">{t("eval.cancelled")}</p>}
      {job.error && <ErrorMessage error={job.error} onDismiss={() => job.setError(null)} />}
      {job.result && <EvalResult report={job.result} />}
    </section>
  );
}

function EvalResult({ report }: { report: EvalReport }) {
  const { t, lang } = useI18n();
  const fmt = (v: number | null, percent: boolean, key: Metric) => {
    if (v == null || !Number.isFinite(v)) return "—";
    // ROUGE-L and F1 come as 0–1: shown out of 100 like BLEU.
    const shown = percent ? v * 100 : v;
    const digits = key === "bleu" || percent ? 1 : 2;
    return new Intl.NumberFormat(locale(lang), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(shown);
  };
  return (
    <div className="eval-result">
      <p className="muted">{t("eval.samples", { count: report.samples })}</p>
      <table className="eval-table" data-testid="eval-table">
        <thead>
          <tr>
            <th scope="col">{t("eval.metric")}</th>
            <th scope="col" className="num">
              {t("eval.base")}
            </th>
            <th scope="col" className="num">
              {t("eval.persona")}
            </th>
          </tr>
        </thead>
        <tbody>
          {METRICS.map((m) => {
            const b = value(report.base, m.key);
            const p = value(report.adapter, m.key);
            const better = compareScore(b, p, m.lowerIsBetter);
            return (
              <tr key={m.key} data-metric={m.key}>
                <th scope="row">
                  <span className="eval-table__metric">{t(m.label)}</span>
                  <span className="eval-table__help">{t(m.help)}</span>
                </th>
                <td className={better === "base" ? "num num--better" : "num"}>{fmt(b, m.percent, m.key)}</td>
                <td className={better === "persona" ? "num num--better" : "num"}>
                  {fmt(p, m.percent, m.key)}
                  {better === "persona" && <span className="visually-hidden"> {t("eval.better")}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {report.examples.length > 0 && (
        <div className="eval-examples" data-testid="eval-examples">
          <h3 className="subsection__title">{t("eval.examples")}</h3>
          <ul className="example-list">
            {report.examples.map((ex, i) => (
              <li key={i} className="example">
                <p className="example__prompt">
                  <span className="example__label">{t("eval.prompt")}</span>
                  <span className="selectable">{ex.prompt}</span>
                </p>
                <div className="example__grid">
                  <div className="example__cell">
                    <span className="example__label">{t("eval.reference")}</span>
                    <p className="selectable">{ex.reference}</p>
                  </div>
                  <div className="example__cell">
                    <span className="example__label">{t("eval.base")}</span>
                    <p className="selectable">{ex.base}</p>
                  </div>
                  <div className="example__cell example__cell--persona">
                    <span className="example__label">{t("eval.persona")}</span>
                    <p className="selectable">{ex.adapter ?? "—"}</p>
                  </div>
                </div>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
