import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { DatasetView, RowChange } from "../../api";
import { App } from "../../App";
import { datasetView, row } from "../../test/fixtures";
import { appError, callsOf, mockEngine } from "../../test/ipc";
import { applyChange, applyPatch, filterRows, revertPatch } from "./model";

function renderDataset(view: DatasetView, handlers: Record<string, unknown> = {}) {
  const calls = mockEngine({ jobs_list: [], library_list: [], ...handlers });
  render(<App initialRoute={{ name: "dataset", view }} />);
  return calls;
}

const rowIds = () => screen.getAllByTestId("dataset-row").map((r) => Number(r.getAttribute("data-row-id")));
const rowById = (id: number) => screen.getAllByTestId("dataset-row").find((r) => r.getAttribute("data-row-id") === String(id))!;

/** The engine's answer to a row update, computed from the rows it holds. */
function rowUpdater(view: DatasetView) {
  const rows = view.rows.map((r) => ({ ...r }));
  return (args: Record<string, unknown>): RowChange => {
    const id = args.rowId as number;
    const patch = args.patch as { enabled?: boolean; output?: string; deleted?: boolean };
    const i = rows.findIndex((r) => r.id === id);
    let changed = null;
    if (patch.deleted) rows.splice(i, 1);
    else {
      if (patch.enabled !== undefined) rows[i].enabled = patch.enabled;
      if (patch.output !== undefined) {
        rows[i].output = patch.output;
        rows[i].edited = true;
      }
      changed = rows[i];
    }
    return { row: changed, count: rows.length, enabled: rows.filter((r) => r.enabled).length };
  };
}

