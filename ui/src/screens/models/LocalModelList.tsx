import type { LocalModel } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { formatBytes } from "../../lib/format";
import { displayName, kindKey, originKey, quantLabel } from "./labels";

/** The models on this computer, one row each. */
export function LocalModelList({ models }: { models: LocalModel[] | null }) {
  const { t, lang } = useI18n();
  if (models === null) {
    return (
      <div className="model-list" aria-busy="true" aria-label={t("common.loading")}>
        <div className="model-row model-row--skeleton" />
      </div>
    );
  }
  if (models.length === 0) {
    return (
      <div className="model-list__empty">
        <Icon name="cpu" size={24} />
        <div>
          <p className="model-list__empty-title">{t("models.noneTitle")}</p>
          <p className="muted">{t("models.noneText")}</p>
        </div>
      </div>
    );
  }
  return (
    <ul className="model-list" aria-label={t("models.localTitle")}>
      {models.map((m) => (
        <li key={`${m.kind}:${m.reference}`} className="model-row" data-testid="model-row">
          <span className="model-row__icon" aria-hidden="true">
            <Icon name={m.kind === "gguf" ? "file" : m.kind === "folder" ? "folder" : "cpu"} />
          </span>
          <div className="model-row__main">
            <p className="model-row__name selectable" title={m.reference}>
              {displayName(m)}
            </p>
            <p className="model-row__path selectable" title={m.path}>
              {m.path}
            </p>
          </div>
          <dl className="model-row__facts">
            <div>
              <dt>{t("models.kind")}</dt>
              <dd>{t(kindKey(m.kind))}</dd>
            </div>
            <div>
              <dt>{t("models.family")}</dt>
              <dd>{m.architecture || t("models.unknown")}</dd>
            </div>
            <div>
              <dt>{t("models.quantization")}</dt>
              <dd title={t("models.quantizationHelp")}>{m.quantization ? quantLabel(m.quantization) : t("models.unknown")}</dd>
            </div>
            <div>
              <dt>{t("models.size")}</dt>
              <dd>{formatBytes(m.size_bytes, lang)}</dd>
            </div>
            <div>
              <dt>{t("models.origin")}</dt>
              <dd>{t(originKey(m.origin))}</dd>
            </div>
          </dl>
        </li>
      ))}
    </ul>
  );
}
