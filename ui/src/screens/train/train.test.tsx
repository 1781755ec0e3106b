import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import type { Estimate, EvalReport, JobMessage, RunView, TrainEvent } from "../../api";
import { App } from "../../App";
import { card } from "../../test/fixtures";
import { appError, callsOf, mockEngine, send } from "../../test/ipc";
import { adapter, estimate, evalReport, localModel, run, trainPage } from "./testFixtures";
import { resetTrainJobs } from "./trainJobs";

beforeEach(() => resetTrainJobs());

/** An engine whose jobs keep their channels, by command. */
function engine(extra: Record<string, unknown> = {}) {
  const channels: Record<string, unknown[]> = {};
  const keep = (cmd: string, id: number) => (args: Record<string, unknown>) => {
    (channels[cmd] ??= []).push(args.onEvent);
    return id;
  };
  const calls = mockEngine({
    jobs_list: [],
    train_page: trainPage(),
    models_list: [localModel(), localModel({ reference: "/models/smol.gguf", kind: "gguf", origin: "added" })],
    train_start: keep("train_start", 5),
    train_resume: keep("train_resume", 6),
    train_estimate: keep("train_estimate", 7),
    eval_start: keep("eval_start", 8),
    export_start: keep("export_start", 9),
    train_pause: null,
    job_cancel: null,
    ...extra,
  });
  const last = (cmd: string) => {
    const list = channels[cmd] ?? [];
    return list[list.length - 1];
  };
  return { calls, channels, last };
}

const renderTrain = (personaId = 1) => render(<App initialRoute={{ name: "train", personaId }} />);

const trainEvent = (ch: unknown, ev: TrainEvent) =>
  act(() => send(ch, { type: "event", event: { event: "train", ...ev } as never }));

const step = (n: number, loss: number, total = 3): TrainEvent => ({
  type: "step",
  step: n,
  total_steps: total,
  epoch: 0,
  loss,
  lr: 1e-4,
  grad_norm: 1,
  tokens: 100 * n,
  tokens_per_s: 850.4,
  elapsed_s: 2 * n,
  eta_s: 2 * (total - n),
});

const started: TrainEvent = {
  type: "start",
  total_steps: 3,
  train_examples: 12,
  val_examples: 2,
  skipped: 0,
  trainable_parameters: 1000,
  resumed_from: null,
  device: "cuda:0",
};

