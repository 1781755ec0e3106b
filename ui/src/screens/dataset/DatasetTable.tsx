import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { DatasetRow } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { formatPercent } from "../../lib/format";

export const ROW_HEIGHT = 64;
export const EDIT_ROW_HEIGHT = 176;

interface Props {
  rows: DatasetRow[];
  editingId: number | null;
  emptyText: string;
  onToggle: (row: DatasetRow, enabled: boolean) => void;
  onEdit: (row: DatasetRow) => void;
  onSaveEdit: (row: DatasetRow, output: string) => void;
  onCancelEdit: () => void;
  onDelete: (row: DatasetRow) => void;
}

/** The rows, virtualised: only the rows in view (and a few around) are in the page. */
export function DatasetTable({ rows, editingId, emptyText, onToggle, onEdit, onSaveEdit, onCancelEdit, onDelete }: Props) {
  const { t } = useI18n();
  const scrollRef = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer's functions are read during render on purpose
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.id === editingId ? EDIT_ROW_HEIGHT : ROW_HEIGHT),
    getItemKey: (i) => rows[i]?.id ?? i,
    overscan: 8,
  });

  // The row being edited is taller: recompute the offsets.
  useEffect(() => {
    virtualizer.measure();
  }, [editingId, virtualizer]);

  return (
    <div className="table" role="table" aria-label={t("dataset.tableLabel")} aria-rowcount={rows.length + 1}>
      <div className="table__head" role="rowgroup">
        <div className="table__row table__row--head" role="row">
          <span role="columnheader" className="col col-enabled">
            <span className="visually-hidden">{t("dataset.colEnabled")}</span>
          </span>
          <span role="columnheader" className="col col-context">
            {t("dataset.colContext")}
          </span>
          <span role="columnheader" className="col col-reply">
            {t("dataset.colReply")}
          </span>
          <span role="columnheader" className="col col-scene">
            {t("dataset.colScene")}
          </span>
          <span role="columnheader" className="col col-conf">
            {t("dataset.colConfidence")}
          </span>
          <span role="columnheader" className="col col-actions">
            <span className="visually-hidden">{t("dataset.colActions")}</span>
          </span>
        </div>
      </div>
      <div ref={scrollRef} className="table__scroll" role="rowgroup">
        {rows.length === 0 ? (
          <p className="table__empty">{emptyText}</p>
        ) : (
          <div className="table__canvas" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index];
              return (
                <Row
                  key={item.key}
                  row={row}
                  index={item.index}
                  top={item.start}
                  height={item.size}
                  editing={row.id === editingId}
                  onToggle={onToggle}
                  onEdit={onEdit}
                  onSaveEdit={onSaveEdit}
                  onCancelEdit={onCancelEdit}
                  onDelete={onDelete}
                />
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}

function Row({
  row,
  index,
  top,
  height,
  editing,
  onToggle,
  onEdit,
  onSaveEdit,
  onCancelEdit,
  onDelete,
}: {
  row: DatasetRow;
  index: number;
  top: number;
  height: number;
  editing: boolean;
} & Pick<Props, "onToggle" | "onEdit" | "onSaveEdit" | "onCancelEdit" | "onDelete">) {
  const { t, lang } = useI18n();
  const unsure = row.flags.includes("unsure");
  const classes = ["table__row"];
  if (!row.enabled) classes.push("table__row--disabled");
  if (editing) classes.push("table__row--editing");
  const n = row.position + 1;
  return (
    <div
      className={classes.join(" ")}
      role="row"
      aria-rowindex={index + 2}
      data-testid="dataset-row"
      data-row-id={row.id}
      style={{ height, transform: `translateY(${top}px)` }}
    >
      <span role="cell" className="col col-enabled">
        <input
          type="checkbox"
          className="checkbox"
          checked={row.enabled}
          onChange={(e) => onToggle(row, e.target.checked)}
          aria-label={t("dataset.useRow", { n })}
        />
      </span>
      <span role="cell" className="col col-context">
        {row.input && (
          <span className="cell-secondary" title={row.input}>
            {row.input}
          </span>
        )}
        <span className="cell-text" title={row.instruction}>
          {row.instruction || <em className="muted">{t("dataset.noContext")}</em>}
        </span>
      </span>
      {editing ? (
        // The editor takes the room of the reply, scene and confidence columns.
        <span role="cell" className="col col-reply col-reply--editing">
          <ReplyEditor row={row} onSave={(text) => onSaveEdit(row, text)} onCancel={onCancelEdit} />
        </span>
      ) : (
        <>
          <span role="cell" className="col col-reply" onDoubleClick={() => onEdit(row)}>
            <span className="cell-text cell-text--reply" title={row.output}>
              {row.edited && <span className="tag">{t("dataset.edited")}</span>}
              {row.output}
            </span>
          </span>
          <span role="cell" className="col col-scene">
            {row.scene ?? "—"}
          </span>
          <span role="cell" className="col col-conf">
            <span className={unsure ? "conf conf--unsure" : "conf"} title={unsure ? t("dataset.unsureTitle") : undefined}>
              {row.confidence != null ? formatPercent(row.confidence, lang) : "—"}
            </span>
            {row.flags.includes("duplicate") && <span className="tag tag--warn">{t("dataset.flagDuplicate")}</span>}
            {row.flags.includes("short") && <span className="tag tag--warn">{t("dataset.flagShort")}</span>}
          </span>
        </>
      )}
      <span role="cell" className="col col-actions">
        <button
          type="button"
          className="icon-button icon-button--small"
          onClick={() => onEdit(row)}
          disabled={editing}
          aria-label={t("dataset.editRow", { n })}
          title={t("dataset.edit")}
        >
          <Icon name="edit" size={16} />
        </button>
        <button
          type="button"
          className="icon-button icon-button--small icon-button--danger"
          onClick={() => onDelete(row)}
          aria-label={t("dataset.deleteRow", { n })}
          title={t("dataset.delete")}
        >
          <Icon name="trash" size={16} />
        </button>
      </span>
    </div>
  );
}

function ReplyEditor({ row, onSave, onCancel }: { row: DatasetRow; onSave: (text: string) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [text, setText] = useState(row.output);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Escape") {
      e.preventDefault();
      onCancel();
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onSave(text);
    }
  };
  return (
    <span className="reply-editor">
      <textarea
        className="input reply-editor__text"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        aria-label={t("dataset.replyLabel")}
        autoFocus
      />
      <span className="reply-editor__actions">
        <span className="muted reply-editor__hint">{t("dataset.editHint")}</span>
        <button type="button" className="button button--small" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="button button--small button--primary"
          onClick={() => onSave(text)}
          disabled={text.trim().length === 0}
        >
          {t("common.save")}
        </button>
      </span>
    </span>
  );
}
