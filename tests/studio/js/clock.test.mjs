import assert from "node:assert/strict";
import { test } from "node:test";

import { Clock, frameAt } from "../../../neuroshorts/studio/web/clock.js";

/** An audio element stand-in whose time the test moves, like the media clock would. */
class FakeAudio {
  constructor(duration) {
    this.duration = duration;
    this.currentTime = 0;
    this.paused = true;
    this.ended = false;
    this.playbackRate = 1;
  }
  play() {
    this.paused = false;
    return Promise.resolve();
  }
  pause() {
    this.paused = true;
  }
}

test("frameAt maps a time to the frame covering it, clamped to the short", () => {
  assert.equal(frameAt(0, 30, 90), 0);
  assert.equal(frameAt(1 / 30 - 1e-4, 30, 90), 0);
  assert.equal(frameAt(1 / 30, 30, 90), 1); // exact frame starts land on their frame
  assert.equal(frameAt(5, 30, 900), 150);
  assert.equal(frameAt(99, 30, 90), 89);
  assert.equal(frameAt(-1, 30, 90), 0);
});

test("the audio's own time is the clock while the soundtrack plays", () => {
  const audio = new FakeAudio(10);
  const clock = new Clock(audio, 10, () => 0);
  clock.hasAudio = true;
  clock.seek(2);
  assert.equal(audio.currentTime, 2);
  clock.play();
  assert.equal(audio.paused, false);
  audio.currentTime = 2.5;
  assert.equal(clock.time(), 2.5);
  clock.pause();
  assert.equal(audio.paused, true);
  assert.equal(clock.time(), 2.5);
});

test("past the soundtrack's end a wall clock carries on at the same rate", () => {
  let wall = 100;
  const audio = new FakeAudio(4);
  const clock = new Clock(audio, 6, () => wall);
  clock.hasAudio = true;
  clock.setRate(2);
  clock.seek(3.5);
  clock.play();
  audio.currentTime = 4;
  audio.ended = true;
  assert.equal(clock.time(), 4);
  wall += 0.5;
  assert.equal(clock.time(), 5);
  wall += 10;
  assert.equal(clock.time(), 6, "never past the short's end");
});

test("a short without sound plays on the wall clock; pause holds the time", () => {
  let wall = 0;
  const clock = new Clock(new FakeAudio(Number.NaN), 3, () => wall);
  clock.seek(1);
  clock.play();
  wall = 0.25;
  assert.equal(clock.time(), 1.25);
  clock.pause();
  wall = 5;
  assert.equal(clock.time(), 1.25);
});

test("a refused play() leaves the picture running on the wall clock", async () => {
  let wall = 0;
  const audio = new FakeAudio(10);
  audio.play = () => Promise.reject(new Error("NotAllowedError"));
  const clock = new Clock(audio, 10, () => wall);
  clock.hasAudio = true;
  clock.seek(1);
  clock.play();
  await new Promise((resolve) => setImmediate(resolve));
  wall = 1;
  assert.equal(clock.time(), 2);
});

test("a seek to a frame's start read back a microsecond early is still that frame", () => {
  assert.equal(frameAt(2.066666, 30, 900), 62); // 62 / 30 = 2.0666667
  assert.equal(frameAt(2.0655, 30, 900), 61);
});
