import { useCallback, useMemo, useState, type ReactNode } from "react";
import {
  I18nContext,
  formatNumber,
  loadLangPref,
  resolveLang,
  saveLangPref,
  setCurrentLang,
  translate,
  type I18n,
  type LangPref,
  type MessageKey,
  type Vars,
} from "./index";

export function I18nProvider({ children }: { children: ReactNode }) {
  const [pref, setPrefState] = useState<LangPref>(loadLangPref);
  const lang = resolveLang(pref);
  setCurrentLang(lang);

  const setPref = useCallback((p: LangPref) => {
    saveLangPref(p);
    setPrefState(p);
  }, []);

  const value = useMemo<I18n>(
    () => ({
      lang,
      pref,
      setPref,
      t: (key: MessageKey, vars?: Vars) => translate(lang, key, vars),
      num: (n: number) => formatNumber(lang, n),
    }),
    [lang, pref, setPref],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}
