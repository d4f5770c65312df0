// "Surely new": the file's items as a trie (makemore/constraints/trie.py), and which of its nodes
// can still reach a new item that meets the constraints.

import {BOUNDARY} from "./sampler.js";

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
