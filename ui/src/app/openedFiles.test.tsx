import { render, screen, waitFor } from "@testing-library/react";
import { emit } from "@tauri-apps/api/event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { callsOf, mockEngine } from "../test/ipc";

function engine(opened: string[]) {
  return mockEngine({
    jobs_list: [],
    library_list: [],
    runs_interrupted: [],
    opened_files: opened,
    import_start: 7,
  });
}

describe("Files opened with Dramatis", () => {
  it("go to the import screen and are imported as one source", async () => {
    const calls = engine(["/books/pilot.fountain"]);
    render(<App />);
    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(1));
    expect(callsOf(calls, "import_start")[0].paths).toEqual(["/books/pilot.fountain"]);
    expect(await screen.findByTestId("import-path")).toBeInTheDocument();
  });

  it("start nothing when the app was opened without files", async () => {
    const calls = engine([]);
    render(<App />);
    await waitFor(() => expect(callsOf(calls, "opened_files")).toHaveLength(1));
    expect(callsOf(calls, "import_start")).toHaveLength(0);
    expect(screen.queryByTestId("import-path")).not.toBeInTheDocument();
  });

  it("also while the app runs (the files-opened event)", async () => {
    const calls = engine([]);
    render(<App />);
    await waitFor(() => expect(callsOf(calls, "opened_files")).toHaveLength(1));
    await emit("files-opened", ["/books/novel.epub"]);
    await waitFor(() => expect(callsOf(calls, "import_start")).toHaveLength(1));
    expect(callsOf(calls, "import_start")[0].paths).toEqual(["/books/novel.epub"]);
  });
});