describe("Train", () => {
  it("shows the persona, its samples, a way back and a way to chat", async () => {
    engine({ train_page: trainPage({ name: "Mags", samples: 1200 }) });
    renderTrain();
    expect(await screen.findByRole("heading", { name: "Train Mags" })).toBeInTheDocument();
    expect(screen.getByText("1,200 lines to learn from")).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("train-back"));
    expect(screen.queryByTestId("train-start")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-library")).toHaveAttribute("aria-current", "page");
  });

  it("the Chat button leaves for the persona's chat", async () => {
    engine({ chat_open: () => 1, conversations_list: [] });
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-chat"));
    expect(screen.queryByTestId("train-start")).not.toBeInTheDocument();
  });

  it("preselects the model used last, else the first", async () => {
    engine({ train_page: trainPage({ last_model: "/models/smol.gguf" }) });
    renderTrain();
    await waitFor(() => expect(screen.getByTestId("train-model")).toHaveValue("/models/smol.gguf"));
  });

  it("with no model, points to the Models screen", async () => {
    engine({ models_list: [], models_recommended: [], devices: [] });
    renderTrain();
    expect(await screen.findByText("No model to train on yet")).toBeInTheDocument();
    expect(screen.queryByTestId("train-start")).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId("train-to-models"));
    expect(await screen.findByRole("heading", { name: "Models" })).toBeInTheDocument();
  });

  it("measures the presets here, shows time and memory, and refuses one that does not fit", async () => {
    const { calls, last } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-measure"));
    expect(callsOf(calls, "train_estimate")[0]).toMatchObject({ persona: 1, model: "Qwen/Qwen2.5-0.5B-Instruct" });
    act(() =>
      send(last("train_estimate"), {
        type: "event",
        event: { event: "progress", stage: "calibrate", done: 1, total: 3, unit: "steps", message: "Quick taste" },
      }),
    );
    expect(screen.getByText("Quick taste", { selector: "p" })).toBeInTheDocument();
    act(() =>
      send<Estimate[]>(last("train_estimate"), {
        type: "done",
        result: [
          estimate("quick", 150),
          estimate("balanced", 734, { peak_memory_mib: 3277 }),
          estimate("deep", 5400, { fits: false, needed_mib: 20480, available_mib: 8192 }),
        ],
      }),
    );
    const quick = screen.getByTestId("train-preset-quick");
    const balanced = screen.getByTestId("train-preset-balanced");
    const deep = screen.getByTestId("train-preset-deep");
    expect(quick).toHaveTextContent("about 3 min");
    expect(balanced).toHaveTextContent("about 12 min");
    expect(balanced).toHaveTextContent("up to 3.2 GB of memory");
    expect(deep).toHaveTextContent("about 1 h 30 min");
    expect(within(deep).getByTestId("train-no-fit")).toHaveTextContent("Needs about 20.0 GB of memory, but only 8.0 GB is free.");
    expect(within(balanced).queryByTestId("train-no-fit")).not.toBeInTheDocument();

    expect(screen.getByTestId("train-start")).toBeEnabled();
    await userEvent.click(deep);
    expect(deep).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByTestId("train-start")).toBeDisabled();
    expect(screen.getByText("This preset does not fit in this computer's memory.")).toBeInTheDocument();
    await userEvent.click(quick);
    expect(screen.getByTestId("train-start")).toBeEnabled();
  });

  it("advanced settings start from the preset and only changes are sent", async () => {
    const { calls } = engine();
    renderTrain();
    const toggle = await screen.findByTestId("train-advanced");
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(screen.queryByTestId("train-max-steps")).not.toBeInTheDocument();
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    const maxSteps = screen.getByTestId("train-max-steps");
    expect(maxSteps).toHaveValue(null);
    expect(screen.getByTestId("train-rank")).toHaveValue(16);
    expect(screen.getByLabelText(/Learning rate/)).toHaveValue(0.0002);

    // The preset's own values follow the preset.
    await userEvent.click(screen.getByTestId("train-preset-quick"));
    expect(screen.getByTestId("train-rank")).toHaveValue(8);

    fireEvent.change(maxSteps, { target: { value: "3" } });
    fireEvent.change(screen.getByTestId("train-rank"), { target: { value: "8" } }); // same as the preset
    fireEvent.change(screen.getByTestId("train-epochs"), { target: { value: "0" } });
    expect(screen.getByTestId("train-start")).toBeDisabled();
    expect(screen.getByText(/Out of range/)).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("train-epochs"), { target: { value: "2" } });
    expect(screen.getByTestId("train-advanced")).toHaveTextContent("2 changed");

    await userEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    expect(callsOf(calls, "train_start")[0].request).toEqual({
      persona: 1,
      model: "Qwen/Qwen2.5-0.5B-Instruct",
      preset: "quick",
      settings: { max_steps: 3, epochs: 2 },
      device: "auto",
    });
  });

  it("trains live: status, loss, chart, then done and the runs again", async () => {
    let pages = 0;
    const { calls, last } = engine({
      train_page: () => {
        pages++;
        return pages === 1 ? trainPage() : trainPage({ runs: [run({ active: true })], adapters: [adapter()] });
      },
    });
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    const ch = last("train_start");
    expect(screen.getByTestId("train-status")).toHaveTextContent("Getting ready");
    expect(screen.getByTestId("train-start")).toBeDisabled();

    expect(screen.getByTestId("train-device")).toHaveTextContent("—");
    trainEvent(ch, started);
    expect(screen.getByTestId("train-device")).toHaveTextContent("GPU (cuda:0)");
    trainEvent(ch, step(1, 3.1));
    const chart = screen.getByTestId("train-chart");
    expect(chart).toHaveAttribute("data-points", "1");
    trainEvent(ch, step(2, 2.34561));
    expect(chart).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("train-loss").textContent).toBe("2.3456");
    expect(screen.getByTestId("train-status")).toHaveTextContent("Training — step 2 of 3");
    expect(screen.getByText("850 tokens/s")).toBeInTheDocument();
    expect(screen.getByText("2 s")).toBeInTheDocument(); // time left

    trainEvent(ch, { type: "eval", step: 2, val_loss: 2.5, best_val_loss: 2.5, improved: true });
    expect(chart).toHaveAttribute("data-val-points", "1");
    expect(screen.getByTestId("train-chart-best")).toHaveAttribute("data-step", "2");
    trainEvent(ch, step(3, 2.1));
    trainEvent(ch, { type: "done", steps: 3 });
    act(() => send<RunView>(ch, { type: "done", result: run() }));

    const status = screen.getByTestId("train-status");
    expect(status).toHaveAttribute("data-state", "done");
    expect(status).toHaveTextContent("Training done — 3 steps");
    expect(status.textContent).toContain("done");
    expect(screen.getByTestId("train-loss").textContent).toBe("2.1000");
    expect(screen.getByText("2.0 GB")).toBeInTheDocument(); // peak memory of the result
    // The page is loaded again: the new run and its adapter.
    expect(await screen.findByTestId("run-row")).toHaveTextContent("Active adapter");
    expect(pages).toBe(2);
    expect(screen.getByTestId("train-start")).toBeEnabled();
  });

  it("shows a chinese status with the state kept as data", async () => {
    localStorage.setItem("dramatis.lang", "zh");
    const { calls, last } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    trainEvent(last("train_start"), started);
    trainEvent(last("train_start"), { type: "done", steps: 3 });
    act(() => send<RunView>(last("train_start"), { type: "done", result: run() }));
    const status = screen.getByTestId("train-status");
    expect(status).toHaveAttribute("data-state", "done");
    expect(status).toHaveTextContent("训练完成 — 共 3 步");
  });

  it("warns in plain words when the validation loss rose at the last two checks", async () => {
    const { calls, last } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    const ch = last("train_start");
    trainEvent(ch, { ...started, total_steps: 40 } as TrainEvent);
    const evalAt = (s: number, v: number, improved: boolean) =>
      trainEvent(ch, { type: "eval", step: s, val_loss: v, best_val_loss: Math.min(v, 2.2), improved });
    evalAt(10, 2.4, true);
    evalAt(20, 2.2, true);
    evalAt(30, 2.3, false);
    expect(screen.queryByTestId("train-overfit")).not.toBeInTheDocument();
    evalAt(40, 2.45, false);
    expect(screen.getByTestId("train-overfit")).toHaveTextContent("starting to memorise");
    expect(screen.getByTestId("train-chart-best")).toHaveAttribute("data-step", "20");
  });

  it("pauses (keeping a checkpoint) and cancels", async () => {
    const { calls, last } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    // Nothing to pause while the model loads: cancel only.
    expect(screen.getByTestId("train-pause")).toBeDisabled();
    trainEvent(last("train_start"), started);
    trainEvent(last("train_start"), step(1, 3));
    await waitFor(() => expect(screen.getByTestId("train-pause")).toBeEnabled());
    await userEvent.click(screen.getByTestId("train-pause"));
    expect(callsOf(calls, "train_pause")).toEqual([{ jobId: 5 }]);
    expect(screen.getByTestId("train-status")).toHaveTextContent("Pausing");
    act(() => send(last("train_start"), { type: "cancelled" }));
    expect(screen.getByTestId("train-status")).toHaveTextContent("Paused at step 1");
    expect(screen.getByTestId("train-status")).toHaveAttribute("data-state", "paused");

    await userEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(2));
    await waitFor(() => expect(screen.getByTestId("train-cancel")).toBeEnabled());
    await userEvent.click(screen.getByTestId("train-cancel"));
    expect(callsOf(calls, "job_cancel")).toEqual([{ id: 5 }]);
    act(() => send(last("train_start"), { type: "cancelled" }));
    expect(screen.getByTestId("train-status")).toHaveTextContent("Training cancelled.");
  });

  it("shows why a run failed, with what to do", async () => {
    const { calls, last } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    act(() =>
      send(last("train_start"), {
        type: "failed",
        error: appError("Not enough memory: 6,000 MiB needed, 2,000 MiB free.", "Choose the Quick taste preset.", "not_enough_memory"),
      }),
    );
    expect(screen.getByTestId("train-status")).toHaveTextContent("Training failed.");
    expect(screen.getByTestId("error-message")).toHaveTextContent("Choose the Quick taste preset.");
  });

  it("keeps training while the user is elsewhere, and shows the curve on return", async () => {
    const { calls, last } = engine({ library_list: [card({ id: 1 })], runs_interrupted: [] });
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    trainEvent(last("train_start"), started);
    await userEvent.click(screen.getByTestId("nav-library"));
    trainEvent(last("train_start"), step(1, 3));
    trainEvent(last("train_start"), step(2, 2.5));
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByTestId("persona-train"));
    expect(await screen.findByTestId("train-chart")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("train-status")).toHaveTextContent("Training — step 2 of 3");
    expect(screen.getByTestId("train-start")).toBeDisabled();
  });

  it("lists runs with their numbers, activates an adapter and resumes a paused run", async () => {
    const { calls } = engine({
      train_page: trainPage({
        runs: [
          run({ id: 1, started_at: 1_700_000_000 }),
          run({ id: 2, status: "paused", resumable: true, adapter_id: null, summary: null, started_at: 1_700_100_000 }),
          run({
            id: 3,
            status: "failed",
            adapter_id: null,
            summary: null,
            error: appError("The model could not be read.", "Download it again."),
            started_at: 1_700_050_000,
          }),
        ],
        adapters: [adapter({ active: false })],
      }),
      adapter_activate: null,
    });
    renderTrain();
    const rows = await screen.findAllByTestId("run-row");
    expect(rows.map((r) => r.getAttribute("aria-label"))).toEqual(["Run 2", "Run 3", "Run 1"]);
    const [paused, failed, finished] = rows;
    expect(paused).toHaveTextContent("Paused");
    expect(failed).toHaveTextContent("The model could not be read. Download it again.");
    expect(finished).toHaveTextContent("Finished");
    expect(finished).toHaveTextContent("adapter rank 16 · 2 passes · learning rate 0.0002 · samples up to 512 tokens");
    expect(finished).toHaveTextContent("3.2000 → 2.5000");
    expect(finished).toHaveTextContent("2.7000 at step 3");
    expect(finished.querySelector("svg.loss-chart--compact")).toHaveAttribute("data-points", "3");

    await userEvent.click(within(finished).getByTestId("run-activate"));
    expect(callsOf(calls, "adapter_activate")).toEqual([{ persona: 1, adapter: 11 }]);
    await waitFor(() => expect(callsOf(calls, "train_page")).toHaveLength(2));

    expect(within(failed).queryByTestId("run-resume")).not.toBeInTheDocument();
    await userEvent.click(within(paused).getByTestId("run-resume"));
    expect(callsOf(calls, "train_resume")).toEqual([expect.objectContaining({ runId: 2 })]);
    // The resumed run continues the stored curve.
    expect(screen.getByTestId("train-chart")).toHaveAttribute("data-points", "3");
  });

  it("offers to resume an interrupted run at the top", async () => {
    const { calls } = engine({
      train_page: trainPage({ runs: [run({ id: 4, status: "interrupted", resumable: true, adapter_id: null, summary: null })] }),
    });
    renderTrain();
    const banner = await screen.findByTestId("train-interrupted");
    expect(banner).toHaveTextContent("interrupted at step 3");
    await userEvent.click(within(banner).getByRole("button", { name: "Resume" }));
    expect(callsOf(calls, "train_resume")).toEqual([expect.objectContaining({ runId: 4 })]);
    expect(screen.queryByTestId("train-interrupted")).not.toBeInTheDocument();
  });

  it("compares the base model with the persona, explained, with examples", async () => {
    const { calls, last } = engine({
      train_page: trainPage({ adapters: [adapter({ id: 11, active: false, label: "Run 1" }), adapter({ id: 12, active: true, label: "Run 2" })] }),
    });
    renderTrain();
    const select = await screen.findByTestId("eval-adapter");
    expect(select).toHaveValue("12");
    fireEvent.change(select, { target: { value: "11" } });
    await userEvent.click(screen.getByTestId("eval-start"));
    expect(callsOf(calls, "eval_start")[0]).toMatchObject({ persona: 1, adapter: 11 });
    act(() => send<EvalReport>(last("eval_start"), { type: "done", result: evalReport() }));

    const table = screen.getByTestId("eval-table");
    const row = (metric: string) => table.querySelector(`tr[data-metric="${metric}"]`) as HTMLElement;
    expect(row("perplexity")).toHaveTextContent("12.18");
    expect(row("perplexity")).toHaveTextContent("6.69");
    expect(row("perplexity")).toHaveTextContent("Lower means it expects them better.");
    expect(within(row("perplexity")).getByText(/6\.69/)).toHaveClass("num--better");
    expect(row("bleu")).toHaveTextContent("9.4");
    expect(row("rouge_l")).toHaveTextContent("21.0");
    expect(row("token_f1")).toHaveTextContent("24.0");
    // Everyday perplexity rose: there the base model is better.
    expect(within(row("general_perplexity")).getByText("8.20")).toHaveClass("num--better");
    const examples = screen.getByTestId("eval-examples");
    expect(examples).toHaveTextContent("Will you have some tea, Father?");
    expect(examples).toHaveTextContent("Ah go on!");
    expect(examples).toHaveTextContent("Yes, please.");
    expect(examples).toHaveTextContent("Ah go on, go on, go on!");
  });

  it("exports a pack to a chosen file and shows it in its folder", async () => {
    const { calls, last } = engine({ pick_save_path: "/home/me/Mags.zip", reveal_path: null });
    renderTrain();
    // Exports that need a trained adapter wait for one.
    expect(await screen.findByTestId("export-merged_gguf")).toBeDisabled();
    await userEvent.click(screen.getByTestId("export-pack"));
    expect(callsOf(calls, "pick_save_path")).toEqual([{ defaultName: "Mags.zip" }]);
    await waitFor(() => expect(callsOf(calls, "export_start")).toHaveLength(1));
    expect(callsOf(calls, "export_start")[0]).toMatchObject({ persona: 1, kind: "pack", path: "/home/me/Mags.zip", adapter: null });
    act(() =>
      send(last("export_start"), {
        type: "event",
        event: { event: "progress", stage: "export", done: 1, total: 2, unit: "files", message: "dataset.jsonl" },
      }),
    );
    expect(screen.getByRole("progressbar", { name: "Export progress" })).toHaveAttribute("aria-valuenow", "1");
    act(() => send<string[]>(last("export_start"), { type: "done", result: ["/home/me/Mags.zip"] }));
    const result = screen.getByTestId("export-result");
    expect(result).toHaveTextContent("/home/me/Mags.zip");
    await userEvent.click(within(result).getByTestId("export-reveal"));
    expect(callsOf(calls, "reveal_path")).toEqual([{ path: "/home/me/Mags.zip" }]);
  });

  it("exports to a folder for folder kinds, and nothing when the dialog is cancelled", async () => {
    let folder: string | null = null;
    const { calls } = engine({
      train_page: trainPage({ adapters: [adapter()] }),
      pick_folder: () => folder,
    });
    renderTrain();
    await userEvent.click(await screen.findByTestId("export-ollama"));
    expect(callsOf(calls, "pick_folder")).toHaveLength(1);
    expect(callsOf(calls, "export_start")).toHaveLength(0);
    folder = "/home/me/ollama";
    await userEvent.click(screen.getByTestId("export-ollama"));
    await waitFor(() => expect(callsOf(calls, "export_start")).toHaveLength(1));
    expect(callsOf(calls, "export_start")[0]).toMatchObject({ kind: "ollama", path: "/home/me/ollama" });
  });

  it("shows an error when the page cannot be loaded", async () => {
    engine({
      train_page: () => {
        throw appError("There is no persona 9.", "Go back to the library.", "invalid");
      },
    });
    renderTrain(9);
    expect(await screen.findByTestId("error-message")).toHaveTextContent("There is no persona 9.");
    expect(screen.getByTestId("train-back")).toBeInTheDocument();
  });

  it("a message of an old job does not disturb a new one", async () => {
    const { calls, channels } = engine();
    renderTrain();
    await userEvent.click(await screen.findByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(1));
    act(() => send(channels.train_start[0], { type: "cancelled" } as JobMessage<RunView>));
    await userEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(callsOf(calls, "train_start")).toHaveLength(2));
    trainEvent(channels.train_start[0], step(1, 9));
    expect(screen.getByTestId("train-loss").textContent).toBe("—");
    trainEvent(channels.train_start[1], step(1, 2));
    expect(screen.getByTestId("train-loss").textContent).toBe("2.0000");
  });
});
