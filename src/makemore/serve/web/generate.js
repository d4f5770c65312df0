// The Generate view: sample items with the form's settings, copy or download them.

import {api} from "./api.js";
import {$, fill, h, showError} from "./dom.js";
import {currentRun, state} from "./state.js";

export function renderGenerate() {
  if (state.generatedRun !== state.run) {
    setTagChoices();
    generate();
  }
}

/** The tag selector of a run of tagged items: every tag, the training frequencies, or a blend. */
function setTagChoices() {
  const run = currentRun();
  const tags = (run && run.tags) || [];
  for (const node of document.querySelectorAll("#gen-form .tagged")) node.hidden = !tags.length;
  fill($("#gen-tag"), h("option", {value: ""}, "any (training frequencies)"),
    tags.map((t) => h("option", {value: t}, t)), h("option", {value: "*blend"}, "a blend…"));
  $("#gen-blend-label").hidden = true;
}

export function tagChanged() {
  $("#gen-blend-label").hidden = $("#gen-tag").value !== "*blend";
}

/** The form's fields as API arguments: empty ones are left out (the server's defaults). */
function generateArgs() {
  const f = $("#gen-form");
  const args = {run: state.run};
  const ints = ["n", "top_k", "seed", "min_len", "max_len"];
  for (const name of ["n", "temperature", "top_k", "top_p", "seed", "min_len", "max_len"]) {
    const v = f.elements[name].value.trim();
    if (v !== "") args[name] = ints.includes(name) ? Number.parseInt(v, 10) : Number.parseFloat(v);
  }
  args.prefix = f.elements.prefix.value;
  for (const name of ["suffix", "contains", "excludes", "regex"]) {
    if (f.elements[name].value !== "") args[name] = f.elements[name].value;
  }
  args.unique = f.elements.unique.checked;
  if (f.elements.new.checked) args.new = true;
  const run = currentRun();
  if (run && run.tags && run.tags.length) {
    const tag = f.elements.tag.value;
    if (tag === "*blend") args.tag = f.elements.blend.value.trim();
    else if (tag) args.tag = tag;
  }
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
    const field = e.field === "tag" && f.elements.tag.value === "*blend" ? "blend" : e.field;
    if (field && f.elements[field]) f.elements[field].classList.add("invalid");
    showError(e);
  } finally {
    button.disabled = false;
  }
}

function drawGenerated(items) {
  const count = (k) => items.filter((x) => x.novelty === k).length;
  const cls = {new: "new", train: "train", "val/test": "heldout"};
  const share = items.length && items[0].p_constraint !== undefined
    ? ` · about 1 in ${Math.round(1 / items.reduce((a, x) => a + x.p_constraint, 0) * items.length).toLocaleString()} of the model's items meet the shape${items[0].exact ? "" : " (estimated)"}`
    : "";
  fill($("#gen-summary"), `${items.length} items from ${state.run}`,
    h("span", {class: "sub"}, `${count("new")} new · ${count("train")} in train · ${count("val/test")} in val/test${share}`));
  fill($("#gen-items"), items.map((x) => h("li", {},
    h("span", {class: "item"}, x.item || "(empty)"),
    h("span", {class: `badge ${cls[x.novelty] || "unknown"}`}, x.novelty),
    x.tag ? h("span", {class: "badge tag"}, x.tag) : null)));
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
