import { useId } from "react";
import type { TrainConfig } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n, type MessageKey } from "../../i18n";
import {
  KNOB_GROUPS,
  KNOBS,
  TARGETS,
  isChanged,
  knobProblem,
  knobText,
  presetText,
  settingsFrom,
  targetsProblem,
  type KnobDef,
  type KnobGroup,
  type NumberKnob,
  type Overrides,
} from "./model";

const GROUP_TITLES: Record<KnobGroup, MessageKey> = {
  length: "train.groupLength",
  adapter: "train.groupAdapter",
  batches: "train.groupBatches",
  learning: "train.groupLearning",
  checks: "train.groupChecks",
};

const KNOB_LABELS: Record<NumberKnob, [MessageKey, MessageKey]> = {
  max_steps: ["train.knobMaxSteps", "train.knobMaxStepsHelp"],
  epochs: ["train.knobEpochs", "train.knobEpochsHelp"],
  rank: ["train.knobRank", "train.knobRankHelp"],
  alpha: ["train.knobAlpha", "train.knobAlphaHelp"],
  dropout: ["train.knobDropout", "train.knobDropoutHelp"],
  batch_size: ["train.knobBatchSize", "train.knobBatchSizeHelp"],
  grad_accum: ["train.knobGradAccum", "train.knobGradAccumHelp"],
  max_len: ["train.knobMaxLen", "train.knobMaxLenHelp"],
  lr: ["train.knobLr", "train.knobLrHelp"],
  warmup_ratio: ["train.knobWarmup", "train.knobWarmupHelp"],
  weight_decay: ["train.knobWeightDecay", "train.knobWeightDecayHelp"],
  eval_every: ["train.knobEvalEvery", "train.knobEvalEveryHelp"],
  save_every: ["train.knobSaveEvery", "train.knobSaveEveryHelp"],
  patience: ["train.knobPatience", "train.knobPatienceHelp"],
  max_val: ["train.knobMaxVal", "train.knobMaxValHelp"],
  seed: ["train.knobSeed", "train.knobSeedHelp"],
};

const PROBLEMS: Record<string, MessageKey> = {
  number: "train.knobNotNumber",
  whole: "train.knobNotWhole",
  range: "train.knobOutOfRange",
};

/** Every knob of a run, prefilled from the preset; only changes are sent. */
export function AdvancedPanel({
  open,
  onToggle,
  config,
  overrides,
  onChange,
  disabled,
}: {
  open: boolean;
  onToggle: () => void;
  config: TrainConfig;
  overrides: Overrides;
  onChange: (o: Overrides) => void;
  disabled: boolean;
}) {
  const { t } = useI18n();
  const panelId = useId();
  const { changed: valid, problems } = settingsFrom(overrides, config);
  const changed = valid + Object.keys(problems).length;

  const setNumber = (key: NumberKnob, text: string) => onChange({ ...overrides, numbers: { ...overrides.numbers, [key]: text } });
  const targets = overrides.targets ?? config.targets;
  const toggleTarget = (name: string) => {
    const next = targets.includes(name) ? targets.filter((x) => x !== name) : [...targets, name];
    onChange({ ...overrides, targets: next });
  };

  return (
    <div className="advanced">
      <button
        type="button"
        className="disclosure"
        data-testid="train-advanced"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={onToggle}
      >
        <span className={open ? "disclosure__chevron disclosure__chevron--open" : "disclosure__chevron"}>
          <Icon name="chevron" size={16} />
        </span>
        {t("train.advanced")}
        {changed > 0 && <span className="badge">{t("train.advancedChanged", { count: changed })}</span>}
      </button>
      {open && (
        <div id={panelId} className="advanced__body">
          <div className="advanced__intro">
            <p className="muted">{t("train.advancedIntro")}</p>
            <button type="button" className="button button--small" onClick={() => onChange({ numbers: {} })} disabled={disabled || changed === 0}>
              <Icon name="refresh" size={14} />
              {t("train.advancedReset")}
            </button>
          </div>
          {KNOB_GROUPS.map((group) => (
            <fieldset key={group} className="knob-group" disabled={disabled}>
              <legend className="knob-group__title">{t(GROUP_TITLES[group])}</legend>
              <div className="knob-grid">
                {KNOBS.filter((d) => d.group === group).map((def) => (
                  <NumberField
                    key={def.key}
                    def={def}
                    text={knobText(def, config, overrides)}
                    presetValue={presetText(def, config)}
                    changed={isChanged(def, config, overrides)}
                    onChange={(v) => setNumber(def.key, v)}
                  />
                ))}
                {group === "adapter" && (
                  <div className="knob knob--wide">
                    <label className="knob__check">
                      <input
                        type="checkbox"
                        className="checkbox"
                        checked={overrides.rslora ?? config.rslora}
                        onChange={(e) => onChange({ ...overrides, rslora: e.target.checked })}
                      />
                      <span className="knob__label">{t("train.knobRslora")}</span>
                    </label>
                    <p className="knob__help">{t("train.knobRsloraHelp")}</p>
                  </div>
                )}
              </div>
              {group === "adapter" && (
                <div className="knob knob--wide">
                  <p className="knob__label" id={`${panelId}-targets`}>
                    {t("train.knobTargets")}
                  </p>
                  <div className="target-list" role="group" aria-labelledby={`${panelId}-targets`}>
                    {TARGETS.map((name) => (
                      <label key={name} className="target">
                        <input type="checkbox" className="checkbox" checked={targets.includes(name)} onChange={() => toggleTarget(name)} />
                        <code>{name}</code>
                      </label>
                    ))}
                  </div>
                  <p className={targetsProblem(overrides) ? "knob__problem" : "knob__help"}>
                    {targetsProblem(overrides) ? t("train.knobTargetsNone") : t("train.knobTargetsHelp")}
                  </p>
                </div>
              )}
            </fieldset>
          ))}
        </div>
      )}
    </div>
  );
}

function NumberField({
  def,
  text,
  presetValue,
  changed,
  onChange,
}: {
  def: KnobDef;
  text: string;
  presetValue: string;
  changed: boolean;
  onChange: (text: string) => void;
}) {
  const { t, num } = useI18n();
  const id = useId();
  const [label, help] = KNOB_LABELS[def.key];
  const problem = knobProblem(def, text);
  const range = t("train.knobRange", { min: num(def.min), max: num(def.max) });
  return (
    <div className={changed ? "knob knob--changed" : "knob"}>
      <label htmlFor={id} className="knob__label">
        {t(label)}
        {changed && (
          <span className="knob__preset">{presetValue === "" ? t("train.knobPresetNone") : t("train.knobPreset", { value: presetValue })}</span>
        )}
      </label>
      <input
        id={id}
        className="input knob__input"
        type="number"
        inputMode="decimal"
        min={def.min}
        max={def.max}
        step={def.step}
        value={text}
        placeholder={def.key === "max_steps" ? t("train.knobMaxStepsPlaceholder") : undefined}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={`${id}-help`}
        data-testid={`train-${def.key.replace(/_/g, "-")}`}
      />
      <p id={`${id}-help`} className={problem ? "knob__problem" : "knob__help"}>
        {problem ? `${t(PROBLEMS[problem])} ${range}` : `${t(help)} ${range}`}
      </p>
    </div>
  );
}
