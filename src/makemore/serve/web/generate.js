// The Generate view: sample items with the form's settings, copy or download them.

import {api} from "./api.js";
import {$, fill, h, showError} from "./dom.js";
import {state} from "./state.js";

export function renderGenerate() {
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

export async function generate() {
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

export async function copyItems() {
  const text = state.generated.map((x) => x.item).join("\n") + "\n";
  const button = $("#gen-copy");
  try {
    await navigator.clipboard.writeText(text);
  } catch {                              // no clipboard permission: select the text instead
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

export function downloadItems() {
  const text = state.generated.map((x) => x.item).join("\n") + "\n";
  const url = URL.createObjectURL(new Blob([text], {type: "text/plain;charset=utf-8"}));
  const a = h("a", {href: url, download: `${state.run.replace(/[^\w.-]+/g, "_")}-samples.txt`});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
