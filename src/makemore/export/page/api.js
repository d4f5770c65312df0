// The page's questions answered in the browser, for a folder written by `makemore export --format
// web`: the same routes and answers as `makemore serve`'s JSON API (makemore/explore.py) for the
// Generate and Type & watch views, computed with the model's graphs on onnxruntime-web
// (sampler.js). Nothing is asked of any server beyond the folder's own files.

import {sampleUnder} from "./constraints.js";
import {BOUNDARY, Model, PageStream, logSoftmax, logSumExp} from "./sampler.js";

const MAX_N = 1000;
const MAX_BEAM = 20;

export class ApiError extends Error {
  constructor(message, field = null, status = 400) {
    super(message);
    Object.assign(this, {field, status});
  }
}

let loading = null;      // the model, loaded once

function model() {
  loading = loading || Model.load("model/");
  return loading;
}

const fail = (field, message) => {
  throw new ApiError(`${field}: ${message}`, field);
};

/** A string of the model's characters, at most `longest` of them (explore.check_text). */
function text(m, value, field, {empty = true, longest = m.m.max_len} = {}) {
  if (typeof value !== "string") fail(field, "must be a string");
  const v = m.m.nfc ? value.normalize("NFC") : value;
  const n = m.split(v).length;
  if (n > longest) fail(field, `is ${n} characters; at most ${longest} here`);
  if (!v && !empty) fail(field, "is empty");
  try {
    m.encode(v);
  } catch (e) {
    fail(field, e.message);
  }
  return v;
}

function int(value, field, lo, hi) {
  if (!Number.isInteger(value) || value < lo || value > hi) fail(field, `must be a whole number in [${lo}, ${hi}]`);
  return value;
}

/** The tag's index (a given tag), or null; unknown tags are errors. */
function tagIndex(m, tag) {
  if (tag === undefined || tag === null || tag === "") return null;
  const k = (m.m.tags || []).indexOf(tag);
  if (k < 0) fail("tag", m.m.tags ? `unknown tag ${JSON.stringify(tag)}; the tags are ${m.m.tags.join(", ")}` : "this run's items have no tags");
  return k;
}

/** The mixture over tags to draw each item's tag from (tagging.tag_weights): one tag, a blend
 * "it=0.7,es=0.3", or the training frequencies. */
function tagWeights(m, spec) {
  const names = m.m.tags;
  if (spec === undefined || spec === null || spec === "") return names.map((t) => m.m.tags_train[t]);
  const w = names.map(() => 0);
  if (!spec.includes("=") && !spec.includes(",")) {
    w[tagIndex(m, spec.trim())] = 1;
    return w;
  }
  for (const part of spec.split(",")) {
    const [tag, weight] = part.split("=");
    const x = Number(weight);
    if (weight === undefined || !(x > 0 && x < Infinity)) fail("tag", `${part.trim()} is not TAG=WEIGHT with a positive weight`);
    w[tagIndex(m, tag.trim())] += x;
  }
  return w;
}

function drawTag(weights, stream) {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = stream.uniform() * total;
  for (let k = 0; k < weights.length; k++) if ((u -= weights[k]) < 0 && weights[k] > 0) return k;
  return weights.findLastIndex((x) => x > 0);
}

