// Shape constraints in the page (suffix, contains, excludes, length, pattern, surely new), drawn the
// way makemore's Python sampler draws them (makemore/constraints/): the constraints as one automaton
// (automaton.js), "surely new" as a trie of the file's items (trie.js), and sequential Monte Carlo
// whose particles are proposed from p(next) psi(after next) and weighted by
// sum_c p(c) psi(after c) / psi(here), psi the exact probability of meeting the constraints under a
// count model of the training items (the guide, exported beside the model: a Kneser-Ney 4-gram, else
// a bigram; for a count model its own chain, whose particles are then exact).

import {Automaton, ShapeError, regexTable} from "./automaton.js";
import {BOUNDARY, filterLogits, logSoftmax, logSumExp} from "./sampler.js";
import {Trie} from "./trie.js";

export const PARTICLES = 16;
const LIMIT = 2 ** 25;            // contexts x automaton states x vocabulary, at most, for a guide

/** log beta[t] (C x S) of a count model's chain ({C, logP (C x V), next (C x V), start}) under the
 * automaton: the log-probability of going on to meet the constraints (exact.py's backward). */
function backward(chain, aut) {
  const {C, logP, next} = chain;
  const {S, V, maxLen: L, delta} = aut;
  const beta = new Array(L + 2);
  beta[L + 1] = new Float64Array(C * S).fill(-Infinity);
  const terms = new Float64Array(V);
  for (let t = L; t >= 0; t--) {
    const allowed = aut.allowed[t];
    const b = new Float64Array(C * S);
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < S; s++) {
        for (let v = 0; v < V; v++) {
          terms[v] = !allowed[s * V + v] ? -Infinity
            : logP[c * V + v] + (v === BOUNDARY ? 0 : beta[t + 1][next[c * V + v] * S + delta[s * V + v]]);
        }
        b[c * S + s] = logSumExp(terms);
      }
    }
    beta[t] = b;
  }
  return beta;
}

/** Exact beta of one chain under the automaton (and the trie): psi for the particles (exact.py's Exact). */
class Twist {
  constructor(chain, aut, trie) {
    Object.assign(this, {chain, aut, trie});
    this.beta = backward(chain, aut);
    if (trie) this.trieBackward();
  }

  trieBackward() {
    const {chain, aut, trie} = this;
    const {V} = aut;
    const n = trie.parent.length;
    this.nodeState = trie.states(aut);
    this.nodeCtx = new Int32Array(n);
    this.nodeCtx[0] = chain.start;
    for (let d = 1; d <= trie.depth; d++) {
      for (const v of trie.byDepth[d]) this.nodeCtx[v] = chain.next[this.nodeCtx[trie.parent[v]] * V + trie.char[v]];
    }
    this.nodeBeta = new Float64Array(n).fill(-Infinity);
    for (let d = Math.min(trie.depth, aut.maxLen); d >= 0; d--) {
      for (const v of trie.byDepth[d]) {
        if (this.nodeState[v] < 0) continue;
        const after = this.after(d, this.nodeCtx[v], this.nodeState[v], v);
        this.nodeBeta[v] = logSumExp(after.map((a, c) => a + this.chain.logP[this.nodeCtx[v] * V + c]));
      }
    }
  }

  start(prefix) {
    let c = this.chain.start;
    for (const t of prefix) c = this.chain.next[c * this.aut.V + t];
    return [c, this.aut.walk(prefix), this.trie ? this.trie.walk(prefix) : -1];
  }

  here(t, ctx, s, node) {
    return this.trie && node >= 0 ? this.nodeBeta[node] : this.beta[t][ctx * this.aut.S + s];
  }

  /** log psi after each next token (0 for an allowed end; -inf for what is not allowed). */
  after(t, ctx, s, node) {
    const {V, S, delta} = this.aut;
    const allowed = this.aut.allowed[t];
    const out = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      out[v] = !allowed[s * V + v] ? -Infinity
        : v === BOUNDARY ? 0 : this.beta[t + 1][this.chain.next[ctx * V + v] * S + delta[s * V + v]];
    }
    if (this.trie && node >= 0) {
      if (this.trie.terminal[node]) out[BOUNDARY] = -Infinity;
      for (const kid of this.trie.children[node]) {
        const c = this.trie.char[kid];
        out[c] = allowed[s * V + c] ? this.nodeBeta[kid] : -Infinity;
      }
    }
    return out;
  }
}

/** What the proposal multiplies p(next) by: a twist per tag, or (no guide fits) the mask alone. */
class Guide {
  constructor(aut, trie, ok, twists) {
    Object.assign(this, {aut, trie, ok, twists});
    this.first = twists ? twists.values().next().value : null;
  }

  twist(tag) {
    return this.twists.get(this.twists.has(null) ? null : tag);
  }

  start(prefix) {
    return this.first ? this.first.start(prefix) : [0, this.aut.walk(prefix), this.trie ? this.trie.walk(prefix) : -1];
  }