describe("Dataset", () => {
  it("shows the rows and the counts", () => {
    const view = datasetView();
    renderDataset(view);
    expect(screen.getByTestId("dataset-count")).toHaveTextContent("6 samples · 5 enabled");
    expect(screen.getAllByTestId("dataset-row")).toHaveLength(6);
    const r3 = rowById(3);
    expect(r3).toHaveTextContent("Question 3?");
    expect(r3).toHaveTextContent("Answer 3.");
    expect(within(r3).getByText("20%")).toHaveClass("conf--unsure");
    expect(within(rowById(1)).getByText("90%")).not.toHaveClass("conf--unsure");
  });

  it("keeps 40,000 rows virtualised: only a window of them is in the page", () => {
    const rows = Array.from({ length: 40000 }, (_, i) => row(i + 1));
    renderDataset(datasetView({ rows, count: 40000, enabled: 40000 }));
    expect(screen.getByTestId("dataset-count")).toHaveTextContent("40,000 samples · 40,000 enabled");
    const shown = screen.getAllByTestId("dataset-row").length;
    expect(shown).toBeGreaterThan(5);
    expect(shown).toBeLessThan(60);
  });

  it("disabling a row calls dataset_row_update with enabled:false and updates the count", async () => {
    const view = datasetView();
    const calls = renderDataset(view, { dataset_row_update: rowUpdater(view) });
    const box = within(rowById(1)).getByRole("checkbox", { name: "Use sample 1 in training" });
    await userEvent.click(box);
    expect(box).not.toBeChecked();
    expect(screen.getByTestId("dataset-count")).toHaveTextContent("6 samples · 4 enabled");
    await waitFor(() => expect(callsOf(calls, "dataset_row_update")).toHaveLength(1));
    expect(callsOf(calls, "dataset_row_update")[0]).toEqual({ target: { draft: 3 }, rowId: 1, patch: { enabled: false } });
    await waitFor(() => expect(screen.getByTestId("dataset-count")).toHaveTextContent("6 samples · 4 enabled"));
  });

  it("puts a row back and shows the error when the engine refuses the change", async () => {
    renderDataset(datasetView(), {
      dataset_row_update: () => {
        throw appError("The dataset is locked by another window.", "Close the other window and try again.");
      },
    });
    const box = within(rowById(1)).getByRole("checkbox");
    await userEvent.click(box);
    expect(await screen.findByTestId("error-message")).toHaveTextContent("The dataset is locked by another window.");
    expect(within(rowById(1)).getByRole("checkbox")).toBeChecked();
    expect(screen.getByTestId("dataset-count")).toHaveTextContent("6 samples · 5 enabled");
  });

  it("deletes a row: it leaves the list", async () => {
    const view = datasetView();
    const calls = renderDataset(view, { dataset_row_update: rowUpdater(view) });
    await userEvent.click(screen.getByRole("button", { name: "Delete sample 2" }));
    expect(rowIds()).not.toContain(2);
    await waitFor(() => expect(callsOf(calls, "dataset_row_update")[0]).toEqual({ target: { draft: 3 }, rowId: 2, patch: { deleted: true } }));
    await waitFor(() => expect(screen.getByTestId("dataset-count")).toHaveTextContent("5 samples · 4 enabled"));
  });

  it("edits a reply inline (double-click) and saves it", async () => {
    const view = datasetView();
    const calls = renderDataset(view, { dataset_row_update: rowUpdater(view) });
    fireEvent.doubleClick(within(rowById(1)).getByText("Answer 1."));
    const editor = screen.getByRole("textbox", { name: "Reply" });
    await userEvent.clear(editor);
    await userEvent.type(editor, "Careful now.");
    await userEvent.click(within(rowById(1)).getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(callsOf(calls, "dataset_row_update")).toEqual([{ target: { draft: 3 }, rowId: 1, patch: { output: "Careful now." } }]),
    );
    expect(rowById(1)).toHaveTextContent("Careful now.");
    expect(screen.queryByRole("textbox", { name: "Reply" })).not.toBeInTheDocument();
  });

  it("the Edit button opens the editor too, and Escape cancels without a call", async () => {
    const calls = renderDataset(datasetView());
    await userEvent.click(screen.getByRole("button", { name: "Edit the reply of sample 2" }));
    await userEvent.type(screen.getByRole("textbox", { name: "Reply" }), " more{Escape}");
    expect(screen.queryByRole("textbox", { name: "Reply" })).not.toBeInTheDocument();
    expect(callsOf(calls, "dataset_row_update")).toHaveLength(0);
  });

  it("filters: unsure first (least sure first), short, duplicates, disabled", async () => {
    renderDataset(datasetView());
    const show = (name: RegExp) => userEvent.click(screen.getByRole("button", { name }));
    await show(/^Unsure first/);
    expect(rowIds()).toEqual([3, 2]);
    await show(/^Short replies/);
    expect(rowIds()).toEqual([4]);
    await show(/^Duplicates/);
    expect(rowIds()).toEqual([5]);
    await show(/^Disabled/);
    expect(rowIds()).toEqual([6]);
    await show(/^All/);
    expect(rowIds()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("shows the health report and its one-click fixes", async () => {
    const fixed = datasetView({ enabled: 4, rows: datasetView().rows.map((r) => (r.id === 5 ? { ...r, enabled: false } : r)) });
    const calls = renderDataset(datasetView(), { dataset_fix: fixed });
    const report = screen.getByRole("region", { name: "Health report" });
    expect(report).toHaveTextContent("Kept6 of 10");
    expect(report).toHaveTextContent("Train / validation5 / 1");
    expect(report).toHaveTextContent("Dropped: duplicates2");
    expect(report).toHaveTextContent("Leakage removed3");
    expect(report).toHaveTextContent("Tokens4,567");
    await userEvent.click(within(report).getByRole("button", { name: "Disable duplicates (1)" }));
    await waitFor(() => expect(callsOf(calls, "dataset_fix")).toEqual([{ target: { draft: 3 }, fix: "duplicates" }]));
    expect(await screen.findByText("Disabled 1 duplicate sample")).toBeInTheDocument();
    expect(screen.getByTestId("dataset-count")).toHaveTextContent("6 samples · 4 enabled");
  });

  it("disables short replies with one click", async () => {
    const calls = renderDataset(datasetView(), { dataset_fix: datasetView() });
    await userEvent.click(screen.getByRole("button", { name: "Disable short replies (1)" }));
    await waitFor(() => expect(callsOf(calls, "dataset_fix")).toEqual([{ target: { draft: 3 }, fix: "short" }]));
  });

  it("saves the system prompt", async () => {
    const calls = renderDataset(datasetView(), { dataset_set_system: null });
    const box = screen.getByRole("textbox", { name: "System prompt" });
    expect(box).toHaveValue("You are Father Ted Crilly.");
    const save = screen.getByRole("button", { name: "Save prompt" });
    expect(save).toBeDisabled();
    await userEvent.type(box, " A priest on Craggy Island.");
    await userEvent.click(save);
    await waitFor(() =>
      expect(callsOf(calls, "dataset_set_system")).toEqual([
        { target: { draft: 3 }, system: "You are Father Ted Crilly. A priest on Craggy Island." },
      ]),
    );
    expect(await screen.findByText("System prompt saved")).toBeInTheDocument();
  });

  it("sets the mix-in ratio when the slider is let go", async () => {
    const calls = renderDataset(datasetView(), { dataset_set_mix: null });
    const slider = screen.getByRole("slider", { name: "General conversation mix-in" });
    expect(slider).toHaveValue("20");
    expect(slider).toHaveAttribute("max", "90");
    expect(slider).toHaveAttribute("step", "5");
    expect(screen.getByText(/keep the model able to chat normally/)).toBeInTheDocument();
    fireEvent.change(slider, { target: { value: "35" } });
    fireEvent.change(slider, { target: { value: "40" } });
    expect(callsOf(calls, "dataset_set_mix")).toHaveLength(0); // not while dragging
    fireEvent.pointerUp(slider);
    await waitFor(() => expect(callsOf(calls, "dataset_set_mix")).toEqual([{ target: { draft: 3 }, ratio: 0.4 }]));
    expect(slider).toHaveValue("40");
    expect(document.querySelector("output")).toHaveTextContent("40%");
  });

  it("exports to a chosen folder and lists the files written", async () => {
    const calls = renderDataset(datasetView(), {
      pick_folder: "/out",
      dataset_export: ["/out/ted.sharegpt.json", "/out/dataset_info.json"],
    });
    await userEvent.click(screen.getByRole("button", { name: "Export" }));
    await userEvent.click(screen.getByRole("menuitem", { name: "ShareGPT (JSON)" }));
    expect(await screen.findByText("/out/ted.sharegpt.json")).toBeInTheDocument();
    expect(screen.getByText("/out/dataset_info.json")).toBeInTheDocument();
    expect(callsOf(calls, "dataset_export")).toEqual([{ target: { draft: 3 }, format: "sharegpt", dir: "/out" }]);
  });

  it("saves a draft to the library, then shows the saved dataset", async () => {
    const saved = datasetView({ target: { dataset: 55 }, persona_id: 9 });
    const calls = renderDataset(datasetView(), {
      dataset_save: { persona: 9, dataset: 55 },
      dataset_open: saved,
    });
    const name = screen.getByRole("textbox", { name: "Persona name" });
    expect(name).toHaveValue("TED");
    await userEvent.clear(name);
    await userEvent.type(name, "Father Ted");
    await userEvent.click(screen.getByTestId("dataset-save"));
    expect(await screen.findByText("Saved to the library")).toBeInTheDocument();
    expect(callsOf(calls, "dataset_save")).toEqual([{ draftId: 3, name: "Father Ted" }]);
    expect(callsOf(calls, "dataset_open")).toEqual([{ datasetId: 55 }]);
    expect(screen.getByTestId("dataset-save")).toHaveTextContent("Saved");
    expect(screen.queryByRole("textbox", { name: "Persona name" })).not.toBeInTheDocument();
  });

  it("a saved dataset's button says Saved and goes back to the library", async () => {
    const calls = renderDataset(datasetView({ target: { dataset: 55 } }));
    const button = screen.getByTestId("dataset-save");
    expect(button).toHaveTextContent("Saved");
    await userEvent.click(button);
    expect(await screen.findByText("No personas yet")).toBeInTheDocument();
    expect(callsOf(calls, "dataset_save")).toHaveLength(0);
  });

  it("shows a failed save and stays on the draft", async () => {
    renderDataset(datasetView(), {
      dataset_save: () => {
        throw appError("A persona called TED already exists.", "Choose another name.");
      },
    });
    await userEvent.click(screen.getByTestId("dataset-save"));
    expect(await screen.findByTestId("error-message")).toHaveTextContent("Choose another name.");
    expect(screen.getByTestId("dataset-save")).toHaveTextContent("Save to library");
  });
});

describe("dataset model", () => {
  it("applies, confirms and reverts a patch", () => {
    const v = datasetView();
    const off = applyPatch(v, 1, { enabled: false });
    expect(off.enabled).toBe(4);
    expect(off.rows[0].enabled).toBe(false);
    expect(revertPatch(off, v.rows[0], { enabled: false })).toMatchObject({ enabled: 5 });
    const gone = applyPatch(v, 2, { deleted: true });
    expect(gone.count).toBe(5);
    expect(gone.rows.map((r) => r.id)).not.toContain(2);
    expect(revertPatch(gone, v.rows[1], { deleted: true }).rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
    const confirmed = applyChange(off, 1, { row: { ...v.rows[0], enabled: false }, count: 6, enabled: 4 });
    expect(confirmed.enabled).toBe(4);
  });

  it("sorts unsure rows by confidence, lowest first", () => {
    const rows = [row(1, { flags: ["unsure"], confidence: 0.6 }), row(2), row(3, { flags: ["unsure"], confidence: 0.1 })];
    expect(filterRows(rows, "unsure").map((r) => r.id)).toEqual([3, 1]);
  });
});
