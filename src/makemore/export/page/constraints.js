// Shape constraints in the page (suffix, contains, excludes, length, surely new), drawn the way
// makemore's Python sampler draws them (makemore/constraints/): the constraints as one automaton
// over the tokens (a Knuth-Morris-Pratt matcher per string, run side by side, with the length
// bounds); "surely new" as a trie of the file's items; and sequential Monte Carlo whose particles
// are proposed from p(next) psi(after next) and weighted by sum_c p(c) psi(after c) / psi(here),
// psi the exact probability of meeting the constraints under a count model of the training items
// (the guide, exported beside the model: a Kneser-Ney 4-gram, else a bigram; for a count model its
// own chain, whose particles are then exact). A pattern (regex) is compiled to an automaton by refa,
// exported beside the page, as interegular compiles it for the Python sampler.

import {BOUNDARY, filterLogits, logSoftmax} from "./sampler.js";

export const PARTICLES = 16;
const LIMIT = 2 ** 25;            // contexts x automaton states x vocabulary, at most, for a guide
const MAX_STATES = 100000;

class ShapeError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

function logSumExp(xs) {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return max;
  let s = 0;
  for (const x of xs) s += Math.exp(x - max);
  return max + Math.log(s);
}

/** (m + 1) x V: the matched length after each token (Knuth, Morris & Pratt). */
function kmpTable(pattern, V) {
  const m = pattern.length;
  const table = new Int32Array((m + 1) * V);
  let fail = 0;
  for (let j = 0; j <= m; j++) {
    if (j > 0) table.copyWithin(j * V, fail * V, fail * V + V);
    if (j < m) {
      table[j * V + pattern[j]] = j + 1;
      if (j > 0) fail = table[fail * V + pattern[j]];
    }
  }
  return table;
}

/** The constraints as one automaton (constraints/automaton.py): state 0 the start, delta (S x V,
 * -1 never), accept (S), allowed[t] (S x V) what may come next after t tokens. */
export class Automaton {
  constructor(V, modelMaxLen, {suffix = null, contains = [], excludes = [], minLen = 0, maxLen = null, regex = null,
    describe = ""}) {
    const L = maxLen ?? modelMaxLen;
    if (minLen > L) throw new ShapeError(`min_len ${minLen} is above max_len ${L}: no item can meet both`, "min_len");
    Object.assign(this, {V, minLen, maxLen: L, describe});
    this.parts = [...(suffix ? [["suffix", suffix]] : []), ...contains.map((s) => ["contains", s]),
      ...excludes.map((s) => ["excludes", s])].map(([kind, s]) => ({kind, m: s.length, table: kmpTable(s, V)}));
    if (regex) this.parts.push({kind: "regex", ...regex});    // {initial, finals (a Set), table (states x V, -1: no)}
    this.build();
    this.reachability();
  }

  next(state, c) {
    const out = [];
    for (let i = 0; i < this.parts.length; i++) {
      const {kind, m, table} = this.parts[i];
      let j = state[i];
      if (kind === "regex") {
        j = table[j * this.V + c];
        if (j < 0) return null;                     // the pattern cannot match any more
        out.push(j);
        continue;
      }
      if (kind === "contains" && j === m) {
        out.push(m);
        continue;
      }
      j = table[j * this.V + c];
      if (kind === "excludes" && j === m) return null;
      out.push(j);
    }
    return out;
  }

  build() {
    const V = this.V;
    const start = this.parts.map((p) => (p.kind === "regex" ? p.initial : 0));
    const index = new Map([[start.join(), 0]]);
    const order = [start];
    const rows = [];
    while (rows.length < order.length) {
      const state = order[rows.length];
      const row = new Int32Array(V).fill(-1);
      for (let c = 1; c < V; c++) {
        const nxt = this.next(state, c);
        if (nxt === null) continue;
        const key = nxt.join();
        if (!index.has(key)) {
          if (index.size >= MAX_STATES) throw new ShapeError(`the constraints need more than ${MAX_STATES} automaton states`, "contains");
          index.set(key, order.length);
          order.push(nxt);
        }
        row[c] = index.get(key);
      }
      rows.push(row);
    }
    this.S = rows.length;
    this.delta = new Int32Array(this.S * V);
    rows.forEach((row, s) => this.delta.set(row, s * V));
    this.accept = Uint8Array.from(order, (st) => this.parts.every((p, i) => p.kind === "excludes"
      || (p.kind === "regex" ? p.finals.has(st[i]) : st[i] === p.m)));
  }

  reachability() {
    const {S, V, maxLen: L, delta, accept} = this;
    const reach = [Uint8Array.from(accept)];            // reach[k][s]: an accepting end in exactly k more
    for (let k = 1; k <= L; k++) {
      const r = new Uint8Array(S);
      for (let s = 0; s < S; s++) {
        for (let c = 1; c < V && !r[s]; c++) if (delta[s * V + c] >= 0 && reach[k - 1][delta[s * V + c]]) r[s] = 1;
      }
      reach.push(r);
    }
    this.allowed = [];
    for (let t = 0; t <= L; t++) {
      const a = new Uint8Array(S * V);
      const lo = Math.max(0, this.minLen - t - 1);
      const hi = L - t - 1;
      for (let s = 0; s < S; s++) {
        for (let c = 1; c < V; c++) {
          const d = delta[s * V + c];
          if (d < 0) continue;
          for (let k = lo; k <= hi; k++) if (reach[k][d]) {
            a[s * V + c] = 1;
            break;
          }
        }
        a[s * V + BOUNDARY] = accept[s] && t >= this.minLen ? 1 : 0;
      }
      this.allowed.push(a);
    }
    if (!reach.some((r, k) => k >= this.minLen && r[0])) {
      throw new ShapeError(`no item can meet these constraints together (${this.describe})`, "suffix");
    }
  }

