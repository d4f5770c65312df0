// Colours: each run's, and the scales of surprise, heatmaps, hidden states and gates.

import {state} from "./state.js";

export const PALETTE = ["#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#7c3aed", "#db2777", "#65a30d"];

/** Each run's colour, by its place in the list. */
export function runColor(name) {
  const i = state.runs.findIndex((r) => r.name === name);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

/** Surprise in nats -> a background: green (expected) to red (surprising); 6 nats and up is red. */
export function surpriseColor(nats) {
  const t = Math.max(0, Math.min(nats / 6, 1));
  return `hsl(${Math.round(130 - 130 * t)}, 78%, ${Math.round(86 - 22 * t)}%)`;
}

function mix(a, b, t) {
  return a.map((x, i) => Math.round(x + (b[i] - x) * t));
}

/** 0..1 -> white to deep blue (the bigram heatmap, attention weights). */
export function blues(t) {
  t = Math.max(0, Math.min(1, t));
  const c = t < 0.5 ? mix([247, 251, 255], [107, 174, 214], t * 2) : mix([107, 174, 214], [8, 48, 107], (t - 0.5) * 2);
  return `rgb(${c})`;
}

/** -1..1 -> blue, white, red (hidden states, tanh). */
export function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? mix([255, 255, 255], [37, 99, 235], -t) : mix([255, 255, 255], [220, 38, 38], t);
  return `rgb(${c})`;
}

/** 0..1 -> white to violet (gate activations). */
export function violets(t) {
  return `rgb(${mix([255, 255, 255], [76, 29, 149], Math.max(0, Math.min(1, t)))})`;
}
