import { useEffect, useId, useState } from "react";
import {
  api,
  asAppError,
  type AppError,
  type Estimate,
  type LocalModel,
  type Preset,
  type RunView,
  type TrainPage,
} from "../../api";
import { useRouter } from "../../app/router";
import { EmptyState } from "../../components/EmptyState";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { useI18n } from "../../i18n";
import { baseName } from "../../lib/format";
import { AdvancedPanel } from "./AdvancedPanel";
import { EvalPanel } from "./EvalPanel";
import { ExportPanel } from "./ExportPanel";
import { noOverrides, settingsFrom, targetsProblem, type Overrides } from "./model";
import { PresetPicker, presetLabel } from "./PresetPicker";
import { RunHistory } from "./RunHistory";
import { RunPanel } from "./RunPanel";
import { isRunning, resumeTraining, startTraining, useTrainJob } from "./trainJobs";
import { useJob } from "./useJob";

/** A persona's training: presets, the live loss chart, runs, evaluation, exports. */
export function TrainScreen({ personaId }: { personaId: number }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const job = useTrainJob(personaId);
  const running = isRunning(job);
  const [page, setPage] = useState<TrainPage | null>(null);
  const [models, setModels] = useState<LocalModel[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const [busy, setBusy] = useState(false);

  const [model, setModel] = useState<string | null>(null);
  const [preset, setPreset] = useState<Preset>("balanced");
  const [overrides, setOverrides] = useState<Overrides>(noOverrides);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const estimate = useJob<Estimate[]>(true);
  // The measurement belongs to the model it was made with.
  const [estimatedFor, setEstimatedFor] = useState<string | null>(null);

  // The page, again after each run that ends.
  const ended = job?.ended ?? 0;
  useEffect(() => {
    let live = true;
    api
      .trainPage(personaId)
      .then((p) => live && setPage(p))
      .catch((e: unknown) => live && setError(asAppError(e)));
    return () => {
      live = false;
    };
  }, [personaId, version, ended]);

  useEffect(() => {
    let live = true;
    api
      .modelsList()
      .then((list) => live && setModels(list))
      .catch((e: unknown) => {
        if (!live) return;
        setError(asAppError(e));
        setModels([]);
      });
    return () => {
      live = false;
    };
  }, []);

  // The chosen model: the user's pick, else the one used last, else the first.
  const references = models?.map((m) => m.reference) ?? [];
  const selected =
    model != null && references.includes(model)
      ? model
      : page?.last_model != null && references.includes(page.last_model)
        ? page.last_model
        : (references[0] ?? null);

  const info = page?.presets.find((p) => p.preset === preset) ?? page?.presets[0] ?? null;
  const estimates = estimate.result && estimatedFor === selected ? estimate.result : null;
  const chosenEstimate = estimates?.find((e) => e.preset === preset) ?? null;
  const { settings, problems } = info ? settingsFrom(overrides, info.config) : { settings: {}, problems: {} };
  const invalid = Object.keys(problems).length > 0 || targetsProblem(overrides);
  const noSamples = page != null && (page.dataset_id == null || page.samples === 0);
  const interrupted = page?.runs.find((r) => r.status === "interrupted" && r.resumable) ?? null;

  const canStart = !!page && !!selected && !!info && !running && !invalid && !noSamples && chosenEstimate?.fits !== false;

  const start = () => {
    if (!canStart || !selected) return;
    void startTraining({ persona: personaId, model: selected, preset, settings, device: "auto" });
  };

  const resume = (run: RunView) => {
    if (running) return;
    void resumeTraining(personaId, run);
  };

  const measure = () => {
    if (!selected) return;
    setEstimatedFor(selected);
    void estimate.start((on) => api.trainEstimate(personaId, selected, on));
  };

  const activate = async (run: RunView) => {
    if (run.adapter_id == null) return;
    setBusy(true);
    setError(null);
    try {
      await api.adapterActivate(personaId, run.adapter_id);
      reload();
    } catch (e) {
      setError(asAppError(e));
    } finally {
      setBusy(false);
    }
  };

  if (!page) {
    return (
      <div className="screen">
        <BackLink />
        {error ? <ErrorMessage error={error} onDismiss={() => setError(null)} /> : <p className="muted">{t("common.loading")}</p>}
      </div>
    );
  }

  return (
    <div className="screen screen--train">
      <BackLink />
      <header className="screen__header">
        <div className="screen__heading">
          <h1 className="screen__title">{t("train.title", { name: page.name })}</h1>
          <p className="screen__subtitle">
            {noSamples ? t("train.noSamples") : t("train.samples", { count: page.samples })}
          </p>
        </div>
        <button
          type="button"
          className="button"
          data-testid="train-chat"
          onClick={() => navigate({ name: "chat", personaId })}
        >
          <Icon name="chat" />
          {t("train.chat")}
        </button>
      </header>

      {interrupted && !running && (
        <div className="banner" role="region" aria-label={t("train.interruptedTitle")} data-testid="train-interrupted">
          <Icon name="alert" />
          <p className="banner__text">
            {t("train.interruptedText", {
              model: interrupted.model,
              step: interrupted.train_curve[interrupted.train_curve.length - 1]?.step ?? 0,
            })}
          </p>
          <button type="button" className="button button--primary" onClick={() => resume(interrupted)}>
            <Icon name="play" />
            {t("train.resume")}
          </button>
        </div>
      )}

      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}

      {job && <RunPanel job={job} expectedMemoryMib={chosenEstimate?.peak_memory_mib ?? null} onChat={() => navigate({ name: "chat", personaId })} />}

      <section className="card section" aria-labelledby="train-setup-title">
        <div className="section__head">
          <h2 id="train-setup-title" className="section__title">
            {t("train.setupTitle")}
          </h2>
          <p className="section__help">{t("train.setupHelp")}</p>
        </div>

        {models !== null && models.length === 0 ? (
          <EmptyState
            icon="cpu"
            title={t("train.noModelsTitle")}
            action={
              <button type="button" className="button button--primary" data-testid="train-to-models" onClick={() => navigate({ name: "models" })}>
                <Icon name="download" />
                {t("train.noModelsAction")}
              </button>
            }
          >
            <p>{t("train.noModelsText")}</p>
          </EmptyState>
        ) : (
          <>
            <ModelPicker models={models} value={selected} onChange={setModel} disabled={running} />

            <div className="step-block">
              <div className="step-block__head">
                <h3 className="subsection__title">{t("train.presetsTitle")}</h3>
                {estimate.running ? (
                  <button type="button" className="button button--small" onClick={() => void estimate.cancel()} disabled={estimate.jobId === null}>
                    {t("common.cancel")}
                  </button>
                ) : (
                  <button
                    type="button"
                    className="button button--small"
                    data-testid="train-measure"
                    onClick={measure}
                    disabled={!selected || running || noSamples}
                    title={t("train.measureHelp")}
                  >
                    <Icon name="cpu" size={14} />
                    {estimates ? t("train.measureAgain") : t("train.measure")}
                  </button>
                )}
              </div>
              {estimate.running && (
                <div className="job-inline">
                  <ProgressBar done={estimate.progress?.done ?? 0} total={estimate.progress?.total ?? null} label={t("train.measuring")} />
                  <p className="muted">{estimate.progress?.message || t("train.measuring")}</p>
                </div>
              )}
              {estimate.error && <ErrorMessage error={estimate.error} onDismiss={() => estimate.setError(null)} />}
              <PresetPicker presets={page.presets} value={preset} onChange={setPreset} estimates={estimates} disabled={running} />
              {!estimates && !estimate.running && <p className="field-help">{t("train.measureHint")}</p>}
            </div>

            {info && (
              <AdvancedPanel
                open={advancedOpen}
                onToggle={() => setAdvancedOpen((o) => !o)}
                config={info.config}
                overrides={overrides}
                onChange={setOverrides}
                disabled={running}
              />
            )}

            <div className="start-row">
              <button
                type="button"
                className="button button--primary button--large"
                data-testid="train-start"
                onClick={start}
                disabled={!canStart}
              >
                <Icon name="play" />
                {t("train.start", { preset: info ? presetLabel(info, t) : "" })}
              </button>
              <p className="muted start-row__why" role="status">
                {running
                  ? t("train.whyRunning")
                  : noSamples
                    ? t("train.whyNoSamples")
                    : invalid
                      ? t("train.whyInvalid")
                      : chosenEstimate?.fits === false
                        ? t("train.whyNoFit")
                        : t("train.startHint")}
              </p>
            </div>
          </>
        )}
      </section>

      <RunHistory runs={page.runs} busy={busy || running} onActivate={(r) => void activate(r)} onResume={resume} />
      <EvalPanel persona={personaId} adapters={page.adapters} />
      <ExportPanel persona={personaId} name={page.name} adapters={page.adapters} />
    </div>
  );
}

function BackLink() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  return (
    <button type="button" className="back-link" data-testid="train-back" onClick={() => navigate({ name: "library" })}>
      <span className="back-link__chevron" aria-hidden="true">
        <Icon name="chevron" size={16} />
      </span>
      {t("train.back")}
    </button>
  );
}

function ModelPicker({
  models,
  value,
  onChange,
  disabled,
}: {
  models: LocalModel[] | null;
  value: string | null;
  onChange: (m: string) => void;
  disabled: boolean;
}) {
  const { t } = useI18n();
  const id = useId();
  return (
    <div className="step-block">
      <label htmlFor={id} className="subsection__title">
        {t("train.modelTitle")}
      </label>
      <select
        id={id}
        className="select select--wide"
        data-testid="train-model"
        value={value ?? ""}
        onChange={(e) => onChange(e.target.value)}
        disabled={disabled || models === null}
      >
        {models === null && <option value="">{t("common.loading")}</option>}
        {models?.map((m) => (
          <option key={m.reference} value={m.reference} title={m.path}>
            {m.kind === "hub" ? m.reference : baseName(m.reference)}
          </option>
        ))}
      </select>
      <p className="field-help">{t("train.modelHelp")}</p>
    </div>
  );
}