  walk(tokens) {
    let s = 0;
    tokens.forEach((c, t) => {
      if (!this.allowed[t][s * this.V + c]) {
        throw new ShapeError(`no item that starts with the prefix can meet the constraints (${this.describe})`, "prefix");
      }
      s = this.delta[s * this.V + c];
    });
    return s;
  }
}

/** A regular expression (JavaScript's syntax, matched against the whole item) as an automaton over
 * the vocabulary's tokens, compiled by refa (constraints/automaton.py's regex_table, with
 * interegular there): {initial, finals, table (states x V: the next state, -1 if none)}. */
async function regexTable(m, pattern) {
  if (!m.m.regex) {
    throw new ShapeError("patterns need the Python sampler here (makemore sample --regex, or makemore serve): "
      + "this export has no regular-expression engine", "regex");
  }
  const refa = (await import("./refa/refa.mjs")).default;
  let dfa;
  try {
    const {expression, maxCharacter} = refa.JS.Parser.fromLiteral({source: pattern, flags: "u"}).parse();
    dfa = refa.DFA.fromFA(refa.NFA.fromRegex(expression, {maxCharacter}));
    dfa.minimize();
  } catch (e) {
    throw new ShapeError(`${JSON.stringify(pattern)} cannot be compiled to an automaton (${e.message})`, "regex");
  }
  const nodes = [...dfa.nodes()];
  const index = new Map(nodes.map((node, i) => [node, i]));
  const V = m.V;
  const table = new Int32Array(nodes.length * V).fill(-1);
  nodes.forEach((node, s) => {
    for (let c = 1; c < V; c++) {
      let at = node;
      for (const ch of m.m.vocab[c]) {               // a grapheme cluster: its code points in turn
        at = at.out.get(ch.codePointAt(0));
        if (!at) break;
      }
      if (at) table[s * V + c] = index.get(at);
    }
  });
  return {initial: index.get(dfa.initial), finals: new Set([...dfa.finals].map((f) => index.get(f))), table};
}

/** The file's items (token lists) as a trie (constraints/trie.py): node 0 the empty item. */
export class Trie {
  constructor(items, V) {
    this.V = V;
    this.parent = [-1];
    this.char = [BOUNDARY];
    this.depthOf = [0];
    this.terminal = [0];
    this.kids = new Map();                      // parent * V + char -> child
    for (const tokens of items) {
      let u = 0;
      for (const c of tokens) {
        let v = this.kids.get(u * V + c);
        if (v === undefined) {
          v = this.parent.length;
          this.kids.set(u * V + c, v);
          this.parent.push(u);
          this.char.push(c);
          this.depthOf.push(this.depthOf[u] + 1);
          this.terminal.push(0);
        }
        u = v;
      }
      this.terminal[u] = 1;
    }
    this.children = this.parent.map(() => []);
    this.parent.forEach((p, v) => v && this.children[p].push(v));
    this.depth = Math.max(...this.depthOf);
    this.byDepth = Array.from({length: this.depth + 1}, () => []);
    this.depthOf.forEach((d, v) => this.byDepth[d].push(v));
  }

  child(u, c) {
    if (u < 0) return -1;
    return this.kids.get(u * this.V + c) ?? -1;
  }

  walk(tokens) {
    return tokens.reduce((u, c) => this.child(u, c), 0);
  }

  /** The automaton's state at each node (-1 where it refused the string). */
  states(aut) {
    const s = new Int32Array(this.parent.length).fill(-1);
    s[0] = 0;
    for (let d = 1; d <= this.depth; d++) {
      for (const v of this.byDepth[d]) {
        const p = s[this.parent[v]];
        s[v] = p >= 0 ? aut.delta[p * this.V + this.char[v]] : -1;
      }
    }
    return s;
  }

  /** From each node, whether an item not in the trie that meets the constraints can be reached. */
  reachable(aut) {
    const V = this.V;
    const s = this.states(aut);
    const ok = new Uint8Array(this.parent.length);
    for (let d = Math.min(this.depth, aut.maxLen); d >= 0; d--) {
      const allowed = aut.allowed[d];
      for (const v of this.byDepth[d]) {
        if (s[v] < 0) continue;
        const row = s[v] * V;
        let reach = allowed[row + BOUNDARY] && !this.terminal[v];
        let nAllowed = 0;
        for (let c = 1; c < V; c++) nAllowed += allowed[row + c];
        let kept = 0;
        for (const kid of this.children[v]) {
          if (allowed[row + this.char[kid]]) {
            kept++;
            if (ok[kid]) reach = true;
          }
        }
        ok[v] = reach || nAllowed > kept ? 1 : 0;
      }
    }
    return ok;
  }
}

/** A count model's chain for one tag: logP (C x V), next (C x V), start. */
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
