import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { AdapterView, ChatMessageView, ChatView, ConversationView } from "../../api";
import { App } from "../../App";
import { card } from "../../test/fixtures";
import { appError, callsOf, mockEngine, send, type Call } from "../../test/ipc";

const now = Math.floor(Date.now() / 1000);

function adapter(over: Partial<AdapterView>): AdapterView {
  return { id: 5, run_id: 1, path: "/data/adapters/5", model: "Qwen/Qwen2.5-0.5B-Instruct", label: "Balanced", active: false, created_at: now, ...over };
}

function message(over: Partial<ChatMessageView>): ChatMessageView {
  return { id: null, role: "assistant", content: "", rating: null, adapter_id: 5, greeting: false, ...over };
}

const greeting = message({ content: "Ah, hello Father.", greeting: true });

function chatView(over: Partial<ChatView> = {}): ChatView {
  return {
    session: 9,
    persona: 1,
    conversation: null,
    title: "",
    model: "Qwen/Qwen2.5-0.5B-Instruct",
    adapter_id: 5,
    messages: [greeting],
    settings: { temperature: 0.8, top_p: 0.95, max_tokens: 200 },
    device: "cpu",
    ...over,
  };
}

/** A conversation with one exchange: user message id 11, reply id 12. */
function talked(over: Partial<ChatView> = {}): ChatView {
  return chatView({
    conversation: 4,
    title: "Tea time",
    messages: [
      greeting,
      message({ id: 11, role: "user", content: "Will you have some tea?" }),
      message({ id: 12, content: "Ah go on, go on, go on." }),
    ],
    ...over,
  });
}

function conv(over: Partial<ConversationView>): ConversationView {
  return { id: 4, persona_id: 1, title: "Tea time", created_at: now - 3600, messages: 3, preview: "Ah go on, go on, go on.", ...over };
}

/** An engine for the chat: job commands keep their channel and answer job ids 101, 102, … */
function chatEngine(extra: Record<string, unknown> = {}) {
  let nextJob = 100;
  const job = () => ++nextJob;
  const calls = mockEngine({
    jobs_list: [],
    library_list: [card({ id: 1, name: "Mags", avatar: null, adapters: 2 })],
    adapters_list: [adapter({ id: 5, label: "Balanced · May 12", active: true }), adapter({ id: 6, label: "Quick · May 10" })],
    conversations_list: [conv({ id: 4 }), conv({ id: 7, title: "The bishop", preview: "Is he coming?" })],
    chat_open: job,
    chat_send: job,
    chat_regenerate: job,
    chat_edit: job,
    chat_set_adapter: (args: Record<string, unknown>) => talked({ adapter_id: args.adapter as number | null }),
    chat_close: null,
    chat_rate: null,
    job_cancel: null,
    conversation_rename: null,
    conversation_delete: null,
    ...extra,
  });
  return calls;
}

/** The channel the last `cmd` was given. */
function channelOf(calls: Call[], cmd: string): unknown {
  const list = callsOf(calls, cmd);
  return list[list.length - 1].onEvent;
}

/** Render the chat, wait for chat_open and answer it with `view`. */
async function openChat(calls: Call[], view: ChatView, conversation?: number) {
  render(<App initialRoute={{ name: "chat", personaId: 1, conversation }} />);
  await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
  act(() => send<ChatView>(channelOf(calls, "chat_open"), { type: "done", result: view }));
  await screen.findByTestId("chat-input");
}

const messages = () => screen.getAllByTestId("chat-message");
const token = (calls: Call[], cmd: string, text: string) =>
  act(() => send(channelOf(calls, cmd), { type: "event", event: { event: "token", text } }));

