import type { AdapterView, ExportKind } from "../../api";
import type { MessageKey } from "../../i18n";

type T = (k: MessageKey, v?: Record<string, string | number>) => string;

/** An adapter as a choice in a list: its label (or number), its base model, whether it is in use. */
export function adapterName(a: AdapterView, t: T): string {
  const name = a.label.trim() || t("train.adapterNumber", { id: a.id });
  const base = a.model ? ` · ${a.model}` : "";
  return a.active ? t("train.adapterActiveName", { name: `${name}${base}` }) : `${name}${base}`;
}

/**
 * Which of two scores is better: the base model's, the persona's, or about
 * the same (within half a percent). Null when one is missing.
 */
export function compareScore(
  base: number | null,
  persona: number | null,
  lowerIsBetter: boolean,
): "base" | "persona" | "same" | null {
  if (base == null || persona == null || !Number.isFinite(base) || !Number.isFinite(persona)) return null;
  const tol = Math.max(Math.abs(base), Math.abs(persona)) * 0.005;
  if (Math.abs(base - persona) <= tol) return "same";
  return persona < base === lowerIsBetter ? "persona" : "base";
}

export interface ExportChoice {
  kind: ExportKind;
  label: MessageKey;
  help: MessageKey;
  /** The file's extension when it writes one file; null: it writes a folder. */
  file: string | null;
  /** It needs a trained adapter. */
  needsAdapter: boolean;
}

export const EXPORTS: ExportChoice[] = [
  { kind: "pack", label: "export.pack", help: "export.packHelp", file: "zip", needsAdapter: false },
  { kind: "card", label: "export.card", help: "export.cardHelp", file: "png", needsAdapter: false },
  { kind: "adapter", label: "export.adapter", help: "export.adapterHelp", file: null, needsAdapter: true },
  { kind: "merged_hf", label: "export.mergedHf", help: "export.mergedHfHelp", file: null, needsAdapter: true },
  { kind: "merged_gguf", label: "export.mergedGguf", help: "export.mergedGgufHelp", file: "gguf", needsAdapter: true },
  { kind: "ollama", label: "export.ollama", help: "export.ollamaHelp", file: null, needsAdapter: true },
  { kind: "llamafactory", label: "export.llamafactory", help: "export.llamafactoryHelp", file: null, needsAdapter: false },
];

/** A file name from a persona's name: "Zhen Huan" → "Zhen Huan.zip"; characters file systems refuse are dropped. */
export function fileNameFor(name: string, ext: string): string {
  const safe =
    [...name]
      .filter((c) => c.charCodeAt(0) >= 32 && !'\\/:*?"<>|'.includes(c))
      .join("")
      .trim() || "persona";
  return `${safe}.${ext}`;
}
