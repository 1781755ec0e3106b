import { describe, expect, it } from "vitest";
import en from "./en.json";
import zh from "./zh.json";
import { detectLang, translate } from "./index";

describe("i18n", () => {
  it("has every English key in Chinese, and no extra ones", () => {
    const base = (k: string) => k.replace(/_one$/, "");
    const enKeys = new Set(Object.keys(en).map(base));
    const zhKeys = new Set(Object.keys(zh).map(base));
    expect([...enKeys].filter((k) => !zhKeys.has(k))).toEqual([]);
    expect([...zhKeys].filter((k) => !enKeys.has(k))).toEqual([]);
  });

  it("keeps the same placeholders in both languages", () => {
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [k, v] of Object.entries(en)) {
      if (k.endsWith("_one")) continue;
      const z = (zh as Record<string, string>)[k];
      expect(holes(z), k).toEqual(holes(v));
    }
  });

  it("fills placeholders, formats numbers and picks the singular", () => {
    expect(translate("en", "import.lines", { count: 3974 })).toBe("3,974 lines");
    expect(translate("en", "import.lines", { count: 1 })).toBe("1 line");
    expect(translate("zh", "import.lines", { count: 1 })).toBe("1 句台词");
    expect(translate("en", "library.deleteTitle", { name: "Mags" })).toBe("Delete Mags?");
  });

  it("follows the system language: zh* is Chinese, anything else English", () => {
    expect(detectLang("zh-CN")).toBe("zh");
    expect(detectLang("zh-Hant-TW")).toBe("zh");
    expect(detectLang("en-GB")).toBe("en");
    expect(detectLang("fr")).toBe("en");
  });
});
