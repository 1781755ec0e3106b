import { useEffect, useLayoutEffect, useReducer, useRef, useState, type KeyboardEvent } from "react";
import {
  api,
  asAppError,
  type AdapterView,
  type ChatMessageView,
  type ChatView,
  type JobMessage,
  type PersonaCard,
} from "../../api";
import { useRouter } from "../../app/router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { ProgressBar } from "../../components/ProgressBar";
import { useI18n } from "../../i18n";
import { baseName, deviceLabel } from "../../lib/format";
import { ChatMessage, PersonaAvatar } from "./ChatMessage";
import {
  canGenerate,
  chatReducer,
  initialChatState,
  lastReplyIndex,
  nextRating,
  shownMessages,
  type GenerationKind,
  type ShownMessage,
} from "./chatState";
import { ConversationList } from "./ConversationList";
import { SettingsPopover } from "./SettingsPopover";

/** What to open: a conversation (null: a new one) with an adapter (undefined: the persona's active one). */
interface OpenTarget {
  conversation: number | null;
  adapter?: number | null;
}

/** Chat with a persona: its conversations on the left, the open one on the right. */
export function ChatScreen({ personaId, conversation }: { personaId: number; conversation?: number }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  // Conversations open in place: a new target closes the session and opens another.
  const [target, setTarget] = useState<OpenTarget>(() => ({ conversation: conversation ?? null }));
  const [adapters, setAdapters] = useState<AdapterView[] | null>(null);
  const [persona, setPersona] = useState<PersonaCard | null>(null);
  const [listVersion, setListVersion] = useState(0);
  const [swapping, setSwapping] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  // A finished reply, read out by screen readers (the streaming text is not).
  const [announce, setAnnounce] = useState("");
  // Outside renders: the turn counter, a stop asked for before the job id came, the running job.
  const jobs = useRef({ turn: 0, stopWanted: -1, running: null as number | null });
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  const { view, generation, status } = state;
  const name = persona?.name || t("chat.personaFallback");

  useEffect(() => {
    let live = true;
    api
      .libraryList()
      .then((list) => {
        if (live) setPersona(list.find((c) => c.id === personaId) ?? null);
      })
      .catch(() => {
        // Only the name and picture come from here: the chat works without them.
      });
    return () => {
      live = false;
    };
  }, [personaId]);

  // A reply still being written when the screen goes away is stopped.
  useEffect(() => {
    const j = jobs.current;
    return () => {
      if (j.running !== null) void api.jobCancel(j.running).catch(() => {});
    };
  }, []);

  // Load the model and open the conversation; close the session when done with it.
  useEffect(() => {
    let live = true;
    let jobId: number | null = null;
    let session: number | null = null;
    const fail = (e: unknown) => {
      if (live) dispatch({ type: "openFailed", error: asAppError(e) });
    };
    void (async () => {
      let list: AdapterView[];
      try {
        list = await api.adaptersList(personaId);
      } catch (e) {
        fail(e);
        return;
      }
      if (!live) return;
      setAdapters(list);
      const adapter = target.adapter !== undefined ? target.adapter : (list.find((a) => a.active)?.id ?? null);
      try {
        jobId = await api.chatOpen(personaId, target.conversation, adapter, null, (m) => {
          switch (m.type) {
            case "event":
              if (live && m.event.event === "progress") dispatch({ type: "loadProgress", progress: m.event });
              if (live && m.event.event === "log" && m.event.level === "warning")
                dispatch({ type: "notice", message: m.event.message });
              break;
            case "done":
              if (!live) {
                // Opened after the screen moved on: give the model back.
                void api.chatClose(m.result.session).catch(() => {});
                return;
              }
              session = m.result.session;
              dispatch({ type: "opened", view: m.result });
              break;
            case "failed":
              fail(m.error);
              break;
            case "cancelled":
              fail({ kind: "cancelled", message: t("chat.openStopped"), hint: t("chat.openStoppedHint") });
              break;
          }
        });
        if (!live && session === null) void api.jobCancel(jobId).catch(() => {});
      } catch (e) {
        fail(e);
      }
    })();
    return () => {
      live = false;
      if (session !== null) void api.chatClose(session).catch(() => {});
      else if (jobId !== null) void api.jobCancel(jobId).catch(() => {});
    };
    // `t` only words an unusual message; a language change must not reload the model.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [personaId, target]);

  // Keep the newest message in view while the user has not scrolled up.
  const shown = shownMessages(state);
  const streamed = generation?.text.length ?? 0;
  useLayoutEffect(() => {
    const el = log.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown.length, streamed, status]);
  const onScroll = () => {
    const el = log.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 64;
  };

  // The composer grows with its text, up to a limit.
  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    if (el.scrollHeight > 0) el.style.height = `${Math.min(el.scrollHeight + 2, 200)}px`;
  }, [state.input]);

  // Back to the composer when the chat is ready for the next message.
  const idle = status === "open" && generation === null && state.editing === null;
  useEffect(() => {
    if (idle) input.current?.focus();
  }, [idle]);

  const startTurn = (kind: GenerationKind) => {
    if (!canGenerate(state, kind) || !view) return;
    const j = jobs.current;
    const token = ++j.turn;
    const { session } = view;
    const settings = state.settings;
    dispatch({ type: "generate", token, kind });
    stick.current = true;
    const onMessage = (m: JobMessage<ChatView>) => {
      if (m.type !== "event" && j.turn === token) j.running = null;
      dispatch({ type: "job", token, message: m });
      if (m.type === "done") {
        setListVersion((v) => v + 1);
        const reply = m.result.messages[m.result.messages.length - 1];
        if (reply?.role === "assistant") setAnnounce(reply.content);
      }
    };
    let started: Promise<number>;
    if (kind === "send") started = api.chatSend(session, state.input.trim(), settings, onMessage);
    else if (kind === "edit" && state.editing)
      started = api.chatEdit(session, state.editing.index, state.editing.text.trim(), settings, onMessage);
    else started = api.chatRegenerate(session, settings, onMessage);
    started
      .then((jobId) => {
        dispatch({ type: "jobStarted", token, jobId });
        if (j.stopWanted === token) void api.jobCancel(jobId).catch(() => {});
        else if (j.turn === token) j.running = jobId;
      })
      .catch((e: unknown) => dispatch({ type: "job", token, message: { type: "failed", error: asAppError(e) } }));
  };

  const stop = () => {
    const g = generation;
    if (!g || g.stopping) return;
    dispatch({ type: "stopping", token: g.token });
    if (g.jobId === null) {
      jobs.current.stopWanted = g.token;
      return;
    }
    api.jobCancel(g.jobId).catch((e: unknown) => dispatch({ type: "error", error: asAppError(e) }));
  };

  const openConversation = (id: number | null) => {
    if (generation) return;
    if (status === "open" && view) {
      if (id !== null && id === view.conversation) return;
      const fresh = view.conversation === null && !view.messages.some((m) => m.role === "user");
      if (id === null && fresh) {
        input.current?.focus();
        return;
      }
    }
    dispatch({ type: "opening" });
    setTarget({ conversation: id, adapter: view ? view.adapter_id : target.adapter });
  };

  const retryOpen = () => {
    dispatch({ type: "opening" });
    setTarget((tg) => ({ ...tg }));
  };

  const changeAdapter = async (value: string) => {
    if (!view) return;
    const adapter = value === "base" ? null : Number(value);
    setSwapping(true);
    dispatch({ type: "error", error: null });
    try {
      dispatch({ type: "view", view: await api.chatSetAdapter(view.session, adapter) });
    } catch (e) {
      dispatch({ type: "error", error: asAppError(e) });
    } finally {
      setSwapping(false);
    }
  };

  const rate = async (m: ChatMessageView, pressed: 1 | -1) => {
    if (m.id === null) return;
    const rating = nextRating(m.rating, pressed);
    dispatch({ type: "rate", id: m.id, rating });
    try {
      await api.chatRate(m.id, rating);
    } catch (e) {
      dispatch({ type: "rate", id: m.id, rating: m.rating });
      dispatch({ type: "error", error: asAppError(e) });
    }
  };

  const copy = async (m: ShownMessage) => {
    try {
      await navigator.clipboard.writeText(m.content);
      setCopied(m.key);
      setTimeout(() => setCopied((c) => (c === m.key ? null : c)), 1500);
    } catch {
      dispatch({ type: "error", error: { kind: "clipboard", message: t("chat.copyFailed"), hint: t("chat.copyFailedHint") } });
    }
  };

  const onComposerKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      startTurn("send");
    } else if (e.key === "Escape" && generation) {
      e.preventDefault();
      stop();
    }
  };

  const adapterList = adapters ?? [];
  const activeId = adapterList.find((a) => a.active)?.id ?? null;
  const selected = view ? view.adapter_id : target.adapter !== undefined ? target.adapter : activeId;
  const adapterName = (id: number | null) =>
    id === null ? t("chat.baseModelShort") : (adapterList.find((a) => a.id === id)?.label ?? t("chat.otherAdapter"));
  const lastReply = view ? lastReplyIndex(view.messages) : null;
  const lastIsUser = view !== null && view.messages.length > 0 && view.messages[view.messages.length - 1].role === "user";
  const busy = generation !== null;

  return (
    <div className="chat" data-testid="chat-screen">
      <ConversationList
        personaId={personaId}
        current={view?.conversation ?? (status === "open" ? null : target.conversation)}
        version={listVersion}
        locked={busy}
        onOpen={(id) => openConversation(id)}
        onNew={() => openConversation(null)}
        onRenamed={(id, title) => dispatch({ type: "renamed", conversation: id, title })}
        onDeleted={(id) => {
          if (id === view?.conversation || (status !== "open" && id === target.conversation)) openConversation(null);
        }}
      />

      <section className="chat-main" aria-label={t("chat.withName", { name })}>
        <header className="chat-head">
          <PersonaAvatar name={name} avatar={persona?.avatar ?? null} size={40} />
          <div className="chat-head__titles">
            <h1 className="chat-head__name" title={name}>
              {name}
            </h1>
            <p className="chat-head__sub">
              <span className="chat-head__conv">{view?.title || t("chat.untitled")}</span>
              {view?.model && (
                <span className="chat-head__model" title={view.model}>
                  {baseName(view.model)}
                </span>
              )}
              {view?.device && (
                <span className="chat-head__device" data-testid="chat-device" title={t("chat.deviceHelp")}>
                  {deviceLabel(view.device)}
                </span>
              )}
            </p>
          </div>
          <div className="chat-head__tools">
            <label className="chat-adapter">
              <span className="chat-adapter__label">{t("chat.adapter")}</span>
              <select
                className="select input--small chat-adapter__select"
                data-testid="adapter-select"
                value={selected === null ? "base" : String(selected)}
                onChange={(e) => void changeAdapter(e.target.value)}
                disabled={status !== "open" || busy || swapping}
              >
                {adapterList.map((a) => (
                  <option key={a.id} value={String(a.id)}>
                    {a.label}
                  </option>
                ))}
                <option value="base">{t("chat.baseModel")}</option>
              </select>
            </label>
            <SettingsPopover settings={state.settings} onChange={(s) => dispatch({ type: "settings", settings: s })} />
          </div>
        </header>

        {state.notice && (
          <div className="chat-note" data-testid="chat-device-note" role="status">
            <Icon name="alert" size={16} />
            <p>{state.notice}</p>
            <button type="button" className="button button--small" onClick={() => dispatch({ type: "notice", message: null })}>
              {t("chat.noticeDismiss")}
            </button>
          </div>
        )}

        {adapters !== null && adapters.length === 0 && (
          <div className="chat-note" data-testid="chat-base-note">
            <Icon name="alert" size={16} />
            <p>{t("chat.baseNote", { name })}</p>
            <button
              type="button"
              className="button button--small"
              onClick={() => navigate({ name: "train", personaId })}
            >
              {t("chat.train", { name })}
            </button>
          </div>
        )}

        <div className="chat-log" ref={log} onScroll={onScroll}>
          <div className="chat-log__inner">
            {status === "opening" ? (
              <div className="chat-loading card" role="status" data-testid="chat-loading">
                <p className="chat-loading__title">{t("chat.loading")}</p>
                <p className="chat-loading__detail">{state.progress?.message || t("chat.loadingHint")}</p>
                <ProgressBar
                  done={state.progress?.done ?? 0}
                  total={state.progress?.total ?? null}
                  label={t("chat.loading")}
                />
              </div>
            ) : status === "failed" ? (
              <div className="chat-failed">
                {state.error && <ErrorMessage error={state.error} />}
                <div className="toolbar">
                  <button type="button" className="button button--primary" onClick={() => navigate({ name: "models" })}>
                    <Icon name="cpu" />
                    {t("chat.toModels")}
                  </button>
                  <button type="button" className="button" onClick={retryOpen}>
                    <Icon name="refresh" />
                    {t("chat.retry")}
                  </button>
                </div>
              </div>
            ) : (
              <>
                {shown.length === 0 && (
                  <div className="chat-welcome">
                    <PersonaAvatar name={name} avatar={persona?.avatar ?? null} size={64} />
                    <h2 className="chat-welcome__title">{t("chat.emptyTitle", { name })}</h2>
                    <p className="chat-welcome__text">{t("chat.emptyText", { name })}</p>
                  </div>
                )}
                <ol className="chat-messages" aria-label={t("chat.messagesLabel")}>
                  {shown.map((m) => (
                    <ChatMessage
                      key={m.key}
                      m={m}
                      personaName={name}
                      avatar={persona?.avatar ?? null}
                      busy={busy}
                      lastReply={!busy && m.index !== null && m.index === lastReply}
                      writtenBy={
                        m.role === "assistant" &&
                        !m.greeting &&
                        !m.streaming &&
                        adapterList.length > 0 &&
                        view !== null &&
                        m.adapter_id !== view.adapter_id
                          ? adapterName(m.adapter_id)
                          : null
                      }
                      copied={copied === m.key}
                      editText={state.editing && state.editing.index === m.index ? state.editing.text : null}
                      onCopy={() => void copy(m)}
                      onRegenerate={() => startTurn("regenerate")}
                      onEditStart={() => m.index !== null && dispatch({ type: "editStart", index: m.index })}
                      onEditChange={(text) => dispatch({ type: "editChange", text })}
                      onEditCancel={() => dispatch({ type: "editCancel" })}
                      onEditSend={() => startTurn("edit")}
                      onRate={(pressed) => void rate(m, pressed)}
                    />
                  ))}
                </ol>
                {lastIsUser && !busy && (
                  <div className="chat-retry">
                    <button
                      type="button"
                      className="button button--small"
                      data-testid="chat-retry"
                      onClick={() => startTurn("regenerate")}
                    >
                      <Icon name="refresh" size={16} />
                      {t("chat.getReply")}
                    </button>
                  </div>
                )}
              </>
            )}
          </div>
        </div>

        <p className="visually-hidden" aria-live="polite">
          {announce}
        </p>

        <div className="chat-composer">
          {status !== "failed" && state.error && (
            <ErrorMessage error={state.error} onDismiss={() => dispatch({ type: "error", error: null })} />
          )}
          {state.stopped && (
            <p className="chat-composer__notice" role="status">
              {t("chat.stopped")}
            </p>
          )}
          <div className="chat-composer__box">
            <textarea
              ref={input}
              className="chat-composer__input"
              data-testid="chat-input"
              rows={1}
              value={state.input}
              onChange={(e) => dispatch({ type: "input", text: e.target.value })}
              onKeyDown={onComposerKey}
              placeholder={t("chat.inputPlaceholder", { name })}
              aria-label={t("chat.inputLabel", { name })}
              disabled={status === "failed"}
            />
            {busy && (
              <button
                type="button"
                className="button chat-composer__stop"
                data-testid="chat-stop"
                onClick={stop}
                disabled={generation.stopping}
              >
                <Icon name="stop" size={16} />
                {generation.stopping ? t("chat.stopping") : t("chat.stop")}
              </button>
            )}
            <button
              type="button"
              className="button button--primary chat-composer__send"
              data-testid="chat-send"
              onClick={() => startTurn("send")}
              disabled={busy || status !== "open" || !state.input.trim()}
            >
              {t("chat.send")}
            </button>
          </div>
          <p className="chat-composer__hint">{busy ? t("chat.stopHint") : t("chat.keysHint")}</p>
        </div>
      </section>
    </div>
  );
}
