import { useEffect, useMemo, useRef, useState } from "react";
import { api, asAppError, type AppError, type DatasetRow, type DatasetView, type ExportFormat, type HealthFix, type RowPatch } from "../../api";
import { useRouter } from "../../app/router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { useI18n, type MessageKey } from "../../i18n";
import { Steps } from "../import/ImportScreen";
import { DatasetTable } from "./DatasetTable";
import { HealthPanel } from "./HealthPanel";
import { applyChange, applyPatch, countFor, FILTERS, filterRows, revertPatch, type RowFilter } from "./model";

const FILTER_LABELS: Record<RowFilter, MessageKey> = {
  all: "dataset.filterAll",
  unsure: "dataset.filterUnsure",
  short: "dataset.filterShort",
  duplicates: "dataset.filterDuplicates",
  disabled: "dataset.filterDisabled",
};

const EXPORTS: { format: ExportFormat; label: MessageKey }[] = [
  { format: "alpaca", label: "dataset.exportAlpaca" },
  { format: "sharegpt", label: "dataset.exportShareGpt" },
  { format: "llamafactory", label: "dataset.exportLlamaFactory" },
];

/** Review one character's dataset (a draft or a saved one): rows, health, prompt, mix, export, save. */
export function DatasetScreen({ initialView, initialNotice }: { initialView: DatasetView; initialNotice?: MessageKey }) {
  const { t, num } = useI18n();
  const { navigate } = useRouter();
  const [view, setView] = useState(initialView);
  const [filter, setFilter] = useState<RowFilter>("all");
  const [editingId, setEditingId] = useState<number | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState(initialNotice ? t(initialNotice) : "");
  const [busy, setBusy] = useState<string | null>(null);
  const [name, setName] = useState(initialView.character);
  const [systemDraft, setSystemDraft] = useState<string | null>(null);
  const [mix, setMix] = useState<number | null>(null);
  const [exported, setExported] = useState<string[] | null>(null);

  const target = view.target;
  const isDraft = "draft" in target;
  const rows = useMemo(() => filterRows(view.rows, filter), [view.rows, filter]);

  const fail = (e: unknown) => setError(asAppError(e));

  /** One action at a time for the buttons; row edits go on in parallel. */
  const run = async (key: string, action: () => Promise<void>) => {
    setBusy(key);
    setError(null);
    try {
      await action();
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const updateRow = async (row: DatasetRow, patch: RowPatch) => {
    setError(null);
    setView((v) => applyPatch(v, row.id, patch));
    try {
      const change = await api.datasetRowUpdate(target, row.id, patch);
      setView((v) => applyChange(v, row.id, change));
    } catch (e) {
      setView((v) => revertPatch(v, row, patch));
      fail(e);
    }
  };

  const saveEdit = (row: DatasetRow, output: string) => {
    setEditingId(null);
    if (output !== row.output) void updateRow(row, { output });
  };

  const fix = (which: HealthFix) =>
    run(`fix-${which}`, async () => {
      const before = view.enabled;
      const next = await api.datasetFix(target, which);
      setView(next);
      const n = Math.max(0, before - next.enabled);
      setNotice(t(which === "duplicates" ? "dataset.fixedDuplicates" : "dataset.fixedShort", { count: n }));
    });

  const system = systemDraft ?? view.system_prompt;
  const saveSystem = () =>
    run("system", async () => {
      await api.datasetSetSystem(target, system);
      setView((v) => ({ ...v, system_prompt: system }));
      setSystemDraft(null);
      setNotice(t("dataset.systemSaved"));
    });

  const mixPercent = mix ?? Math.round(view.mix_ratio * 100);
  const commitMix = async () => {
    if (mix === null) return;
    const ratio = mix / 100;
    if (Math.abs(ratio - view.mix_ratio) < 1e-6) {
      setMix(null);
      return;
    }
    try {
      await api.datasetSetMix(target, ratio);
      setView((v) => ({ ...v, mix_ratio: ratio }));
    } catch (e) {
      fail(e);
    } finally {
      setMix(null);
    }
  };

  const exportAs = (format: ExportFormat) =>
    run(`export-${format}`, async () => {
      const dir = await api.pickFolder();
      if (!dir) return;
      const files = await api.datasetExport(target, format, dir);
      setExported(files);
    });

  const save = () => {
    if (!("draft" in target)) {
      navigate({ name: "library" });
      return;
    }
    void run("save", async () => {
      const saved = await api.datasetSave(target.draft, name.trim() || view.character);
      const opened = await api.datasetOpen(saved.dataset);
      navigate({ name: "dataset", view: opened, notice: "dataset.savedToLibrary" });
    });
  };

  return (
    <div className="screen screen--dataset">
      <header className="screen__header">
        <div className="screen__heading">
          <h1 className="screen__title">{view.character}</h1>
          <p className="screen__subtitle">{isDraft ? t("dataset.draftSubtitle") : t("dataset.savedSubtitle")}</p>
        </div>
        <div className="toolbar">
          {isDraft && (
            <label className="inline-field">
              <span>{t("dataset.personaName")}</span>
              <input className="input input--small" value={name} onChange={(e) => setName(e.target.value)} />
            </label>
          )}
          <ExportMenu busy={busy !== null} onPick={(f) => void exportAs(f)} />
          <button
            type="button"
            className={isDraft ? "button button--primary" : "button button--saved"}
            data-testid="dataset-save"
            onClick={save}
            disabled={busy !== null}
            title={isDraft ? undefined : t("dataset.savedTitle")}
          >
            {isDraft ? (
              busy === "save" ? t("dataset.saving") : t("dataset.save")
            ) : (
              <span className="button__label" data-testid="dataset-saved">
                <Icon name="check" />
                {t("dataset.saved")}
              </span>
            )}
          </button>
        </div>
      </header>

      {isDraft && <Steps current={3} />}
      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
      <p className="status-line" role="status">
        {notice}
      </p>

      <div className="dataset-layout">
        <section className="dataset-main" aria-label={t("dataset.rowsLabel")}>
          <div className="dataset-bar">
            <span className="dataset-count" data-testid="dataset-count">
              {t("dataset.count", { count: view.count, enabled: view.enabled })}
            </span>
            <div className="segmented" role="group" aria-label={t("dataset.filterLabel")}>
              {FILTERS.map((f) => (
                <button
                  key={f}
                  type="button"
                  className={f === filter ? "segmented__item segmented__item--on" : "segmented__item"}
                  aria-pressed={f === filter}
                  onClick={() => setFilter(f)}
                >
                  {t(FILTER_LABELS[f])}
                  {f !== "all" && <span className="segmented__count">{num(countFor(view.rows, f))}</span>}
                </button>
              ))}
            </div>
          </div>
          <DatasetTable
            rows={rows}
            editingId={editingId}
            emptyText={filter === "all" ? t("dataset.emptyAll") : t("dataset.emptyFilter")}
            onToggle={(row, enabled) => void updateRow(row, { enabled })}
            onEdit={(row) => setEditingId(row.id)}
            onSaveEdit={saveEdit}
            onCancelEdit={() => setEditingId(null)}
            onDelete={(row) => void updateRow(row, { deleted: true })}
          />
        </section>

        <aside className="dataset-side">
          <HealthPanel view={view} busy={busy} onFix={(f) => void fix(f)} />

          <section className="card panel">
            <h2 className="panel__title">
              <label htmlFor="system-prompt">{t("dataset.systemTitle")}</label>
            </h2>
            <p className="panel__help">{t("dataset.systemHelp")}</p>
            <textarea
              id="system-prompt"
              className="input panel__textarea"
              rows={5}
              value={system}
              onChange={(e) => setSystemDraft(e.target.value)}
            />
            <div className="panel__actions">
              {systemDraft !== null && systemDraft !== view.system_prompt && (
                <button type="button" className="button button--small" onClick={() => setSystemDraft(null)}>
                  {t("common.revert")}
                </button>
              )}
              <button
                type="button"
                className="button button--small button--primary"
                onClick={() => void saveSystem()}
                disabled={busy !== null || systemDraft === null || systemDraft === view.system_prompt}
              >
                {t("dataset.systemSave")}
              </button>
            </div>
          </section>

          <section className="card panel">
            <h2 className="panel__title">
              <label htmlFor="mix-ratio">{t("dataset.mixTitle")}</label>
              <output htmlFor="mix-ratio" className="panel__value">
                {mixPercent}%
              </output>
            </h2>
            <input
              id="mix-ratio"
              type="range"
              className="range"
              min={0}
              max={90}
              step={5}
              value={mixPercent}
              onChange={(e) => setMix(Number(e.target.value))}
              onPointerUp={() => void commitMix()}
              onKeyUp={() => void commitMix()}
              onBlur={() => void commitMix()}
              aria-valuetext={`${mixPercent}%`}
            />
            <p className="panel__help">{t("dataset.mixHelp")}</p>
          </section>

          {exported && (
            <section className="card panel" aria-live="polite">
              <h2 className="panel__title">
                {t("dataset.exportedTitle")}
                <button
                  type="button"
                  className="icon-button icon-button--small"
                  onClick={() => setExported(null)}
                  aria-label={t("common.dismiss")}
                >
                  <Icon name="close" size={16} />
                </button>
              </h2>
              <ul className="file-list">
                {exported.map((f) => (
                  <li key={f} className="selectable">
                    {f}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </aside>
      </div>
    </div>
  );
}

function ExportMenu({ busy, onPick }: { busy: boolean; onPick: (f: ExportFormat) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    root.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (!open) return;
    const items = Array.from(root.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === "Escape") {
      e.preventDefault();
      setOpen(false);
      root.current?.querySelector<HTMLElement>("button")?.focus();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    }
  };

  return (
    <div className="menu" ref={root} onKeyDown={onKeyDown}>
      <button
        type="button"
        className="button"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        disabled={busy}
      >
        <Icon name="download" />
        {t("dataset.export")}
        <Icon name="chevron" size={14} />
      </button>
      {open && (
        <ul className="menu__list" role="menu" aria-label={t("dataset.export")}>
          {EXPORTS.map((x) => (
            <li key={x.format} role="none">
              <button
                type="button"
                role="menuitem"
                className="menu__item"
                onClick={() => {
                  setOpen(false);
                  onPick(x.format);
                }}
              >
                {t(x.label)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
