import { describe, expect, it } from "vitest";
import { domainOf, downsample, geometry, linePath, linear, niceTicks, tickLabel } from "./chart";

const box = { width: 200, height: 100, left: 20, right: 0, top: 0, bottom: 20 };

describe("chart geometry", () => {
  it("picks round ticks", () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(1.83, 3.27, 4)).toEqual([2, 2.5, 3]);
    expect(niceTicks(0.1, 0.35, 5)).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });

  it("covers steps from zero to the run's length and the losses with room", () => {
    const d = domainOf([{ step: 1, loss: 3 }, { step: 5, loss: 2 }], [{ step: 5, loss: 2.5 }], 100);
    expect(d.x0).toBe(0);
    expect(d.x1).toBe(100);
    expect(d.y0).toBeCloseTo(1.92);
    expect(d.y1).toBeCloseTo(3.08);
    expect(domainOf([], [])).toEqual({ x0: 0, x1: 1, y0: 0, y1: 1 });
    // A single point still gets a range.
    const one = domainOf([{ step: 1, loss: 2 }], []);
    expect(one.y1).toBeGreaterThan(one.y0);
  });

  it("maps linearly, upside down for the loss", () => {
    const sy = linear(0, 10, 80, 0);
    expect(sy(0)).toBe(80);
    expect(sy(10)).toBe(0);
    expect(sy(5)).toBe(40);
    expect(linear(3, 3, 0, 10)(3)).toBe(5);
  });

  it("keeps the first and last points when thinning a long curve", () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ step: i + 1, loss: 1 }));
    const d = downsample(pts, 100);
    expect(d).toHaveLength(100);
    expect(d[0].step).toBe(1);
    expect(d[99].step).toBe(1000);
    expect(downsample(pts.slice(0, 10), 100)).toHaveLength(10);
  });

  it("draws a path through the points, skipping broken values", () => {
    const id = (v: number) => v;
    expect(linePath([{ step: 1, loss: 2 }, { step: 2, loss: Number.NaN }, { step: 3, loss: 1 }], id, id)).toBe("M1.0,2.0 L3.0,1.0");
    expect(linePath([], id, id)).toBe("");
  });

  it("places validation dots and the best checkpoint", () => {
    const g = geometry(
      [{ step: 1, loss: 3 }, { step: 2, loss: 2 }],
      [{ step: 1, loss: 2.5 }, { step: 2, loss: 2.2 }],
      2,
      box,
    );
    expect(g.valDots).toHaveLength(2);
    expect(g.best?.step).toBe(2);
    expect(g.best?.x).toBe(200);
    // A lower loss is drawn lower down (SVG's y grows downwards).
    expect(g.valDots[1].y).toBeGreaterThan(g.valDots[0].y);
    expect(g.trainPath.startsWith("M")).toBe(true);
    expect(g.xTicks.every(Number.isInteger)).toBe(true);
  });

  it("marks the best step on the training line when there is no validation point there", () => {
    const g = geometry([{ step: 1, loss: 3 }, { step: 2, loss: 2 }], [], 2, box);
    expect(g.best?.loss).toBe(2);
    expect(geometry([{ step: 1, loss: 3 }], [], null, box).best).toBeNull();
  });

  it("labels ticks readably", () => {
    expect(tickLabel(1200, "en-US")).toBe("1,200");
    expect(tickLabel(2.5, "en-US")).toBe("2.5");
    expect(tickLabel(0.125, "en-US")).toBe("0.125");
  });
});
