import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { DraftView } from "../../api";
import { App } from "../../App";
import { castGroup, datasetView, draft } from "../../test/fixtures";
import { appError, callsOf, mockEngine } from "../../test/ipc";
import { matchesQuery, sortCast } from "./CastScreen";

/** The app on the Cast screen with `d` as the current draft (restored as after a reload). */
async function renderCast(d: DraftView, handlers: Record<string, unknown> = {}) {
  sessionStorage.setItem("dramatis.draft", String(d.id));
  const calls = mockEngine({ jobs_list: [], library_list: [], draft_get: d, ...handlers });
  render(<App initialRoute={{ name: "cast" }} />);
  await screen.findAllByTestId("cast-row");
  return calls;
}

function rowOf(name: string): HTMLElement {
  const row = screen.getAllByTestId("cast-row").find((r) => within(r).queryByText(name, { exact: true }));
  if (!row) throw new Error(`no row for ${name}`);
  return row;
}

const names = () => screen.getAllByTestId("cast-row").map((r) => r.querySelector(".cast-row__name")?.textContent);

describe("Cast", () => {
  it("lists characters by lines with aliases, counts and the sample line", async () => {
    const d = draft({
      cast: [castGroup("JACK", 120), castGroup("TED", 1500, { aliases: ["Father Ted"], sample: "Down with this sort of thing." }), castGroup("DOUGAL", 900)],
    });
    await renderCast(d);
    expect(names()).toEqual(["TED", "DOUGAL", "JACK"]);
    const ted = rowOf("TED");
    expect(ted).toHaveTextContent("1,500 lines");
    expect(within(ted).getByText("Father Ted")).toBeInTheDocument();
    const sample = within(ted).getByText(/Down with this sort of thing/);
    expect(sample).toHaveAttribute("title", "Down with this sort of thing.");
    expect(screen.getByRole("heading", { name: "Father Ted" })).toBeInTheDocument();
    expect(screen.getByText(/3 characters · 3,974 lines · 3,900 attributed/)).toBeInTheDocument();
  });

  it("filters with the search box, by name or alias", async () => {
    await renderCast(draft());
    await userEvent.type(screen.getByPlaceholderText("Search names and aliases"), "crilly");
    expect(names()).toEqual(["TED"]);
    await userEvent.clear(screen.getByPlaceholderText("Search names and aliases"));
    await userEvent.type(screen.getByPlaceholderText("Search names and aliases"), "zzz");
    expect(screen.queryAllByTestId("cast-row")).toHaveLength(0);
    expect(screen.getByText("No character matches “zzz”.")).toBeInTheDocument();
  });

  it("merges the ticked characters, keeping the name with most lines unless another is chosen", async () => {
    const merged = draft({ cast: [castGroup("TED", 1900), castGroup("DOUGAL", 900), castGroup("JACK", 120)] });
    const calls = await renderCast(draft(), { cast_merge: merged });
    await userEvent.click(within(rowOf("JACK")).getByRole("checkbox"));
    await userEvent.click(within(rowOf("MRS DOYLE")).getByRole("checkbox"));
    const keep = screen.getByRole("combobox", { name: "Keep the name" });
    expect(keep).toHaveValue("MRS DOYLE"); // most lines of the two
    await userEvent.click(screen.getByRole("button", { name: "Merge" }));
    await waitFor(() => expect(callsOf(calls, "cast_merge")).toHaveLength(1));
    expect(callsOf(calls, "cast_merge")[0]).toEqual({ draftId: 3, names: ["MRS DOYLE", "JACK"], into: "MRS DOYLE" });
    await waitFor(() => expect(names()).toEqual(["TED", "DOUGAL", "JACK"]));
  });

  it("keeps the chosen name when merging", async () => {
    const calls = await renderCast(draft(), { cast_merge: draft() });
    await userEvent.click(within(rowOf("TED")).getByRole("checkbox"));
    await userEvent.click(within(rowOf("DOUGAL")).getByRole("checkbox"));
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Keep the name" }), "DOUGAL");
    await userEvent.click(screen.getByRole("button", { name: "Merge" }));
    await waitFor(() => expect(callsOf(calls, "cast_merge")).toHaveLength(1));
    expect(callsOf(calls, "cast_merge")[0]).toEqual({ draftId: 3, names: ["TED", "DOUGAL"], into: "DOUGAL" });
  });

  it("merges a row dragged onto another into the target", async () => {
    const calls = await renderCast(draft(), { cast_merge: draft() });
    const source = rowOf("JACK");
    const target = rowOf("DOUGAL");
    fireEvent.dragStart(source);
    fireEvent.dragOver(target);
    expect(target).toHaveClass("cast-row--drop");
    fireEvent.drop(target);
    await waitFor(() => expect(callsOf(calls, "cast_merge")).toHaveLength(1));
    expect(callsOf(calls, "cast_merge")[0]).toEqual({ draftId: 3, names: ["JACK", "DOUGAL"], into: "DOUGAL" });
  });

  it("renames inline", async () => {
    const renamed = draft({ cast: [castGroup("Ted Crilly", 1500), castGroup("DOUGAL", 900)] });
    const calls = await renderCast(draft(), { cast_rename: renamed });
    await userEvent.click(screen.getByRole("button", { name: "Rename TED" }));
    const field = screen.getByRole("textbox", { name: "New name for TED" });
    await userEvent.clear(field);
    await userEvent.type(field, "Ted Crilly{Enter}");
    await waitFor(() => expect(callsOf(calls, "cast_rename")).toEqual([{ draftId: 3, name: "TED", newName: "Ted Crilly" }]));
    await waitFor(() => expect(names()).toEqual(["Ted Crilly", "DOUGAL"]));
  });

  it("Escape cancels a rename without calling the engine", async () => {
    const calls = await renderCast(draft());
    await userEvent.click(screen.getByRole("button", { name: "Rename TED" }));
    await userEvent.type(screen.getByRole("textbox", { name: "New name for TED" }), "X{Escape}");
    expect(screen.queryByRole("textbox", { name: "New name for TED" })).not.toBeInTheDocument();
    expect(callsOf(calls, "cast_rename")).toHaveLength(0);
  });

  it("splits an alias off into its own character", async () => {
    const calls = await renderCast(draft(), { cast_split: draft() });
    await userEvent.click(screen.getByRole("button", { name: "Split Ted Crilly off TED" }));
    await waitFor(() => expect(callsOf(calls, "cast_split")).toEqual([{ draftId: 3, name: "TED", alias: "Ted Crilly" }]));
  });

  it("asks who “I” is in a first-person novel", async () => {
    const d = draft({
      layout: "novel",
      first_person: true,
      cast: [castGroup("Narrator", 800, { narrator: true }), castGroup("Jane", 500), castGroup("Rochester", 300)],
    });
    const calls = await renderCast(d, { cast_set_narrator: { ...d, first_person: false } });
    expect(screen.getByText("This novel is told in the first person. Who is “I”?")).toBeInTheDocument();
    const select = screen.getByRole("combobox", { name: "The narrator is" });
    expect(within(select).queryByRole("option", { name: "Narrator" })).not.toBeInTheDocument();
    await userEvent.selectOptions(select, "Jane");
    await userEvent.click(screen.getByRole("button", { name: "This is “I”" }));
    await waitFor(() => expect(callsOf(calls, "cast_set_narrator")).toEqual([{ draftId: 3, name: "Jane" }]));
    await waitFor(() => expect(screen.queryByText(/Who is “I”/)).not.toBeInTheDocument());
  });

  it("can leave the narrator as Narrator", async () => {
    const d = draft({ first_person: true, cast: [castGroup("Narrator", 800, { narrator: true }), castGroup("Jane", 500)] });
    const calls = await renderCast(d, { cast_set_narrator: d });
    await userEvent.click(screen.getByRole("button", { name: "Leave as Narrator" }));
    await waitFor(() => expect(callsOf(calls, "cast_set_narrator")).toEqual([{ draftId: 3, name: null }]));
  });

  it("makes a persona of a character: builds its dataset and opens it", async () => {
    const calls = await renderCast(draft(), { dataset_preview: datasetView({ character: "DOUGAL" }) });
    await userEvent.click(within(rowOf("DOUGAL")).getByTestId("cast-pick"));
    expect(await screen.findByTestId("dataset-count")).toBeInTheDocument();
    expect(callsOf(calls, "dataset_preview")).toEqual([{ draftId: 3, character: "DOUGAL" }]);
    expect(screen.getByRole("heading", { name: "DOUGAL" })).toBeInTheDocument();
  });

  it("shows a failed merge as an error and keeps the list", async () => {
    await renderCast(draft(), {
      cast_merge: () => {
        throw appError("TED is not in the cast any more.", "Reload the cast and try again.");
      },
    });
    await userEvent.click(within(rowOf("TED")).getByRole("checkbox"));
    await userEvent.click(within(rowOf("JACK")).getByRole("checkbox"));
    await userEvent.click(screen.getByRole("button", { name: "Merge" }));
    expect(await screen.findByTestId("error-message")).toHaveTextContent("TED is not in the cast any more.");
    expect(screen.getAllByTestId("cast-row")).toHaveLength(4);
  });

  it("without a draft, says to import first", async () => {
    mockEngine({ jobs_list: [], library_list: [] });
    render(<App initialRoute={{ name: "cast" }} />);
    await userEvent.click(await screen.findByRole("button", { name: "Import a book or script" }));
    expect(screen.getByTestId("import-path")).toBeInTheDocument();
  });

  it("sorts and matches as documented", () => {
    const cast = [castGroup("b", 1), castGroup("a", 1), castGroup("c", 5, { aliases: ["Cee"] })];
    expect(sortCast(cast).map((c) => c.name)).toEqual(["c", "a", "b"]);
    expect(matchesQuery(cast[2], "cee")).toBe(true);
    expect(matchesQuery(cast[0], "cee")).toBe(false);
  });
});
