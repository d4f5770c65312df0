// The shape constraints as one automaton over the vocabulary's tokens (makemore/constraints/automaton.py):
// a Knuth-Morris-Pratt matcher per string (a suffix, a contained and an excluded one) and the
// pattern's automaton (compiled by refa), run side by side, with the length bounds; allowed[t]
// says which tokens keep an accepting end reachable after t tokens.

import {BOUNDARY} from "./sampler.js";

const MAX_STATES = 100000;

export class ShapeError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
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
export async function regexTable(m, pattern) {
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