  nextCtx(ctx, c) {
    return this.first ? this.first.chain.next[ctx * this.aut.V + c] : ctx;
  }

  here(t, ctx, s, node, tag) {
    return this.first ? this.twist(tag).here(t, ctx, s, node) : 0;
  }

  after(t, ctx, s, node, tag) {
    if (this.first) return this.twist(tag).after(t, ctx, s, node);
    const {V} = this.aut;
    const allowed = this.aut.allowed[t];
    const out = Float64Array.from({length: V}, (_, c) => (allowed[s * V + c] ? 0 : -Infinity));
    if (this.trie && node >= 0) {
      if (this.trie.terminal[node]) out[BOUNDARY] = -Infinity;
      for (const kid of this.trie.children[node]) if (!this.ok[kid]) out[this.trie.char[kid]] = -Infinity;
    }
    return out;
  }
}

/** Draw an index with probability proportional to exp(logW[i]) (uniform if all are -inf). */
function pickIndex(weights, stream) {
  let u = stream.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((u -= weights[i]) < 0 && weights[i] > 0) return i;
  return weights.length - 1;
}

function normalized(logW) {
  const max = Math.max(...logW);
  if (max === -Infinity) return logW.map(() => 1 / logW.length);
  const w = logW.map((x) => Math.exp(x - max));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

/** n items under the guide, P particles each (smc.py's smc). */
async function smc(m, guide, {n, P, prefix, temperature, topK, topP, tags, stream}) {
  const V = m.V;
  const L = guide.aut.maxLen;
  const B = n * P;
  const rowTag = Array.from({length: B}, (_, b) => (tags ? tags[Math.floor(b / P)] : 0));
  let state = await m.initState(rowTag);
  let tokens = new Array(B).fill(BOUNDARY);
  const [c0, s0, u0] = guide.start(prefix);
  let ctx = new Array(B).fill(c0);
  let auto = new Array(B).fill(s0);
  let node = new Array(B).fill(u0);
  let logp = new Array(B).fill(0);
  for (const tok of prefix) {
    const r = await m.step(tokens, state);
    state = r.state;
    logp = logp.map((x, b) => x + logSoftmax(filterLogits(r.logits.subarray(b * V, (b + 1) * V), temperature, topK, topP))[tok]);
    tokens = tokens.map(() => tok);
  }
  let out = Array.from({length: B}, () => [...prefix]);
  let logW = new Array(B).fill(0);
  const psi0 = rowTag.map((tag, b) => guide.here(prefix.length, ctx[b], auto[b], node[b], tag));
  let here = [...psi0];
  let live = new Array(B).fill(true);
  let alive = [...Array(B).keys()];                 // the rows the model's state holds, in order
  for (let t = prefix.length; t <= L; t++) {
    const r = await m.step(alive.map((b) => tokens[b]), state);
    state = r.state;
    const grow = new Array(B).fill(false);
    alive.forEach((b, j) => {
      const lp = logSoftmax(filterLogits(r.logits.subarray(j * V, (j + 1) * V), temperature, topK, topP));
      const after = guide.after(t, ctx[b], auto[b], node[b], rowTag[b]);
      let score = lp.map((x, c) => x + after[c]);
      const kept = logSumExp(score);
      if (!Number.isFinite(kept)) score = after;       // the filters left nothing: this particle's weight is 0
      let nxt = BOUNDARY;
      let best = -Infinity;
      for (let c = 0; c < V; c++) {
        const g = score[c] - Math.log(stream.exponential());
        if (g > best) [best, nxt] = [g, c];
      }
      logW[b] += kept - here[b];
      logp[b] += lp[nxt];
      here[b] = after[nxt];
      grow[b] = nxt !== BOUNDARY;
      if (grow[b]) {
        if (t < L) out[b].push(nxt);
        auto[b] = guide.aut.delta[auto[b] * V + nxt];
        if (guide.trie) node[b] = guide.trie.child(node[b], nxt);
        ctx[b] = guide.nextCtx(ctx[b], nxt);
        tokens[b] = nxt;
      }
    });
    const keep = alive.map((b, j) => (grow[b] ? j : -1)).filter((j) => j >= 0);
    if (keep.length < alive.length) {
      state = keep.length ? m.selectRows(state, keep) : state;
      alive = keep.map((j) => alive[j]);
    }
    live = grow;
    if (!alive.length) break;
    ({state, alive, live, tokens, ctx, auto, node, out, logp, here, logW} =
      resample({state, alive, live, tokens, ctx, auto, node, out, logp, here, logW}, m, n, P, stream));
    if (!alive.length) break;
  }
  return Array.from({length: n}, (_, g) => {
    const w = logW.slice(g * P, (g + 1) * P);
    const pick = g * P + pickIndex(normalized(w), stream);
    const estimate = logSumExp(w) - Math.log(P) + psi0[g * P];
    return {tokens: out[pick], logp: logp[pick], p_constraint: Math.exp(estimate)};
  });
}

/** Resample the groups whose effective number of particles is below P/2 (smc.py's _resample). */
function resample(p, m, n, P, stream) {
  const B = n * P;
  const rows = [...Array(B).keys()];
  const mean = new Map();
  for (let g = 0; g < n; g++) {
    const w = normalized(p.logW.slice(g * P, (g + 1) * P));
    if (1 / w.reduce((a, x) => a + x * x, 0) >= P / 2) continue;
    for (let i = 0; i < P; i++) rows[g * P + i] = g * P + pickIndex(w, stream);
    mean.set(g, logSumExp(p.logW.slice(g * P, (g + 1) * P)) - Math.log(P));
  }
  if (!mean.size) return p;
  const at = new Map(p.alive.map((b, j) => [b, j]));       // each row's place in the state
  const live = rows.map((r) => p.live[r]);
  const held = rows.filter((r, b) => live[b]).map((r) => at.get(r));
  const pick = (xs) => rows.map((r) => xs[r]);
  return {state: held.length ? m.selectRows(p.state, held) : p.state, alive: live.flatMap((x, b) => (x ? [b] : [])),
    live, tokens: pick(p.tokens), ctx: pick(p.ctx), auto: pick(p.auto), node: pick(p.node),
    out: rows.map((r) => [...p.out[r]]), logp: pick(p.logp), here: pick(p.here),
    logW: rows.map((r, b) => (mean.has(Math.floor(b / P)) ? mean.get(Math.floor(b / P)) : p.logW[r]))};
}

/** The guides' chains, read once: [{C, tags, logP: [Float32Array per tag], next, start}]. */
async function guides(m) {
  if (m.guideChains === undefined) {
    m.guideChains = [];
    const V = m.V;
    for (const g of m.m.guides || []) {
      const r = await fetch(new URL(g.file, new URL("model/", location.href)));
      if (!r.ok) throw new Error(`model/${g.file}: ${r.status}`);
      const buf = await r.arrayBuffer();
      const cells = g.contexts * V;
      const logP = Array.from({length: g.tags}, (_, k) => new Float32Array(buf, 4 * k * cells, cells));
      m.guideChains.push({C: g.contexts, logP, next: new Int32Array(buf, 4 * g.tags * cells, cells), start: g.start});
    }
  }
  return m.guideChains;
}

/** n items meeting the shape, as sample_constrained draws them with a model that is not drawn exactly. */
export async function sampleUnder(m, {n, maxLen, prefix, temperature, topK, topP, tags, stream, shape}) {
  const enc = (field) => (shape[field] ? m.encode(shape[field]) : null);
  const describe = Object.entries(shape).map(([k, v]) => (v === true ? k : `${k} ${JSON.stringify(v)}`)).join(", ");
  const regex = shape.regex ? await regexTable(m, shape.regex) : null;
  const aut = new Automaton(m.V, maxLen, {suffix: enc("suffix"), contains: shape.contains ? [enc("contains")] : [],
    excludes: shape.excludes ? [enc("excludes")] : [], minLen: shape.min_len ?? 0, maxLen: shape.max_len ?? null, regex,
    describe});
  let trie = null;
  let ok = null;
  if (shape.new) {
    if (!m.items.size) throw new ShapeError("the file's items are not in this export, so new ones cannot be told", "new");
    m.trie = m.trie || new Trie([...m.items.keys()].map((w) => m.encode(w)), m.V);
    trie = m.trie;
    ok = trie.reachable(aut);
    const u = trie.walk(prefix);
    if (u >= 0 && !ok[u]) {
      throw new ShapeError(`every item that ${prefix.length ? "starts with the prefix and " : ""}meets the constraints is in the training file (${describe})`, "new");
    }
  }
  const groups = tags ? [...new Set(tags)] : [null];
  let twists = null;
  for (const chain of await guides(m)) {
    if (chain.C * aut.S * m.V > LIMIT) continue;
    twists = new Map(groups.map((k) => [k, new Twist({...chain, logP: chain.logP[chain.logP.length > 1 ? k : 0]}, aut, trie)]));
    break;
  }
  const guide = new Guide(aut, trie, ok, twists);
  const own = Boolean(twists && m.m.guide_is_model);     // the model's own chain: each particle is exact
  if (own && groups.some((k) => guide.here(prefix.length, ...guide.start(prefix), k) === -Infinity)) {
    throw new ShapeError(`the model gives no probability to any item that meets these constraints (${describe})`, "suffix");
  }
  const exact = own && temperature === 1 && !topK && (topP === null || topP >= 1);
  const P = PARTICLES;
  const step = Math.max(1, Math.floor(4096 / P));
  const drawn = [];
  for (let a = 0; a < n; a += step) {
    const b = Math.min(n, a + step);
    drawn.push(...await smc(m, guide, {n: b - a, P, prefix, temperature, topK, topP, tags: tags && tags.slice(a, b), stream}));
  }
  return drawn.map((d) => ({...d, exact}));
}
