// The Inside view: attention or the recurrent trace over an item, the bigram counts, the character
// embeddings and the tanh layers' health.

import {api, cached} from "./api.js";
import {PALETTE, blues, diverging, violets} from "./colours.js";
import {$, baseName, fill, h, int, num, pct, s, shown} from "./dom.js";
import {currentRun, state} from "./state.js";
import {normalize} from "./watch.js";

export async function renderInside() {
  const run = currentRun();
  const item = $("#inside-input");
  item.value = normalize(item.value);
  renderModelPanel();
  renderBigram(run);
  renderEmbeddings(run);
  renderHealth(run);
}

export async function renderModelPanel() {
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
