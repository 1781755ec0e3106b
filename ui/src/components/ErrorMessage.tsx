import type { AppError } from "../api";
import { useI18n } from "../i18n";
import { Icon } from "./Icon";

/** An error in plain words, with what to do about it. Every screen shows its errors here. */
export function ErrorMessage({ error, onDismiss }: { error: AppError; onDismiss?: () => void }) {
  const { t } = useI18n();
  const hint = error.hint ?? (error.kind === "internal" ? t("error.internalHint") : undefined);
  return (
    <div className="error-box" role="alert" data-testid="error-message">
      <span className="error-box__icon">
        <Icon name="alert" />
      </span>
      <div className="error-box__body">
        <p className="error-box__message">{error.message}</p>
        {hint && (
          <p className="error-box__hint">
            <strong>{t("error.whatToDo")}</strong> {hint}
          </p>
        )}
        {error.path && (
          <p className="error-box__path selectable">
            {error.path}
            {error.line != null ? `:${error.line}` : ""}
          </p>
        )}
      </div>
      {onDismiss && (
        <button type="button" className="icon-button" onClick={onDismiss} aria-label={t("common.dismiss")} title={t("common.dismiss")}>
          <Icon name="close" />
        </button>
      )}
    </div>
  );
}
