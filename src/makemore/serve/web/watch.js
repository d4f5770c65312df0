// The Type & watch view: each typed character coloured by its surprise, the next-character
// distribution and the likeliest completions.

import {api} from "./api.js";
import {surpriseColor} from "./colours.js";
import {$, END, fill, h, num, pct, s, shown, showError} from "./dom.js";
import {currentRun} from "./state.js";

let watchTurn = 0;   // answers to an older keystroke are dropped

/** Letters the vocabulary lacks in this case but has in the other are switched (names are lower case). */
export function normalize(text) {
  const vocab = new Set(currentRun().vocab.slice(1));
  return [...text].map((c) => (vocab.has(c) ? c : vocab.has(c.toLowerCase()) ? c.toLowerCase()
    : vocab.has(c.toUpperCase()) ? c.toUpperCase() : c)).join("");
}

export async function renderWatch() {
  const input = $("#watch-input");
  const fixed = normalize(input.value);
  if (fixed !== input.value) input.value = fixed;
  const text = input.value;
  const run = currentRun();
  const turn = ++watchTurn;
  const onward = run.reads === "left to right";     // only then is there a next character to show
  try {
    const tagged = Boolean(run.tags && run.tags.length);
    const [next, complete, score, tags] = await Promise.all([
      onward ? api("next", {run: run.name, prefix: text}) : null,
      onward && text.length < run.max_len ? api("complete", {run: run.name, prefix: text, beam: 5}) : null,
      text ? api("score", {run: run.name, items: [text]}) : null,
      tagged && text ? api("classify", {run: run.name, item: text}) : null,
    ]);
    if (turn !== watchTurn) return;
    input.classList.remove("invalid");
    showError(null);
    drawChips($("#watch-item"), score ? score.scores[0].surprise : []);
    drawTotal(score ? score.scores[0] : null);
    $("#watch-tags-card").hidden = !tagged;
    if (tagged) drawTags(tags ? tags.tags : []);
    if (onward) {
      drawBars(next);
      drawCompletions(complete ? complete.completions : [], text);
    } else {
      drawNoNext(run);
    }
  } catch (e) {
    if (turn !== watchTurn) return;
    input.classList.add("invalid");
    showError(e);
  }
}

/** p(tag | item) as one bar per tag, likeliest first. */
function drawTags(tags) {
  const node = $("#watch-tags");
  if (!tags.length) {
    fill(node, h("span", {class: "muted"}, "Type an item to see which tag it looks like."));
    return;
  }
  fill(node, tags.map((t) => h("div", {class: "row", "data-tag": t.tag},
    h("span", {class: "name"}, t.tag),
    h("span", {class: "bar", style: {width: `${Math.max(0.2, 60 * t.p)}%`}}),
    h("span", {class: "p"}, pct(t.p)))));
}

/** The item as chips, each character coloured by its surprise -log p (nats); the end last. */
export function drawChips(node, steps, compact = false) {
  fill(node, steps.map((st) => {
    const label = st.end ? END : shown(st.char);
    const what = st.end ? "the end of the item" : `'${st.char}'`;
    return h("span", {
      class: `chip${st.end ? " end" : ""}${compact ? " compact" : ""}`, style: {background: surpriseColor(st.nll)},
      "data-tip": `${what}: p = ${pct(st.p)}, surprise −ln p = ${num(st.nll)} nats`,
    }, h("span", {class: "c"}, label), compact ? null : h("span", {class: "n"}, num(st.nll, 1)));
  }));
}

function drawTotal(score) {
  const node = $("#watch-total");
  if (!score) {
    fill(node, h("span", {class: "muted"}, "Start typing: each character is coloured by how surprised the model is to see it."));
    return;
  }
  fill(node,
    h("span", {class: "stat"}, h("b", {}, num(score.nll)), " nats in total"),
    h("span", {class: "stat"}, h("b", {}, num(score.nll_per_char, 3)), " nats per character"),
    h("span", {class: "stat muted"}, `over ${score.chars} predictions (the end included)`),
    h("span", {class: "stat muted"}, `p(item) = e^−${num(score.nll)} = ${Math.exp(-score.nll).toExponential(2)}`));
}

