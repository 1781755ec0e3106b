import { describe, expect, it } from "vitest";
import type { ChatMessageView, ChatView } from "../../api";
import {
  canGenerate,
  chatReducer,
  initialChatState,
  lastReplyIndex,
  nextRating,
  shownMessages,
  type ChatAction,
  type ChatState,
} from "./chatState";

function msg(over: Partial<ChatMessageView>): ChatMessageView {
  return { id: null, role: "assistant", content: "", rating: null, adapter_id: 5, greeting: false, ...over };
}

function chatView(messages: ChatMessageView[], over: Partial<ChatView> = {}): ChatView {
  return {
    session: 9,
    persona: 1,
    conversation: 4,
    title: "Tea",
    model: "Qwen/Qwen2.5-0.5B-Instruct",
    adapter_id: 5,
    messages,
    settings: { temperature: 0.7, top_p: 0.9, max_tokens: 300 },
    device: "cpu",
    ...over,
  };
}

const greeting = msg({ content: "Ah, hello there.", greeting: true });
const conversation = [
  greeting,
  msg({ id: 11, role: "user", content: "Will you have some tea?" }),
  msg({ id: 12, content: "Ah go on.", rating: null }),
];

function run(actions: ChatAction[], from: ChatState = initialChatState): ChatState {
  return actions.reduce(chatReducer, from);
}

const opened = run([{ type: "opened", view: chatView(conversation) }]);

