import { useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import { api, asAppError, type AppError, type CastGroup, type DraftView } from "../../api";
import { setInternalDrag } from "../../app/dragState";
import { useImportSession } from "../../app/importSession";
import { useRouter } from "../../app/router";
import { EmptyState } from "../../components/EmptyState";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { Steps } from "../import/ImportScreen";

/** Characters by lines, most first (ties by name). */
export function sortCast(cast: CastGroup[]): CastGroup[] {
  return [...cast].sort((a, b) => b.lines - a.lines || a.name.localeCompare(b.name));
}

/** Whether a character matches the search text (name or any alias). */
export function matchesQuery(c: CastGroup, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return c.name.toLowerCase().includes(q) || c.aliases.some((a) => a.toLowerCase().includes(q));
}

/** Review the cast of the current draft: merge, rename, split, pick the persona. */
export function CastScreen() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const importer = useImportSession();
  const draft = importer.draft;

  if (!draft) {
    return (
      <div className="screen">
        <header className="screen__header">
          <h1 className="screen__title">{t("cast.title")}</h1>
        </header>
        <EmptyState
          icon="users"
          title={t("cast.emptyTitle")}
          action={
            <button type="button" className="button button--primary" onClick={() => navigate({ name: "import" })}>
              {t("cast.emptyAction")}
            </button>
          }
        >
          <p>{t("cast.emptyText")}</p>
        </EmptyState>
      </div>
    );
  }
  return <CastReview draft={draft} onDraft={importer.setDraft} />;
}

