import assert from "node:assert/strict";
import { test } from "node:test";

import { keyAction } from "../../../neuroshorts/studio/web/keys.js";

const key = (k, extra = {}) => keyAction({ key: k, target: { tagName: "DIV" }, ...extra });

test("the editor keys map to player actions", () => {
  assert.deepEqual(key(" "), ["toggle"]);
  assert.deepEqual(key("ArrowRight"), ["step", 1]);
  assert.deepEqual(key("ArrowLeft"), ["step", -1]);
  assert.deepEqual(key("ArrowRight", { shiftKey: true }), ["jump", 1]);
  assert.deepEqual(key("ArrowLeft", { shiftKey: true }), ["jump", -1]);
  assert.deepEqual(key("j"), ["jump", -1]);
  assert.deepEqual(key("K", { shiftKey: true }), ["pause"]);
  assert.deepEqual(key("l"), ["play"]);
  assert.deepEqual(key("Home"), ["home"]);
  assert.deepEqual(key("End"), ["end"]);
  assert.deepEqual(key("i"), ["markIn"]);
  assert.deepEqual(key("o"), ["markOut"]);
  assert.deepEqual(key("m"), ["mute"]);
});

test("other keys, modified keys and keys typed in the player's inputs are left alone", () => {
  assert.equal(key("d"), null);
  assert.equal(key("a"), null);
  assert.equal(key("s", { ctrlKey: true }), null);
  assert.equal(key("ArrowLeft", { altKey: true }), null);
  assert.equal(keyAction({ key: "5", target: { tagName: "INPUT" } }), null);
  assert.equal(keyAction({ key: " ", target: { tagName: "INPUT" } }), null);
  assert.deepEqual(keyAction({ key: " ", target: { tagName: "BUTTON" } }), ["toggle"]);
});
