import { useId, useState } from "react";
import { api, asAppError, type AdapterView, type ExportKind } from "../../api";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { formatNumber, useI18n } from "../../i18n";
import { formatBytes } from "../../lib/format";
import { EXPORTS, adapterName, fileNameFor, type ExportChoice } from "./labels";
import { useJob } from "./useJob";

/** Take the persona elsewhere: a pack, a card, the adapter, a merged model, Ollama, LLaMA-Factory. */
export function ExportPanel({ persona, name, adapters }: { persona: number; name: string; adapters: AdapterView[] }) {
  const { t, lang } = useI18n();
  const selectId = useId();
  // Exports go on when the screen is left: the files are wanted either way.
  const job = useJob<string[]>(false);
  const [kind, setKind] = useState<ExportKind | null>(null);
  const [adapter, setAdapter] = useState<number | null>(null);
  const hasAdapter = adapters.length > 0;

  const run = async (choice: ExportChoice) => {
    job.clear();
    try {
      const path = choice.file ? await api.pickSavePath(fileNameFor(name, choice.file)) : await api.pickFolder();
      if (!path) return;
      setKind(choice.kind);
      await job.start((on) => api.exportStart(persona, choice.kind, path, adapter, on));
    } catch (e) {
      job.setError(asAppError(e));
    }
  };

  const reveal = async (path: string) => {
    try {
      await api.revealPath(path);
    } catch (e) {
      job.setError(asAppError(e));
    }
  };

  const current = EXPORTS.find((e) => e.kind === kind);
  const p = job.progress;
  const progressText = p
    ? [
        p.message,
        p.total != null
          ? p.unit === "bytes"
            ? `${formatBytes(p.done, lang)} / ${formatBytes(p.total, lang)}`
            : `${formatNumber(lang, p.done)} / ${formatNumber(lang, p.total)}`
          : "",
      ]
        .filter(Boolean)
        .join(" · ")
    : t("export.starting");

  return (
    <section className="card section" aria-labelledby="export-title">
      <div className="section__head">
        <h2 id="export-title" className="section__title">
          {t("export.title")}
        </h2>
        <p className="section__help">{t("export.help")}</p>
      </div>
      {hasAdapter && (
        <div className="form-row">
          <label htmlFor={selectId} className="form-row__label">
            {t("export.adapterChoice")}
          </label>
          <select
            id={selectId}
            className="select"
            value={adapter ?? ""}
            onChange={(e) => setAdapter(e.target.value === "" ? null : Number(e.target.value))}
            disabled={job.running}
          >
            <option value="">{t("export.adapterActive")}</option>
            {adapters.map((a) => (
              <option key={a.id} value={a.id}>
                {adapterName(a, t)}
              </option>
            ))}
          </select>
        </div>
      )}
      <ul className="export-grid">
        {EXPORTS.map((choice) => {
          const blocked = choice.needsAdapter && !hasAdapter;
          return (
            <li key={choice.kind}>
              <button
                type="button"
                className="export-choice"
                data-testid={`export-${choice.kind}`}
                onClick={() => void run(choice)}
                disabled={job.running || blocked}
                title={blocked ? t("export.needsAdapter") : undefined}
              >
                <span className="export-choice__icon" aria-hidden="true">
                  <Icon name={choice.file ? "file" : "folder"} />
                </span>
                <span className="export-choice__text">
                  <span className="export-choice__label">{t(choice.label)}</span>
                  <span className="export-choice__help">{blocked ? t("export.needsAdapter") : t(choice.help)}</span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {job.running && (
        <div className="card job">
          <div className="job__head">
            <div className="job__text">
              <p className="job__title">{t("export.running", { what: current ? t(current.label) : "" })}</p>
              <p className="job__detail">{progressText}</p>
            </div>
            <button type="button" className="button" onClick={() => void job.cancel()} disabled={job.jobId === null || job.cancelling}>
              {t("common.cancel")}
            </button>
          </div>
          <ProgressBar done={p?.done ?? 0} total={p?.total ?? null} label={t("export.progress")} />
        </div>
      )}
      {job.cancelled && <p className="muted">{t("export.cancelled")}</p>}
      {job.error && <ErrorMessage error={job.error} onDismiss={() => job.setError(null)} />}
      {job.result && (
        <div className="export-result" data-testid="export-result" role="status">
          <p className="export-result__title">
            <Icon name="check" />
            {t("export.done", { what: current ? t(current.label) : "" })}
          </p>
          <ul className="export-result__files">
            {job.result.map((path) => (
              <li key={path}>
                <code className="selectable">{path}</code>
                <button type="button" className="button button--small" data-testid="export-reveal" onClick={() => void reveal(path)}>
                  <Icon name="folder" size={14} />
                  {t("export.reveal")}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