describe("Chat", () => {
  it("loads the model with the active adapter, then shows the greeting first", async () => {
    const calls = chatEngine();
    render(<App initialRoute={{ name: "chat", personaId: 1 }} />);
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
    expect(callsOf(calls, "chat_open")[0]).toMatchObject({ persona: 1, conversation: null, adapter: 5, model: null });

    act(() =>
      send(channelOf(calls, "chat_open"), {
        type: "event",
        event: { event: "progress", stage: "load", done: 1, total: 4, unit: "files", message: "Reading the weights" },
      }),
    );
    expect(screen.getByTestId("chat-loading")).toHaveTextContent("Reading the weights");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "1");
    expect(screen.getByTestId("chat-send")).toBeDisabled();
    expect(screen.queryByTestId("chat-device-note")).not.toBeInTheDocument();
    // A GPU that was asked for but could not be used: said in plain words.
    const why = "The NVIDIA GPU cuda could not be used (no driver), so Dramatis runs on the CPU instead.";
    act(() =>
      send(channelOf(calls, "chat_open"), { type: "event", event: { event: "log", level: "warning", message: why } }),
    );

    act(() => send<ChatView>(channelOf(calls, "chat_open"), { type: "done", result: chatView() }));
    expect(screen.getByTestId("chat-device-note")).toHaveTextContent(why);
    expect(screen.getByTestId("chat-device")).toHaveTextContent("CPU");
    await userEvent.click(within(screen.getByTestId("chat-device-note")).getByRole("button", { name: "OK" }));
    expect(screen.queryByTestId("chat-device-note")).not.toBeInTheDocument();
    expect(screen.queryByTestId("chat-loading")).not.toBeInTheDocument();
    expect(messages()).toHaveLength(1);
    expect(messages()[0]).toHaveAttribute("data-role", "assistant");
    expect(messages()[0]).toHaveTextContent("Ah, hello Father.");
    // The greeting is not stored: no thumbs on it.
    expect(within(messages()[0]).queryByTestId("chat-thumb-up")).not.toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Mags" })).toBeInTheDocument();
    const select = screen.getByTestId("adapter-select");
    expect(select).toHaveValue("5");
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Balanced · May 12",
      "Quick · May 10",
      "Base model (no persona training)",
    ]);
    expect(screen.queryByTestId("chat-base-note")).not.toBeInTheDocument();
    // The conversations of the persona are listed.
    expect(await screen.findAllByTestId("chat-conversation")).toHaveLength(2);
    expect(callsOf(calls, "conversations_list")[0]).toEqual({ persona: 1, query: "" });
  });

  it("sends a message, streams the reply token by token, then shows the engine's view", async () => {
    const calls = chatEngine();
    await openChat(calls, chatView());
    const input = screen.getByTestId("chat-input");
    expect(screen.getByTestId("chat-send")).toBeDisabled();
    await userEvent.type(input, "Will you have some tea?");
    await userEvent.click(screen.getByTestId("chat-send"));

    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    expect(callsOf(calls, "chat_send")[0]).toMatchObject({
      session: 9,
      text: "Will you have some tea?",
      settings: { temperature: 0.8, top_p: 0.95, max_tokens: 200 },
    });
    expect(input).toHaveValue("");
    expect(screen.getByTestId("chat-send")).toBeDisabled();
    expect(screen.getByTestId("chat-stop")).toBeInTheDocument();
    expect(messages()).toHaveLength(3);
    expect(messages()[1]).toHaveAttribute("data-role", "user");
    expect(messages()[1]).toHaveTextContent("Will you have some tea?");

    token(calls, "chat_send", "Ah go on,");
    token(calls, "chat_send", " go on, go on.");
    const streaming = messages()[2];
    expect(streaming).toHaveAttribute("data-role", "assistant");
    expect(streaming).toHaveAttribute("data-streaming", "true");
    expect(streaming).toHaveTextContent("Ah go on, go on, go on.");

    act(() => send<ChatView>(channelOf(calls, "chat_send"), { type: "done", result: talked() }));
    expect(messages()).toHaveLength(3);
    expect(messages()[2]).not.toHaveAttribute("data-streaming");
    expect(messages()[2]).toHaveTextContent("Ah go on, go on, go on.");
    expect(screen.queryByTestId("chat-stop")).not.toBeInTheDocument();
    // The stored reply can be rated and regenerated; the list is loaded again.
    expect(within(messages()[2]).getByTestId("chat-thumb-up")).toBeInTheDocument();
    expect(within(messages()[2]).getByTestId("chat-regenerate")).toBeInTheDocument();
    await waitFor(() => expect(callsOf(calls, "conversations_list").length).toBeGreaterThanOrEqual(2));
    expect(screen.getByText("Tea time", { selector: ".chat-head__conv" })).toBeInTheDocument();
  });

  it("sends on Enter and makes a new line with Shift+Enter", async () => {
    const calls = chatEngine();
    await openChat(calls, chatView());
    const input = screen.getByTestId("chat-input");
    await userEvent.type(input, "Line one{Shift>}{Enter}{/Shift}line two");
    expect(callsOf(calls, "chat_send")).toHaveLength(0);
    expect(input).toHaveValue("Line one\nline two");
    await userEvent.type(input, "{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    expect(callsOf(calls, "chat_send")[0].text).toBe("Line one\nline two");
  });

  it("stops a reply: cancels the job, drops the partial text and gives the message back", async () => {
    const calls = chatEngine();
    await openChat(calls, talked());
    const input = screen.getByTestId("chat-input");
    await userEvent.type(input, "Tell me about the bishop{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    token(calls, "chat_send", "Well, the bishop");
    expect(messages()).toHaveLength(5);

    await userEvent.click(screen.getByTestId("chat-stop"));
    expect(callsOf(calls, "job_cancel")).toEqual([{ id: 102 }]);
    act(() => send(channelOf(calls, "chat_send"), { type: "cancelled" }));

    expect(messages()).toHaveLength(3);
    expect(screen.queryByText(/Well, the bishop/)).not.toBeInTheDocument();
    expect(document.querySelector('[data-streaming="true"]')).toBeNull();
    expect(input).toHaveValue("Tell me about the bishop");
    expect(screen.getByText(/Your message is back in the box/)).toBeInTheDocument();
    expect(screen.getByTestId("chat-send")).toBeEnabled();
  });

  it("shows a failed reply inline, keeping the typed text", async () => {
    const calls = chatEngine();
    await openChat(calls, chatView());
    await userEvent.type(screen.getByTestId("chat-input"), "Hello?{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    act(() =>
      send(channelOf(calls, "chat_send"), {
        type: "failed",
        error: appError("The model ran out of memory.", "Close other apps, or pick a smaller model."),
      }),
    );
    expect(screen.getByTestId("error-message")).toHaveTextContent("What to do: Close other apps, or pick a smaller model.");
    expect(screen.getByTestId("chat-input")).toHaveValue("Hello?");
    expect(messages()).toHaveLength(1);
  });

  it("switches the adapter in place, and back to the base model", async () => {
    const calls = chatEngine();
    await openChat(calls, talked());
    const select = screen.getByTestId("adapter-select");
    await userEvent.selectOptions(select, "6");
    await waitFor(() => expect(callsOf(calls, "chat_set_adapter")).toEqual([{ session: 9, adapter: 6 }]));
    await waitFor(() => expect(select).toHaveValue("6"));
    // The conversation stays, and replies of the other adapter say who wrote them.
    expect(messages()).toHaveLength(3);
    expect(messages()[2]).toHaveTextContent("Written by Balanced · May 12");

    await userEvent.selectOptions(select, "base");
    await waitFor(() => expect(callsOf(calls, "chat_set_adapter")[1]).toEqual({ session: 9, adapter: null }));
    await waitFor(() => expect(select).toHaveValue("base"));
    expect(callsOf(calls, "chat_open")).toHaveLength(1);
  });

  it("without adapters chats with the base model and says so, with a way to train", async () => {
    const calls = chatEngine({ adapters_list: [] });
    render(<App initialRoute={{ name: "chat", personaId: 1 }} />);
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
    expect(callsOf(calls, "chat_open")[0]).toMatchObject({ adapter: null });
    act(() => send<ChatView>(channelOf(calls, "chat_open"), { type: "done", result: chatView({ adapter_id: null }) }));
    expect(screen.getByTestId("adapter-select")).toHaveValue("base");
    const note = screen.getByTestId("chat-base-note");
    expect(note).toHaveTextContent("untrained base model");
    await userEvent.click(within(note).getByRole("button", { name: "Train Mags" }));
    expect(screen.queryByTestId("chat-screen")).not.toBeInTheDocument();
    // Leaving closes the session.
    await waitFor(() => expect(callsOf(calls, "chat_close")).toEqual([{ session: 9 }]));
  });

  it("rates replies with the thumbs, toggling", async () => {
    const calls = chatEngine();
    await openChat(calls, talked());
    const reply = messages()[2];
    const up = within(reply).getByTestId("chat-thumb-up");
    const down = within(reply).getByTestId("chat-thumb-down");
    expect(up).toHaveAttribute("aria-pressed", "false");

    await userEvent.click(up);
    expect(callsOf(calls, "chat_rate")).toEqual([{ messageId: 12, rating: 1 }]);
    expect(up).toHaveAttribute("aria-pressed", "true");

    await userEvent.click(down);
    expect(callsOf(calls, "chat_rate")[1]).toEqual({ messageId: 12, rating: -1 });
    expect(up).toHaveAttribute("aria-pressed", "false");
    expect(down).toHaveAttribute("aria-pressed", "true");

    await userEvent.click(down);
    expect(callsOf(calls, "chat_rate")[2]).toEqual({ messageId: 12, rating: null });
    expect(down).toHaveAttribute("aria-pressed", "false");
  });

  it("puts a rating back when it could not be saved", async () => {
    const calls = chatEngine({
      chat_rate: () => {
        throw appError("The library is locked.", "Close the other Dramatis window.");
      },
    });
    await openChat(calls, talked());
    const up = within(messages()[2]).getByTestId("chat-thumb-up");
    await userEvent.click(up);
    expect(await screen.findByTestId("error-message")).toHaveTextContent("The library is locked.");
    expect(up).toHaveAttribute("aria-pressed", "false");
  });

  it("regenerates the last reply, hiding the old one while the new one streams", async () => {
    const calls = chatEngine();
    await openChat(calls, talked());
    await userEvent.click(within(messages()[2]).getByTestId("chat-regenerate"));
    await waitFor(() => expect(callsOf(calls, "chat_regenerate")).toHaveLength(1));
    expect(callsOf(calls, "chat_regenerate")[0]).toMatchObject({ session: 9, settings: { temperature: 0.8 } });
    token(calls, "chat_regenerate", "Tea! Lovely.");
    expect(messages()).toHaveLength(3);
    expect(messages()[2]).toHaveTextContent("Tea! Lovely.");
    expect(messages().some((m) => m.textContent?.includes("Ah go on, go on, go on."))).toBe(false);
    // Stopped: the old reply is back.
    await userEvent.click(screen.getByTestId("chat-stop"));
    act(() => send(channelOf(calls, "chat_regenerate"), { type: "cancelled" }));
    expect(messages()[2]).toHaveTextContent("Ah go on, go on, go on.");
    expect(screen.getByTestId("chat-input")).toHaveValue("");
  });

  it("edits a user message and answers again from there", async () => {
    const calls = chatEngine();
    await openChat(calls, talked());
    await userEvent.click(within(messages()[1]).getByTestId("chat-edit"));
    const box = screen.getByTestId("chat-edit-input");
    expect(box).toHaveValue("Will you have some tea?");
    await userEvent.clear(box);
    await userEvent.type(box, "Will you have some cake?");
    await userEvent.click(screen.getByTestId("chat-edit-send"));
    await waitFor(() => expect(callsOf(calls, "chat_edit")).toHaveLength(1));
    expect(callsOf(calls, "chat_edit")[0]).toMatchObject({ session: 9, index: 1, text: "Will you have some cake?" });
    expect(messages()[1]).toHaveTextContent("Will you have some cake?");
    expect(messages()[2]).toHaveAttribute("data-streaming", "true");
  });

  it("copies a message to the clipboard", async () => {
    const user = userEvent.setup();
    const calls = chatEngine();
    await openChat(calls, talked());
    await user.click(within(messages()[2]).getByTestId("chat-copy"));
    expect(await navigator.clipboard.readText()).toBe("Ah go on, go on, go on.");
    expect(within(messages()[2]).getByRole("button", { name: "Copied" })).toBeInTheDocument();
  });

  it("passes the generation settings on every send", async () => {
    const calls = chatEngine();
    await openChat(calls, chatView({ settings: { temperature: 0.6, top_p: 0.9, max_tokens: 120 } }));
    await userEvent.click(screen.getByTestId("chat-settings"));
    expect(screen.getByTestId("chat-setting-temperature")).toHaveValue("0.6");
    expect(screen.getByText(/lower keeps them steady/)).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("chat-setting-temperature"), { target: { value: "1.1" } });
    fireEvent.change(screen.getByTestId("chat-setting-max_tokens"), { target: { value: "400" } });
    await userEvent.type(screen.getByTestId("chat-input"), "Hi{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    expect(callsOf(calls, "chat_send")[0].settings).toEqual({ temperature: 1.1, top_p: 0.9, max_tokens: 400 });

    // Back to the role-play defaults.
    act(() => send<ChatView>(channelOf(calls, "chat_send"), { type: "done", result: talked() }));
    await userEvent.click(screen.getByTestId("chat-settings"));
    await userEvent.click(screen.getByRole("button", { name: "Back to role-play defaults" }));
    await userEvent.type(screen.getByTestId("chat-input"), "Again{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(2));
    expect(callsOf(calls, "chat_send")[1].settings).toEqual({ temperature: 0.8, top_p: 0.95, max_tokens: 200 });
  });

  it("starts a new chat in place: closes the session and opens a new conversation", async () => {
    const calls = chatEngine();
    await openChat(calls, talked(), 4);
    expect(callsOf(calls, "chat_open")[0]).toMatchObject({ conversation: 4, adapter: 5 });
    await userEvent.type(screen.getByTestId("chat-input"), "half a thought");

    await userEvent.click(screen.getByTestId("chat-new"));
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(2));
    expect(callsOf(calls, "chat_close")).toEqual([{ session: 9 }]);
    expect(callsOf(calls, "chat_open")[1]).toMatchObject({ persona: 1, conversation: null, adapter: 5 });
    expect(screen.getByTestId("chat-loading")).toBeInTheDocument();
    act(() => send<ChatView>(channelOf(calls, "chat_open"), { type: "done", result: chatView({ session: 10 }) }));
    expect(messages()).toHaveLength(1);
    // What was typed is not lost.
    expect(screen.getByTestId("chat-input")).toHaveValue("half a thought");

    // A new chat that is still empty is not opened again.
    await userEvent.click(screen.getByTestId("chat-new"));
    expect(callsOf(calls, "chat_open")).toHaveLength(2);
  });

  it("opens another conversation from the list, keeping the adapter chosen", async () => {
    const calls = chatEngine();
    await openChat(calls, talked(), 4);
    await userEvent.selectOptions(screen.getByTestId("adapter-select"), "6");
    await waitFor(() => expect(screen.getByTestId("adapter-select")).toHaveValue("6"));
    const rows = await screen.findAllByTestId("chat-conversation");
    await userEvent.click(within(rows[1]).getByText("The bishop"));
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(2));
    expect(callsOf(calls, "chat_open")[1]).toMatchObject({ conversation: 7, adapter: 6 });
  });

  it("searches, renames and deletes conversations", async () => {
    const calls = chatEngine();
    await openChat(calls, talked(), 4);
    const rows = await screen.findAllByTestId("chat-conversation");
    expect(rows[0]).toHaveAttribute("data-current", "true");

    await userEvent.type(screen.getByTestId("chat-search"), "bishop");
    await waitFor(() => expect(callsOf(calls, "conversations_list").some((a) => a.query === "bishop")).toBe(true));

    await userEvent.click(screen.getByRole("button", { name: "Rename “Tea time”" }));
    const title = screen.getByTestId("chat-rename-input");
    await userEvent.clear(title);
    await userEvent.type(title, "Tea with Mags{Enter}");
    await waitFor(() => expect(callsOf(calls, "conversation_rename")).toEqual([{ id: 4, title: "Tea with Mags" }]));
    expect(await screen.findByText("Tea with Mags", { selector: ".chat-head__conv" })).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "Delete “The bishop”" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete this conversation?" });
    expect(dialog).toHaveTextContent("“The bishop” and its 3 messages will be deleted.");
    expect(callsOf(calls, "conversation_delete")).toHaveLength(0);
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete conversation" }));
    await waitFor(() => expect(callsOf(calls, "conversation_delete")).toEqual([{ id: 7 }]));
    // Another conversation was deleted: this one stays open.
    expect(callsOf(calls, "chat_open")).toHaveLength(1);
  });

  it("deleting the open conversation starts a new one", async () => {
    const calls = chatEngine();
    await openChat(calls, talked(), 4);
    await userEvent.click(await screen.findByRole("button", { name: "Delete “Tea time”" }));
    await userEvent.click(screen.getByRole("button", { name: "Delete conversation" }));
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(2));
    expect(callsOf(calls, "chat_open")[1]).toMatchObject({ conversation: null });
  });

  it("explains a failure to open, with the way to the Models screen", async () => {
    const calls = chatEngine();
    render(<App initialRoute={{ name: "chat", personaId: 1 }} />);
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
    act(() =>
      send(channelOf(calls, "chat_open"), {
        type: "failed",
        error: appError("No model on this computer.", "Download one on the Models screen.", "not_found"),
      }),
    );
    const err = screen.getByTestId("error-message");
    expect(err).toHaveTextContent("No model on this computer.");
    expect(err).toHaveTextContent("What to do: Download one on the Models screen.");

    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(2));
    act(() =>
      send(channelOf(calls, "chat_open"), { type: "failed", error: appError("No model on this computer.") }),
    );
    await userEvent.click(screen.getByRole("button", { name: "Go to Models" }));
    expect(screen.queryByTestId("chat-screen")).not.toBeInTheDocument();
    expect(within(screen.getByRole("navigation")).getByRole("button", { name: "Models" })).toHaveAttribute(
      "aria-current",
      "page",
    );
  });

  it("leaving while a reply is written stops it and closes the session", async () => {
    const calls = chatEngine();
    render(<App initialRoute={{ name: "chat", personaId: 1 }} />);
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
    act(() => send<ChatView>(channelOf(calls, "chat_open"), { type: "done", result: chatView() }));
    await userEvent.type(await screen.findByTestId("chat-input"), "Hello{Enter}");
    await waitFor(() => expect(callsOf(calls, "chat_send")).toHaveLength(1));
    token(calls, "chat_send", "Hel");
    await userEvent.click(within(screen.getByRole("navigation")).getByRole("button", { name: "Settings" }));
    await waitFor(() => expect(callsOf(calls, "job_cancel")).toEqual([{ id: 102 }]));
    await waitFor(() => expect(callsOf(calls, "chat_close")).toEqual([{ session: 9 }]));
  });

  it("stops loading and closes a late session when the screen is left while opening", async () => {
    const calls = chatEngine();
    const { unmount } = render(<App initialRoute={{ name: "chat", personaId: 1 }} />);
    await waitFor(() => expect(callsOf(calls, "chat_open")).toHaveLength(1));
    const channel = channelOf(calls, "chat_open");
    unmount();
    await waitFor(() => expect(callsOf(calls, "job_cancel")).toEqual([{ id: 101 }]));
    send<ChatView>(channel, { type: "done", result: chatView({ session: 33 }) });
    await waitFor(() => expect(callsOf(calls, "chat_close")).toEqual([{ session: 33 }]));
  });
});
