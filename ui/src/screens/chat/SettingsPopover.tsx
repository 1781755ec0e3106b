import { useEffect, useId, useRef, useState } from "react";
import type { ChatSettings } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n, type MessageKey } from "../../i18n";
import { ROLEPLAY_DEFAULTS } from "./chatState";

interface Knob {
  key: keyof ChatSettings;
  label: MessageKey;
  help: MessageKey;
  min: number;
  max: number;
  step: number;
}

const KNOBS: Knob[] = [
  { key: "temperature", label: "chat.temperature", help: "chat.temperatureHelp", min: 0, max: 2, step: 0.05 },
  { key: "top_p", label: "chat.topP", help: "chat.topPHelp", min: 0.05, max: 1, step: 0.05 },
  { key: "max_tokens", label: "chat.maxTokens", help: "chat.maxTokensHelp", min: 16, max: 1024, step: 8 },
];

/** Temperature, top-p and reply length, behind a button in the chat's header. */
export function SettingsPopover({
  settings,
  onChange,
}: {
  settings: ChatSettings;
  onChange: (patch: Partial<ChatSettings>) => void;
}) {
  const { t, num } = useI18n();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panelId = useId();

  // Close on a click outside.
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const show = (k: keyof ChatSettings, v: number) =>
    k === "max_tokens" ? t("chat.tokens", { count: v }) : num(Math.round(v * 100) / 100);
  const isDefault = KNOBS.every((k) => settings[k.key] === ROLEPLAY_DEFAULTS[k.key]);

  return (
    <div
      className="chat-settings"
      ref={root}
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) {
          e.stopPropagation();
          setOpen(false);
          button.current?.focus();
        }
      }}
    >
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={t("chat.settings")}
        title={t("chat.settings")}
        data-testid="chat-settings"
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="settings" />
      </button>
      {open && (
        <div className="chat-settings__panel" id={panelId} role="group" aria-label={t("chat.settings")}>
          <h3 className="chat-settings__title">{t("chat.settings")}</h3>
          {KNOBS.map((k) => {
            const id = `${panelId}-${k.key}`;
            return (
              <div className="chat-settings__knob" key={k.key}>
                <label className="chat-settings__label" htmlFor={id}>
                  <span>{t(k.label)}</span>
                  <span className="panel__value">{show(k.key, settings[k.key])}</span>
                </label>
                <input
                  id={id}
                  type="range"
                  className="range"
                  data-testid={`chat-setting-${k.key}`}
                  min={k.min}
                  max={k.max}
                  step={k.step}
                  value={settings[k.key]}
                  onChange={(e) => onChange({ [k.key]: Number(e.target.value) })}
                />
                <p className="chat-settings__help">{t(k.help)}</p>
              </div>
            );
          })}
          <button
            type="button"
            className="button button--small"
            onClick={() => onChange(ROLEPLAY_DEFAULTS)}
            disabled={isDefault}
          >
            {t("chat.resetDefaults")}
          </button>
        </div>
      )}
    </div>
  );
}
