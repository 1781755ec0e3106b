import type { LocalModel } from "../../api";
import type { MessageKey } from "../../i18n";

/** What kind of model it is, in words. */
export function kindKey(kind: LocalModel["kind"] | string): MessageKey {
  switch (kind) {
    case "hub":
      return "models.kindHub";
    case "folder":
      return "models.kindFolder";
    case "gguf":
      return "models.kindGguf";
    default:
      return "models.kindOther";
  }
}

/** Where it came from, in words. */
export function originKey(origin: string): MessageKey {
  return origin === "hub" ? "models.originHub" : origin === "added" ? "models.originAdded" : "models.originOther";
}

/** Which books a recommended model suits: "en", "zh" or "both". */
export function languagesKey(languages: string): MessageKey {
  switch (languages) {
    case "zh":
      return "models.langZh";
    case "en":
      return "models.langEn";
    default:
      return "models.langBoth";
  }
}

/** The short name of a model: the hub id's name, or a path's last part. */
export function displayName(m: Pick<LocalModel, "reference" | "kind">): string {
  if (m.kind === "hub") return m.reference;
  const parts = m.reference.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? m.reference;
}

/** "q4_1" → "Q4_1", "f16" → "F16"; "" stays "". */
export function quantLabel(q: string): string {
  return q.toUpperCase();
}

/** The recommended models' notes, translated (the engine's English note is the fallback). */
const NOTE_KEYS: Record<string, MessageKey> = {
  "HuggingFaceTB/SmolLM2-360M-Instruct": "models.note.smollm2360m",
  "Qwen/Qwen2.5-0.5B-Instruct": "models.note.qwen05b",
  "meta-llama/Llama-3.2-1B-Instruct": "models.note.llama1b",
  "Qwen/Qwen2.5-1.5B-Instruct": "models.note.qwen15b",
  "HuggingFaceTB/SmolLM2-1.7B-Instruct": "models.note.smollm217b",
};

export function noteKey(id: string): MessageKey | null {
  return NOTE_KEYS[id] ?? null;
}
