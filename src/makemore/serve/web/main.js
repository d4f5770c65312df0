// makemore serve: the page. Plain JavaScript modules over the JSON API under /api/ (docs/serve.md):
// no framework, no build step, nothing fetched from anywhere but this server. This module picks
// the run and the view (both kept in the URL's #) and starts the page.

import {api} from "./api.js";
import {$, debounce, fill, h, installTooltips, int, num, showError} from "./dom.js";
import {copyItems, downloadItems, generate, renderGenerate, tagChanged} from "./generate.js";
import {renderInside, renderModelPanel} from "./inside.js";
import {drawCurves, renderCompare, renderRuns} from "./runs.js";
import {currentRun, state} from "./state.js";
import {renderLegend, renderWatch} from "./watch.js";

const VIEWS = {generate: renderGenerate, watch: renderWatch, inside: renderInside, runs: renderRuns};

function readHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  return {view: q.get("view"), run: q.get("run")};
}

function writeHash() {
  history.replaceState(null, "", `#view=${state.view}&run=${encodeURIComponent(state.run || "")}`);
}

function setView(view) {
  if (!VIEWS[view] || !$(`#view-${view}`)) view = "generate";    // an exported page has two of the views
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
    if ($(id)) $(id).maxLength = r.max_len;
  }
  writeHash();
  showError(null);
  VIEWS[state.view]();
}

async function start() {
  installTooltips();
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => setView(b.dataset.view));
  $("#run").addEventListener("change", (e) => setRun(e.target.value));
  $("#gen-form").addEventListener("submit", (e) => {
    e.preventDefault();
    generate();
  });
  $("#gen-tag").addEventListener("change", tagChanged);
  $("#gen-copy").addEventListener("click", copyItems);
  $("#gen-download").addEventListener("click", downloadItems);
  $("#watch-input").addEventListener("input", debounce(renderWatch, 40));
  $("#inside-input")?.addEventListener("input", debounce(renderModelPanel, 80));
  $("#compare-input")?.addEventListener("input", debounce(renderCompare, 80));
  renderLegend($("#watch-legend"));
  try {
    state.runs = (await api("runs")).runs;
  } catch (e) {
    showError(e);
    return;
  }
  fill($("#run"), state.runs.map((r) => h("option", {value: r.name}, r.name === r.type ? r.name : `${r.name} · ${r.type}`)));
  const want = readHash();
  state.view = VIEWS[want.view] && $(`#view-${want.view}`) ? want.view : "generate";
  state.run = want.run;
  setRun(want.run);
  setView(state.view);
  document.body.classList.add("ready");
}

window.addEventListener("resize", debounce(() => {
  if (state.view === "runs") drawCurves();
}, 200));
document.addEventListener("DOMContentLoaded", start);
