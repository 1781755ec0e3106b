import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { appError, callsOf, mockEngine } from "../../test/ipc";

const info = { version: "0.3.0", data_dir: "/home/me/.local/share/dramatis", library_path: "/home/me/.local/share/dramatis/library.db" };

function renderSettings(handlers: Record<string, unknown> = { app_info: info }) {
  const calls = mockEngine({ jobs_list: [], library_list: [], update_prefs: { check: false }, ...handlers });
  render(<App initialRoute={{ name: "settings" }} />);
  return calls;
}

describe("Settings", () => {
  it("shows the data folder, the library file and the version", async () => {
    renderSettings();
    expect(await screen.findByTestId("settings-data-dir")).toHaveTextContent("/home/me/.local/share/dramatis");
    expect(screen.getByTestId("settings-library")).toHaveTextContent("/home/me/.local/share/dramatis/library.db");
    expect(screen.getByTestId("settings-version")).toHaveTextContent("Dramatis 0.3.0");
    expect(screen.getByTestId("settings-data-dir")).toHaveClass("selectable");
  });

  it("switches the language to Chinese and remembers it", async () => {
    renderSettings();
    const select = screen.getByRole("combobox", { name: /Language/ });
    expect(select).toHaveValue("system");
    await userEvent.selectOptions(select, "zh");
    const nav = screen.getByRole("navigation");
    expect(within(nav).getByRole("button", { name: "角色库" })).toBeInTheDocument();
    expect(within(nav).getByRole("button", { name: "设置" })).toHaveAttribute("aria-current", "page");
    expect(localStorage.getItem("dramatis.lang")).toBe("zh");
    expect(document.documentElement.lang).toBe("zh-CN");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: /语言/ }), "system");
    expect(within(nav).getByRole("button", { name: "Library" })).toBeInTheDocument();
  });

  it("overrides the theme and goes back to the system's", async () => {
    renderSettings();
    const select = screen.getByRole("combobox", { name: /Appearance/ });
    await userEvent.selectOptions(select, "dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(localStorage.getItem("dramatis.theme")).toBe("dark");
    await userEvent.selectOptions(select, "light");
    expect(document.documentElement.dataset.theme).toBe("light");
    await userEvent.selectOptions(select, "system");
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it("shows an error if the app info cannot be read, and the rest still works", async () => {
    renderSettings({
      app_info: () => {
        throw appError("The data folder is missing.", "Restart Dramatis to create it again.", "io");
      },
    });
    expect(await screen.findByTestId("error-message")).toHaveTextContent("The data folder is missing.");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: /Appearance/ }), "dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  it("checks for new versions only after the user turns it on", async () => {
    let prefs = { check: false };
    const calls = renderSettings({
      app_info: info,
      update_prefs: () => prefs,
      update_set_prefs: (a: Record<string, unknown>) => {
        prefs = a.prefs as { check: boolean };
        return null;
      },
      // The engine answers null (and makes no call) while the check is off.
      update_check: () =>
        prefs.check ? { current: "0.3.0", latest: "v0.4.0", newer: true, url: "https://example.org/r" } : null,
    });
    const box = await screen.findByTestId("settings-updates");
    await screen.findByTestId("settings-version");
    expect(box).not.toBeChecked();
    expect(screen.queryByRole("button", { name: "Check now" })).not.toBeInTheDocument();
    await waitFor(() => expect(callsOf(calls, "update_check")).toHaveLength(1));
    expect(screen.queryByTestId("update-available")).not.toBeInTheDocument();
    await userEvent.click(box);
    expect(callsOf(calls, "update_set_prefs")).toEqual([{ prefs: { check: true } }]);
    expect(box).toBeChecked();
    await userEvent.click(screen.getByRole("button", { name: "Check now" }));
    expect(await screen.findByTestId("settings-update-result")).toHaveTextContent("Dramatis v0.4.0 is available");
  });
});
