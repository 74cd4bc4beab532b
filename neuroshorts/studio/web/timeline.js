// The timeline under the player: when every layer, caption page and spoken word
// happens, the soundtrack's waveform, scene cuts, the loop and the playhead. Click or
// drag anywhere on the lanes to seek. The data is `neuroshorts.studio.timeline`'s.

export const TICK_STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60];

/** x in [0, width] of time t. */
export function toX(t, duration, width) {
  return (Math.min(Math.max(t, 0), duration) / duration) * width;
}

/** The time at x, clamped to the short. */
export function toTime(x, duration, width) {
  return Math.min(Math.max(x / width, 0), 1) * duration;
}

/** Ruler ticks at least `spacing` px apart. */
export function ticks(duration, width, spacing = 56) {
  const step = TICK_STEPS.find((s) => toX(s, duration, width) >= spacing) ?? 60;
  const out = [];
  for (let t = 0; t <= duration + 1e-9; t += step) out.push(t);
  return out;
}

export function formatTime(t) {
  const minutes = Math.floor(t / 60);
  const seconds = t - minutes * 60;
  return `${String(minutes).padStart(2, "0")}:${seconds.toFixed(2).padStart(5, "0")}`;
}

/** Index of the span (objects with start and end) playing at t, or -1. */
export function spanAt(spans, t) {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t < spans[mid].start) hi = mid - 1;
    else if (t >= spans[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function div(className, parent, text) {
  const node = document.createElement("div");
  node.className = className;
  if (text !== undefined) node.textContent = text;
  parent?.append(node);
  return node;
}

function place(node, start, end, duration) {
  node.style.left = `${(100 * start) / duration}%`;
  node.style.width = `${(100 * Math.max(end - start, 0)) / duration}%`;
}

export class Timeline {
  constructor(parent, onSeek) {
    this.root = div("ns-timeline", parent);
    this.labels = div("ns-labels", this.root);
    this.lanes = div("ns-lanes", this.root);
    this.onSeek = onSeek;
    this.chip = -1;
    this.word = -1;
    this.lanes.addEventListener("pointerdown", (event) => {
      this.lanes.setPointerCapture(event.pointerId);
      this.seekAt(event);
    });
    this.lanes.addEventListener("pointermove", (event) => {
      if (this.lanes.hasPointerCapture(event.pointerId)) this.seekAt(event);
    });
    this.width = 0;
    this.t = 0;
    this.resize = new ResizeObserver(() => {
      this.width = this.lanes.clientWidth;
      this.drawWaveform();
      this.placePlayhead();
    });
    this.resize.observe(this.lanes);
  }

  seekAt(event) {
    const box = this.lanes.getBoundingClientRect();
    this.onSeek(toTime(event.clientX - box.left, this.data.duration, box.width));
  }

  row(kind, label, detail) {
    const name = div(`ns-label ns-${kind}`, this.labels);
    div("ns-kind", name, label);
    if (detail) div("ns-detail", name, detail);
    name.title = detail ? `${label}: ${detail}` : label;
    return div(`ns-lane ns-${kind}`, this.lanes);
  }

  show(data) {
    this.data = data;
    const { duration } = data;
    this.labels.replaceChildren();
    this.lanes.replaceChildren();
    this.chip = this.word = -1;
    const ruler = this.row("ruler", "");
    this.ruler = ruler;
    for (const layer of data.layers) {
      const lane = this.row("layer", layer.kind, layer.label);
      for (const part of layer.parts ?? [layer]) {
        const bar = div("ns-bar", lane, part.label ?? "");
        bar.dataset.kind = layer.kind;
        place(bar, part.start, part.end, duration);
      }
    }
    const captions = this.row("captions", "captions", `${data.captions.length} pages`);
    this.chips = data.captions.map((page) => {
      const chip = div("ns-chip", captions);
      chip.title = page.text;
      page.words.forEach((word, i) => {
        if (i) chip.append(" ");
        const span = document.createElement("span");
        span.textContent = word.text;
        chip.append(span);
      });
      place(chip, page.start, page.end, duration);
      return chip;
    });
    const wave = this.row("wave", "soundtrack");
    this.canvas = document.createElement("canvas");
    wave.append(this.canvas);
    this.overlay = div("ns-overlay", this.lanes);
    for (const t of data.scenes) {
      const cut = div("ns-scene", this.overlay);
      cut.style.left = `${(100 * t) / duration}%`;
    }
    this.loop = div("ns-loop-span", this.overlay);
    this.playhead = div("ns-playhead", this.overlay);
    this.drawRuler();
    this.drawWaveform();
  }

  drawRuler() {
    this.ruler.replaceChildren();
    const width = this.lanes.clientWidth || 600;
    for (const t of ticks(this.data.duration, width)) {
      if (toX(t, this.data.duration, width) > width - 30) break; // its label would be cut off
      const tick = div("ns-tick", this.ruler, `${Number.isInteger(t) ? t : t.toFixed(1)}s`);
      tick.style.left = `${(100 * t) / this.data.duration}%`;
    }
  }

  drawWaveform() {
    if (!this.canvas || !this.data) return;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (!width || !height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    const ctx = this.canvas.getContext("2d");
    const peaks = this.data.waveform;
    ctx.fillStyle = "#3ba55c";
    for (let x = 0; x < width && peaks.length; x++) {
      const from = Math.floor((x / width) * peaks.length);
      const to = Math.max(from + 1, Math.floor(((x + 1) / width) * peaks.length));
      const peak = Math.max(...peaks.slice(from, to));
      const h = Math.max(1, peak * (height - 2));
      ctx.fillRect(x, (height - h) / 2, 1, h);
    }
    this.drawRuler();
  }

  /** Move the playhead to t and mark the caption page and the word spoken there. */
  update(t) {
    if (!this.data) return;
    this.t = t;
    this.placePlayhead();
    const chip = spanAt(this.data.captions, t);
    const word = chip < 0 ? -1 : spanAt(this.data.captions[chip].words, t);
    if (chip === this.chip && word === this.word) return;
    this.chips[this.chip]?.classList.remove("ns-on");
    this.chips[this.chip]?.querySelector(".ns-spoken")?.classList.remove("ns-spoken");
    this.chip = chip;
    this.word = word;
    if (chip < 0) return;
    this.chips[chip].classList.add("ns-on");
    this.chips[chip].querySelectorAll("span")[word]?.classList.add("ns-spoken");
  }

  placePlayhead() {
    if (!this.playhead) return;
    // A transform moves the playhead without a layout of the timeline on every frame.
    this.playhead.style.transform = `translateX(${toX(this.t, this.data.duration, this.width)}px)`;
  }

  setLoop(start, end, on) {
    if (!this.data) return;
    this.loop.hidden = start === null && end === null;
    this.loop.classList.toggle("ns-looping", on);
    place(this.loop, start ?? 0, end ?? this.data.duration, this.data.duration);
  }

  dispose() {
    this.resize.disconnect();
  }
}
