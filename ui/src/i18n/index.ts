// A small translation module: flat keys, `{name}` placeholders, and `_one`
// variants for English singulars. Numbers in placeholders are formatted for
// the language (3974 → "3,974").
import { createContext, useContext } from "react";
import en from "./en.json";
import zh from "./zh.json";

export type Lang = "en" | "zh";
export type LangPref = "system" | Lang;
export type MessageKey = keyof typeof en;
export type Vars = Record<string, string | number>;

const dictionaries: Record<Lang, Record<string, string>> = { en, zh };
const STORAGE_KEY = "dramatis.lang";

/** The language the system asks for: Chinese for any zh*, else English. */
export function detectLang(navLang: string | undefined = globalThis.navigator?.language): Lang {
  return navLang && navLang.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function loadLangPref(): LangPref {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v === "en" || v === "zh" || v === "system") return v;
  } catch {
    // storage unavailable: follow the system
  }
  return "system";
}

export function saveLangPref(pref: LangPref): void {
  try {
    localStorage.setItem(STORAGE_KEY, pref);
  } catch {
    // not fatal: the choice lasts for this session only
  }
}

export function resolveLang(pref: LangPref): Lang {
  return pref === "system" ? detectLang() : pref;
}

export function locale(lang: Lang): string {
  return lang === "zh" ? "zh-CN" : "en-US";
}

const numberFormats = new Map<Lang, Intl.NumberFormat>();
export function formatNumber(lang: Lang, n: number): string {
  let f = numberFormats.get(lang);
  if (!f) {
    f = new Intl.NumberFormat(locale(lang));
    numberFormats.set(lang, f);
  }
  return f.format(n);
}

/** Translate `key` into `lang`, filling `{placeholders}` from `vars`. */
export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const dict = dictionaries[lang];
  let template: string | undefined;
  if (vars && typeof vars.count === "number" && vars.count === 1) template = dict[`${key}_one`];
  template ??= dict[key] ?? dictionaries.en[key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) return whole;
    return typeof v === "number" ? formatNumber(lang, v) : v;
  });
}

let current: Lang = resolveLang(loadLangPref());

/** The language in use now. */
export function currentLang(): Lang {
  return current;
}

export function setCurrentLang(lang: Lang): void {
  current = lang;
  if (typeof document !== "undefined") document.documentElement.lang = locale(lang);
}

/** Translate into the language in use now. Components use `useI18n().t`, which re-renders on a change. */
export function t(key: MessageKey, vars?: Vars): string {
  return translate(current, key, vars);
}

export interface I18n {
  lang: Lang;
  pref: LangPref;
  setPref: (p: LangPref) => void;
  t: (key: MessageKey, vars?: Vars) => string;
  num: (n: number) => string;
}

export const I18nContext = createContext<I18n | null>(null);

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error("useI18n outside <I18nProvider>");
  return ctx;
}
