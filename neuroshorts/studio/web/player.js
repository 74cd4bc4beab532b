// The studio player: the short's soundtrack plays in the page and every animation
// frame draws the frame for the audio's time. Frames come from the kernel as JPEG
// binary messages (neuroshorts/studio/feed.py); this module reports the playhead, the
// frames it holds and the last message it got, and the kernel sends what comes next.

import { FrameCache } from "./cache.js";
import { Clock, frameAt } from "./clock.js";
import { drawGuides } from "./guides.js";
import { keyAction } from "./keys.js";
import { formatTime, Timeline } from "./timeline.js";

/** Decoded frames kept per short: 128 frames at 540x960. */
const BITMAP_BUDGET = 256 * 2 ** 20;
/** How often a playing player reports its playhead when no frame arrives. */
const REPORT_SECONDS = 0.25;
/** Reports for arriving frames are gathered: one per this many seconds at most. Each
 * report costs the kernel a request (and the page two status messages back). */
const GATHER_SECONDS = 0.2;
const RATES = [0.5, 1, 2];
const PLACE = ["position", "loop_in", "loop_out", "looping", "rate", "muted", "guide", "grid", "size"];

const ICONS = {
  home: "M6 5h2v14H6zM20 5v14L9 12z",
  back: "M6 5h2v14H6zM18 5v14l-9-7z",
  play: "M7 4v16l13-8z",
  pause: "M6 4h4v16H6zM14 4h4v16h-4z",
  forward: "M16 5h2v14h-2zM6 5v14l9-7z",
  end: "M16 5h2v14h-2zM4 5v14l11-7z",
  loop: "M7 7h10v3l4-4-4-4v3H5v6h2zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2z",
  sound: "M4 9v6h4l5 5V4L8 9zm12.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4z",
  muted: "M4 9v6h4l5 5V4L8 9zm12 0 5 5m0-5-5 5",
  grid: "M3 3h18v18H3zm6 0v18m6-18v18M3 9h18M3 15h18",
};

function icon(name) {
  return `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="${ICONS[name]}"/></svg>`;
}

function button(parent, name, title, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.className = `ns-button ns-${name}`;
  node.title = title;
  node.setAttribute("aria-label", title);
  node.innerHTML = icon(name);
  node.addEventListener("click", onClick);
  parent.append(node);
  return node;
}

function select(parent, className, title, options, onChange) {
  const node = document.createElement("select");
  node.className = className;
  node.title = title;
  for (const [value, label] of options) node.add(new Option(label, value));
  node.addEventListener("change", () => {
    onChange(node.value);
    node.closest(".ns-player")?.focus();
  });
  parent.append(node);
  return node;
}