function CastReview({ draft, onDraft }: { draft: DraftView; onDraft: (d: DraftView) => void }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [keep, setKeep] = useState<string | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<{ name: string; value: string } | null>(null);
  const [dragging, setDragging] = useState<string | null>(null);
  const [dropTarget, setDropTarget] = useState<string | null>(null);
  const [narratorAnswered, setNarratorAnswered] = useState<number | null>(null);
  const dragSource = useRef<string | null>(null);

  const sorted = useMemo(() => sortCast(draft.cast), [draft.cast]);
  const visible = useMemo(() => sorted.filter((c) => matchesQuery(c, query)), [sorted, query]);
  const names = useMemo(() => new Set(draft.cast.map((c) => c.name)), [draft.cast]);
  // Names no longer in the cast (merged away, renamed) drop out of the selection.
  const chosen = sorted.filter((c) => selected.has(c.name) && names.has(c.name));
  const keepName = keep && chosen.some((c) => c.name === keep) ? keep : (chosen[0]?.name ?? "");

  /** Run one change of the cast; the engine answers with the new draft. */
  const change = async (key: string, action: () => Promise<DraftView>, done?: string) => {
    setBusy(key);
    setError(null);
    setNotice("");
    try {
      const next = await action();
      onDraft(next);
      if (done) setNotice(done);
      return true;
    } catch (e) {
      setError(asAppError(e));
      return false;
    } finally {
      setBusy(null);
    }
  };

  const toggle = (name: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });

  const merge = async () => {
    const list = chosen.map((c) => c.name);
    if (list.length < 2) return;
    const ok = await change("merge", () => api.castMerge(draft.id, list, keepName), t("cast.merged", { count: list.length, name: keepName }));
    if (ok) {
      setSelected(new Set());
      setKeep(null);
    }
  };

  const mergeByDrag = (source: string, target: string) => {
    if (source === target) return;
    void change("merge", () => api.castMerge(draft.id, [source, target], target), t("cast.mergedInto", { source, target }));
  };

  const commitRename = async () => {
    if (!renaming) return;
    const value = renaming.value.trim();
    if (!value || value === renaming.name) {
      setRenaming(null);
      return;
    }
    const ok = await change("rename", () => api.castRename(draft.id, renaming.name, value), t("cast.renamed", { name: value }));
    if (ok) setRenaming(null);
  };

  const split = (name: string, alias: string) =>
    void change("split", () => api.castSplit(draft.id, name, alias), t("cast.splitDone", { alias, name }));

  const setNarrator = async (name: string | null) => {
    const ok = await change("narrator", () => api.castSetNarrator(draft.id, name));
    if (ok) setNarratorAnswered(draft.id);
  };

  const pick = async (c: CastGroup) => {
    setBusy(`pick-${c.name}`);
    setError(null);
    try {
      const view = await api.datasetPreview(draft.id, c.name);
      navigate({ name: "dataset", view });
    } catch (e) {
      setError(asAppError(e));
      setBusy(null);
    }
  };

  // Drag one row onto another: the dragged character merges into the target.
  const onDragStart = (e: DragEvent, name: string) => {
    dragSource.current = name;
    setInternalDrag(true);
    setDragging(name);
    e.dataTransfer?.setData("text/plain", name);
    if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
  };
  const onDragEnd = () => {
    dragSource.current = null;
    setInternalDrag(false);
    setDragging(null);
    setDropTarget(null);
  };
  const onDragOver = (e: DragEvent, name: string) => {
    const source = dragSource.current;
    if (!source || source === name) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
    if (dropTarget !== name) setDropTarget(name);
  };
  const onDrop = (e: DragEvent, name: string) => {
    e.preventDefault();
    const source = dragSource.current;
    onDragEnd();
    if (source && source !== name) mergeByDrag(source, name);
  };

  const showNarrator = draft.first_person && narratorAnswered !== draft.id;
  const lines = draft.cast.reduce((n, c) => n + c.lines, 0);

  return (
    <div className="screen">
      <header className="screen__header">
        <div className="screen__heading">
          <h1 className="screen__title" title={draft.title}>
            {draft.title || t("import.untitled")}
          </h1>
          <p className="screen__subtitle">
            {t("cast.totals", {
              characters: draft.cast.length,
              lines: draft.utterances,
              attributed: draft.attributed,
            })}
            {draft.unsure > 0 && ` · ${t("import.unsure", { count: draft.unsure })}`}
          </p>
        </div>
      </header>

      <Steps current={2} />

      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}

      {showNarrator && (
        <NarratorQuestion cast={sorted} busy={busy === "narrator"} onAnswer={(n) => void setNarrator(n)} />
      )}

      <div className="cast-toolbar">
        <label className="search">
          <Icon name="search" />
          <span className="visually-hidden">{t("cast.search")}</span>
          <input
            type="search"
            className="input search__input"
            placeholder={t("cast.searchPlaceholder")}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <div className="merge-bar" aria-live="polite">
          {chosen.length >= 2 ? (
            <>
              <span>{t("cast.selected", { count: chosen.length })}</span>
              <label className="merge-bar__keep">
                {t("cast.keepName")}
                <select className="select" value={keepName} onChange={(e) => setKeep(e.target.value)}>
                  {chosen.map((c) => (
                    <option key={c.name} value={c.name}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" className="button button--primary button--small" onClick={() => void merge()} disabled={busy !== null}>
                {t("cast.merge")}
              </button>
              <button type="button" className="button button--small" onClick={() => setSelected(new Set())}>
                {t("cast.clearSelection")}
              </button>
            </>
          ) : (
            <span className="muted">{chosen.length === 1 ? t("cast.selectOneMore") : t("cast.mergeHint")}</span>
          )}
        </div>
      </div>

      <p className="status-line" role="status">
        {notice}
      </p>

      {visible.length === 0 ? (
        <p className="muted cast-empty">{query ? t("cast.noMatch", { query }) : t("cast.noCharacters")}</p>
      ) : (
        <ul className="cast-list" aria-label={t("cast.listLabel", { count: lines })}>
          {visible.map((c) => {
            const isRenaming = renaming?.name === c.name;
            const classes = ["cast-row"];
            if (selected.has(c.name)) classes.push("cast-row--selected");
            if (dropTarget === c.name) classes.push("cast-row--drop");
            if (dragging === c.name) classes.push("cast-row--dragging");
            return (
              <li
                key={c.name}
                className={classes.join(" ")}
                data-testid="cast-row"
                draggable={!isRenaming}
                onDragStart={(e) => onDragStart(e, c.name)}
                onDragEnd={onDragEnd}
                onDragOver={(e) => onDragOver(e, c.name)}
                onDragLeave={() => dropTarget === c.name && setDropTarget(null)}
                onDrop={(e) => onDrop(e, c.name)}
              >
                <span className="cast-row__grip" aria-hidden="true" title={t("cast.dragHint")}>
                  <Icon name="grip" size={16} />
                </span>
                <input
                  type="checkbox"
                  className="checkbox"
                  checked={selected.has(c.name)}
                  onChange={() => toggle(c.name)}
                  aria-label={t("cast.select", { name: c.name })}
                />
                <div className="cast-row__main">
                  <div className="cast-row__title">
                    {isRenaming ? (
                      <RenameField
                        value={renaming.value}
                        label={t("cast.renameLabel", { name: c.name })}
                        busy={busy === "rename"}
                        onChange={(value) => setRenaming({ name: c.name, value })}
                        onSave={() => void commitRename()}
                        onCancel={() => setRenaming(null)}
                      />
                    ) : (
                      <>
                        <span className="cast-row__name">{c.name}</span>
                        {c.narrator && <span className="badge">{t("cast.narrator")}</span>}
                        <button
                          type="button"
                          className="icon-button icon-button--small"
                          onClick={() => setRenaming({ name: c.name, value: c.name })}
                          aria-label={t("cast.rename", { name: c.name })}
                          title={t("cast.renameTitle")}
                        >
                          <Icon name="edit" size={16} />
                        </button>
                      </>
                    )}
                    {c.aliases.length > 0 && (
                      <ul className="chips" aria-label={t("cast.aliases")}>
                        {c.aliases.map((a) => (
                          <li key={a} className="chip">
                            <span>{a}</span>
                            <button
                              type="button"
                              className="chip__action"
                              onClick={() => split(c.name, a)}
                              disabled={busy !== null}
                              aria-label={t("cast.splitOff", { alias: a, name: c.name })}
                              title={t("cast.splitTitle")}
                            >
                              <Icon name="split" size={14} />
                            </button>
                          </li>
                        ))}
                      </ul>
                    )}
                  </div>
                  <p className="cast-row__sample" title={c.sample}>
                    {c.sample ? `“${c.sample}”` : t("cast.noSample")}
                  </p>
                </div>
                <span className="cast-row__lines">{t("import.lines", { count: c.lines })}</span>
                <button
                  type="button"
                  className="button button--small button--primary"
                  data-testid="cast-pick"
                  onClick={() => void pick(c)}
                  disabled={busy !== null}
                  aria-label={t("cast.pickNamed", { name: c.name })}
                >
                  {busy === `pick-${c.name}` ? t("cast.building") : t("cast.pick")}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function RenameField({
  value,
  label,
  busy,
  onChange,
  onSave,
  onCancel,
}: {
  value: string;
  label: string;
  busy: boolean;
  onChange: (v: string) => void;
  onSave: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter" && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSave();
    } else if (e.key === "Escape") {
      e.preventDefault();
      onCancel();
    }
  };
  return (
    <span className="rename">
      <input
        className="input input--small"
        value={value}
        aria-label={label}
        autoFocus
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        disabled={busy}
      />
      <button type="button" className="icon-button icon-button--small" onClick={onSave} aria-label={t("common.save")} disabled={busy}>
        <Icon name="check" size={16} />
      </button>
      <button type="button" className="icon-button icon-button--small" onClick={onCancel} aria-label={t("common.cancel")}>
        <Icon name="close" size={16} />
      </button>
    </span>
  );
}

function NarratorQuestion({
  cast,
  busy,
  onAnswer,
}: {
  cast: CastGroup[];
  busy: boolean;
  onAnswer: (name: string | null) => void;
}) {
  const { t } = useI18n();
  const options = cast.filter((c) => !c.narrator);
  const [choice, setChoice] = useState(options[0]?.name ?? "");
  return (
    <section className="card question" aria-labelledby="narrator-q">
      <h2 id="narrator-q" className="question__title">
        {t("cast.narratorQuestion")}
      </h2>
      <p className="muted">{t("cast.narratorExplain")}</p>
      <div className="question__actions">
        <label className="visually-hidden" htmlFor="narrator-select">
          {t("cast.narratorSelect")}
        </label>
        <select id="narrator-select" className="select" value={choice} onChange={(e) => setChoice(e.target.value)} disabled={busy}>
          {options.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        <button type="button" className="button button--primary" onClick={() => onAnswer(choice)} disabled={busy || !choice}>
          {t("cast.narratorConfirm")}
        </button>
        <button type="button" className="button" onClick={() => onAnswer(null)} disabled={busy}>
          {t("cast.narratorLeave")}
        </button>
      </div>
    </section>
  );
}
