import assert from "node:assert/strict";
import { test } from "node:test";

import { FrameCache } from "../../../neuroshorts/studio/web/cache.js";

const bitmap = () => ({ closed: false, close() { this.closed = true; } });

test("the least recently used frames go first once the byte budget is passed", () => {
  const cache = new FrameCache(300);
  const frames = [0, 1, 2].map(() => bitmap());
  frames.forEach((b, i) => cache.put(i, b, 100));
  assert.deepEqual(cache.indices(), [0, 1, 2]);
  cache.get(0); // used: now the newest
  const four = bitmap();
  cache.put(3, four, 100);
  assert.deepEqual(cache.indices(), [2, 0, 3]);
  assert.equal(frames[1].closed, true, "a dropped bitmap is closed, its memory freed");
  assert.equal(cache.bytes, 300);
});

test("a frame larger than the budget is still kept, alone", () => {
  const cache = new FrameCache(100);
  cache.put(0, bitmap(), 60);
  cache.put(1, bitmap(), 500);
  assert.deepEqual(cache.indices(), [1]);
});

test("putting a frame again replaces it; clear empties and closes", () => {
  const cache = new FrameCache(1000);
  const old = bitmap();
  cache.put(5, old, 100);
  cache.put(5, bitmap(), 100);
  assert.equal(old.closed, true);
  assert.equal(cache.bytes, 100);
  cache.clear();
  assert.deepEqual(cache.indices(), []);
  assert.equal(cache.bytes, 0);
  assert.equal(cache.get(5), null);
});
