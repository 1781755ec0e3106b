import { describe, expect, it } from "vitest";
import { formatDuration, formatMemory } from "../../lib/duration";
import { addSample, emptyRate, etaSeconds, WINDOW_MS } from "./rate";
import { displayName, languagesKey } from "./labels";

describe("download rate", () => {
  it("has no speed until half a second has been measured", () => {
    let s = addSample(emptyRate, 0, 1000);
    expect(s.speed).toBeNull();
    s = addSample(s, 100_000, 1200);
    expect(s.speed).toBeNull();
    s = addSample(s, 1_000_000, 2000);
    expect(s.speed).toBeCloseTo(1_000_000, 0);
  });

  it("measures over the last few seconds only, so it follows a change of pace", () => {
    let s = emptyRate;
    // 1 MB/s for 20 s…
    for (let t = 0; t <= 20_000; t += 1000) s = addSample(s, t * 1000, t);
    expect(s.speed).toBeCloseTo(1_000_000, -3);
    // …then 4 MB/s for 10 s.
    let done = 20_000_000;
    for (let t = 21_000; t <= 30_000; t += 1000) {
      done += 4_000_000;
      s = addSample(s, done, t);
    }
    expect(s.speed).toBeCloseTo(4_000_000, -3);
    expect(s.samples.every((x) => 30_000 - x.at <= WINDOW_MS)).toBe(true);
  });

  it("starts again when fewer bytes are reported (a restarted download)", () => {
    let s = addSample(emptyRate, 5_000_000, 0);
    s = addSample(s, 6_000_000, 1000);
    expect(s.speed).toBe(1_000_000);
    s = addSample(s, 100, 2000);
    expect(s.speed).toBeNull();
    expect(s.samples).toEqual([{ at: 2000, done: 100 }]);
  });

  it("keeps measuring a slow trickle whose reports are further apart than the window", () => {
    let s = addSample(emptyRate, 0, 0);
    s = addSample(s, 10_000, 10_000);
    expect(s.speed).toBe(1000);
  });

  it("tells the time left from the speed", () => {
    expect(etaSeconds(1_000_000, 250_000_000, 1_000_000_000)).toBe(750);
    expect(etaSeconds(null, 1, 10)).toBeNull();
    expect(etaSeconds(0, 1, 10)).toBeNull();
    expect(etaSeconds(100, 1, null)).toBeNull();
    expect(etaSeconds(100, 20, 10)).toBe(0);
  });
});

describe("plain words", () => {
  it("rounds durations to what matters", () => {
    expect(formatDuration(45, "en")).toBe("45 s");
    expect(formatDuration(734, "en")).toBe("12 min");
    expect(formatDuration(3900, "en")).toBe("1 h 5 min");
    expect(formatDuration(7200, "en")).toBe("2 h");
    expect(formatDuration(734, "zh")).toBe("12 分钟");
    expect(formatDuration(-5, "en")).toBe("0 s");
  });

  it("shows memory in GB, or MB under one", () => {
    expect(formatMemory(3277, "en")).toBe("3.2 GB");
    expect(formatMemory(640, "en")).toBe("640 MB");
    expect(formatMemory(131072, "en")).toBe("128 GB");
  });

  it("names languages and models plainly", () => {
    expect(languagesKey("zh")).toBe("models.langZh");
    expect(languagesKey("en")).toBe("models.langEn");
    expect(languagesKey("both")).toBe("models.langBoth");
    expect(displayName({ reference: "Qwen/Qwen2.5-0.5B", kind: "hub" })).toBe("Qwen/Qwen2.5-0.5B");
    expect(displayName({ reference: "/models/tiny.Q4_0.gguf", kind: "gguf" })).toBe("tiny.Q4_0.gguf");
    expect(displayName({ reference: "C:\\models\\smol\\", kind: "folder" })).toBe("smol");
  });
});
