import type { RunView } from "../../api";
import { Icon } from "../../components/Icon";
import { locale, useI18n, type MessageKey } from "../../i18n";
import { baseName, formatRelative } from "../../lib/format";
import { LossChart } from "./LossChart";
import { formatLoss } from "./model";

const STATUS: Record<string, MessageKey> = {
  running: "train.runRunning",
  paused: "train.runPaused",
  finished: "train.runFinished",
  failed: "train.runFailed",
  cancelled: "train.runCancelled",
  interrupted: "train.runInterrupted",
};

const STATUS_CLASS: Record<string, string> = {
  finished: "badge badge--success",
  running: "badge badge--accent",
  paused: "badge badge--warn",
  interrupted: "badge badge--warn",
  failed: "badge badge--danger",
};

/** The persona's training runs, newest first: how each went, and its adapter. */
export function RunHistory({
  runs,
  busy,
  onActivate,
  onResume,
}: {
  runs: RunView[];
  /** Something is running or being changed: no other action. */
  busy: boolean;
  onActivate: (run: RunView) => void;
  onResume: (run: RunView) => void;
}) {
  const { t } = useI18n();
  const sorted = [...runs].sort((a, b) => (b.started_at ?? 0) - (a.started_at ?? 0) || b.id - a.id);
  return (
    <section className="card section" aria-labelledby="runs-title">
      <div className="section__head">
        <h2 id="runs-title" className="section__title">
          {t("train.historyTitle")}
        </h2>
        <p className="section__help">{t("train.historyHelp")}</p>
      </div>
      {sorted.length === 0 ? (
        <p className="muted">{t("train.historyEmpty")}</p>
      ) : (
        <ul className="run-list">
          {sorted.map((run) => (
            <li key={run.id}>
              <RunRow run={run} busy={busy} onActivate={() => onActivate(run)} onResume={() => onResume(run)} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RunRow({ run, busy, onActivate, onResume }: { run: RunView; busy: boolean; onActivate: () => void; onResume: () => void }) {
  const { t, lang, num } = useI18n();
  const s = run.summary;
  const c = run.config;
  const lr = (v: number) => new Intl.NumberFormat(locale(lang), { maximumSignificantDigits: 3 }).format(v);
  const settings = c
    ? [
        t("train.runSettingRank", { rank: c.rank }),
        t("train.runSettingEpochs", { count: c.epochs }),
        t("train.runSettingLr", { lr: lr(c.lr) }),
        t("train.runSettingLen", { len: c.max_len }),
        c.max_steps != null ? t("train.runSettingMaxSteps", { steps: c.max_steps }) : null,
      ].filter((x): x is string => x !== null)
    : [];
  const steps = s ? t("train.stepOf", { step: s.steps, total: s.total_steps }) : null;
  const bestStep = run.best_step ?? s?.best_step ?? null;
  return (
    <article className={run.active ? "run-row run-row--active" : "run-row"} data-testid="run-row" aria-label={t("train.runLabel", { id: run.id })}>
      <div className="run-row__main">
        <div className="run-row__title">
          <span className={STATUS_CLASS[run.status] ?? "badge"}>{STATUS[run.status] ? t(STATUS[run.status]) : run.status}</span>
          {run.active && (
            <span className="badge badge--success" data-testid="run-active">
              <Icon name="check" size={14} />
              {t("train.runActive")}
            </span>
          )}
          <span className="run-row__model selectable" title={run.model}>
            {baseName(run.model)}
          </span>
          {run.started_at != null && <span className="run-row__date">{formatRelative(run.started_at, lang)}</span>}
        </div>
        {settings.length > 0 && <p className="run-row__settings">{settings.join(" · ")}</p>}
        {s && (
          <dl className="run-row__losses">
            <div>
              <dt>{t("train.runSteps")}</dt>
              <dd>{steps}</dd>
            </div>
            <div>
              <dt>{t("train.runTrainLoss")}</dt>
              <dd>
                {formatLoss(s.train_loss_first)} → {formatLoss(s.train_loss_last)}
              </dd>
            </div>
            <div>
              <dt>{t("train.runValLoss")}</dt>
              <dd>
                {s.val_loss_first == null ? "—" : `${formatLoss(s.val_loss_first)} → ${formatLoss(s.val_loss_last)}`}
              </dd>
            </div>
            {s.best_val_loss != null && (
              <div>
                <dt>{t("train.runBest")}</dt>
                <dd>
                  {bestStep != null
                    ? t("train.runBestAt", { loss: formatLoss(s.best_val_loss), step: num(bestStep) })
                    : formatLoss(s.best_val_loss)}
                </dd>
              </div>
            )}
          </dl>
        )}
        {s?.stopped_early && <p className="muted">{t("train.runStoppedEarly")}</p>}
        {run.error && (
          <p className="run-row__error">
            <Icon name="alert" size={16} />
            <span>
              {run.error.message}
              {run.error.hint ? ` ${run.error.hint}` : ""}
            </span>
          </p>
        )}
      </div>
      <div className="run-row__side">
        {run.train_curve.length > 1 && (
          <LossChart train={run.train_curve} val={run.val_curve} bestStep={bestStep} totalSteps={s?.total_steps ?? null} compact />
        )}
        <div className="run-row__actions">
          {run.resumable && (
            <button type="button" className="button button--small" data-testid="run-resume" onClick={onResume} disabled={busy}>
              <Icon name="play" size={14} />
              {t("train.resume")}
            </button>
          )}
          {run.adapter_id != null && !run.active && (
            <button type="button" className="button button--small" data-testid="run-activate" onClick={onActivate} disabled={busy}>
              {t("train.useAdapter")}
            </button>
          )}
        </div>
      </div>
    </article>
  );
}
