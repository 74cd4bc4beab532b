// Decoded frames of the short on show, least recently used dropped first, within a
// byte budget: a 540x960 bitmap is 2 MB, so the budget, not a count, bounds memory.

export class FrameCache {
  constructor(budget) {
    this.budget = budget;
    this.frames = new Map(); // index -> {bitmap, bytes}, oldest use first
    this.bytes = 0;
  }

  get(index) {
    const entry = this.frames.get(index);
    if (!entry) return null;
    this.frames.delete(index);
    this.frames.set(index, entry);
    return entry.bitmap;
  }

  has(index) {
    return this.frames.has(index);
  }

  put(index, bitmap, bytes) {
    this.drop(index);
    this.frames.set(index, { bitmap, bytes });
    this.bytes += bytes;
    for (const old of this.frames.keys()) {
      if (this.bytes <= this.budget || old === index) break;
      this.drop(old);
    }
  }

  drop(index) {
    const entry = this.frames.get(index);
    if (!entry) return;
    this.frames.delete(index);
    this.bytes -= entry.bytes;
    entry.bitmap.close?.();
  }

  clear() {
    for (const index of [...this.frames.keys()]) this.drop(index);
  }

  indices() {
    return [...this.frames.keys()];
  }
}
