import { useEffect, useState } from "react";
import { api, asAppError, type AppError, type AppInfo } from "../../api";
import { loadThemePref, saveThemePref, type ThemePref } from "../../app/theme";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useI18n, type LangPref } from "../../i18n";
import { UpdateSetting } from "./UpdateSetting";

/** Language, theme, where the data lives, and the version. */
export function SettingsScreen() {
  const { t, pref, setPref } = useI18n();
  const [theme, setTheme] = useState<ThemePref>(loadThemePref);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    let live = true;
    api
      .appInfo()
      .then((i) => live && setInfo(i))
      .catch((e: unknown) => live && setError(asAppError(e)));
    return () => {
      live = false;
    };
  }, []);

  const changeTheme = (p: ThemePref) => {
    setTheme(p);
    saveThemePref(p);
  };

  return (
    <div className="screen">
      <header className="screen__header">
        <div>
          <h1 className="screen__title">{t("settings.title")}</h1>
        </div>
      </header>
      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}

      <section className="card settings">
        <div className="settings__row">
          <label htmlFor="settings-language" className="settings__label">
            {t("settings.language")}
            <span className="settings__help">{t("settings.languageHelp")}</span>
          </label>
          <select
            id="settings-language"
            data-testid="settings-language"
            className="select"
            value={pref}
            onChange={(e) => setPref(e.target.value as LangPref)}
          >
            <option value="system">{t("settings.system")}</option>
            <option value="en">{t("settings.english")}</option>
            <option value="zh">{t("settings.chinese")}</option>
          </select>
        </div>
        <div className="settings__row">
          <label htmlFor="settings-theme" className="settings__label">
            {t("settings.theme")}
            <span className="settings__help">{t("settings.themeHelp")}</span>
          </label>
          <select
            id="settings-theme"
            className="select"
            value={theme}
            onChange={(e) => changeTheme(e.target.value as ThemePref)}
          >
            <option value="system">{t("settings.system")}</option>
            <option value="light">{t("settings.light")}</option>
            <option value="dark">{t("settings.dark")}</option>
          </select>
        </div>
      </section>

      <section className="card settings">
        <div className="settings__row settings__row--stack">
          <span className="settings__label" id="data-folder-label">
            {t("settings.dataFolder")}
            <span className="settings__help">{t("settings.dataFolderHelp")}</span>
          </span>
          <code className="path selectable" aria-labelledby="data-folder-label" data-testid="settings-data-dir">
            {info?.data_dir ?? "…"}
          </code>
        </div>
        <div className="settings__row settings__row--stack">
          <span className="settings__label" id="library-label">
            {t("settings.library")}
          </span>
          <code className="path selectable" aria-labelledby="library-label" data-testid="settings-library">
            {info?.library_path ?? "…"}
          </code>
        </div>
        <div className="settings__row">
          <span className="settings__label">{t("settings.version")}</span>
          <span className="selectable" data-testid="settings-version">
            {info ? t("settings.versionValue", { version: info.version }) : "…"}
          </span>
        </div>
        <UpdateSetting />
      </section>
    </div>
  );
}
