// The chat screen's state: the open conversation, the reply being written and
// what the user is typing. Pure, so every step of a turn can be tested alone.
import type { AppError, ChatMessageView, ChatSettings, ChatView, JobEvent, JobMessage } from "../../api";

export type LoadProgress = Extract<JobEvent, { event: "progress" }>;

/** Role-play defaults: lively but on character, replies of a few sentences. */
export const ROLEPLAY_DEFAULTS: ChatSettings = { temperature: 0.8, top_p: 0.95, max_tokens: 200 };

export type GenerationKind = "send" | "regenerate" | "edit";

/** A reply being written. */
export interface Generation {
  /** Which turn this is: job messages of any other turn are ignored. */
  token: number;
  kind: GenerationKind;
  /** The engine's job id, once the command answered. */
  jobId: number | null;
  /** The reply so far. */
  text: string;
  /** What the user wrote for this turn (send, edit); given back if the turn is stopped or fails. */
  userText: string;
  /** For an edit: the index in `view.messages` of the user message replaced. */
  index: number | null;
  stopping: boolean;
}

export interface EditState {
  /** Index in `view.messages`. */
  index: number;
  text: string;
}

export interface ChatState {
  status: "opening" | "open" | "failed";
  /** Model loading, while opening. */
  progress: LoadProgress | null;
  /** The conversation as the engine last sent it. */
  view: ChatView | null;
  settings: ChatSettings;
  input: string;
  editing: EditState | null;
  generation: Generation | null;
  error: AppError | null;
  /** The last turn was stopped by the user. */
  stopped: boolean;
  /** What the engine warned about (a GPU that could not be used). */
  notice: string | null;
}

export const initialChatState: ChatState = {
  status: "opening",
  progress: null,
  view: null,
  settings: ROLEPLAY_DEFAULTS,
  input: "",
  editing: null,
  generation: null,
  error: null,
  stopped: false,
  notice: null,
};

export type ChatAction =
  /** (Re)open: a new conversation or another one. What is typed stays. */
  | { type: "opening" }
  | { type: "loadProgress"; progress: LoadProgress }
  | { type: "opened"; view: ChatView }
  | { type: "openFailed"; error: AppError }
  | { type: "input"; text: string }
  | { type: "editStart"; index: number }
  | { type: "editChange"; text: string }
  | { type: "editCancel" }
  /** Start a turn. `send` takes the input, `edit` the edited text, `regenerate` nothing. */
  | { type: "generate"; token: number; kind: GenerationKind }
  | { type: "jobStarted"; token: number; jobId: number }
  | { type: "job"; token: number; message: JobMessage<ChatView> }
  | { type: "stopping"; token: number }
  /** A new view from a command that is not a turn (adapter switch). */
  | { type: "view"; view: ChatView }
  | { type: "renamed"; conversation: number; title: string }
  | { type: "rate"; id: number; rating: number | null }
  | { type: "settings"; settings: Partial<ChatSettings> }
  | { type: "error"; error: AppError | null }
  | { type: "notice"; message: string | null };

/** Whether a turn can start now (and with what text). */
export function canGenerate(s: ChatState, kind: GenerationKind): boolean {
  if (s.status !== "open" || s.view === null || s.generation !== null) return false;
  if (kind === "send") return s.input.trim().length > 0;
  if (kind === "edit") return s.editing !== null && s.editing.text.trim().length > 0;
  return hasUserMessage(s.view.messages);
}

function hasUserMessage(messages: ChatMessageView[]): boolean {
  return messages.some((m) => m.role === "user");
}

/** Give back what the user wrote for a turn that did not finish. */
function restore(s: ChatState, g: Generation): ChatState {
  if (g.kind === "send") {
    // Anything typed meanwhile is kept after it.
    const input = s.input.trim() ? `${g.userText}\n${s.input}` : g.userText;
    return { ...s, input };
  }
  if (g.kind === "edit" && g.index !== null) return { ...s, editing: { index: g.index, text: g.userText } };
  return s;
}

