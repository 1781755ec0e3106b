import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { formatNumber, useI18n, type Lang, type MessageKey } from "../../i18n";
import { formatDuration, formatMemory } from "../../lib/duration";
import { deviceLabel } from "../../lib/format";
import { ChartLegend, LossChart } from "./LossChart";
import { formatLoss, isOverfitting } from "./model";
import { cancelTraining, dismissTraining, isRunning, pauseTraining, type TrainJob } from "./trainJobs";

type T = (k: MessageKey, v?: Record<string, string | number>) => string;

/** The state of the run in words (the e2e test reads "done" in English). */
export function statusText(job: TrainJob, t: T): string {
  const { live } = job;
  switch (job.phase) {
    case "starting":
      return job.message ? t("train.statusStartingWith", { message: job.message }) : t("train.statusStarting");
    case "running":
      if (live.totalSteps == null) return job.message ? t("train.statusStartingWith", { message: job.message }) : t("train.statusStarting");
      return t("train.statusRunning", { step: live.step, total: live.totalSteps });
    case "pausing":
      return t("train.statusPausing");
    case "cancelling":
      return t("train.statusCancelling");
    case "done": {
      const steps = live.doneSteps ?? job.result?.summary?.steps ?? live.step;
      if (live.earlyStop) return t("train.statusDoneEarly", { steps, best: live.earlyStop.bestStep });
      return t("train.statusDone", { count: steps });
    }
    case "paused":
      return t("train.statusPaused", { step: live.step });
    case "cancelled":
      return t("train.statusCancelled");
    case "failed":
      return t("train.statusFailed");
  }
}

function stat(label: string, value: string, testId?: string) {
  return { label, value, testId };
}

/** The run in progress (or the last one, once it ended): status, numbers, curve, pause and cancel. */
export function RunPanel({
  job,
  expectedMemoryMib,
  onChat,
}: {
  job: TrainJob;
  /** The measured peak memory of the preset, shown until the run reports its own. */
  expectedMemoryMib: number | null;
  onChat: () => void;
}) {
  const { t, lang } = useI18n();
  const { live, phase } = job;
  const running = isRunning(job);
  const peak = job.result?.summary?.peak_memory_mib ?? null;
  const stats = statsOf(job, expectedMemoryMib, peak, t, lang);

  return (
    <section className="card run-panel" aria-labelledby="run-panel-title" data-phase={phase}>
      <div className="run-panel__head">
        <div className="run-panel__titles">
          <h2 id="run-panel-title" className="section__title">
            {running ? t("train.runTitleRunning") : t("train.runTitleEnded")}
          </h2>
          <p className="run-panel__status" data-testid="train-status" data-state={phase}>
            {phase === "done" && <Icon name="check" size={16} />}
            {statusText(job, t)}
          </p>
          {/* Screen readers hear the changes of state, not every step. */}
          <p className="visually-hidden" role="status">
            {phase === "running" ? t("train.runTitleRunning") : statusText(job, t)}
          </p>
        </div>
        <div className="toolbar">
          {running ? (
            <>
              <button
                type="button"
                className="button"
                data-testid="train-pause"
                onClick={() => void pauseTraining(job.persona)}
                disabled={job.jobId === null || phase !== "running"}
                title={t("train.pauseHelp")}
              >
                <Icon name="pause" />
                {t("train.pause")}
              </button>
              <button
                type="button"
                className="button button--ghost-danger"
                data-testid="train-cancel"
                onClick={() => void cancelTraining(job.persona)}
                disabled={job.jobId === null || phase === "cancelling"}
                title={t("train.cancelHelp")}
              >
                <Icon name="stop" />
                {t("train.cancel")}
              </button>
            </>
          ) : (
            <>
              {phase === "done" && (
                <button type="button" className="button button--primary" onClick={onChat}>
                  <Icon name="chat" />
                  {t("train.tryInChat")}
                </button>
              )}
              <button type="button" className="button" onClick={() => dismissTraining(job.persona)}>
                {t("train.hideRun")}
              </button>
            </>
          )}
        </div>
      </div>

      {running && (
        <ProgressBar done={live.step} total={live.totalSteps} label={t("train.progress")} />
      )}

      {job.error && <ErrorMessage error={job.error} />}

      <dl className="run-stats">
        {stats.map((s) => (
          <div key={s.label} className="run-stats__item">
            <dt>{s.label}</dt>
            <dd data-testid={s.testId}>{s.value}</dd>
          </div>
        ))}
      </dl>

      <div className="run-panel__chart">
        <LossChart train={live.train} val={live.val} bestStep={live.bestStep} totalSteps={live.totalSteps} testId="train-chart" />
        <ChartLegend />
      </div>

      {isOverfitting(live.val) && (
        <p className="note note--warn" data-testid="train-overfit">
          <Icon name="alert" />
          <span>{t("train.overfitting")}</span>
        </p>
      )}
      {live.skipped > 0 && <p className="muted">{t("train.skipped", { count: live.skipped })}</p>}
      {job.warnings.length > 0 && (
        <details className="warnings">
          <summary>{t("train.warnings", { count: job.warnings.length })}</summary>
          <ul>
            {job.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function statsOf(job: TrainJob, expected: number | null, peak: number | null, t: T, lang: Lang) {
  const { live } = job;
  const out = [
    stat(
      t("train.statStep"),
      live.totalSteps != null ? t("train.stepOf", { step: live.step, total: live.totalSteps }) : formatNumber(lang, live.step),
    ),
    stat(t("train.statLoss"), formatLoss(live.loss), "train-loss"),
    stat(t("train.statValLoss"), live.val.length ? formatLoss(live.val[live.val.length - 1].loss) : "—"),
    stat(t("train.statSpeed"), live.tokensPerS != null ? t("train.tokensPerS", { n: Math.round(live.tokensPerS) }) : "—"),
    stat(t("train.statDevice"), live.device ? deviceLabel(live.device) : "—", "train-device"),
  ];
  if (isRunning(job)) {
    out.push(stat(t("train.statTimeLeft"), live.etaS != null && live.step > 0 ? formatDuration(live.etaS, lang) : "—"));
  } else if (live.elapsedS != null) {
    out.push(stat(t("train.statTime"), formatDuration(live.elapsedS, lang)));
  }
  if (peak != null) out.push(stat(t("train.statPeakMemory"), formatMemory(peak, lang)));
  else if (expected != null) out.push(stat(t("train.statExpectedMemory"), t("train.about", { value: formatMemory(expected, lang) })));
  return out;
}
