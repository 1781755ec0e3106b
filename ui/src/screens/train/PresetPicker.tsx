import type { Estimate, Preset, PresetInfo } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n, type MessageKey } from "../../i18n";
import { formatDuration, formatMemory } from "../../lib/duration";

const LABELS: Record<Preset, MessageKey> = {
  quick: "train.presetQuick",
  balanced: "train.presetBalanced",
  deep: "train.presetDeep",
};

const DESCRIPTIONS: Record<Preset, MessageKey> = {
  quick: "train.presetQuickText",
  balanced: "train.presetBalancedText",
  deep: "train.presetDeepText",
};

/** The preset's name in the user's language (the engine's label for one it does not know). */
export function presetLabel(p: PresetInfo | Preset, t: (k: MessageKey) => string): string {
  const key = typeof p === "string" ? p : p.preset;
  return key in LABELS ? t(LABELS[key]) : typeof p === "string" ? p : p.label;
}

/** The three presets as big choices, with what each costs on this computer once measured. */
export function PresetPicker({
  presets,
  value,
  onChange,
  estimates,
  disabled,
}: {
  presets: PresetInfo[];
  value: Preset;
  onChange: (p: Preset) => void;
  estimates: Estimate[] | null;
  disabled: boolean;
}) {
  const { t } = useI18n();
  return (
    <div className="presets" role="group" aria-label={t("train.presetsLabel")}>
      {presets.map((p) => {
        const est = estimates?.find((e) => e.preset === p.preset) ?? null;
        const on = p.preset === value;
        const description = p.preset in DESCRIPTIONS ? t(DESCRIPTIONS[p.preset]) : p.description;
        return (
          <button
            key={p.preset}
            type="button"
            className={["preset", on ? "preset--on" : "", est && !est.fits ? "preset--no-fit" : ""].join(" ").trim()}
            data-testid={`train-preset-${p.preset}`}
            aria-pressed={on}
            onClick={() => onChange(p.preset)}
            disabled={disabled}
          >
            <span className="preset__head">
              <span className="preset__radio" aria-hidden="true">
                {on && <Icon name="check" size={14} />}
              </span>
              <span className="preset__label">{presetLabel(p, t)}</span>
            </span>
            <span className="preset__text">{description}</span>
            {est && <PresetEstimate est={est} />}
          </button>
        );
      })}
    </div>
  );
}

function PresetEstimate({ est }: { est: Estimate }) {
  const { t, lang } = useI18n();
  return (
    <span className="preset__estimate" data-testid="train-estimate">
      <span className="preset__time">{t("train.about", { value: formatDuration(est.estimated_seconds, lang) })}</span>
      <span className="preset__facts">
        {t("train.estimateSteps", { steps: est.total_steps })}
        {est.peak_memory_mib != null && ` · ${t("train.estimateMemory", { memory: formatMemory(est.peak_memory_mib, lang) })}`}
      </span>
      {!est.fits && (
        <span className="preset__warning" data-testid="train-no-fit">
          <Icon name="alert" size={14} />
          {est.available_mib != null
            ? t("train.noFit", { needed: formatMemory(est.needed_mib, lang), available: formatMemory(est.available_mib, lang) })
            : t("train.noFitUnknown", { needed: formatMemory(est.needed_mib, lang) })}
        </span>
      )}
    </span>
  );
}