describe("chat state", () => {
  it("opens with the view's messages and settings", () => {
    expect(opened.status).toBe("open");
    expect(opened.settings).toEqual({ temperature: 0.7, top_p: 0.9, max_tokens: 300 });
    expect(shownMessages(opened).map((m) => m.content)).toEqual([
      "Ah, hello there.",
      "Will you have some tea?",
      "Ah go on.",
    ]);
    expect(shownMessages(opened).map((m) => m.index)).toEqual([0, 1, 2]);
  });

  it("keeps model-loading progress only while opening", () => {
    const progress = { event: "progress" as const, stage: "load", done: 1, total: 3, unit: "files", message: "weights" };
    expect(run([{ type: "loadProgress", progress }]).progress).toEqual(progress);
    expect(run([{ type: "loadProgress", progress }], opened).progress).toBeNull();
  });

  it("folds streamed tokens into one reply after the user's message", () => {
    const s = run(
      [
        { type: "input", text: "  And a biscuit?  " },
        { type: "generate", token: 1, kind: "send" },
        { type: "jobStarted", token: 1, jobId: 77 },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "Oh" } } },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: " yes," } } },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: " a biscuit." } } },
      ],
      opened,
    );
    expect(s.input).toBe("");
    expect(s.generation?.jobId).toBe(77);
    const shown = shownMessages(s);
    expect(shown).toHaveLength(5);
    expect(shown[3]).toMatchObject({ role: "user", content: "And a biscuit?", index: null, streaming: false });
    expect(shown[4]).toMatchObject({ role: "assistant", content: "Oh yes, a biscuit.", streaming: true });
  });

  it("ignores tokens of another turn", () => {
    const s = run(
      [
        { type: "input", text: "Hi" },
        { type: "generate", token: 2, kind: "send" },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "stale" } } },
      ],
      opened,
    );
    expect(s.generation?.text).toBe("");
  });

  it("replaces the messages with the engine's view when the reply is done", () => {
    const done = chatView([...conversation, msg({ id: 13, role: "user", content: "Hi" }), msg({ id: 14, content: "Hello." })]);
    const s = run(
      [
        { type: "input", text: "Hi" },
        { type: "generate", token: 1, kind: "send" },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "Hel" } } },
        { type: "job", token: 1, message: { type: "done", result: done } },
      ],
      opened,
    );
    expect(s.generation).toBeNull();
    expect(s.view).toBe(done);
    expect(shownMessages(s).map((m) => m.id)).toEqual([null, 11, 12, 13, 14]);
    expect(shownMessages(s).some((m) => m.streaming)).toBe(false);
  });

  it("on a stop drops the partial reply and gives the text back to the input", () => {
    const s = run(
      [
        { type: "input", text: "Tell me a story" },
        { type: "generate", token: 1, kind: "send" },
        { type: "jobStarted", token: 1, jobId: 3 },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "Once upon" } } },
        { type: "stopping", token: 1 },
        { type: "job", token: 1, message: { type: "cancelled" } },
      ],
      opened,
    );
    expect(s.generation).toBeNull();
    expect(s.input).toBe("Tell me a story");
    expect(s.stopped).toBe(true);
    expect(shownMessages(s).map((m) => m.content)).toEqual(["Ah, hello there.", "Will you have some tea?", "Ah go on."]);
  });

  it("keeps what was typed meanwhile after the given-back text", () => {
    const s = run(
      [
        { type: "input", text: "First" },
        { type: "generate", token: 1, kind: "send" },
        { type: "input", text: "second thought" },
        { type: "job", token: 1, message: { type: "cancelled" } },
      ],
      opened,
    );
    expect(s.input).toBe("First\nsecond thought");
  });

  it("on a failure shows the error and keeps the user's text", () => {
    const error = { kind: "generation", message: "Out of memory", hint: "Close other apps." };
    const s = run(
      [
        { type: "input", text: "Hello?" },
        { type: "generate", token: 1, kind: "send" },
        { type: "job", token: 1, message: { type: "failed", error } },
      ],
      opened,
    );
    expect(s.error).toEqual(error);
    expect(s.input).toBe("Hello?");
    expect(s.generation).toBeNull();
  });

  it("regenerating hides the last reply while the new one streams, and brings it back on a stop", () => {
    const streaming = run(
      [
        { type: "generate", token: 1, kind: "regenerate" },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "Ah, go on so." } } },
      ],
      opened,
    );
    expect(shownMessages(streaming).map((m) => m.content)).toEqual([
      "Ah, hello there.",
      "Will you have some tea?",
      "Ah, go on so.",
    ]);
    const stopped = chatReducer(streaming, { type: "job", token: 1, message: { type: "cancelled" } });
    expect(shownMessages(stopped).map((m) => m.content)).toEqual([
      "Ah, hello there.",
      "Will you have some tea?",
      "Ah go on.",
    ]);
    expect(stopped.input).toBe("");
  });

  it("an edit replaces the message and what followed, and a stop reopens the editor with the text", () => {
    const editing = run(
      [
        { type: "editStart", index: 1 },
        { type: "editChange", text: "Will you have some coffee?" },
      ],
      opened,
    );
    expect(editing.editing).toEqual({ index: 1, text: "Will you have some coffee?" });
    const streaming = run(
      [
        { type: "generate", token: 1, kind: "edit" },
        { type: "job", token: 1, message: { type: "event", event: { event: "token", text: "Coffee!" } } },
      ],
      editing,
    );
    expect(streaming.editing).toBeNull();
    expect(shownMessages(streaming).map((m) => m.content)).toEqual([
      "Ah, hello there.",
      "Will you have some coffee?",
      "Coffee!",
    ]);
    const stopped = chatReducer(streaming, { type: "job", token: 1, message: { type: "cancelled" } });
    expect(stopped.editing).toEqual({ index: 1, text: "Will you have some coffee?" });
    expect(shownMessages(stopped).map((m) => m.content)).toEqual([
      "Ah, hello there.",
      "Will you have some tea?",
      "Ah go on.",
    ]);
  });

  it("only edits user messages", () => {
    expect(chatReducer(opened, { type: "editStart", index: 2 }).editing).toBeNull();
    expect(chatReducer(opened, { type: "editStart", index: 0 }).editing).toBeNull();
  });

  it("starts no turn with an empty message, while one runs, or before the chat is open", () => {
    expect(canGenerate(chatReducer(opened, { type: "input", text: "   " }), "send")).toBe(false);
    const busy = run(
      [
        { type: "input", text: "One" },
        { type: "generate", token: 1, kind: "send" },
        { type: "input", text: "Two" },
      ],
      opened,
    );
    expect(canGenerate(busy, "send")).toBe(false);
    expect(chatReducer(busy, { type: "generate", token: 2, kind: "send" })).toBe(busy);
    expect(canGenerate(run([{ type: "input", text: "Hi" }]), "send")).toBe(false);
    // Nothing to answer again in a conversation of only the greeting.
    const onlyGreeting = run([{ type: "opened", view: chatView([greeting], { conversation: null }) }]);
    expect(canGenerate(onlyGreeting, "regenerate")).toBe(false);
    expect(lastReplyIndex(onlyGreeting.view!.messages)).toBeNull();
    expect(lastReplyIndex(conversation)).toBe(2);
  });

  it("toggles ratings: the same thumb again takes it off, the other one switches", () => {
    expect(nextRating(null, 1)).toBe(1);
    expect(nextRating(1, 1)).toBeNull();
    expect(nextRating(1, -1)).toBe(-1);
    expect(nextRating(-1, -1)).toBeNull();
    const s = chatReducer(opened, { type: "rate", id: 12, rating: nextRating(null, 1) });
    expect(s.view!.messages[2].rating).toBe(1);
    expect(s.view!.messages[1].rating).toBeNull();
  });

  it("reopening keeps the settings and what is typed, and forgets the rest", () => {
    const s = run(
      [
        { type: "settings", settings: { temperature: 1.2 } },
        { type: "input", text: "draft" },
        { type: "error", error: { kind: "x", message: "y" } },
        { type: "opening" },
      ],
      opened,
    );
    expect(s.status).toBe("opening");
    expect(s.view).toBeNull();
    expect(s.error).toBeNull();
    expect(s.input).toBe("draft");
    expect(s.settings.temperature).toBe(1.2);
  });
});