const ROUTES = {
  async runs(m) {
    return {runs: [m.m.run]};
  },

  async sample(m, a) {
    const n = int(a.n ?? 20, "n", 1, MAX_N);
    const temperature = a.temperature ?? 1;
    if (!(temperature >= 0 && temperature <= 100)) fail("temperature", "must be in [0, 100]");
    const topK = a.top_k === undefined ? null : int(a.top_k, "top_k", 1, m.V);
    const topP = a.top_p ?? null;
    if (topP !== null && !(topP > 0 && topP <= 1)) fail("top_p", "must be in (0, 1]");
    const prefix = text(m, a.prefix ?? "", "prefix", {longest: m.m.max_len - 1});
    if (prefix && m.m.reverse) fail("prefix", "this run reads items right to left, so it cannot continue a prefix");
    const seed = a.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : int(a.seed, "seed", 0, 2 ** 32 - 1);
    const stream = new PageStream(seed);
    const weights = m.m.tags ? tagWeights(m, a.tag) : null;
    const shape = {};
    for (const k of ["suffix", "contains", "excludes"]) if (a[k]) shape[k] = text(m, a[k], k, {longest: 256});
    for (const k of ["min_len", "max_len"]) if (a[k] !== undefined) shape[k] = int(a[k], k, k === "min_len" ? 0 : 1, m.m.max_len);
    if (a.regex) {
      if (typeof a.regex !== "string" || a.regex.length > 256) fail("regex", "must be a string of at most 256 characters");
      shape.regex = a.regex;
    }
    if (a.new) shape.new = true;
    if (m.m.reverse && Object.keys(shape).length) fail("suffix", "this run reads items right to left, so it cannot constrain what comes next");
    const options = {maxLen: m.m.max_len, prefix: m.encode(prefix), temperature, topK, topP};
    const items = [];
    const seen = new Set();
    for (let round = 0; round < (a.unique ? 50 : 1) && items.length < n; round++) {
      const want = a.unique ? 2 * (n - items.length) + 8 : n;
      const tags = weights ? Array.from({length: want}, () => drawTag(weights, stream)) : null;
      const drawn = Object.keys(shape).length
        ? await sampleUnder(m, {...options, n: want, tags, stream, shape}).catch((e) => fail(e.field || "suffix", e.message))
        : (await m.generate({...options, n: want, tags, stream})).map((tokens) => ({tokens}));
      drawn.forEach((d, i) => {
        const word = m.decode(d.tokens);
        const item = m.m.reverse ? [...word].reverse().join("") : word;
        if (items.length >= n || (a.unique && seen.has(item))) return;
        seen.add(item);
        const out = {item, novelty: m.items.size ? m.items.get(word) || "new" : "?"};
        if (tags) out.tag = m.m.tags[tags[i]];
        if (d.p_constraint !== undefined) Object.assign(out, {logp: d.logp, p_constraint: d.p_constraint, exact: d.exact});
        items.push(out);
      });
    }
    return {items, run: m.m.run.name};
  },

  async next(m, a) {
    const prefix = text(m, a.prefix ?? "", "prefix");
    const probs = (await marginal(m, prefix, tagIndex(m, a.tag))).map(Math.exp);
    const order = [...probs.keys()].slice(1).sort((x, y) => probs[y] - probs[x]).slice(0, a.k ?? 10);
    const top = order.map((c) => ({char: m.m.vocab[c], p: probs[c]}));
    const entropy = -probs.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0);
    return {prefix, top, end: probs[BOUNDARY], rest: Math.max(0, 1 - probs[BOUNDARY] - top.reduce((s, t) => s + t.p, 0)), entropy};
  },

  async score(m, a) {
    const items = Array.isArray(a.items) ? a.items : fail("items", "must be a list of strings");
    return {scores: await Promise.all(items.map((w) => surprise(m, text(m, w, "items", {empty: false}), tagIndex(m, a.tag))))};
  },

  async complete(m, a) {
    const prefix = text(m, a.prefix ?? "", "prefix", {longest: m.m.max_len - 1});
    return {completions: await beamSearch(m, prefix, int(a.beam ?? 5, "beam", 1, MAX_BEAM), tagIndex(m, a.tag))};
  },

  async classify(m, a) {
    const item = text(m, a.item, "item", {empty: false});
    if (!m.m.tags) fail("run", "this run was trained on untagged items: it has no tags to tell");
    const read = m.encode(m.m.reverse ? [...item].reverse().join("") : item);
    const {joint} = await underEveryTag(m, read);
    const last = joint.map((row) => row[row.length - 1]);
    const lse = logSumExp(last);
    const tags = m.m.tags.map((tag, k) => ({tag, p: Math.exp(last[k] - lse)})).sort((x, y) => y.p - x.p);
    return {item, tags};
  },
};

/** A tagged model over tokens under every tag: logp[k][t] (V log-probabilities) and joint[k][t] =
 * log p(tag k) + log p(the first t tokens | k), for t = 0 .. T (+ the end at T + 1). */
async function underEveryTag(m, tokens) {
  const K = m.m.tags.length;
  const prior = m.m.tags.map((t) => m.m.tags_train[t]);
  const total = prior.reduce((s, x) => s + x, 0);
  const logp = await m.logProbs(Array.from({length: K}, () => tokens), [...Array(K).keys()]);
  const joint = logp.map((rows, k) => {
    let acc = Math.log(prior[k] / total);
    const out = [acc];
    tokens.forEach((tok, t) => out.push((acc += rows[t][tok])));
    out.push(acc + rows[tokens.length][BOUNDARY]);
    return out;
  });
  return {logp, joint};
}

/** Log-probabilities of the next token after text: under tag, or (a tagged model without one) of
 * the mixture over tags given the text so far (explore._logits). */
async function marginal(m, text, tag) {
  if (m.m.reverse) fail("run", "this run reads items right to left: it has no next-character distribution");
  const tokens = m.encode(text);
  if (!m.m.tags || tag !== null) return (await m.logProbs([tokens], [tag ?? 0]))[0][tokens.length];
  const {logp, joint} = await underEveryTag(m, tokens);
  const T = tokens.length;
  const lse = logSumExp(joint.map((j) => j[T]));
  return Float64Array.from({length: m.V}, (_, c) => logSumExp(logp.map((rows, k) => joint[k][T] - lse + rows[T][c])));
}

