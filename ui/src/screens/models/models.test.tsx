import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { LocalModel } from "../../api";
import { App } from "../../App";
import { appError, callsOf, mockEngine, send } from "../../test/ipc";
import { localModel, recommended } from "../train/testFixtures";
import { resetDownloads } from "./downloads";

beforeEach(() => resetDownloads());

const cpu = { name: "cpu", description: "AMD Ryzen 7 5800X, 16 threads", features: ["avx2", "fma"], chosen: true };

function engine(extra: Record<string, unknown> = {}) {
  const channels: unknown[] = [];
  const calls = mockEngine({
    jobs_list: [],
    models_list: [localModel()],
    models_recommended: [recommended()],
    devices: [cpu],
    model_download: (args: Record<string, unknown>) => {
      channels.push(args.onEvent);
      return 77;
    },
    job_cancel: null,
    ...extra,
  });
  return { calls, channels };
}

const renderModels = () => render(<App initialRoute={{ name: "models" }} />);

describe("Models", () => {
  it("lists the models on this computer with what they are", async () => {
    engine({
      models_list: [
        localModel(),
        localModel({
          reference: "/models/tiny.Q4_1.gguf",
          kind: "gguf",
          path: "/models/tiny.Q4_1.gguf",
          size_bytes: 120_000_000,
          architecture: "llama",
          quantization: "q4_1",
          origin: "added",
        }),
      ],
    });
    renderModels();
    const rows = await screen.findAllByTestId("model-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("Qwen/Qwen2.5-0.5B-Instruct");
    expect(rows[0]).toHaveTextContent("Hugging Face model");
    expect(rows[0]).toHaveTextContent("qwen2");
    expect(rows[0]).toHaveTextContent("988 MB");
    expect(rows[0]).toHaveTextContent("Downloaded");
    expect(rows[1]).toHaveTextContent("tiny.Q4_1.gguf");
    expect(rows[1]).toHaveTextContent("GGUF file");
    expect(rows[1]).toHaveTextContent("Q4_1");
    expect(rows[1]).toHaveTextContent("120 MB");
    expect(rows[1]).toHaveTextContent("Added by you");
    expect(rows[1]).toHaveTextContent("/models/tiny.Q4_1.gguf");
  });

  it("says what to do when there are no models", async () => {
    engine({ models_list: [] });
    renderModels();
    expect(await screen.findByText("No models yet")).toBeInTheDocument();
    expect(screen.queryByTestId("model-row")).not.toBeInTheDocument();
  });

  it("adds a pasted path, shows the engine's error with its hint, then adds and lists it", async () => {
    let list: LocalModel[] = [];
    let fail = true;
    const calls = engine({
      models_list: () => list,
      model_add: (args: Record<string, unknown>) => {
        if (fail) throw appError("/tmp/x: file not found.", "Check the path and try again.", "not_found");
        const m = localModel({ reference: String(args.path), kind: "gguf", path: String(args.path), origin: "added" });
        list = [m];
        return m;
      },
    }).calls;
    renderModels();
    await screen.findByText("No models yet");
    const field = screen.getByTestId("model-path");
    fireEvent.change(field, { target: { value: "/tmp/x" } });
    await userEvent.click(screen.getByTestId("model-add"));
    const err = await screen.findByTestId("error-message");
    expect(err).toHaveTextContent("/tmp/x: file not found.");
    expect(err).toHaveTextContent("Check the path and try again.");
    expect(field).toHaveValue("/tmp/x");

    fail = false;
    fireEvent.change(field, { target: { value: '"/models/smol.gguf"' } });
    await userEvent.click(screen.getByTestId("model-add"));
    expect(await screen.findByTestId("model-row")).toHaveTextContent("smol.gguf");
    expect(callsOf(calls, "model_add")).toEqual([{ path: "/tmp/x" }, { path: "/models/smol.gguf" }]);
    expect(field).toHaveValue("");
    expect(screen.queryByTestId("error-message")).not.toBeInTheDocument();
    expect(screen.getByText("Added /models/smol.gguf")).toBeInTheDocument();
  });

  it("does not send an empty path", async () => {
    const { calls } = engine();
    renderModels();
    await screen.findAllByTestId("model-row");
    await userEvent.click(screen.getByTestId("model-add"));
    expect(await screen.findByTestId("error-message")).toHaveTextContent("There is no path to add.");
    expect(callsOf(calls, "model_add")).toHaveLength(0);
  });

  it("adds a model folder chosen in the dialog", async () => {
    const { calls } = engine({
      pick_folder: "/models/qwen",
      model_add: localModel({ reference: "/models/qwen", kind: "folder", origin: "added" }),
    });
    renderModels();
    await screen.findAllByTestId("model-row");
    await userEvent.click(screen.getByRole("button", { name: "Choose folder…" }));
    await waitFor(() => expect(callsOf(calls, "model_add")).toEqual([{ path: "/models/qwen" }]));
  });

  it("shows recommended models in plain words, and which are here already", async () => {
    engine({
      models_recommended: [
        recommended(),
        recommended({ id: "HuggingFaceTB/SmolLM2-360M-Instruct", name: "SmolLM2 360M", languages: "en", local: true }),
        recommended({ id: "acme/tiny-chat", name: "Tiny chat", note: "Words from the engine." }),
      ],
    });
    renderModels();
    const cards = await screen.findAllByTestId("recommended-card");
    expect(cards[0]).toHaveTextContent("Qwen2.5 0.5B Instruct");
    expect(cards[0]).toHaveTextContent("0.5B parameters");
    expect(cards[0]).toHaveTextContent("Best for Chinese");
    // A known model's note comes translated from the UI; others keep the engine's words.
    expect(cards[0]).toHaveTextContent("The smallest model that writes good Chinese");
    expect(cards[2]).toHaveTextContent("Words from the engine.");
    expect(cards[0]).toHaveTextContent("1.0 GB");
    expect(cards[0]).toHaveTextContent("about 3.2 GB");
    expect(within(cards[0]).getByTestId("model-download")).toBeEnabled();
    expect(cards[0]).not.toHaveTextContent("On this computer");
    expect(cards[1]).toHaveTextContent("English");
    expect(cards[1]).toHaveTextContent("On this computer");
    expect(within(cards[1]).queryByTestId("model-download")).not.toBeInTheDocument();
  });

  it("downloads with speed and time left, pauses, resumes, and lists the model when done", async () => {
    let now = 1_000_000;
    vi.spyOn(Date, "now").mockImplementation(() => now);
    let local: LocalModel[] = [];
    const { calls, channels } = engine({
      models_list: () => local,
      models_recommended: () => [recommended({ local: local.length > 0 })],
    });
    renderModels();
    const card = await screen.findByTestId("recommended-card");
    await userEvent.click(within(card).getByTestId("model-download"));
    await waitFor(() => expect(callsOf(calls, "model_download")).toHaveLength(1));
    expect(callsOf(calls, "model_download")[0].id).toBe("Qwen/Qwen2.5-0.5B-Instruct");

    const progress = (done: number) =>
      act(() =>
        send(channels[channels.length - 1], {
          type: "event",
          event: { event: "progress", stage: "download", done, total: 1_000_000_000, unit: "bytes", message: "model.safetensors" },
        }),
      );
    progress(100_000_000);
    now += 2000;
    progress(120_000_000);
    const text = within(card).getByTestId("download-progress");
    expect(text).toHaveTextContent("120 MB of 1.0 GB");
    expect(text).toHaveTextContent("10.0 MB/s");
    // 880 MB left at 10 MB/s: 88 s → "1 min".
    expect(text).toHaveTextContent("1 min left");
    const bar = within(card).getByRole("progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "120000000");

    // Pause = cancel the job; it can resume.
    await userEvent.click(within(card).getByTestId("model-pause"));
    expect(callsOf(calls, "job_cancel")).toEqual([{ id: 77 }]);
    act(() => send(channels[0], { type: "cancelled" }));
    const resume = within(card).getByTestId("model-download");
    expect(resume).toHaveTextContent("Resume");
    expect(text).toHaveTextContent("Paused · 120 MB of 1.0 GB");

    await userEvent.click(resume);
    await waitFor(() => expect(callsOf(calls, "model_download")).toHaveLength(2));
    // A message of the first (paused) job changes nothing.
    act(() => send(channels[0], { type: "done", result: localModel() }));
    expect(within(card).getByTestId("model-pause")).toBeInTheDocument();

    local = [localModel()];
    act(() => send(channels[1], { type: "done", result: localModel() }));
    expect(await screen.findByTestId("model-row")).toHaveTextContent("Qwen/Qwen2.5-0.5B-Instruct");
    await waitFor(() => expect(within(card).getByText("On this computer")).toBeInTheDocument());
    expect(within(card).queryByTestId("model-pause")).not.toBeInTheDocument();
  });

  it("says clearly why a download failed, and offers to try again", async () => {
    const { channels, calls } = engine();
    renderModels();
    const card = await screen.findByTestId("recommended-card");
    await userEvent.click(within(card).getByTestId("model-download"));
    await waitFor(() => expect(channels).toHaveLength(1));
    act(() =>
      send(channels[0], {
        type: "failed",
        error: appError("Could not reach huggingface.co.", "Check the internet connection, then try again.", "io"),
      }),
    );
    const err = within(card).getByTestId("error-message");
    expect(err).toHaveTextContent("Could not reach huggingface.co.");
    expect(err).toHaveTextContent("Check the internet connection");
    const again = within(card).getByTestId("model-download");
    expect(again).toHaveTextContent("Try again");
    await userEvent.click(again);
    await waitFor(() => expect(callsOf(calls, "model_download")).toHaveLength(2));
    expect(within(card).queryByTestId("error-message")).not.toBeInTheDocument();
  });

  it("keeps a download going while the user is on another screen", async () => {
    const { channels } = engine({ library_list: [] });
    renderModels();
    const card = await screen.findByTestId("recommended-card");
    await userEvent.click(within(card).getByTestId("model-download"));
    await waitFor(() => expect(channels).toHaveLength(1));
    await userEvent.click(screen.getByTestId("nav-library"));
    act(() =>
      send(channels[0], {
        type: "event",
        event: { event: "progress", stage: "download", done: 500_000_000, total: 1_000_000_000, unit: "bytes", message: "" },
      }),
    );
    await userEvent.click(screen.getByTestId("nav-models"));
    expect(await screen.findByTestId("download-progress")).toHaveTextContent("500 MB of 1.0 GB");
    expect(screen.getByTestId("model-pause")).toBeInTheDocument();
  });

  it("follows a download started before the window was reloaded", async () => {
    const { calls } = engine({
      jobs_list: [{ id: 9, kind: "download", label: "Qwen/Qwen2.5-0.5B-Instruct", state: "running", last_event: null }],
      job_attach: null,
    });
    renderModels();
    await waitFor(() => expect(callsOf(calls, "job_attach")).toHaveLength(1));
    expect(callsOf(calls, "job_attach")[0].id).toBe(9);
    expect(await screen.findByTestId("model-pause")).toBeInTheDocument();
  });

  it("shows the devices and which one will be used", async () => {
    engine({
      devices: [
        { ...cpu, chosen: false },
        { name: "cuda:0", description: "NVIDIA GeForce RTX 4070, 12 GB", features: [], chosen: true },
      ],
    });
    renderModels();
    const devices = await screen.findAllByTestId("device");
    expect(devices).toHaveLength(2);
    expect(devices[0]).toHaveTextContent("Processor (CPU)");
    expect(devices[0]).toHaveTextContent("avx2");
    expect(devices[0]).not.toHaveTextContent("Will be used");
    expect(devices[1]).toHaveTextContent("Graphics card (GPU)");
    expect(devices[1]).toHaveTextContent("RTX 4070");
    expect(devices[1]).toHaveTextContent("Will be used");
  });
});
