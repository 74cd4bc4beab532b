import assert from "node:assert/strict";
import { test } from "node:test";

import { formatTime, spanAt, ticks, toTime, toX } from "../../../neuroshorts/studio/web/timeline.js";

test("time and x map onto each other across the lanes, clamped", () => {
  assert.equal(toX(5, 20, 1000), 250);
  assert.equal(toTime(250, 20, 1000), 5);
  assert.equal(toTime(-30, 20, 1000), 0);
  assert.equal(toTime(5000, 20, 1000), 20);
  assert.equal(toX(25, 20, 1000), 1000);
});

test("ruler ticks are a round step at least 56 px apart", () => {
  assert.deepEqual(ticks(20, 1000), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  assert.deepEqual(ticks(4, 1000), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
  assert.ok(ticks(60, 400).every((t) => t % 10 === 0));
});

test("the span playing at t is found; gaps and ends find none", () => {
  const pages = [
    { start: 0, end: 1 },
    { start: 1, end: 1.8 },
    { start: 2.2, end: 3 },
  ];
  assert.equal(spanAt(pages, 0), 0);
  assert.equal(spanAt(pages, 1), 1);
  assert.equal(spanAt(pages, 2), -1);
  assert.equal(spanAt(pages, 2.9), 2);
  assert.equal(spanAt(pages, 3), -1);
  assert.equal(spanAt([], 1), -1);
});

test("times read as minutes and seconds with hundredths", () => {
  assert.equal(formatTime(0), "00:00.00");
  assert.equal(formatTime(5.5), "00:05.50");
  assert.equal(formatTime(75.25), "01:15.25");
});
