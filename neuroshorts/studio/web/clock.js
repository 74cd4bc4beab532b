// The player's clock. The soundtrack playing in the page is the clock, so picture and
// sound cannot drift; past the soundtrack's end (or for a short without one) a wall
// clock carries on at the same rate.

/** The frame on screen at `t` seconds: frame i covers [i / fps, (i + 1) / fps).
 * Media elements keep time in microseconds, so a seek to a frame's start may read back
 * a hair before it: a thousandth of a frame counts as the frame. */
export const FRAME_EPSILON = 1e-3;

export function frameAt(t, fps, frameCount) {
  return Math.min(Math.max(Math.floor(t * fps + FRAME_EPSILON), 0), frameCount - 1);
}

export class Clock {
  /** `audio` is an HTMLAudioElement (or anything with its currentTime/play/pause). */
  constructor(audio, duration, now = () => performance.now() / 1000) {
    this.audio = audio;
    this.duration = duration;
    this.now = now;
    this.hasAudio = false;
    this.playing = false;
    this.rate = 1;
    this.onWall = true;
    this.wallTime = 0;
    this.wallAt = 0;
  }

  /** Where the soundtrack ends (0 without one): the wall clock takes over there. */
  audioEnd() {
    const end = this.audio.duration;
    return this.hasAudio && Number.isFinite(end) ? Math.min(end, this.duration) : 0;
  }

  time() {
    if (!this.onWall) {
      const t = this.audio.currentTime;
      const end = this.audioEnd();
      if (!(this.playing && (this.audio.ended || t >= end - 1e-3) && end < this.duration)) {
        return Math.min(t, this.duration);
      }
      this.toWall(end);
    }
    const t = this.playing ? this.wallTime + (this.now() - this.wallAt) * this.rate : this.wallTime;
    return Math.min(t, this.duration);
  }

  toWall(t) {
    this.onWall = true;
    this.wallTime = t;
    this.wallAt = this.now();
  }

  seek(t) {
    t = Math.min(Math.max(t, 0), this.duration);
    if (t < this.audioEnd()) {
      this.onWall = false;
      this.audio.currentTime = t;
      if (this.playing && this.audio.paused) this.startAudio();
    } else {
      this.audio.pause();
      this.toWall(t);
    }
  }

  play() {
    if (this.playing) return;
    const t = this.time();
    this.playing = true;
    this.seek(t >= this.duration ? 0 : t);
    if (this.onWall) this.wallAt = this.now();
  }

  pause() {
    if (!this.playing) return;
    const t = this.time();
    this.playing = false;
    this.audio.pause();
    if (this.onWall) this.wallTime = t;
  }

  setRate(rate) {
    if (this.onWall) this.toWall(this.time());
    this.rate = rate;
    this.audio.playbackRate = rate;
  }

  startAudio() {
    const started = this.audio.play();
    // A page without a user gesture may refuse; the wall clock keeps the picture going.
    if (started && started.catch) started.catch(() => this.playing && this.toWall(this.time()));
  }
}
