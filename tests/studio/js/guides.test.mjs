import assert from "node:assert/strict";
import { test } from "node:test";

import { drawGuides, safeRect } from "../../../neuroshorts/studio/web/guides.js";

/** A 2D context stand-in that records what was drawn. */
function recorder() {
  const calls = [];
  return new Proxy(
    { calls },
    {
      get: (target, name) => (name in target ? target[name] : (...args) => calls.push([name, ...args])),
      set: (target, name, value) => (calls.push([name, value]), true),
    },
  );
}

test("the safe rectangle comes from the top, bottom, left and right fractions", () => {
  assert.deepEqual(safeRect([0.1, 0.25, 0.05, 0.2], 1000, 2000), [50, 200, 800, 1500]);
});

test("a safe area shades the four margins and outlines the rest; the grid draws thirds", () => {
  const ctx = recorder();
  drawGuides(ctx, 540, 960, [0.1, 0.2, 0.1, 0.1], false);
  const fills = ctx.calls.filter(([name]) => name === "fillRect");
  assert.equal(fills.length, 4);
  assert.deepEqual(fills[0], ["fillRect", 0, 0, 540, 96]);
  assert.ok(ctx.calls.some(([name]) => name === "strokeRect"));

  const grid = recorder();
  drawGuides(grid, 540, 960, undefined, true);
  const moves = grid.calls.filter(([name]) => name === "moveTo").map((c) => c.slice(1));
  assert.deepEqual(moves, [
    [180.5, 0],
    [0, 320.5],
    [360.5, 0],
    [0, 640.5],
  ]);
  assert.ok(!grid.calls.some(([name]) => name === "fillRect"));
});
