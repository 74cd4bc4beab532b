// The player's keyboard, as in video editors. Keys typed into the player's own inputs
// (go to time) stay theirs, and keys with Ctrl, Alt or Meta stay the browser's.

const PLAIN = {
  " ": ["toggle"],
  ArrowLeft: ["step", -1],
  ArrowRight: ["step", 1],
  j: ["jump", -1],
  k: ["pause"],
  l: ["play"],
  Home: ["home"],
  End: ["end"],
  i: ["markIn"],
  o: ["markOut"],
  m: ["mute"],
};
const SHIFTED = { ArrowLeft: ["jump", -1], ArrowRight: ["jump", 1] };
const FIELDS = new Set(["INPUT", "SELECT", "TEXTAREA"]);

/** The player action for a keydown event, as [name, argument], or null. */
export function keyAction(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  if (FIELDS.has(event.target?.tagName)) return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return (event.shiftKey && SHIFTED[key]) || PLAIN[key] || null;
}
