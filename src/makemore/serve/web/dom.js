// The page's building blocks: element builders (h for HTML, s for SVG), number and character
// formats, the error box and the tooltip.

export const END = "⏎";    // how the end of an item is shown

export const $ = (selector) => document.querySelector(selector);

/** An HTML element: h("li", {class: "x", onclick: f}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, the same way. */
export function s(tag, attrs = {}, ...children) {
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

export const pct = (p) => (p >= 0.1 ? (100 * p).toFixed(0) : p >= 0.001 ? (100 * p).toFixed(1) : (100 * p).toFixed(2)) + "%";
export const num = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
export const int = (x) => Number(x).toLocaleString("en-US");
export const shown = (c) => (c === " " ? "␣" : c);
export const baseName = (path) => path.split("/").filter(Boolean).pop();

export function showError(e) {
  const box = $("#error");
  box.textContent = e ? String(e.message || e) : "";
  box.hidden = !e;
}

/** Rebuild a container's content. */
export function fill(node, ...children) {
  $("#tooltip").hidden = true;            // what it described may be gone
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

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

/** Any element with data-tip shows it on hover. */
export function installTooltips() {
  document.addEventListener("mousemove", (e) => {
    const t = e.target.closest ? e.target.closest("[data-tip]") : null;
    placeTip(e, t ? t.getAttribute("data-tip") : null);
  });
  document.addEventListener("mouseleave", () => placeTip(null, null));
}
