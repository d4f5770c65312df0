"use strict";
// makemore serve: the page. Plain JavaScript over the JSON API under /api/ (docs/serve.md):
// no framework, no build step, nothing fetched from anywhere but this server.

const state = {
  runs: [],            // /api/runs
  run: null,           // the picked run's name
  view: "generate",
  generated: [],       // the last generated items
  generatedRun: null,  // ... and the run they came from
  cache: new Map(),    // "route run args" -> answer, for answers that do not change
  hiddenCurves: new Set(),
};
const PALETTE = ["#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#7c3aed", "#db2777", "#65a30d"];
const END = "⏎";    // how the end of an item is shown

// ---------- small helpers ----------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

/** An HTML element: h("li", {class: "x", onclick: f}, "text", child, ...). */
function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, the same way. */
function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(node.style, v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const pct = (p) => (p >= 0.1 ? (100 * p).toFixed(0) : p >= 0.001 ? (100 * p).toFixed(1) : (100 * p).toFixed(2)) + "%";
const num = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
const int = (x) => Number(x).toLocaleString("en-US");
const shown = (c) => (c === " " ? "␣" : c);
const baseName = (path) => path.split("/").filter(Boolean).pop();

class ApiError extends Error {
  constructor(message, field, status) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

/** POST a JSON object to /api/NAME; the answer, or an ApiError with the server's message. */
async function api(name, body = {}) {
  const r = await fetch("/api/" + name, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  let data;
  try {
    data = await r.json();
  } catch (e) {
    throw new ApiError(`${name}: the server answered ${r.status} without JSON`, null, r.status);
  }
  if (!r.ok) throw new ApiError(data.error || `HTTP ${r.status}`, data.field, r.status);
  return data;
}

/** api(), remembered: for answers that depend on the run and the arguments only. */
function cached(name, body) {
  const key = name + " " + JSON.stringify(body);
  if (!state.cache.has(key)) {
    const p = api(name, body);
    p.catch(() => state.cache.delete(key));
    state.cache.set(key, p);
  }
  return state.cache.get(key);
}

function showError(e) {
  const box = $("#error");
  box.textContent = e ? String(e.message || e) : "";
  box.hidden = !e;
}

/** Each run's colour, by its place in the list. */
function runColor(name) {
  const i = state.runs.findIndex((r) => r.name === name);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

function currentRun() {
  return state.runs.find((r) => r.name === state.run);
}

/** Rebuild a container's content. */
function fill(node, ...children) {
  $("#tooltip").hidden = true;            // what it described may be gone
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// ---------- colours --------------------------------------------------------------------------------

/** Surprise in nats -> a background: green (expected) to red (surprising); 6 nats and up is red. */
function surpriseColor(nats) {
  const t = Math.max(0, Math.min(nats / 6, 1));
  return `hsl(${Math.round(130 - 130 * t)}, 78%, ${Math.round(86 - 22 * t)}%)`;
}

function mix(a, b, t) {
  return a.map((x, i) => Math.round(x + (b[i] - x) * t));
}

/** 0..1 -> white to deep blue (the bigram heatmap, attention weights). */
function blues(t) {
  t = Math.max(0, Math.min(1, t));
  const c = t < 0.5 ? mix([247, 251, 255], [107, 174, 214], t * 2) : mix([107, 174, 214], [8, 48, 107], (t - 0.5) * 2);
  return `rgb(${c})`;
}

/** -1..1 -> blue, white, red (hidden states, tanh). */
function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? mix([255, 255, 255], [37, 99, 235], -t) : mix([255, 255, 255], [220, 38, 38], t);
  return `rgb(${c})`;
}

/** 0..1 -> white to violet (gate activations). */
function violets(t) {
  return `rgb(${mix([255, 255, 255], [76, 29, 149], Math.max(0, Math.min(1, t)))})`;
}

// ---------- the tooltip: any element with data-tip shows it on hover ---------------------------------

function placeTip(e, text) {
  const tip = $("#tooltip");
  if (!text) {
    tip.hidden = true;
    return;
  }
  tip.textContent = text;
  tip.hidden = false;
  const pad = 14;
  const w = tip.offsetWidth;
  const x = e.clientX + pad + w > window.innerWidth ? e.clientX - pad - w : e.clientX + pad;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${e.clientY + pad}px`;
}

document.addEventListener("mousemove", (e) => {
  const t = e.target.closest ? e.target.closest("[data-tip]") : null;
  placeTip(e, t ? t.getAttribute("data-tip") : null);
});
document.addEventListener("mouseleave", () => placeTip(null, null));

// ---------- runs and views -------------------------------------------------------------------------

const VIEWS = {generate: renderGenerate, watch: renderWatch, inside: renderInside, runs: renderRuns};

function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  return {view: q.get("view"), run: q.get("run")};
}

function writeHash() {
  history.replaceState(null, "", `#view=${state.view}&run=${encodeURIComponent(state.run || "")}`);
}

function setView(view) {
  if (!VIEWS[view]) view = "generate";
  state.view = view;
  for (const b of document.querySelectorAll(".tabs button")) {
    b.setAttribute("aria-selected", String(b.dataset.view === view));
  }
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${view}`;
  writeHash();
  showError(null);
  VIEWS[view]();
}

function setRun(name) {
  if (!state.runs.some((r) => r.name === name)) name = state.runs[0].name;
  state.run = name;
  $("#run").value = name;
  const r = currentRun();
  const final = r.final || {};
  const bits = [
    h("b", {}, r.name),
    `${r.type}${r.preset ? ` (${r.preset})` : ""}`,
    r.params ? `${int(r.params)} parameters` : r.type === "ensemble" ? `${r.members.length} members` : "counts",
    `vocabulary ${r.vocab.length}`,
    final.val !== undefined ? `val ${num(final.val, 4)} · test ${num(final.test, 4)} nats/char` : null,
  ].filter(Boolean);
  fill($("#run-info"), bits.flatMap((b, i) => (i ? [h("span", {class: "dot"}, "·"), b] : [b])));
  $("#legend-uniform").textContent = `nats (a uniform guess among the ${r.vocab.length} tokens: `
    + `ln ${r.vocab.length} = ${num(Math.log(r.vocab.length))})`;
  for (const id of ["#watch-input", "#inside-input", "#compare-input", "#gen-form [name=prefix]"]) {
    $(id).maxLength = r.max_len;
  }
  writeHash();
  showError(null);
  VIEWS[state.view]();
}

async function start() {
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => setView(b.dataset.view));
  $("#run").addEventListener("change", (e) => setRun(e.target.value));
  $("#gen-form").addEventListener("submit", (e) => {
    e.preventDefault();
    generate();
  });
  $("#gen-copy").addEventListener("click", copyItems);
  $("#gen-download").addEventListener("click", downloadItems);
  $("#watch-input").addEventListener("input", debounce(renderWatch, 40));
  $("#inside-input").addEventListener("input", debounce(renderModelPanel, 80));
  $("#compare-input").addEventListener("input", debounce(renderCompare, 80));
  renderLegend($("#watch-legend"));
  try {
    state.runs = (await api("runs")).runs;
  } catch (e) {
    showError(e);
    return;
  }
  fill($("#run"), state.runs.map((r) => h("option", {value: r.name}, r.name === r.type ? r.name : `${r.name} · ${r.type}`)));
  const want = readHash();
  state.view = VIEWS[want.view] ? want.view : "generate";
  state.run = want.run;
  setRun(want.run);
  setView(state.view);
  document.body.classList.add("ready");
}

// ---------- Generate ---------------------------------------------------------------------------------

function renderGenerate() {
  if (state.generatedRun !== state.run) generate();
}

/** The form's fields as API arguments: empty ones are left out (the server's defaults). */
function generateArgs() {
  const f = $("#gen-form");
  const args = {run: state.run};
  const ints = ["n", "top_k", "seed"];
  for (const name of ["n", "temperature", "top_k", "top_p", "seed"]) {
    const v = f.elements[name].value.trim();
    if (v !== "") args[name] = ints.includes(name) ? Number.parseInt(v, 10) : Number.parseFloat(v);
  }
  args.prefix = f.elements.prefix.value;
  args.unique = f.elements.unique.checked;
  return args;
}

async function generate() {
  const f = $("#gen-form");
  for (const input of f.querySelectorAll("input")) input.classList.remove("invalid");
  const button = $("#gen-go");
  button.disabled = true;
  try {
    const args = generateArgs();
    const data = await api("sample", args);
    state.generated = data.items;
    state.generatedRun = data.run;
    showError(null);
    drawGenerated(data.items);
  } catch (e) {
    if (e.field && f.elements[e.field]) f.elements[e.field].classList.add("invalid");
    showError(e);
  } finally {
    button.disabled = false;
  }
}

function drawGenerated(items) {
  const count = (k) => items.filter((x) => x.novelty === k).length;
  const cls = {new: "new", train: "train", "val/test": "heldout"};
  fill($("#gen-summary"), `${items.length} items from ${state.run}`,
    h("span", {class: "sub"}, `${count("new")} new · ${count("train")} in train · ${count("val/test")} in val/test`));
  fill($("#gen-items"), items.map((x) => h("li", {},
    h("span", {class: "item"}, x.item || "(empty)"),
    h("span", {class: `badge ${cls[x.novelty] || "unknown"}`}, x.novelty))));
  $("#gen-copy").disabled = $("#gen-download").disabled = !items.length;
}

async function copyItems() {
  const text = state.generated.map((x) => x.item).join("\n") + "\n";
  const button = $("#gen-copy");
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {                              // no clipboard permission: select the text instead
    const area = h("textarea", {class: "offscreen"});
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = "Copy"), 1200);
}

function downloadItems() {
  const text = state.generated.map((x) => x.item).join("\n") + "\n";
  const url = URL.createObjectURL(new Blob([text], {type: "text/plain;charset=utf-8"}));
  const a = h("a", {href: url, download: `${state.run.replace(/[^\w.-]+/g, "_")}-samples.txt`});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---------- Type & watch ----------------------------------------------------------------------------

let watchTurn = 0;   // answers to an older keystroke are dropped

/** Letters the vocabulary lacks in this case but has in the other are switched (names are lower case). */
function normalize(text) {
  const vocab = new Set(currentRun().vocab.slice(1));
  return [...text].map((c) => (vocab.has(c) ? c : vocab.has(c.toLowerCase()) ? c.toLowerCase()
    : vocab.has(c.toUpperCase()) ? c.toUpperCase() : c)).join("");
}

async function renderWatch() {
  const input = $("#watch-input");
  const fixed = normalize(input.value);
  if (fixed !== input.value) input.value = fixed;
  const text = input.value;
  const run = currentRun();
  const turn = ++watchTurn;
  const onward = run.reads === "left to right";     // only then is there a next character to show
  try {
    const [next, complete, score] = await Promise.all([
      onward ? api("next", {run: run.name, prefix: text}) : null,
      onward && text.length < run.max_len ? api("complete", {run: run.name, prefix: text, beam: 5}) : null,
      text ? api("score", {run: run.name, items: [text]}) : null,
    ]);
    if (turn !== watchTurn) return;
    input.classList.remove("invalid");
    showError(null);
    drawChips($("#watch-item"), score ? score.scores[0].surprise : []);
    drawTotal(score ? score.scores[0] : null);
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

/** The item as chips, each character coloured by its surprise -log p (nats); the end last. */
function drawChips(node, steps, compact = false) {
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

function renderLegend(node) {
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

// ---------- Inside -----------------------------------------------------------------------------------

async function renderInside() {
  const run = currentRun();
  const item = $("#inside-input");
  item.value = normalize(item.value);
  renderModelPanel();
  renderBigram(run);
  renderEmbeddings(run);
  renderHealth(run);
}

async function renderModelPanel() {
  const run = currentRun();
  const body = $("#model-body");
  const input = $("#inside-input");
  input.value = normalize(input.value);
  const v = run.views;
  $("#inside-hint").textContent = v.attention ? "The attention of every layer and head over this item."
    : "The recurrent state and gates at every step of this item.";
  $("#inside-item").hidden = !(v.attention || v.trace);
  try {
    if (v.attention) {
      $("#model-title").textContent = "Attention, every layer and head";
      drawAttention(body, await api("attention", {run: run.name, item: input.value}));
    } else if (v.trace) {
      $("#model-title").textContent = `Inside the ${run.type.toUpperCase()}, step by step`;
      drawTrace(body, await api("trace", {run: run.name, item: input.value}));
    } else {
      $("#model-title").textContent = "The model";
      drawModelNote(body, run);
    }
    input.classList.remove("invalid");
  } catch (e) {
    input.classList.add("invalid");
    fill(body, h("p", {class: "muted"}, e.message));
  }
}

function drawModelNote(body, run) {
  if (run.type === "ensemble") {
    const product = run.mix === "product";
    const note = product ? "A product p ∝ Π pᵢ^aᵢ of its members' next-character distributions, exponents fitted on val"
      : "A mixture p = Σ wᵢ pᵢ of its members' next-character distributions, weights fitted on val";
    fill(body, h("p", {}, note + (run.reads === "both" ? " (within each reading direction; the two directions mixed over whole items):" : ":")),
      h("table", {class: "table"}, h("tr", {}, h("th", {}, "member"), h("th", {}, "type"), h("th", {class: "r"}, product ? "exponent" : "weight")),
        run.members.map((m) => h("tr", {}, h("td", {}, baseName(m.run)), h("td", {}, m.type), h("td", {class: "r"}, num(m.weight, 3))))));
  } else if (run.views.health) {
    fill(body, h("p", {}, `The ${run.title} reads a window of the last characters through `
      + "tanh layers: its character embeddings and the health of those layers are below."));
  } else if (run.views.embeddings) {
    fill(body, h("p", {}, `The ${run.title} has no attention or recurrent state to show; `
      + "its character embeddings are below."));
  } else {
    fill(body, h("p", {}, `The ${run.title} is a table of counts: the bigram counts below `
      + "are what a bigram model learns."));
  }
}

/** One T x T heatmap per head, one row of heads per layer; row = the position that looks. */
function drawAttention(body, att) {
  const T = att.tokens.length;
  const cell = Math.max(10, Math.min(22, Math.floor(200 / T)));
  const pad = 16;
  const size = T * cell + pad;
  const label = (t, i) => `${shown(t)}${i ? "" : " (start)"}`;
  fill(body,
    h("p", {class: "hint"}, "Each square: row = the position reading (its query), column = where it looks (a key); "
      + "dark = much weight. Rows sum to 1; the upper triangle is empty because a position cannot see the future."),
    att.layers.map((heads, l) => h("div", {class: "att-layer"}, h("div", {class: "att-label"}, `layer ${l + 1}`),
      heads.map((w, hd) => h("figure", {class: "att-head"},
        s("svg", {width: size, height: size, viewBox: `0 0 ${size} ${size}`, class: "heat"},
          att.tokens.map((t, i) => s("text", {x: pad - 4, y: pad + i * cell + cell * 0.7, "text-anchor": "end", class: "axis"}, shown(t))),
          att.tokens.map((t, j) => s("text", {x: pad + j * cell + cell / 2, y: pad - 4, "text-anchor": "middle", class: "axis"}, shown(t))),
          w.flatMap((row, i) => row.map((x, j) => (j > i ? null : s("rect", {
            x: pad + j * cell, y: pad + i * cell, width: cell - 1, height: cell - 1, fill: blues(Math.sqrt(x)),
            "data-tip": `layer ${l + 1}, head ${hd + 1}: ${label(att.tokens[i], i)} looks at ${label(att.tokens[j], j)} `
              + `with weight ${num(x, 3)}`,
          }))).filter(Boolean))),
        h("figcaption", {}, `head ${hd + 1}`))))));
}

const GATE_NOTES = {
  h: "hidden state h, in (−1, 1): what the next layer and the prediction read",
  c: "cell state c: the LSTM's memory, unbounded",
  input: "input gate i: how much of the new candidate enters the cell (0 none, 1 all)",
  forget: "forget gate f: how much of the cell state is kept (1 keeps, 0 erases)",
  cell: "candidate g = tanh(…), in (−1, 1): what may be written into the cell",
  output: "output gate o: how much of tanh(c) is shown as h",
  reset: "reset gate r: how much of h the candidate may read",
  update: "update gate z: 1 keeps the old h, 0 takes the candidate",
  candidate: "candidate n = tanh(…), in (−1, 1)",
};
let traceChoice = {layer: 0, what: "h"};

/** Heatmap of one matrix over the item: a row per step (the token just read), a column per unit;
 *  at the end of each row, p(end) after that step. */
function drawTrace(body, tr) {
  const layer = tr.layers[Math.min(traceChoice.layer, tr.layers.length - 1)];
  const choices = ["h", ...(layer.c ? ["c"] : []), ...Object.keys(layer.gates)];
  if (!choices.includes(traceChoice.what)) traceChoice.what = "h";
  const what = traceChoice.what;
  const matrix = what === "h" ? layer.h : what === "c" ? layer.c : layer.gates[what];
  const T = tr.tokens.length;
  const H = matrix[0].length;
  const left = 34;
  const right = 84;
  const room = Math.max(300, (body.clientWidth || 900) - left - right - 8);
  const colW = Math.max(1, Math.min(24, Math.floor(room / H)));
  const rowH = 24;
  const top = 16;
  const gate = !["h", "c", "cell", "candidate"].includes(what);
  const scale = what === "c" ? Math.max(1, ...matrix.flat().map(Math.abs)) : 1;
  const color = gate ? violets : (v) => diverging(v / scale);
  const canvas = h("canvas", {class: "trace", "aria-label": `${what} over the item`});
  const dpr = window.devicePixelRatio || 1;
  const width = left + H * colW + right;
  const height = top + T * rowH;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.fillStyle = "#64748b";
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "left";
  g.fillText("unit 0", left, 11);
  g.textAlign = "right";
  g.fillText(`unit ${H - 1}`, left + H * colW, 11);
  g.textAlign = "left";
  g.fillText("p(end)", left + H * colW + 10, 11);
  for (let t = 0; t < T; t++) {
    const y = top + t * rowH;
    g.fillStyle = "#0f172a";
    g.font = "600 15px ui-monospace, SFMono-Regular, Menlo, monospace";
    g.textAlign = "center";
    g.fillText(shown(tr.tokens[t]), left / 2, y + rowH * 0.7);
    for (let u = 0; u < H; u++) {
      g.fillStyle = color(matrix[t][u]);
      g.fillRect(left + u * colW, y, colW, rowH - 2);
    }
    g.fillStyle = "#334155";
    g.font = "12px system-ui, sans-serif";
    g.textAlign = "left";
    g.fillText(pct(tr.p_end[t]), left + H * colW + 10, y + rowH * 0.68);
  }
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const u = Math.floor((e.clientX - r.left - left) / colW);
    const t = Math.floor((e.clientY - r.top - top) / rowH);
    const ok = t >= 0 && t < T && u >= 0 && u < H;
    canvas.setAttribute("data-tip", ok ? `${what}, unit ${u}, after reading '${shown(tr.tokens[t])}' (step ${t}): `
      + `${num(matrix[t][u], 3)}` : "");
  });
  const pick = (key, value) => () => {
    traceChoice = {...traceChoice, [key]: value};
    drawTrace(body, tr);
  };
  const names = {h: "h", c: "c", cell: "candidate g", candidate: "candidate n"};
  fill(body,
    h("div", {class: "seg"}, choices.map((c) => h("button", {type: "button", "aria-pressed": String(c === what),
      onclick: pick("what", c)}, names[c] || `${c} gate`))),
    tr.layers.length > 1 ? h("div", {class: "seg"}, tr.layers.map((_, i) => h("button", {
      type: "button", "aria-pressed": String(i === traceChoice.layer), onclick: pick("layer", i)}, `layer ${i + 1}`))) : null,
    h("p", {class: "hint"}, `${GATE_NOTES[what]}. A row per step (the character just read; . = the start), `
      + `a column per unit (${H}); `
      + (gate ? "white 0, violet 1." : `blue ${what === "c" ? `−${num(scale, 1)}` : "−1"}, white 0, red ${what === "c" ? `+${num(scale, 1)}` : "+1"}.`)
      + " Right: the model's p(the item ends next)."),
    h("div", {class: "scroll"}, canvas));
}

async function renderBigram(run) {
  const box = $("#bigram");
  try {
    const b = await cached("bigram", {run: run.name});
    if (run.name !== state.run) return;
    $("#bigram-sub").textContent = `${int(b.items)} training items; colour: √count; hover a cell`;
    const n = b.chars.length;
    const pad = 18;
    const cell = Math.max(12, Math.min(24, Math.floor(((box.clientWidth || 500) - pad - 4) / n)));
    const size = pad + n * cell;
    const max = Math.max(...b.counts.flat());
    fill(box, s("svg", {width: size, height: size, viewBox: `0 0 ${size} ${size}`, class: "heat", id: "bigram-svg"},
      b.chars.map((c, i) => s("text", {x: pad - 4, y: pad + i * cell + cell * 0.68, "text-anchor": "end", class: "axis"}, shown(c))),
      b.chars.map((c, j) => s("text", {x: pad + j * cell + cell / 2, y: pad - 5, "text-anchor": "middle", class: "axis"}, shown(c))),
      b.counts.flatMap((row, i) => row.map((count, j) => s("rect", {
        x: pad + j * cell, y: pad + i * cell, width: cell - 1, height: cell - 1, fill: blues(Math.sqrt(count / max)),
        "data-tip": `${i === 0 ? "start" : `'${b.chars[i]}'`} → ${j === 0 ? "end" : `'${b.chars[j]}'`}: count ${int(count)}, `
          + `p(${j === 0 ? "end" : b.chars[j]} | ${i === 0 ? "start" : b.chars[i]}) = ${pct(b.probs[i][j])}`,
      })))),
    h("p", {class: "hint"}, "Row: the previous character (. = the start), column: the next (. = the end)."));
  } catch (e) {
    fill(box, h("p", {class: "muted"}, e.message));
  }
}

async function renderEmbeddings(run) {
  const box = $("#embeddings");
  if (!run.views.embeddings) {
    $("#emb-sub").textContent = "";
    fill(box, h("p", {class: "muted"}, run.type === "ensemble" ? "An ensemble has no single embedding table: serve "
      + "its members to see theirs." : `A ${run.type} run has no character embedding table.`));
    return;
  }
  try {
    const e = await cached("embeddings", {run: run.name});
    if (run.name !== state.run) return;
    $("#emb-sub").textContent = e.title.replace(/^\S+ character embeddings:?\s*/, "");
    const W = 420;
    const pad = 24;
    const xs = e.points.map((p) => p[0]);
    const ys = e.points.map((p) => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(x1 - x0, y1 - y0) || 1;
    const X = (x) => pad + ((x - (x0 + x1) / 2) / span + 0.5) * (W - 2 * pad);
    const Y = (y) => pad + (0.5 - (y - (y0 + y1) / 2) / span) * (W - 2 * pad);
    const vowels = new Set(["a", "e", "i", "o", "u", "y"]);
    fill(box, s("svg", {width: W, height: W, viewBox: `0 0 ${W} ${W}`, class: "scatter", id: "emb-svg"},
      s("rect", {x: 0.5, y: 0.5, width: W - 1, height: W - 1, class: "frame"}),
      e.points.map((p, i) => s("g", {"data-tip": `${i === 0 ? "the boundary (start/end)" : `'${e.chars[i]}'`}: `
        + `(${num(p[0])}, ${num(p[1])})`, class: `pt${i === 0 ? " boundary" : vowels.has(e.chars[i]) ? " vowel" : ""}`},
      s("circle", {cx: X(p[0]), cy: Y(p[1]), r: 11}),
      s("text", {x: X(p[0]), y: Y(p[1]) + 4, "text-anchor": "middle"}, shown(e.chars[i]))))),
    h("p", {class: "hint"}, "Characters the model treats alike sit close together (vowels in orange)."));
  } catch (err) {
    fill(box, h("p", {class: "muted"}, err.message));
  }
}

async function renderHealth(run) {
  const panel = $("#panel-health");
  panel.hidden = !run.views.health;
  if (!run.views.health) return;
  const box = $("#health");
  try {
    const st = await cached("health", {run: run.name});
    if (run.name !== state.run) return;
    const W = 520;
    const H = 170;
    const all = st.tanh.flatMap((t) => t.hist.fraction);
    const fmax = Math.max(...all, 1e-9);
    const chart = s("svg", {width: W, height: H + 24, viewBox: `0 0 ${W} ${H + 24}`, class: "chart small"},
      s("line", {x1: 30, x2: W - 10, y1: H, y2: H, class: "axis-line"}),
      [-1, -0.5, 0, 0.5, 1].map((v) => s("text", {x: 30 + ((v + 1) / 2) * (W - 40), y: H + 16, "text-anchor": "middle", class: "axis"}, v)),
      st.tanh.map((t, i) => s("polyline", {
        points: t.hist.centers.map((c, k) => `${30 + ((c + 1) / 2) * (W - 40)},${H - (t.hist.fraction[k] / fmax) * (H - 10)}`).join(" "),
        stroke: PALETTE[i % PALETTE.length], class: "curve", "data-tip": `${t.layer}: ${num(t.saturated_pct, 1)}% saturated`,
      })));
    fill(box,
      h("p", {}, `Loss on the batch ${num(st.loss, 3)} nats; a uniform guess would be ${num(st.uniform_loss, 3)}.`),
      h("div", {class: "grid2 tight"},
        h("div", {}, h("h3", {}, "tanh outputs"), chart, h("p", {class: "hint"}, "Distribution of each tanh layer's outputs: "
          + "mass piled at ±1 means saturated units, whose gradient is nearly 0.")),
        h("div", {},
          h("table", {class: "table"}, h("tr", {}, h("th", {}, "tanh layer"), h("th", {class: "r"}, "mean"), h("th", {class: "r"}, "std"),
            h("th", {class: "r"}, "saturated")),
          st.tanh.map((t, i) => h("tr", {}, h("td", {}, h("span", {class: "swatch", style: {background: PALETTE[i % PALETTE.length]}}), t.layer),
            h("td", {class: "r"}, num(t.mean, 3)), h("td", {class: "r"}, num(t.std, 3)),
            h("td", {class: `r${t.saturated_pct > 5 ? " warn" : ""}`}, `${num(t.saturated_pct, 1)}%`)))),
          h("table", {class: "table"}, h("tr", {}, h("th", {}, "weight"), h("th", {}, "shape"), h("th", {class: "r"}, "grad std"),
            h("th", {class: "r"}, "grad:data")),
          st.weights.map((w) => h("tr", {}, h("td", {}, w.param), h("td", {}, w.shape.join("×")),
            h("td", {class: "r"}, w.grad_std.toExponential(1)), h("td", {class: "r"}, w.grad_data_ratio.toExponential(1))))))));
  } catch (e) {
    fill(box, h("p", {class: "muted"}, e.message));
  }
}

// ---------- Runs -------------------------------------------------------------------------------------

function renderRuns() {
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

async function drawCurves() {
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

async function renderCompare() {
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

window.addEventListener("resize", debounce(() => {
  if (state.view === "runs") drawCurves();
}, 200));
document.addEventListener("DOMContentLoaded", start);
