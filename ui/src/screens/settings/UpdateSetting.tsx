import { useEffect, useState } from "react";
import { api, asAppError, type AppError, type UpdateInfo } from "../../api";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useI18n } from "../../i18n";

/** The opt-in check for a new version: off until the user turns it on. */
export function UpdateSetting() {
  const { t } = useI18n();
  const [on, setOn] = useState<boolean | null>(null);
  const [result, setResult] = useState<UpdateInfo | null>(null);
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    let live = true;
    api
      .updatePrefs()
      .then((p) => live && setOn(p.check))
      .catch((e: unknown) => live && setError(asAppError(e)));
    return () => {
      live = false;
    };
  }, []);

  const toggle = async (check: boolean) => {
    setError(null);
    setResult(null);
    try {
      await api.updateSetPrefs({ check });
      setOn(check);
    } catch (e) {
      setError(asAppError(e));
    }
  };

  const checkNow = async () => {
    setChecking(true);
    setError(null);
    try {
      setResult(await api.updateCheck());
    } catch (e) {
      setError(asAppError(e));
    } finally {
      setChecking(false);
    }
  };

  return (
    <div className="settings__row settings__row--stack">
      <label className="settings__label settings__check">
        <input
          type="checkbox"
          data-testid="settings-updates"
          checked={on ?? false}
          disabled={on === null}
          onChange={(e) => void toggle(e.target.checked)}
        />
        <span>
          {t("settings.updates")}
          <span className="settings__help">{t("settings.updatesHelp")}</span>
        </span>
      </label>
      {on && (
        <div className="settings__update">
          <button type="button" className="button button--small" onClick={() => void checkNow()} disabled={checking}>
            {checking ? t("settings.updatesChecking") : t("settings.updatesCheckNow")}
          </button>
          {result && (
            <span data-testid="settings-update-result">
              {result.newer
                ? t("settings.updatesNewer", { latest: result.latest, url: result.url })
                : t("settings.updatesCurrent", { current: result.current })}
            </span>
          )}
        </div>
      )}
      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
    </div>
  );
}
