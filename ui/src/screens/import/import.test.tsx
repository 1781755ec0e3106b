import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { describe, expect, it } from "vitest";
import type { DraftView } from "../../api";
import { App } from "../../App";
import { draft } from "../../test/fixtures";
import { appError, callsOf, mockEngine, send } from "../../test/ipc";

/** An engine whose import_start keeps the channel, to send job messages through it later. */
function importEngine(extra: Record<string, unknown> = {}) {
  const channels: unknown[] = [];
  const calls = mockEngine({
    jobs_list: [],
    library_list: [],
    import_start: (args: Record<string, unknown>) => {
      channels.push(args.onEvent);
      return 42;
    },
    job_cancel: null,
    ...extra,
  });
  return { calls, channels };
}

async function openImport() {
  render(<App />);
  await userEvent.click(within(screen.getByRole("navigation")).getByRole("button", { name: "New persona" }));
  return screen.getByTestId("import-path");
}

describe("Import", () => {
  it("imports the pasted paths as one source, shows progress, then what was found", async () => {
    const { calls, channels } = importEngine();
    const input = await openImport();
    fireEvent.change(input, { target: { value: "/books/ep1.srt\n/books/ep2.srt ; /books/extras" } });
    await userEvent.click(screen.getByTestId("import-submit"));

    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(1));
    expect(callsOf(calls, "import_start")[0].paths).toEqual(["/books/ep1.srt", "/books/ep2.srt", "/books/extras"]);
    // While running: a progress bar and a cancel button.
    act(() =>
      send(channels[0], {
        type: "event",
        event: { event: "progress", stage: "import", done: 1, total: 2, unit: "files", message: "ep1.srt" },
      }),
    );
    const bar = screen.getByRole("progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "1");
    expect(bar).toHaveAttribute("aria-valuemax", "2");
    expect(screen.getByText(/Reading the files · ep1\.srt · 1 of 2 files/)).toBeInTheDocument();
    expect(screen.queryByTestId("import-status")).not.toBeInTheDocument();

    act(() => send<DraftView>(channels[0], { type: "done", result: draft() }));
    const status = await screen.findByTestId("import-status");
    expect(status).toHaveTextContent("txt · UTF-8 · 1.2 MB · script layout · 3,974 lines · 4 characters");
    expect(status).toHaveTextContent("Speaker found for 3,900 of 3,974 lines · 12 unsure");
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    expect(sessionStorage.getItem("dramatis.draft")).toBe("3");
    expect(sessionStorage.getItem("dramatis.importJob")).toBeNull();

    // On to the cast.
    await userEvent.click(screen.getByRole("button", { name: "Review the cast" }));
    expect(await screen.findAllByTestId("cast-row")).toHaveLength(4);
  });

  it("lists each file when several were imported together", async () => {
    const { channels } = importEngine();
    const input = await openImport();
    fireEvent.change(input, { target: { value: "/a.srt;/b.srt" } });
    await userEvent.click(screen.getByTestId("import-submit"));
    await waitFor(() => expect(channels).toHaveLength(1));
    const files = [
      { ...draft().files[0], file: "/a.srt", format: "srt", bytes: 2048 },
      { ...draft().files[0], file: "/b.srt", format: "srt", encoding: "GB18030", bytes: 4096 },
    ];
    act(() => send<DraftView>(channels[0], { type: "done", result: draft({ files, layout: "subtitles" }) }));
    const status = await screen.findByTestId("import-status");
    expect(status).toHaveTextContent("a.srt srt · UTF-8 · 2.0 KB");
    expect(status).toHaveTextContent("b.srt srt · GB18030 · 4.1 KB");
    expect(status).toHaveTextContent("2 files · 6.1 KB · subtitles · 3,974 lines · 4 characters");
  });

  it("shows the failure with what to do, and stays usable", async () => {
    const { calls, channels } = importEngine();
    const input = await openImport();
    fireEvent.change(input, { target: { value: "/books/broken.epub" } });
    await userEvent.click(screen.getByTestId("import-submit"));
    await waitFor(() => expect(channels).toHaveLength(1));
    act(() =>
      send(channels[0], {
        type: "failed",
        error: appError("broken.epub is not a valid EPUB file.", "Open it in an e-book reader, or convert it to text."),
      }),
    );
    const err = await screen.findByTestId("error-message");
    expect(err).toHaveTextContent("broken.epub is not a valid EPUB file.");
    expect(err).toHaveTextContent("What to do: Open it in an e-book reader, or convert it to text.");
    // Usable: another import can start.
    expect(screen.getByTestId("import-submit")).toBeEnabled();
    fireEvent.change(input, { target: { value: "/books/good.txt" } });
    await userEvent.click(screen.getByTestId("import-submit"));
    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(2));
    expect(screen.queryByTestId("error-message")).not.toBeInTheDocument();
  });

  it("shows an error when the engine refuses to start", async () => {
    importEngine({
      import_start: () => {
        throw appError("No such file: /nope.txt", "Check the path.", "not_found");
      },
    });
    const input = await openImport();
    await userEvent.type(input, "/nope.txt{Enter}");
    expect(await screen.findByTestId("error-message")).toHaveTextContent("No such file: /nope.txt");
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
  });

  it("asks for a path when the box is empty", async () => {
    const { calls } = importEngine();
    await openImport();
    await userEvent.click(screen.getByTestId("import-submit"));
    expect(await screen.findByTestId("error-message")).toHaveTextContent("There is no path to import.");
    expect(callsOf(calls, "import_start")).toHaveLength(0);
  });

  it("cancels a running import", async () => {
    const { calls, channels } = importEngine();
    const input = await openImport();
    fireEvent.change(input, { target: { value: "/books/big.txt" } });
    await userEvent.click(screen.getByTestId("import-submit"));
    const cancel = await screen.findByRole("button", { name: "Cancel" });
    await waitFor(() => expect(cancel).toBeEnabled());
    expect(sessionStorage.getItem("dramatis.importJob")).toBe("42");
    await userEvent.click(cancel);
    expect(callsOf(calls, "job_cancel")).toEqual([{ id: 42 }]);
    act(() => send(channels[0], { type: "cancelled" }));
    expect(await screen.findByText("Import cancelled. Nothing was kept.")).toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
  });

  it("imports chosen files", async () => {
    const { calls } = importEngine({ pick_files: ["/x/one.txt", "/x/two.txt"] });
    await openImport();
    await userEvent.click(screen.getByRole("button", { name: "Choose files…" }));
    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(1));
    expect(callsOf(calls, "pick_files")).toEqual([{ multiple: true }]);
    expect(callsOf(calls, "import_start")[0].paths).toEqual(["/x/one.txt", "/x/two.txt"]);
  });

  it("shows the overlay while files are held over the window, and imports them on drop from any screen", async () => {
    const { calls } = importEngine();
    render(<App />);
    await screen.findByText("No personas yet"); // on the Library
    // The listeners are registered asynchronously: hover until the overlay shows.
    await waitFor(async () => {
      await act(() => emit("tauri://drag-enter", { paths: ["/books/a.txt"], position: { x: 1, y: 1 } }));
      expect(screen.getByText("Drop to import")).toBeInTheDocument();
    });
    await act(() => emit("tauri://drag-drop", { paths: ["/books/a.txt", "/books/b.txt"], position: { x: 1, y: 1 } }));
    expect(screen.queryByText("Drop to import")).not.toBeInTheDocument();
    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(1));
    expect(callsOf(calls, "import_start")[0].paths).toEqual(["/books/a.txt", "/books/b.txt"]);
    expect(screen.getByTestId("import-path")).toBeInTheDocument(); // now on Import
  });

  it("re-attaches to a running import after a reload", async () => {
    sessionStorage.setItem("dramatis.importJob", "9");
    const channels: unknown[] = [];
    const calls = mockEngine({
      library_list: [],
      jobs_list: [
        {
          id: 9,
          kind: "import",
          label: "novel.txt",
          state: "running",
          last_event: { event: "progress", stage: "extract", done: 10, total: 100, unit: "lines", message: "" },
        },
      ],
      job_attach: (args: Record<string, unknown>) => {
        channels.push(args.onEvent);
        return null;
      },
    });
    render(<App />);
    // The app goes to the import it found, with its last progress.
    const bar = await screen.findByRole("progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "10");
    expect(screen.getByText("Importing novel.txt")).toBeInTheDocument();
    await waitFor(() => expect(callsOf(calls, "job_attach")).toHaveLength(1));
    expect(callsOf(calls, "job_attach")[0].id).toBe(9);
    act(() => send<DraftView>(channels[0], { type: "done", result: draft() }));
    expect(await screen.findByTestId("import-status")).toHaveTextContent("3,974 lines");
  });

  it("brings back the draft after a reload", async () => {
    sessionStorage.setItem("dramatis.draft", "3");
    const calls = mockEngine({ library_list: [], jobs_list: [], draft_get: draft() });
    render(<App />);
    await waitFor(() => expect(callsOf(calls, "draft_get")).toEqual([{ draftId: 3 }]));
    await userEvent.click(within(screen.getByRole("navigation")).getByRole("button", { name: "New persona" }));
    expect(await screen.findByTestId("import-status")).toHaveTextContent("3,974 lines");
  });
});
