import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { appError, mockEngine } from "../../test/ipc";

const info = { version: "0.3.0", data_dir: "/home/me/.local/share/dramatis", library_path: "/home/me/.local/share/dramatis/library.db" };

function renderSettings(handlers: Record<string, unknown> = { app_info: info }) {
  mockEngine({ jobs_list: [], library_list: [], ...handlers });
  render(<App initialRoute={{ name: "settings" }} />);
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
});
