import type { RecommendedModel } from "../../api";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { useI18n } from "../../i18n";
import { formatDuration, formatMemory } from "../../lib/duration";
import { formatBytes } from "../../lib/format";
import { pauseDownload, startDownload, type Download, type Downloads } from "./downloads";
import { languagesKey, noteKey } from "./labels";
import { etaSeconds } from "./rate";

/** Small chat models that train well here, as cards with a download button. */
export function RecommendedModels({ models, downloads }: { models: RecommendedModel[] | null; downloads: Downloads }) {
  const { t } = useI18n();
  if (models === null) return <p className="muted">{t("common.loading")}</p>;
  if (models.length === 0) return <p className="muted">{t("models.recommendedNone")}</p>;
  return (
    <ul className="recommended-grid">
      {models.map((m) => (
        <li key={m.id}>
          <RecommendedCard model={m} download={downloads.byId[m.id]} />
        </li>
      ))}
    </ul>
  );
}

function RecommendedCard({ model, download }: { model: RecommendedModel; download: Download | undefined }) {
  const { t, lang } = useI18n();
  const status = download?.status;
  const active = status === "starting" || status === "running" || status === "pausing";
  const local = model.local || status === "done";
  const titleId = `rec-${model.id.replace(/[^a-z0-9]/gi, "-")}`;
  const note = noteKey(model.id);
  return (
    <article className="card recommended" data-testid="recommended-card" aria-labelledby={titleId}>
      <div className="recommended__head">
        <div className="recommended__titles">
          <h3 id={titleId} className="recommended__name">
            {model.name}
          </h3>
          <p className="recommended__id selectable">{model.id}</p>
        </div>
        {local && (
          <span className="badge badge--success">
            <Icon name="check" size={14} />
            {t("models.onComputer")}
          </span>
        )}
      </div>
      <ul className="recommended__tags">
        <li className="tag tag--strong">{t("models.parameters", { n: model.parameters })}</li>
        <li className="tag">{t(languagesKey(model.languages))}</li>
      </ul>
      <p className="recommended__note">{note ? t(note) : model.note}</p>
      <dl className="facts">
        <div>
          <dt>{t("models.downloadSize")}</dt>
          <dd>{formatBytes(model.download_bytes, lang)}</dd>
        </div>
        <div>
          <dt title={t("models.trainMemoryHelp")}>{t("models.trainMemory")}</dt>
          <dd>{t("models.about", { value: formatMemory(model.train_memory_mib, lang) })}</dd>
        </div>
      </dl>
      {!local && (
        <div className="recommended__download" aria-live="polite">
          {download && (active || status === "paused" || (status === "failed" && download.done > 0)) && (
            <DownloadProgress download={download} />
          )}
          {download?.status === "failed" && download.error && <ErrorMessage error={download.error} />}
          <div className="recommended__actions">
            {active ? (
              <button
                type="button"
                className="button"
                data-testid="model-pause"
                onClick={() => void pauseDownload(model.id)}
                disabled={download?.jobId == null || status === "pausing"}
              >
                <Icon name="pause" />
                {status === "pausing" ? t("models.pausing") : t("models.pause")}
              </button>
            ) : (
              <button
                type="button"
                className="button button--primary"
                data-testid="model-download"
                onClick={() => void startDownload(model.id)}
              >
                <Icon name={download && download.done > 0 ? "play" : "download"} />
                {download && download.done > 0
                  ? t("models.resume")
                  : status === "failed"
                    ? t("models.tryAgain")
                    : t("models.download")}
              </button>
            )}
          </div>
        </div>
      )}
    </article>
  );
}

/** "312 MB of 1.0 GB · 4.2 MB/s · about 3 min left", with a bar. */
function DownloadProgress({ download }: { download: Download }) {
  const { t, lang } = useI18n();
  const { done, total, status } = download;
  const amount = total != null ? t("models.bytesOf", { done: formatBytes(done, lang), total: formatBytes(total, lang) }) : formatBytes(done, lang);
  const parts = [amount];
  if (status === "running") {
    const speed = download.rate.speed;
    if (speed != null) parts.push(t("models.speed", { speed: formatBytes(speed, lang) }));
    const eta = etaSeconds(speed, done, total);
    if (eta != null) parts.push(t("models.timeLeft", { time: formatDuration(eta, lang) }));
  } else if (status === "paused") {
    parts.unshift(t("models.paused"));
  } else if (status === "failed") {
    parts.unshift(t("models.stoppedAt"));
  } else if (status === "starting") {
    if (done === 0) parts.length = 0;
    parts.unshift(t("models.connecting"));
  }
  return (
    <div className="download">
      <ProgressBar done={done} total={status === "starting" ? null : total} label={t("models.downloadProgress")} />
      <p className="download__text" data-testid="download-progress">
        {parts.join(" · ")}
      </p>
    </div>
  );
}