function render({ model, el }) {
  // Each view keeps its own frames and counts the frame messages it got: anywidget
  // hands each view its own model proxy, and two views of one short are rare.
  const state = { client: Math.random().toString(36).slice(2), seq: 0, cache: new FrameCache(BITMAP_BUDGET) };
  const root = document.createElement("div");
  root.className = "ns-player";
  root.tabIndex = 0;
  // JupyterLab's notebook shortcuts (a, b, d d, Space...) skip keys typed in here.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  el.append(root);

  const stage = document.createElement("div");
  stage.className = "ns-stage";
  const frame = document.createElement("canvas");
  frame.className = "ns-frame";
  const guides = document.createElement("canvas");
  guides.className = "ns-guides";
  stage.append(frame, guides);
  const audio = document.createElement("audio");
  audio.preload = "auto";
  root.append(stage, audio);
  // Opaque: the compositor need not blend the frame over the page.
  const ctx = frame.getContext("2d", { alpha: false });

  const bar = document.createElement("div");
  bar.className = "ns-transport";
  // Buttons do not take the focus from the player, which owns the keyboard.
  bar.addEventListener("mousedown", (event) => event.target.closest("button") && event.preventDefault());
  root.append(bar);
  const error = document.createElement("div");
  error.className = "ns-error";
  root.append(error);

  const clock = new Clock(audio, model.get("duration"));
  let drawn = null; // [version, index] on the canvas
  let lastReport = 0;
  let lastIndex = -1;
  let audioUrl = null;
  let audioBytes = null;
  let running = true;

  const fps = () => model.get("fps");
  const frameCount = () => model.get("frame_count");
  const now = () => performance.now() / 1000;
  const frameTime = (index) => index / fps();
  const lastFrame = () => frameTime(frameCount() - 1);
  const loopRange = () => [model.get("loop_in") ?? 0, model.get("loop_out") ?? model.get("duration")];

  let gathering = null;

  /** Tell the kernel the playhead; `soon` lets it wait for a few more frames to arrive. */
  function report(soon = false) {
    if (soon) {
      const wait = GATHER_SECONDS - (now() - lastReport);
      if (wait > 0) {
        gathering ??= setTimeout(() => report(), 1000 * wait);
        return;
      }
    }
    clearTimeout(gathering);
    gathering = null;
    lastReport = now();
    const index = frameAt(clock.time(), fps(), frameCount());
    model.send({
      type: "clock",
      client: state.client,
      version: model.get("version"),
      index,
      playing: clock.playing,
      rate: clock.rate,
      seq: state.seq,
      have: state.cache.indices(),
    });
  }

  function save(values) {
    for (const [name, value] of Object.entries(values)) model.set(name, value);
    model.save_changes();
    const key = model.get("place_key");
    if (key) {
      const place = Object.fromEntries(PLACE.map((name) => [name, model.get(name)]));
      localStorage.setItem(key, JSON.stringify(place));
    }
  }

  function seek(t) {
    clock.seek(Math.min(t, lastFrame()));
    save({ position: clock.time() });
    report();
  }

  function play() {
    if (clock.time() >= lastFrame()) clock.seek(model.get("looping") ? loopRange()[0] : 0);
    clock.play();
    report();
    showState();
  }

  function pause() {
    clock.pause();
    save({ position: clock.time() });
    report();
    showState();
  }

  const actions = {
    toggle: () => (clock.playing ? pause() : play()),
    play: () => {
      if (clock.playing) setRate(RATES[Math.min(RATES.indexOf(clock.rate) + 1, RATES.length - 1)]);
      else play();
    },
    pause,
    step: (frames) => {
      if (clock.playing) pause();
      const index = frameAt(clock.time(), fps(), frameCount()) + frames;
      seek(frameTime(Math.min(Math.max(index, 0), frameCount() - 1)));
    },
    jump: (seconds) => seek(Math.max(clock.time() + seconds, 0)),
    home: () => seek(0),
    end: () => seek(lastFrame()),
    markIn: () => {
      const t = frameTime(frameAt(clock.time(), fps(), frameCount()));
      const out = model.get("loop_out");
      save({ loop_in: t, loop_out: out !== null && out <= t ? null : out, looping: true });
    },
    markOut: () => {
      const t = frameTime(frameAt(clock.time(), fps(), frameCount()) + 1);
      const start = model.get("loop_in");
      save({ loop_out: t, loop_in: start !== null && start >= t ? null : start, looping: true });
    },
    mute: () => save({ muted: !model.get("muted") }),
    loop: () => save({ looping: !model.get("looping") }),
    grid: () => save({ grid: !model.get("grid") }),
  };

  function setRate(rate) {
    clock.setRate(rate);
    save({ rate });
    report();
  }

  button(bar, "home", "To start (Home)", () => actions.home());
  button(bar, "back", "One frame back (←)", () => actions.step(-1));
  const playButton = button(bar, "play", "Play / pause (Space)", () => actions.toggle());
  button(bar, "forward", "One frame forward (→)", () => actions.step(1));
  button(bar, "end", "To end (End)", () => actions.end());
  const loopButton = button(bar, "loop", "Loop between the marks", () => actions.loop());
  const markIn = document.createElement("button");
  const markOut = document.createElement("button");
  for (const [node, text, title, action] of [
    [markIn, "I", "Loop in mark here (I)", "markIn"],
    [markOut, "O", "Loop out mark here (O)", "markOut"],
  ]) {
    node.type = "button";
    node.className = "ns-button ns-mark";
    node.textContent = text;
    node.title = title;
    node.addEventListener("click", () => actions[action]());
    bar.append(node);
  }
  const rate = select(bar, "ns-rate", "Playback rate", RATES.map((r) => [r, `${r}x`]), (v) =>
    setRate(Number(v)),
  );
  const muteButton = button(bar, "sound", "Mute (M)", () => actions.mute());
  const guide = select(
    bar,
    "ns-guide",
    "Safe area",
    [["", "no guides"], ...Object.keys(model.get("guides")).map((name) => [name, `safe: ${name}`])],
    (value) => save({ guide: value }),
  );
  const gridButton = button(bar, "grid", "Thirds grid", () => actions.grid());
  const size = select(
    bar,
    "ns-size",
    "Preview size",
    ["540x960", "360x640"].map((name) => [name, name]),
    (value) => save({ size: value }),
  );
  const readout = document.createElement("span");
  readout.className = "ns-readout";
  const goto = document.createElement("input");
  goto.className = "ns-goto";
  goto.placeholder = "go to s";
  goto.title = "Go to a time in seconds (Enter)";
  goto.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const t = Number.parseFloat(goto.value.replace(",", "."));
    if (Number.isFinite(t)) seek(t);
    goto.value = "";
    root.focus();
  });
  bar.append(readout, goto);

  const timeline = new Timeline(root, (t) => seek(t));

  root.addEventListener("keydown", (event) => {
    const action = keyAction(event);
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    actions[action[0]](action[1]);
  });
  root.addEventListener("pointerdown", (event) => {
    if (!["INPUT", "SELECT"].includes(event.target.tagName)) root.focus({ preventScroll: true });
  });

  function showState() {
    playButton.innerHTML = icon(clock.playing ? "pause" : "play");
    muteButton.innerHTML = icon(model.get("muted") ? "muted" : "sound");
    loopButton.classList.toggle("ns-active", model.get("looping"));
    gridButton.classList.toggle("ns-active", model.get("grid"));
    markIn.classList.toggle("ns-active", model.get("loop_in") !== null);
    markOut.classList.toggle("ns-active", model.get("loop_out") !== null);
    rate.value = String(clock.rate);
    guide.value = model.get("guide");
    size.value = model.get("size");
    audio.muted = model.get("muted");
    timeline.setLoop(model.get("loop_in"), model.get("loop_out"), model.get("looping"));
    drawGuides(
      guides.getContext("2d"),
      guides.width,
      guides.height,
      model.get("guides")[model.get("guide")],
      model.get("grid"),
    );
  }

  function showShort() {
    state.cache.clear();
    const width = model.get("frame_width");
    const height = model.get("frame_height");
    if (frame.width !== width || frame.height !== height) {
      frame.width = guides.width = width;
      frame.height = guides.height = height;
      stage.style.aspectRatio = `${width} / ${height}`;
      // The player and its timeline fit in one screen at common window heights.
      stage.style.height = `min(${height}px, 60vh)`;
    }
    clock.duration = model.get("duration");
    const bytes = model.get("audio");
    // A short rebuilt with the same soundtrack (a caption change) keeps the loaded audio:
    // the kernel sends the bytes only when they differ, so the model holds the same view.
    if (bytes !== audioBytes) {
      audioBytes = bytes;
      if (audioUrl) URL.revokeObjectURL(audioUrl);
      clock.hasAudio = bytes.byteLength > 0;
      audioUrl = clock.hasAudio ? URL.createObjectURL(new Blob([bytes], { type: model.get("audio_type") })) : null;
      const t = clock.time();
      if (audioUrl) {
        audio.src = audioUrl;
        audio.addEventListener("loadedmetadata", () => clock.seek(t), { once: true });
      } else {
        audio.removeAttribute("src");
      }
      clock.seek(t);
    }
    timeline.show(model.get("timeline"));
    drawn = null;
    lastIndex = -1; // the new timeline gets its playhead at the next animation frame
    report();
  }

  function showError() {
    error.textContent = model.get("error");
  }

  function onFrame(message, buffers) {
    if (message.type !== "frame") return;
    createImageBitmap(new Blob([buffers[0]], { type: "image/jpeg" })).then((bitmap) => {
      if (!running) return bitmap.close();
      // Acknowledged once held, so the kernel never sees it neither held nor on its way.
      state.seq = Math.max(state.seq, message.seq);
      if (message.version !== model.get("version")) bitmap.close();
      else state.cache.put(message.index, bitmap, 4 * bitmap.width * bitmap.height);
      report(true);
    });
  }

  function tick() {
    if (!running) return;
    let t = clock.time();
    if (clock.playing) {
      const [start, end] = loopRange();
      if (model.get("looping") && t >= end && end > start) {
        clock.seek(start);
        t = start;
        report();
      } else if (t >= lastFrame()) {
        clock.pause();
        clock.seek(lastFrame());
        t = lastFrame();
        save({ position: t });
        showState();
      }
    }
    const index = frameAt(t, fps(), frameCount());
    const version = model.get("version");
    if (!drawn || drawn[0] !== version || drawn[1] !== index) {
      const bitmap = state.cache.get(index);
      // A frame not here yet: the last one holds, and the sound goes on.
      if (bitmap) {
        ctx.drawImage(bitmap, 0, 0, frame.width, frame.height);
        drawn = [version, index];
      }
    }
    // The page changes only when the frame does: a playhead moved on every animation
    // frame would have the page composited twice as often as the picture changes.
    if (index !== lastIndex) {
      lastIndex = index;
      readout.textContent = `${formatTime(t)} / ${formatTime(model.get("duration"))} · frame ${index} / ${frameCount() - 1}`;
      timeline.update(frameTime(index));
    }
    if (clock.playing && now() - lastReport > REPORT_SECONDS) report();
    requestAnimationFrame(tick);
  }

  const listeners = [
    ["msg:custom", onFrame],
    ["change:version", showShort],
    ["change:error", showError],
    ...PLACE.slice(1).map((name) => [`change:${name}`, showState]),
  ];
  for (const [event, listener] of listeners) model.on(event, listener);

  const kept = model.get("restore") && model.get("place_key") && localStorage.getItem(model.get("place_key"));
  if (kept) save({ ...JSON.parse(kept), restore: false });
  clock.setRate(model.get("rate"));
  clock.seek(model.get("position"));
  showShort();
  showState();
  showError();
  requestAnimationFrame(tick);

  return () => {
    running = false;
    clearTimeout(gathering);
    clock.pause();
    state.cache.clear();
    for (const [event, listener] of listeners) model.off(event, listener);
    timeline.dispose();
    if (audioUrl) URL.revokeObjectURL(audioUrl);
  };
}

export default { render };
