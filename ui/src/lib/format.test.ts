import { describe, expect, it } from "vitest";
import { deviceLabel, formatBytes, formatRelative, splitPaths } from "./format";

describe("format", () => {
  it("splits pasted paths on new lines and ';'", () => {
    expect(splitPaths(' /a/b.txt \n\n"/c d/e.epub";/f\r\n')).toEqual(["/a/b.txt", "/c d/e.epub", "/f"]);
    expect(splitPaths("  ")).toEqual([]);
  });

  it("names devices", () => {
    expect(deviceLabel("cpu")).toBe("CPU");
    expect(deviceLabel("cuda:1")).toBe("GPU (cuda:1)");
    expect(deviceLabel("metal")).toBe("GPU (metal)");
  });

  it("prints sizes for people", () => {
    expect(formatBytes(512, "en")).toBe("512 B");
    expect(formatBytes(1_234_567, "en")).toBe("1.2 MB");
    expect(formatBytes(150_000, "en")).toBe("150 KB");
  });

  it("prints dates relative to now", () => {
    const now = Date.UTC(2025, 0, 10) ;
    expect(formatRelative(now / 1000 - 3 * 86400, "en", now)).toBe("3 days ago");
    expect(formatRelative(now / 1000 - 86400, "en", now)).toBe("yesterday");
    expect(formatRelative(now / 1000 - 10, "en", now)).toBe("now");
  });
});
