// The Runs view: the training curves, the table of final losses, and one item scored by every run.

import {api, cached} from "./api.js";
import {runColor} from "./colours.js";
import {$, baseName, fill, h, int, num, s, showError} from "./dom.js";
import {state} from "./state.js";
import {drawChips} from "./watch.js";

export function renderRuns() {
  fill($("#curve-toggles"), state.runs.map((r) => h("label", {class: "toggle"},
    h("input", {type: "checkbox", checked: !state.hiddenCurves.has(r.name), "data-run": r.name, onchange: (e) => {
      if (e.target.checked) state.hiddenCurves.delete(r.name);
      else state.hiddenCurves.add(r.name);
      drawCurves();
    }}),
    h("span", {class: "swatch", style: {background: runColor(r.name)}}), r.name)));
  drawCurves();
  drawRunsTable();
  renderCompare();
}

/** Nice round tick values between lo and hi. */
function ticks(lo, hi, n = 5) {
  const raw = (hi - lo) / n || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f >= 5 ? 10 : f >= 2 ? 5 : f >= 1.5 ? 2 : 1) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** Label positions ys (null: no label) moved apart to at least `gap` pixels, in their order. */
function spread(ys, gap) {
  const order = ys.map((y, i) => i).filter((i) => ys[i] !== null).sort((a, b) => ys[a] - ys[b]);
  const out = [...ys];
  for (let k = 1; k < order.length; k++) {
    out[order[k]] = Math.max(out[order[k]], out[order[k - 1]] + gap);
  }
  return out;
}

export async function drawCurves() {
  const svg = $("#curves");
  const shownRuns = state.runs.filter((r) => !state.hiddenCurves.has(r.name));
  let data;
  try {
    data = await Promise.all(shownRuns.map((r) => cached("metrics", {run: r.name})));
  } catch (e) {
    showError(e);
    return;
  }
  const W = Math.max(560, svg.parentElement.clientWidth - 40);
  const H = 340;
  const m = {l: 64, r: 120, t: 12, b: 40};
  const values = data.flatMap((d) => [...d.train.map((p) => p[1]), ...d.val.map((p) => p[1]),
    ...(d.final.val !== undefined ? [d.final.val] : [])]);
  const steps = data.flatMap((d) => [...d.train, ...d.val].map((p) => p[0]));
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  if (!values.length) {
    fill(svg, s("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis"}, "no runs shown"));
    return;
  }
  const settled = data.flatMap((d) => [...d.val.map((p) => p[1]), ...(d.final.val !== undefined ? [d.final.val] : [])]);
  const ylo = Math.min(...values) - 0.03;
  const top = settled.length ? Math.max(...settled) : Math.max(...values);
  const yhi = Math.min(Math.max(...values), top + 0.35 * (top - ylo) + 0.05);   // early losses run off the top
  const xhi = Math.max(1, ...steps);
  const X = (x) => m.l + (x / xhi) * (W - m.l - m.r);
  const Y = (y) => m.t + (1 - (y - ylo) / (yhi - ylo)) * (H - m.t - m.b);
  const line = (pts) => pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
  const labelY = spread(data.map((d) => (d.final.val !== undefined ? Y(d.final.val) + 4 : null)), 15);
  fill(svg,
    s("defs", {}, s("clipPath", {id: "plot-area"}, s("rect", {x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b}))),
    ticks(ylo, yhi, 8).map((v) => [s("line", {x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), class: "grid"}),
      s("text", {x: m.l - 6, y: Y(v) + 4, "text-anchor": "end", class: "axis"}, v.toFixed(2))]),
    ticks(0, xhi).map((v) => s("text", {x: X(v), y: H - m.b + 16, "text-anchor": "middle", class: "axis"}, int(v))),
    s("text", {x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle", class: "axis-title"}, "training step"),
    s("text", {x: 14, y: (m.t + H - m.b) / 2, "text-anchor": "middle", class: "axis-title",
      transform: `rotate(-90 14 ${(m.t + H - m.b) / 2})`}, "loss (nats/char)"),
    data.map((d, i) => {
      const r = shownRuns[i];
      const color = runColor(r.name);
      const flat = d.train.length < 2 && d.val.length < 2 && d.final.val !== undefined;
      return s("g", {class: "series", "data-run": r.name}, s("g", {"clip-path": "url(#plot-area)"},
        d.train.length > 1 ? s("polyline", {points: line(d.train), stroke: color, class: "train-line",
          "data-tip": `${r.name}: training loss`}) : null,
        d.val.length > 1 ? s("polyline", {points: line(d.val), stroke: color, class: "val-line"}) : null,
        d.val.map((p) => s("circle", {cx: X(p[0]), cy: Y(p[1]), r: 3.5, fill: color,
          "data-tip": `${r.name}: val ${num(p[1], 4)} at step ${int(p[0])}`})),
        flat ? s("line", {x1: m.l, x2: W - m.r, y1: Y(d.final.val), y2: Y(d.final.val), stroke: color, class: "flat-line",
          "data-tip": `${r.name} (${r.type}, no training curve): val ${num(d.final.val, 4)}`}) : null),
        d.final.val !== undefined ? s("text", {x: W - m.r + 6, y: labelY[i], fill: color, class: "end-label"},
          `${r.name} ${num(d.final.val, 3)}`) : null);
    }));
}

function drawRunsTable() {
  const head = h("tr", {}, ["run", "type", "parameters", "train", "val", "test"].map((c, i) =>
    h("th", {class: i > 1 ? "r" : ""}, c)));
  const best = Math.min(...state.runs.map((r) => (r.final && r.final.val !== undefined ? r.final.val : Infinity)));
  fill($("#runs-table"), head, state.runs.map((r) => h("tr", {class: r.name === state.run ? "current" : ""},
    h("td", {}, h("span", {class: "swatch", style: {background: runColor(r.name)}}), r.name),
    h("td", {}, r.type + (r.members ? ` of ${r.members.map((m) => `${baseName(m.run)} (${num(m.weight, 2)})`).join(", ")}` : "")),
    h("td", {class: "r"}, r.params ? int(r.params) : "–"),
    ["train", "val", "test"].map((k) => h("td", {class: `r${k === "val" && r.final[k] === best ? " best" : ""}`},
      num(r.final[k], 4))))));
}

let compareTurn = 0;

export async function renderCompare() {
  const input = $("#compare-input");
  const text = input.value;
  const turn = ++compareTurn;
  const table = $("#compare");
  if (!text) {
    fill(table);
    return;
  }
  const results = await Promise.all(state.runs.map((r) => api("score", {run: r.name, items: [text]})
    .then((d) => d.scores[0], (e) => ({error: e.message}))));
  if (turn !== compareTurn) return;
  table.dataset.item = text;
  const best = Math.min(...results.map((x) => (x.error ? Infinity : x.nll)));
  fill(table, h("tr", {}, h("th", {}, "run"), h("th", {}, "each character's surprise"), h("th", {class: "r"}, "total (nats)"),
    h("th", {class: "r"}, "per character")),
  state.runs.map((r, i) => {
    const x = results[i];
    const chips = h("div", {class: "chips small"});
    if (!x.error) drawChips(chips, x.surprise, true);
    return h("tr", {class: !x.error && x.nll === best ? "best-row" : ""},
      h("td", {}, h("span", {class: "swatch", style: {background: runColor(r.name)}}), r.name),
      h("td", {}, x.error ? h("span", {class: "muted"}, x.error) : chips),
      h("td", {class: "r"}, x.error ? "–" : num(x.nll, 3)),
      h("td", {class: "r"}, x.error ? "–" : num(x.nll_per_char, 4)));
  }));
}
