import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { card, datasetView } from "../../test/fixtures";
import { appError, callsOf, mockEngine } from "../../test/ipc";

const now = Math.floor(Date.now() / 1000);

describe("Library", () => {
  it("starts the app on the library and lists a card per persona", async () => {
    mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: [
        card({ id: 1, name: "Mags", character: "MAGS", source_title: "Father Ted", adapters: 0, last_chat: null }),
        card({
          id: 2,
          name: "Zhen Huan",
          character: "甄嬛",
          source_title: "后宫·甄嬛传",
          dataset_rows: 40000,
          enabled_rows: 39000,
          adapters: 2,
          last_chat: now - 3 * 86400,
        }),
      ],
    });
    render(<App />);
    const cards = await screen.findAllByTestId("persona-card");
    expect(cards).toHaveLength(2);
    const zhen = cards.find((c) => c.textContent?.includes("Zhen Huan"))!;
    expect(zhen).toHaveTextContent("甄嬛");
    expect(zhen).toHaveTextContent("后宫·甄嬛传");
    expect(zhen).toHaveTextContent("39,000 / 40,000 rows");
    expect(zhen).toHaveTextContent("Adapter trained");
    expect(zhen).toHaveTextContent("3 days ago");
    expect(zhen.querySelector("img")).toHaveAttribute("src", "data:image/png;base64,iVBORw0KGgo=");
    const mags = cards.find((c) => c.textContent?.includes("Mags"))!;
    expect(mags).toHaveTextContent("1,200 / 1,234 rows");
    expect(mags).toHaveTextContent("No adapter yet");
    expect(mags).toHaveTextContent("No chats yet");
    // Most recently used first.
    expect(cards[0]).toHaveTextContent("Zhen Huan");
  });

  it("shows what to do when the library is empty, and the button goes to Import", async () => {
    mockEngine({ jobs_list: [], runs_interrupted: [], library_list: [] });
    render(<App />);
    const button = await screen.findByRole("button", { name: "New persona from a book or script" });
    expect(screen.getByText("No personas yet")).toBeInTheDocument();
    await userEvent.click(button);
    expect(screen.getByTestId("import-path")).toBeInTheDocument();
  });

  it("shows the deletion plan and deletes only after confirming", async () => {
    let list = [card({ id: 7, name: "Mags" })];
    const calls = mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: () => list,
      persona_delete_plan: {
        persona: "Mags",
        datasets: [10],
        conversations: [1, 2, 3],
        adapters: [4],
        files: ["/data/adapters/mags-1"],
        kept_files: ["/books/father-ted.txt"],
      },
      persona_delete: (args: Record<string, unknown>) => {
        list = [];
        return { persona: "Mags", datasets: [], conversations: [], adapters: [], files: [], kept_files: [], args };
      },
    });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByRole("button", { name: "Delete Mags" }));

    const dialog = await screen.findByRole("dialog", { name: "Delete Mags?" });
    expect(callsOf(calls, "persona_delete_plan")).toEqual([{ id: 7 }]);
    expect(dialog).toHaveTextContent("1 dataset");
    expect(dialog).toHaveTextContent("3 conversations");
    expect(dialog).toHaveTextContent("1 trained adapter");
    expect(dialog).toHaveTextContent("/data/adapters/mags-1");
    expect(within(dialog).getByText("What stays")).toBeInTheDocument();
    expect(dialog).toHaveTextContent("/books/father-ted.txt");
    expect(callsOf(calls, "persona_delete")).toHaveLength(0);

    await userEvent.click(within(dialog).getByRole("button", { name: "Delete for good" }));
    await waitFor(() => expect(screen.queryByTestId("persona-card")).not.toBeInTheDocument());
    expect(callsOf(calls, "persona_delete")).toEqual([{ id: 7 }]);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByText("Deleted Mags")).toBeInTheDocument();
  });

  it("cancelling the dialog deletes nothing (Escape closes it)", async () => {
    const calls = mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: [card({ id: 7 })],
      persona_delete_plan: { persona: "Mags", datasets: [], conversations: [], adapters: [], files: [], kept_files: [] },
    });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByRole("button", { name: "Delete Mags" }));
    await screen.findByRole("dialog");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(callsOf(calls, "persona_delete")).toHaveLength(0);
    expect(screen.getByTestId("persona-card")).toBeInTheDocument();
  });

  it("exports a pack to the chosen path", async () => {
    const calls = mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: [card({ id: 7, name: "Mags" })],
      pick_save_path: "/home/me/Mags.zip",
      persona_export: "/home/me/Mags.zip",
    });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByRole("button", { name: "Export pack" }));
    await screen.findByText("Exported Mags to /home/me/Mags.zip");
    expect(callsOf(calls, "pick_save_path")).toEqual([{ defaultName: "Mags.zip" }]);
    expect(callsOf(calls, "persona_export")).toEqual([{ id: 7, path: "/home/me/Mags.zip" }]);
  });

  it("does not export when the save dialog is cancelled", async () => {
    const calls = mockEngine({ jobs_list: [], runs_interrupted: [], library_list: [card()], pick_save_path: null });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByRole("button", { name: "Export pack" }));
    await waitFor(() => expect(callsOf(calls, "pick_save_path")).toHaveLength(1));
    expect(callsOf(calls, "persona_export")).toHaveLength(0);
  });

  it("imports a pack or card and refreshes the list", async () => {
    let list = [card({ id: 1 })];
    const calls = mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: () => list,
      pick_files: ["/home/me/Ted.zip"],
      persona_import: () => {
        list = [...list, card({ id: 2, name: "Ted" })];
        return 2;
      },
    });
    render(<App />);
    await screen.findByTestId("persona-card");
    await userEvent.click(screen.getByRole("button", { name: "Import pack or card" }));
    await waitFor(() => expect(screen.getAllByTestId("persona-card")).toHaveLength(2));
    expect(callsOf(calls, "pick_files")).toEqual([{ multiple: false }]);
    expect(callsOf(calls, "persona_import")).toEqual([{ path: "/home/me/Ted.zip" }]);
  });

  it("opens a persona's dataset", async () => {
    const calls = mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: [card({ id: 1, dataset_id: 10 })],
      dataset_open: datasetView({ target: { dataset: 10 } }),
    });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByRole("button", { name: "Open" }));
    expect(await screen.findByTestId("dataset-count")).toHaveTextContent("6 samples · 5 enabled");
    expect(callsOf(calls, "dataset_open")).toEqual([{ datasetId: 10 }]);
  });

  it("shows an error with a hint, which can be dismissed, without breaking the screen", async () => {
    mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: () => {
        throw appError("The library could not be opened.", "Check that the data folder is writable.", "io");
      },
    });
    render(<App />);
    const err = await screen.findByTestId("error-message");
    expect(err).toHaveTextContent("The library could not be opened.");
    expect(err).toHaveTextContent("Check that the data folder is writable.");
    // The screen still works: the empty state and the toolbar are there.
    expect(screen.getByRole("button", { name: "Import pack or card" })).toBeEnabled();
    await userEvent.click(within(err).getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByTestId("error-message")).not.toBeInTheDocument();
  });

  it("navigates with the sidebar and marks the current item", async () => {
    mockEngine({ jobs_list: [], runs_interrupted: [], library_list: [], app_info: { version: "0.3.0", data_dir: "/d", library_path: "/d/l.db" } });
    render(<App />);
    const nav = screen.getByRole("navigation");
    expect(within(nav).getByRole("button", { name: "Library" })).toHaveAttribute("aria-current", "page");
    await userEvent.click(within(nav).getByRole("button", { name: "Settings" }));
    expect(within(nav).getByRole("button", { name: "Settings" })).toHaveAttribute("aria-current", "page");
    expect(await screen.findByText("Dramatis 0.3.0")).toBeInTheDocument();
  });

  it("each card opens the persona's training and chat", async () => {
    mockEngine({
      jobs_list: [],
      runs_interrupted: [],
      library_list: [card({ id: 7, name: "Mags", dataset_id: 10 }), card({ id: 8, name: "Ted", dataset_id: null, created_at: 1 })],
      train_page: (args: Record<string, unknown>) => ({
        persona: args.persona,
        name: "Mags",
        dataset_id: 10,
        samples: 1200,
        presets: [],
        runs: [],
        adapters: [],
        last_model: null,
      }),
      models_list: [],
    });
    render(<App />);
    const cards = await screen.findAllByTestId("persona-card");
    expect(cards).toHaveLength(2);
    const ted = screen.getByRole("article", { name: "Ted" });
    // No dataset: nothing to train on.
    expect(within(ted).getByTestId("persona-train")).toBeDisabled();
    expect(within(ted).getByTestId("persona-chat")).toBeEnabled();
    const mags = screen.getByRole("article", { name: "Mags" });
    await userEvent.click(within(mags).getByRole("button", { name: "Train Mags" }));
    expect(await screen.findByRole("heading", { name: "Train Mags" })).toBeInTheDocument();
    expect(screen.getByTestId("nav-library")).toHaveAttribute("aria-current", "page");
  });

  it("the chat button leaves the library for the persona's chat", async () => {
    const calls = mockEngine({ jobs_list: [], runs_interrupted: [], library_list: [card({ id: 7, name: "Mags" })] });
    render(<App />);
    const c = await screen.findByTestId("persona-card");
    await userEvent.click(within(c).getByTestId("persona-chat"));
    await waitFor(() => expect(screen.queryByTestId("persona-card")).not.toBeInTheDocument());
    // The chat belongs to the library in the sidebar; the training screen is not shown.
    expect(screen.getByTestId("nav-library")).toHaveAttribute("aria-current", "page");
    expect(screen.queryByTestId("train-start")).not.toBeInTheDocument();
    expect(callsOf(calls, "train_page")).toHaveLength(0);
  });

  it("offers to resume training that was interrupted", async () => {
    mockEngine({
      jobs_list: [],
      library_list: [card({ id: 7, name: "Mags" })],
      runs_interrupted: [{ persona: 7, persona_name: "Mags", run: { id: 3 } }],
      train_page: {
        persona: 7,
        name: "Mags",
        dataset_id: 10,
        samples: 10,
        presets: [],
        runs: [],
        adapters: [],
        last_model: null,
      },
      models_list: [],
    });
    render(<App />);
    const banner = await screen.findByTestId("library-interrupted");
    expect(banner).toHaveTextContent("Training of Mags was interrupted.");
    await userEvent.click(within(banner).getByRole("button", { name: "Resume" }));
    expect(await screen.findByRole("heading", { name: "Train Mags" })).toBeInTheDocument();
  });

  it("works without the interrupted-runs banner when that list cannot be read", async () => {
    mockEngine({ jobs_list: [], library_list: [card()] });
    render(<App />);
    expect(await screen.findByTestId("persona-card")).toBeInTheDocument();
    expect(screen.queryByTestId("library-interrupted")).not.toBeInTheDocument();
    expect(screen.queryByTestId("error-message")).not.toBeInTheDocument();
  });
});