export function chatReducer(s: ChatState, a: ChatAction): ChatState {
  switch (a.type) {
    case "opening":
      return {
        ...initialChatState,
        settings: s.settings,
        input: s.input,
      };
    case "loadProgress":
      return s.status === "opening" ? { ...s, progress: a.progress } : s;
    case "opened":
      return {
        ...s,
        status: "open",
        progress: null,
        view: a.view,
        settings: { ...ROLEPLAY_DEFAULTS, ...a.view.settings },
        error: null,
      };
    case "openFailed":
      return { ...s, status: "failed", progress: null, error: a.error };
    case "input":
      return { ...s, input: a.text };
    case "editStart": {
      const m = s.view?.messages[a.index];
      if (!m || m.role !== "user" || s.generation) return s;
      return { ...s, editing: { index: a.index, text: m.content } };
    }
    case "editChange":
      return s.editing ? { ...s, editing: { ...s.editing, text: a.text } } : s;
    case "editCancel":
      return { ...s, editing: null };
    case "generate": {
      if (!canGenerate(s, a.kind)) return s;
      const base: Generation = {
        token: a.token,
        kind: a.kind,
        jobId: null,
        text: "",
        userText: "",
        index: null,
        stopping: false,
      };
      const next = { ...s, error: null, stopped: false };
      if (a.kind === "send") return { ...next, input: "", generation: { ...base, userText: s.input.trim() } };
      if (a.kind === "edit" && s.editing) {
        return {
          ...next,
          editing: null,
          generation: { ...base, userText: s.editing.text.trim(), index: s.editing.index },
        };
      }
      return { ...next, editing: null, generation: base };
    }
    case "jobStarted":
      return s.generation?.token === a.token ? { ...s, generation: { ...s.generation, jobId: a.jobId } } : s;
    case "stopping":
      return s.generation?.token === a.token ? { ...s, generation: { ...s.generation, stopping: true } } : s;
    case "job": {
      const g = s.generation;
      if (!g || g.token !== a.token) return s;
      const m = a.message;
      switch (m.type) {
        case "event":
          if (m.event.event === "token") return { ...s, generation: { ...g, text: g.text + m.event.text } };
          if (m.event.event === "log" && m.event.level === "warning") return { ...s, notice: m.event.message };
          return s;
        case "done":
          return { ...s, view: m.result, generation: null, error: null };
        case "failed":
          return { ...restore(s, g), generation: null, error: m.error };
        case "cancelled":
          // The engine keeps nothing of a stopped turn: show the last view again.
          return { ...restore(s, g), generation: null, stopped: true };
      }
      return s;
    }
    case "view":
      return { ...s, view: a.view };
    case "renamed":
      return s.view && s.view.conversation === a.conversation ? { ...s, view: { ...s.view, title: a.title } } : s;
    case "rate": {
      if (!s.view) return s;
      const messages = s.view.messages.map((m) => (m.id === a.id ? { ...m, rating: a.rating } : m));
      return { ...s, view: { ...s.view, messages } };
    }
    case "settings":
      return { ...s, settings: { ...s.settings, ...a.settings } };
    case "error":
      return { ...s, error: a.error };
    case "notice":
      return { ...s, notice: a.message };
  }
}

/** The rating a thumb button sets: pressing the one already on takes it off. */
export function nextRating(current: number | null, pressed: 1 | -1): number | null {
  return current === pressed ? null : pressed;
}

/** A message as the screen shows it. */
export interface ShownMessage extends ChatMessageView {
  key: string;
  /** Its index in `view.messages`; null for a message of the turn in progress. */
  index: number | null;
  /** The reply being written. */
  streaming: boolean;
}

/** The conversation as shown: the last view, with the turn in progress folded in. */
export function shownMessages(s: ChatState): ShownMessage[] {
  const messages = s.view?.messages ?? [];
  let base: ShownMessage[] = messages.map((m, index) => ({
    ...m,
    key: m.id != null ? `m${m.id}` : `i${index}`,
    index,
    streaming: false,
  }));
  const g = s.generation;
  if (!g) return base;
  if (g.kind === "regenerate") {
    const last = base[base.length - 1];
    if (last && last.role === "assistant" && !last.greeting) base = base.slice(0, -1);
  } else {
    if (g.kind === "edit" && g.index !== null) base = base.slice(0, g.index);
    base = [...base, pendingMessage("pending-user", "user", g.userText, false)];
  }
  return [...base, pendingMessage("streaming", "assistant", g.text, true)];
}

function pendingMessage(key: string, role: "user" | "assistant", content: string, streaming: boolean): ShownMessage {
  return { key, id: null, role, content, rating: null, adapter_id: null, greeting: false, index: null, streaming };
}

/** The index of the reply Regenerate would replace: the last message, when it is a reply. */
export function lastReplyIndex(messages: ChatMessageView[]): number | null {
  const i = messages.length - 1;
  const m = messages[i];
  if (!m || m.role !== "assistant" || m.greeting || !hasUserMessage(messages)) return null;
  return i;
}
