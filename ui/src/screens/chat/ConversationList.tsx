import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { api, asAppError, type AppError, type ConversationView } from "../../api";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { formatRelative } from "../../lib/format";

interface Props {
  personaId: number;
  /** The conversation open in the main column (null: a new one, not saved yet). */
  current: number | null;
  /** Bumped to load the list again (after a reply, a new conversation…). */
  version: number;
  /** Opening another conversation is not possible right now (a reply is being written). */
  locked: boolean;
  onOpen: (id: number) => void;
  onNew: () => void;
  onRenamed: (id: number, title: string) => void;
  onDeleted: (id: number) => void;
}

/** The persona's conversations: search, start, open, rename and delete. */
export function ConversationList({ personaId, current, version, locked, onOpen, onNew, onRenamed, onDeleted }: Props) {
  const { t } = useI18n();
  const [query, setQuery] = useState("");
  const [list, setList] = useState<ConversationView[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [renaming, setRenaming] = useState<{ id: number; title: string } | null>(null);
  const [deleting, setDeleting] = useState<ConversationView | null>(null);
  const [busy, setBusy] = useState(false);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let live = true;
    // Wait for a pause in typing before searching.
    const timer = setTimeout(
      () => {
        api
          .conversationsList(personaId, query.trim())
          .then((l) => {
            if (!live) return;
            setList(l);
            setError(null);
          })
          .catch((e: unknown) => {
            if (!live) return;
            setError(asAppError(e));
            setList((l) => l ?? []);
          });
      },
      query ? 200 : 0,
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [personaId, query, version, reloads]);

  const saveRename = async () => {
    const r = renaming;
    if (!r) return;
    const title = r.title.trim();
    if (!title) {
      setRenaming(null);
      return;
    }
    setBusy(true);
    try {
      await api.conversationRename(r.id, title);
      setRenaming(null);
      setList((l) => l?.map((c) => (c.id === r.id ? { ...c, title } : c)) ?? l);
      onRenamed(r.id, title);
    } catch (e) {
      setError(asAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const confirmDelete = async () => {
    const c = deleting;
    if (!c) return;
    setBusy(true);
    try {
      await api.conversationDelete(c.id);
      setDeleting(null);
      setList((l) => l?.filter((x) => x.id !== c.id) ?? l);
      onDeleted(c.id);
      setReloads((n) => n + 1);
    } catch (e) {
      setDeleting(null);
      setError(asAppError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <aside className="chat-list" aria-label={t("chat.conversations")}>
      <h2 className="visually-hidden">{t("chat.conversations")}</h2>
      <button
        type="button"
        className="button button--primary chat-list__new"
        data-testid="chat-new"
        onClick={onNew}
        disabled={locked}
      >
        <Icon name="plus" />
        {t("chat.new")}
      </button>
      <label className="search chat-list__search">
        <Icon name="search" />
        <span className="visually-hidden">{t("chat.search")}</span>
        <input
          type="search"
          className="input input--small search__input"
          data-testid="chat-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder={t("chat.search")}
          spellCheck={false}
          autoComplete="off"
        />
      </label>

      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}

      {list === null ? (
        <div className="chat-list__empty" aria-busy="true">
          {t("common.loading")}
        </div>
      ) : list.length === 0 ? (
        <p className="chat-list__empty">
          {query.trim() ? t("chat.noMatches", { query: query.trim() }) : t("chat.noConversations")}
        </p>
      ) : (
        <ul className="chat-list__items">
          {list.map((c) => (
            <li key={c.id}>
              {renaming?.id === c.id ? (
                <RenameRow
                  title={renaming.title}
                  busy={busy}
                  onChange={(title) => setRenaming({ id: c.id, title })}
                  onSave={() => void saveRename()}
                  onCancel={() => setRenaming(null)}
                />
              ) : (
                <ConversationRow
                  c={c}
                  current={c.id === current}
                  locked={locked}
                  onOpen={() => onOpen(c.id)}
                  onRename={() => setRenaming({ id: c.id, title: c.title })}
                  onDelete={() => setDeleting(c)}
                />
              )}
            </li>
          ))}
        </ul>
      )}

      {deleting && (
        <ConfirmDialog
          title={t("chat.deleteTitle")}
          confirmLabel={t("chat.deleteConfirm")}
          danger
          busy={busy}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setDeleting(null)}
        >
          <p>{t("chat.deleteText", { title: deleting.title || t("chat.untitled"), count: deleting.messages })}</p>
        </ConfirmDialog>
      )}
    </aside>
  );
}

function ConversationRow({
  c,
  current,
  locked,
  onOpen,
  onRename,
  onDelete,
}: {
  c: ConversationView;
  current: boolean;
  locked: boolean;
  onOpen: () => void;
  onRename: () => void;
  onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const title = c.title || t("chat.untitled");
  return (
    <div
      className={current ? "chat-conv chat-conv--current" : "chat-conv"}
      data-testid="chat-conversation"
      data-current={current || undefined}
    >
      <button
        type="button"
        className="chat-conv__open"
        onClick={onOpen}
        disabled={locked && !current}
        aria-current={current ? "true" : undefined}
      >
        <span className="chat-conv__top">
          <span className="chat-conv__title" title={title}>
            {title}
          </span>
          <span className="chat-conv__date">{formatRelative(c.created_at, lang)}</span>
        </span>
        <span className="chat-conv__preview">{c.preview || t("chat.messages", { count: c.messages })}</span>
      </button>
      <span className="chat-conv__actions">
        <button
          type="button"
          className="icon-button icon-button--small"
          onClick={onRename}
          aria-label={t("chat.renameNamed", { title })}
          title={t("chat.rename")}
        >
          <Icon name="edit" size={16} />
        </button>
        <button
          type="button"
          className="icon-button icon-button--small icon-button--danger"
          onClick={onDelete}
          disabled={locked && current}
          aria-label={t("chat.deleteNamed", { title })}
          title={t("chat.delete")}
        >
          <Icon name="trash" size={16} />
        </button>
      </span>
    </div>
  );
}

function RenameRow({
  title,
  busy,
  onChange,
  onSave,
  onCancel,
}: {
  title: string;
  busy: boolean;
  onChange: (title: string) => void;
  onSave: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter" && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSave();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    }
  };
  return (
    <div className="chat-conv chat-conv--renaming">
      <input
        ref={input}
        className="input input--small chat-conv__rename"
        data-testid="chat-rename-input"
        aria-label={t("chat.renameLabel")}
        value={title}
        maxLength={200}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        disabled={busy}
      />
      <span className="chat-conv__rename-actions">
        <button type="button" className="button button--small" onClick={onCancel} disabled={busy}>
          {t("common.cancel")}
        </button>
        <button type="button" className="button button--small button--primary" onClick={onSave} disabled={busy}>
          {t("common.save")}
        </button>
      </span>
    </div>
  );
}