async function likeliestTag(m, tokens, tag) {
  if (tag !== null || !m.m.tags) return tag;
  const {joint} = await underEveryTag(m, tokens);
  const last = joint.map((j) => j[tokens.length]);
  return last.indexOf(Math.max(...last));
}

/** Each character's surprise -ln p and the end's (explore.surprise). */
async function surprise(m, item, tag) {
  const chars = m.split(item);
  const read = m.m.reverse ? [...chars].reverse() : chars;
  const tokens = read.map((c) => m.stoi.get(c));
  let rows;
  if (m.m.tags && tag === null) {                 // the mixture over tags, as `marginal` gives it at each step
    const {logp, joint} = await underEveryTag(m, tokens);
    rows = tokens.concat([BOUNDARY]).map((_, t) => {
      const lse = logSumExp(joint.map((j) => j[t]));
      return Float64Array.from({length: m.V}, (_, c) => logSumExp(logp.map((r, k) => joint[k][t] - lse + r[t][c])));
    });
  } else {
    rows = (await m.logProbs([tokens], [tag ?? 0]))[0];
  }
  let nll = tokens.concat([BOUNDARY]).map((tok, t) => -rows[t][tok]);
  if (m.m.reverse) nll = nll.slice(0, -1).reverse().concat(nll.slice(-1));
  const steps = chars.map((c, i) => ({char: c, nll: nll[i], p: Math.exp(-nll[i])}));
  const end = nll[nll.length - 1];
  steps.push({char: "", end: true, nll: end, p: Math.exp(-end)});
  const total = nll.reduce((s, x) => s + x, 0);
  return {item, nll: total, nll_per_char: total / (chars.length + 1), chars: chars.length + 1, surprise: steps};
}

/** The likeliest whole items starting with prefix, `beam` kept at each step (explore.completions). */
async function beamSearch(m, prefix, beam, tag) {
  if (m.m.reverse) fail("run", "this run reads items right to left: it has no completions of a prefix");
  const tokens = m.encode(prefix);
  tag = await likeliestTag(m, tokens, tag);
  const room = m.m.max_len - tokens.length;
  const rows = (await m.logProbs([tokens], [tag ?? 0]))[0];
  let prefixNll = 0;
  tokens.forEach((tok, t) => (prefixNll -= rows[t][tok]));
  let state = await m.initState([tag ?? 0]);
  for (const tok of [BOUNDARY, ...tokens]) state = (await m.step([tok], state)).state;
  let logp = [rows[tokens.length]];
  let scores = [0];
  let texts = [""];
  let done = [];
  for (let length = 0; length <= room; length++) {
    scores.forEach((s, b) => done.push([s + logp[b][BOUNDARY], texts[b]]));
    done = done.sort((x, y) => y[0] - x[0]).slice(0, beam);
    if (length === room) break;
    const cand = [];
    scores.forEach((s, b) => logp[b].forEach((lp, c) => c !== BOUNDARY && cand.push([s + lp, b, c])));
    const top = cand.sort((x, y) => y[0] - x[0]).slice(0, beam);
    if (done.length === beam && top[0][0] < done[beam - 1][0]) break;
    scores = top.map((x) => x[0]);
    texts = top.map(([, b, c]) => texts[b] + m.m.vocab[c]);
    const r = await m.step(top.map((x) => x[2]), m.selectRows(state, top.map((x) => x[1])));
    state = r.state;
    logp = top.map((_, b) => logSoftmax(r.logits.subarray(b * m.V, (b + 1) * m.V)));
  }
  return done.map(([s, w]) => ({item: prefix + w, completion: w, p: Math.exp(s), nll: prefixNll - s,
    ...(m.m.tags ? {tag: m.m.tags[tag]} : {})}));
}

/** Answer a question as the server would: the answer, or an ApiError naming the field. */
export async function api(name, body = {}) {
  const route = ROUTES[name];
  if (!route) throw new ApiError(`${name}: this view needs makemore serve (the exported page generates and scores only)`, null, 404);
  let m;
  try {
    m = await model();
  } catch (e) {
    throw new ApiError(`the model could not be loaded: ${e.message}`, null, 500);
  }
  return route(m, body);
}

const answers = new Map();

/** api(), remembered (answers that depend on the arguments only). */
export function cached(name, body) {
  const key = name + " " + JSON.stringify(body);
  if (!answers.has(key)) answers.set(key, api(name, body).catch((e) => {
    answers.delete(key);
    throw e;
  }));
  return answers.get(key);
}
