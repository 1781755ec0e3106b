import { useState, type FormEvent, type KeyboardEvent } from "react";
import { api, asAppError, type DraftView, type ImportSummary } from "../../api";
import { useImportSession, type ProgressEvent } from "../../app/importSession";
import { useRouter } from "../../app/router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { formatNumber, useI18n, type Lang, type MessageKey } from "../../i18n";
import { baseName, formatBytes, splitPaths } from "../../lib/format";

/** Bring in a book or script: drop, choose or paste paths; watch it import; see what was found. */
export function ImportScreen() {
  const { t, lang } = useI18n();
  const { navigate } = useRouter();
  const importer = useImportSession();
  const [text, setText] = useState("");

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const paths = splitPaths(text);
    if (paths.length === 0) {
      importer.setError({ kind: "input", message: t("import.noPaths"), hint: t("import.noPathsHint") });
      return;
    }
    void importer.start(paths);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const choose = async () => {
    try {
      const paths = await api.pickFiles(true);
      if (paths && paths.length > 0) await importer.start(paths);
    } catch (e) {
      importer.setError(asAppError(e));
    }
  };

  const { running, draft, progress } = importer;

  return (
    <div className="screen">
      <header className="screen__header">
        <div>
          <h1 className="screen__title">{t("import.title")}</h1>
          <p className="screen__subtitle">{t("import.subtitle")}</p>
        </div>
      </header>

      <Steps current={1} />

      <section className="card dropzone" aria-labelledby="dropzone-title">
        <span className="dropzone__icon">
          <Icon name="upload" size={32} />
        </span>
        <h2 id="dropzone-title" className="dropzone__title">
          {t("import.dropTitle")}
        </h2>
        <p className="muted">{t("import.formats")}</p>
        <p className="muted">{t("import.oneSource")}</p>
        <button type="button" className="button button--primary" onClick={() => void choose()} disabled={running}>
          <Icon name="file" />
          {t("import.choose")}
        </button>
      </section>

      <form className="path-form" onSubmit={submit}>
        <label htmlFor="import-path" className="field-label">
          {t("import.pathLabel")}
        </label>
        <div className="path-form__row">
          <textarea
            id="import-path"
            className="input path-form__input"
            data-testid="import-path"
            rows={2}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            placeholder={t("import.pathPlaceholder")}
            spellCheck={false}
            autoComplete="off"
          />
          <button type="submit" className="button" data-testid="import-submit" disabled={running}>
            {t("import.submit")}
          </button>
        </div>
        <p className="field-help">{t("import.pathHelp")}</p>
      </form>

      {importer.error && <ErrorMessage error={importer.error} onDismiss={() => importer.setError(null)} />}

      <section className="import-result" aria-live="polite">
        {running ? (
          <div className="card job">
            <div className="job__head">
              <div className="job__text">
                <p className="job__title">{t("import.importing", { files: importer.label })}</p>
                <p className="job__detail">{progressText(progress, t, lang)}</p>
              </div>
              <button
                type="button"
                className="button"
                onClick={() => void importer.cancel()}
                disabled={importer.jobId === null || importer.cancelling}
              >
                {importer.cancelling ? t("import.cancelling") : t("common.cancel")}
              </button>
            </div>
            <ProgressBar done={progress?.done ?? 0} total={progress?.total ?? null} label={t("import.progress")} />
          </div>
        ) : importer.cancelled ? (
          <p className="status-line">{t("import.cancelled")}</p>
        ) : draft ? (
          <DraftStatus draft={draft} onReview={() => navigate({ name: "cast" })} />
        ) : (
          <p className="status-line" />
        )}
        {importer.warnings.length > 0 && (
          <details className="warnings">
            <summary>{t("import.warnings", { count: importer.warnings.length })}</summary>
            <ul>
              {importer.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          </details>
        )}
      </section>
    </div>
  );
}

type T = (k: MessageKey, v?: Record<string, string | number>) => string;

const STAGES: Record<string, MessageKey> = {
  import: "stage.import",
  load: "stage.import",
  extract: "stage.extract",
  dataset: "stage.dataset",
};

const UNITS: Record<string, MessageKey> = {
  files: "unit.files",
  lines: "unit.lines",
  samples: "unit.samples",
  steps: "unit.steps",
};

/** "Reading the files · novel.txt · 1.2 MB of 3.4 MB" */
function progressText(p: ProgressEvent | null, t: T, lang: Lang): string {
  if (!p) return t("import.starting");
  const stageKey = STAGES[p.stage];
  const stage = stageKey ? t(stageKey) : p.stage;
  const amount = (n: number) => (p.unit === "bytes" ? formatBytes(n, lang) : formatNumber(lang, n));
  const unitKey = UNITS[p.unit];
  const unit = p.unit === "bytes" ? "" : unitKey ? t(unitKey) : p.unit;
  let counts = "";
  if (p.total != null) counts = t("import.countOf", { done: amount(p.done), total: amount(p.total), unit }).trim();
  else if (p.done > 0) counts = `${amount(p.done)} ${unit}`.trim();
  return [stage, p.message, counts].filter(Boolean).join(" · ");
}

const LAYOUTS: Record<string, MessageKey> = {
  novel: "layout.novel",
  script: "layout.script",
  screenplay: "layout.screenplay",
  subtitles: "layout.subtitles",
  play: "layout.play",
};

/** The steps of making a persona, with the current one marked. */
export function Steps({ current }: { current: 1 | 2 | 3 }) {
  const { t } = useI18n();
  const steps: MessageKey[] = ["steps.source", "steps.cast", "steps.dataset"];
  return (
    <ol className="steps" aria-label={t("steps.label")}>
      {steps.map((s, i) => (
        <li
          key={s}
          className={i + 1 === current ? "steps__item steps__item--current" : i + 1 < current ? "steps__item steps__item--done" : "steps__item"}
          aria-current={i + 1 === current ? "step" : undefined}
        >
          <span className="steps__num">{i + 1}</span>
          {t(s)}
        </li>
      ))}
    </ol>
  );
}

function DraftStatus({ draft, onReview }: { draft: DraftView; onReview: () => void }) {
  const { t, lang } = useI18n();
  const layoutKey = LAYOUTS[draft.layout];
  const layout = layoutKey ? t(layoutKey) : t("layout.other", { layout: draft.layout });
  const fileFacts = (f: ImportSummary) => [f.format, f.encoding, formatBytes(f.bytes, lang)].join(" · ");
  const totals = [
    layout,
    t("import.lines", { count: draft.utterances }),
    t("import.characters", { count: draft.cast.length }),
  ].join(" · ");
  const single = draft.files.length === 1;
  const totalBytes = draft.files.reduce((n, f) => n + f.bytes, 0);
  return (
    <div className="card draft-status">
      <div data-testid="import-status" className="draft-status__body">
        <p className="draft-status__title">{draft.title || t("import.untitled")}</p>
        {single ? (
          <p className="draft-status__line">
            {fileFacts(draft.files[0])} · {totals}
          </p>
        ) : (
          <>
            <ul className="draft-status__files">
              {draft.files.map((f) => (
                <li key={f.file}>
                  <span className="draft-status__file" title={f.file}>
                    {baseName(f.file)}
                  </span>{" "}
                  <span className="muted">{fileFacts(f)}</span>
                </li>
              ))}
            </ul>
            <p className="draft-status__line">
              {t("import.files", { count: draft.files.length })} · {formatBytes(totalBytes, lang)} · {totals}
            </p>
          </>
        )}
        <p className="draft-status__line muted">
          {t("import.attributed", { attributed: draft.attributed, total: draft.utterances })}
          {draft.unsure > 0 && ` · ${t("import.unsure", { count: draft.unsure })}`}
        </p>
        {draft.files.some((f) => f.lossy) && <p className="draft-status__warn">{t("import.lossy")}</p>}
      </div>
      <button
        type="button"
        className="button button--primary"
        data-testid="import-next"
        onClick={onReview}
        disabled={draft.cast.length === 0}
      >
        {t("import.review")}
      </button>
      {draft.cast.length === 0 && <p className="muted">{t("import.noCast")}</p>}
    </div>
  );
}