export function renderLegend(node) {
  const stops = [0, 1, 2, 3, 4, 5, 6];
  fill(node, h("span", {class: "muted"}, "surprise −ln p:"),
    stops.map((x) => h("span", {class: "chip compact legend-chip", style: {background: surpriseColor(x)}},
      h("span", {class: "c"}, x === 6 ? "6+" : String(x)))),
    h("span", {class: "muted", id: "legend-uniform"}, "nats"));
}

/** Horizontal bars: the 10 likeliest next characters, the end, and the rest. */
function drawBars(next) {
  const rows = next.top.map((t) => ({label: shown(t.char), p: t.p, char: t.char, kind: "char"}));
  rows.push({label: `${END} end`, p: next.end, kind: "end"});
  if (next.rest > 0.0005) rows.push({label: "others", p: next.rest, kind: "rest"});
  const svg = $("#watch-bars");
  const width = svg.parentElement.clientWidth - 40 || 460;
  const rowH = 26;
  const labelW = 64;
  const barMax = width - labelW - 64;
  const top = Math.max(...rows.map((r) => r.p), 1e-9);
  svg.setAttribute("viewBox", `0 0 ${width} ${rows.length * rowH + 4}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", rows.length * rowH + 4);
  fill(svg, rows.map((r, i) => {
    const y = i * rowH + 2;
    const w = Math.max(1.5, (r.p / top) * barMax);
    const tip = r.kind === "char" ? `p('${r.char}' next) = ${pct(r.p)}`
      : r.kind === "end" ? `p(the item ends here) = ${pct(r.p)}` : `all the other characters together: ${pct(r.p)}`;
    const g = s("g", {class: `bar ${r.kind}`, "data-tip": tip, "data-char": r.kind === "char" ? r.char : null},
      s("text", {x: labelW - 10, y: y + rowH / 2 + 5, "text-anchor": "end", class: "bar-label"}, r.label),
      s("rect", {x: labelW, y: y + 3, width: w, height: rowH - 7, rx: 3}),
      s("text", {x: labelW + w + 6, y: y + rowH / 2 + 4, class: "bar-value"}, pct(r.p)));
    if (r.kind === "char") g.addEventListener("click", () => typeChar(r.char));
    return g;
  }));
  fill($("#watch-next-sub"), `after “${next.prefix}” · entropy ${num(next.entropy)} nats`);
}

function typeChar(c) {
  const input = $("#watch-input");
  input.value += c;
  input.focus();
  renderWatch();
}

/** A run that does not read left to right has no next-character distribution: say so instead. */
function drawNoNext(run) {
  const svg = $("#watch-bars");
  svg.setAttribute("height", 0);
  fill(svg);
  fill($("#watch-next-sub"), "");
  const why = run.reads === "both"
    ? "This mixture reads items in both directions, so it scores whole items but has no next-character distribution."
    : "This run reads items right to left (each character's surprise is given the characters after it), so it has no next-character distribution.";
  fill($("#watch-complete"), h("li", {class: "muted", id: "watch-no-next"}, why));
}

function drawCompletions(list, prefix) {
  fill($("#watch-complete"), list.length ? list.map((c) => h("li", {
    "data-tip": `p(“${c.completion}” + end | “${prefix}”) = ${pct(c.p)}; the whole item: ${num(c.nll)} nats`,
  }, h("span", {class: "item"}, h("span", {class: "prefix"}, prefix), c.completion || h("span", {class: "muted"}, ` ${END} end here`)),
  h("span", {class: "p"}, pct(c.p)))) : [h("li", {class: "muted"}, "The item is as long as the model's longest.")]);
}
