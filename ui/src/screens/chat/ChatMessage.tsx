import { useEffect, useRef, type KeyboardEvent } from "react";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import type { ShownMessage } from "./chatState";

/** The persona's picture, or the first letter of its name. */
export function PersonaAvatar({ name, avatar, size = 32 }: { name: string; avatar: string | null; size?: number }) {
  const initial = (name.trim() || "?").slice(0, 1).toUpperCase();
  const style = { width: size, height: size, fontSize: Math.round(size * 0.42) };
  return avatar ? (
    <img className="avatar chat-avatar" src={avatar} alt="" width={size} height={size} style={style} />
  ) : (
    <span className="avatar avatar--placeholder chat-avatar" aria-hidden="true" style={style}>
      {initial}
    </span>
  );
}

interface Props {
  m: ShownMessage;
  personaName: string;
  avatar: string | null;
  /** A reply is being written: no other actions now. */
  busy: boolean;
  /** This is the last reply (Regenerate shows on it). */
  lastReply: boolean;
  /** Who wrote the reply, when not the adapter now selected (e.g. "Base model"). */
  writtenBy: string | null;
  copied: boolean;
  /** The text being edited, when this user message is being edited. */
  editText: string | null;
  onCopy: () => void;
  onRegenerate: () => void;
  onEditStart: () => void;
  onEditChange: (text: string) => void;
  onEditCancel: () => void;
  onEditSend: () => void;
  onRate: (pressed: 1 | -1) => void;
}

/** One message: a bubble and what can be done with it. */
export function ChatMessage(p: Props) {
  const { t } = useI18n();
  const { m } = p;
  const user = m.role === "user";
  const rated = m.rating === 1 || m.rating === -1;
  const className = [
    "chat-msg",
    user ? "chat-msg--user" : "chat-msg--assistant",
    p.lastReply ? "chat-msg--last" : "",
    rated ? "chat-msg--rated" : "",
  ]
    .filter(Boolean)
    .join(" ");

  return (
    <li
      className={className}
      data-testid="chat-message"
      data-role={m.role}
      data-streaming={m.streaming ? "true" : undefined}
      aria-busy={m.streaming || undefined}
    >
      {!user && <PersonaAvatar name={p.personaName} avatar={p.avatar} />}
      <div className="chat-msg__body">
        <span className="visually-hidden">{user ? t("chat.you") : p.personaName}:</span>
        {p.editText !== null ? (
          <EditBox text={p.editText} onChange={p.onEditChange} onCancel={p.onEditCancel} onSend={p.onEditSend} />
        ) : (
          <div className="chat-msg__bubble selectable">
            {m.streaming && m.content === "" ? (
              <span className="chat-typing" role="status" aria-label={t("chat.typing", { name: p.personaName })}>
                <span />
                <span />
                <span />
              </span>
            ) : (
              <>
                {m.content}
                {m.streaming && <span className="chat-caret" aria-hidden="true" />}
              </>
            )}
          </div>
        )}
        {!m.streaming && p.editText === null && m.index !== null && (
          <div className="chat-msg__meta">
            {p.writtenBy && <span className="chat-msg__by">{t("chat.writtenBy", { adapter: p.writtenBy })}</span>}
            <div className="chat-msg__actions">
              <button
                type="button"
                className="icon-button icon-button--small"
                onClick={p.onCopy}
                aria-label={p.copied ? t("chat.copied") : t("chat.copy")}
                title={p.copied ? t("chat.copied") : t("chat.copy")}
                data-testid="chat-copy"
              >
                <Icon name={p.copied ? "check" : "copy"} size={16} />
              </button>
              {user && (
                <button
                  type="button"
                  className="icon-button icon-button--small"
                  onClick={p.onEditStart}
                  disabled={p.busy}
                  aria-label={t("chat.edit")}
                  title={t("chat.edit")}
                  data-testid="chat-edit"
                >
                  <Icon name="edit" size={16} />
                </button>
              )}
              {!user && m.id !== null && (
                <>
                  <button
                    type="button"
                    className="icon-button icon-button--small chat-thumb"
                    onClick={() => p.onRate(1)}
                    aria-pressed={m.rating === 1}
                    aria-label={t("chat.good")}
                    title={t("chat.good")}
                    data-testid="chat-thumb-up"
                  >
                    <Icon name="thumbUp" size={16} />
                  </button>
                  <button
                    type="button"
                    className="icon-button icon-button--small chat-thumb"
                    onClick={() => p.onRate(-1)}
                    aria-pressed={m.rating === -1}
                    aria-label={t("chat.bad")}
                    title={t("chat.bad")}
                    data-testid="chat-thumb-down"
                  >
                    <Icon name="thumbDown" size={16} />
                  </button>
                </>
              )}
              {p.lastReply && (
                <button
                  type="button"
                  className="button button--small chat-msg__regenerate"
                  onClick={p.onRegenerate}
                  disabled={p.busy}
                  data-testid="chat-regenerate"
                >
                  <Icon name="refresh" size={16} />
                  {t("chat.regenerate")}
                </button>
              )}
            </div>
          </div>
        )}
      </div>
    </li>
  );
}

function EditBox({
  text,
  onChange,
  onCancel,
  onSend,
}: {
  text: string;
  onChange: (text: string) => void;
  onCancel: () => void;
  onSend: () => void;
}) {
  const { t } = useI18n();
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSend();
    } else if (e.key === "Escape") {
      e.preventDefault();
      onCancel();
    }
  };
  return (
    <div className="chat-edit">
      <textarea
        ref={box}
        className="input chat-edit__text"
        data-testid="chat-edit-input"
        aria-label={t("chat.editLabel")}
        value={text}
        rows={Math.min(8, Math.max(2, text.split("\n").length))}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <p className="chat-edit__hint">{t("chat.editHint")}</p>
      <div className="chat-edit__actions">
        <button type="button" className="button button--small" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="button button--small button--primary"
          onClick={onSend}
          disabled={!text.trim()}
          data-testid="chat-edit-send"
        >
          {t("chat.send")}
        </button>
      </div>
    </div>
  );
}
