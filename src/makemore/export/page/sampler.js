// The exported model in the browser: its graphs on onnxruntime-web, and what makemore's Python
// sampler does with a model, done the same way here (makemore/sampling.py): the rows of a batch
// step together through the step graph, rows that have ended are dropped, and each step draws the
// character maximizing p / E for exponential variates E, one per character for each item still
// growing, in item order. The variates come from a seeded stream (PageStream) that
// makemore.export.web.PageStream reproduces in Python, so the same seed gives the same items there.

import * as ort from "./ort/ort.wasm.min.mjs";

export const BOUNDARY = 0;

/** Uniform draws from a seed: xorshift128 over four 32-bit words, each word of the seed's state
 * scrambled by a 32-bit integer hash. uniform() is in (0, 1), never 0 or 1. */
export class PageStream {
  constructor(seed) {
    let s = Number(seed) >>> 0;
    this.x = new Uint32Array(4);
    for (let k = 0; k < 4; k++) {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.x[k] = (z ^ (z >>> 16)) >>> 0;
    }
    if (!(this.x[0] | this.x[1] | this.x[2] | this.x[3])) this.x[0] = 1;
  }

  next() {
    const x = this.x;
    let t = x[0] ^ (x[0] << 11);
    x[0] = x[1]; x[1] = x[2]; x[2] = x[3];
    x[3] = (x[3] ^ (x[3] >>> 19)) ^ (t ^ (t >>> 8));
    return x[3];
  }

  uniform() {
    return (this.next() + 0.5) / 4294967296;
  }

  exponential() {
    return -Math.log(this.uniform());
  }
}

/** Temperature, then the top_k likeliest, then the smallest set of mass >= top_p (sampling.filter_logits). */
export function filterLogits(row, temperature, topK, topP) {
  const V = row.length;
  const out = new Float64Array(V);
  for (let c = 0; c < V; c++) out[c] = row[c] / temperature;
  if (topK && topK < V) {
    const kth = Float64Array.from(out).sort().reverse()[topK - 1];
    for (let c = 0; c < V; c++) if (out[c] < kth) out[c] = -Infinity;
  }
  if (topP !== null && topP !== undefined && topP < 1) {
    const order = [...out.keys()].sort((a, b) => out[b] - out[a]);
    const p = softmax(out);
    let before = 0;
    for (const c of order) {
      const mass = before;
      before += p[c];
      if (mass >= topP) out[c] = -Infinity;
    }
  }
  return out;
}

export function softmax(row) {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const p = new Float64Array(row.length);
  let sum = 0;
  for (let c = 0; c < row.length; c++) sum += (p[c] = Math.exp(row[c] - max));
  for (let c = 0; c < row.length; c++) p[c] /= sum;
  return p;
}

export function logSumExp(xs) {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return max;
  let s = 0;
  for (const x of xs) s += Math.exp(x - max);
  return max + Math.log(s);
}

export function logSoftmax(row) {
  const lse = logSumExp(row);
  return Float64Array.from(row, (v) => v - lse);
}

const ids = (list) => BigInt64Array.from(list, (v) => BigInt(v));

/** The rows `rows` of a batch-first tensor. */
function pickRows(tensor, rows) {
  const [B, ...rest] = tensor.dims;
  const width = rest.reduce((a, b) => a * b, 1);
  const data = new tensor.data.constructor(rows.length * width);
  rows.forEach((r, i) => data.set(tensor.data.subarray(r * width, (r + 1) * width), i * width));
  return new ort.Tensor(tensor.type, data, [rows.length, ...rest]);
}

export class Model {
  /** The export in folder `base` (model/): its manifest, graphs and items. */
  static async load(base) {
    ort.env.wasm.numThreads = 1;           // threads need cross-origin isolation, which a static host rarely gives
    ort.env.wasm.wasmPaths = new URL("../ort/", new URL(base, location.href)).href;
    const get = async (name) => {
      const r = await fetch(new URL(name, new URL(base, location.href)));
      if (!r.ok) throw new Error(`${base}${name}: ${r.status} ${r.statusText}`);
      return r;
    };
    const manifest = await (await get("model.json")).json();
    const options = {executionProviders: ["wasm"], graphOptimizationLevel: "all"};
    const session = async (name) => ort.InferenceSession.create(new Uint8Array(await (await get(name)).arrayBuffer()), options);
    const [init, step, items] = await Promise.all([session(manifest.graphs.init), session(manifest.graphs.step),
      readItems(await get("items.txt.gz"))]);
    return new Model(manifest, init, step, items);
  }

  constructor(manifest, init, step, items) {
    this.m = manifest;
    this.init = init;
    this.stepper = step;
    this.items = items;                       // item -> "train" or "val/test", as the model reads them
    this.V = manifest.vocab_size;
    this.stoi = new Map(manifest.vocab.map((c, i) => [c, i]));
    this.names = manifest.state.map((s) => s.name);
    this.segmenter = manifest.unit === "grapheme" ? new Intl.Segmenter(undefined, {granularity: "grapheme"}) : null;
    this.queue = Promise.resolve();           // one graph runs at a time: a session is not re-entrant
  }

  run(session, feeds) {
    const done = this.queue.then(() => session.run(feeds));
    this.queue = done.catch(() => null);
    return done;
  }

  /** The text's tokens in the model's unit (code points, or grapheme clusters). */
  split(text) {
    return this.segmenter ? [...this.segmenter.segment(text)].map((s) => s.segment) : [...text];
  }

  /** Token ids of text; an Error naming the first character the vocabulary lacks. */
  encode(text) {
    return this.split(text).map((c) => {
      if (!this.stoi.has(c) || c === "") throw new Error(`character '${c}' is not in the model's vocabulary`);
      return this.stoi.get(c);
    });
  }

  decode(tokens) {
    return tokens.map((t) => this.m.vocab[t]).join("");
  }

  async initState(tags) {
    const out = await this.run(this.init, {tags: new ort.Tensor("int64", ids(tags), [tags.length])});
    return this.names.map((n) => out[n]);
  }

  /** One step: tokens (B) -> logits (B x V, one Float32Array) and the next state. */
  async step(tokens, state) {
    const feeds = {tokens: new ort.Tensor("int64", ids(tokens), [tokens.length])};
    this.names.forEach((n, i) => (feeds[n] = state[i]));
    const out = await this.run(this.stepper, feeds);
    return {logits: out.logits.data, state: this.names.map((n) => out[`${n}_next`])};
  }

  selectRows(state, rows) {
    return state.map((t) => pickRows(t, rows));
  }

  /** Log-probabilities (T+1 rows of V) after the boundary and each token of `tokens`, under `tag`,
   * for several token lists at once (rows of one batch, all the same length). */
  async logProbs(rowsOfTokens, tags) {
    let state = await this.initState(tags);
    let feed = rowsOfTokens.map(() => BOUNDARY);
    const out = rowsOfTokens.map(() => []);
    for (let t = 0; t <= rowsOfTokens[0].length; t++) {
      const r = await this.step(feed, state);
      state = r.state;
      rowsOfTokens.forEach((_, b) => out[b].push(logSoftmax(r.logits.subarray(b * this.V, (b + 1) * this.V))));
      if (t < rowsOfTokens[0].length) feed = rowsOfTokens.map((tokens) => tokens[t]);
    }
    return out;
  }

  /** Sample n items (token lists), as sampling.generate does: each continues `prefix`, at most
   * maxLen tokens; tags: each item's tag (or null); stream: a PageStream (null: temperature 0). */
  async generate({n, maxLen, prefix = [], temperature = 1, topK = null, topP = null, tags = null, stream}) {
    const V = this.V;
    const out = Array.from({length: n}, () => [...prefix]);
    let rows = [...Array(n).keys()];             // the items still in the batch
    let live = rows.map(() => true);
    let state = await this.initState(tags || rows.map(() => 0));
    let tokens = rows.map(() => BOUNDARY);
    for (const tok of prefix) {
      state = (await this.step(tokens, state)).state;
      tokens = rows.map(() => tok);
    }
    const growing = new Array(n).fill(true);
    for (let t = prefix.length; t < maxLen && rows.length; t++) {
      const slot = new Int32Array(n).fill(-1);     // each growing item's row of noise, in item order
      let noise = null;
      if (temperature !== 0) {
        let k = 0;
        for (let i = 0; i < n; i++) if (growing[i]) slot[i] = k++;
        noise = new Float64Array(k * V);
        for (let j = 0; j < noise.length; j++) noise[j] = stream.exponential();
      }
      const r = await this.step(tokens, state);
      state = r.state;
      if (t === prefix.length && !r.logits.every(Number.isFinite)) {
        throw new Error("the model's outputs are not finite numbers (NaN or infinity): its weights are broken");
      }
      let ended = 0;
      tokens = rows.map((item, b) => {
        let next = BOUNDARY;
        const row = r.logits.subarray(b * V, (b + 1) * V);
        if (live[b] && temperature === 0) {
          next = row.indexOf(Math.max(...row));
        } else if (live[b]) {
          const p = softmax(filterLogits(row, temperature, topK, topP));
          let best = -1;
          for (let c = 0; c < V; c++) {
            const score = p[c] / noise[slot[item] * V + c];
            if (score > best) [best, next] = [score, c];
          }
        }
        if (live[b] && next !== BOUNDARY) out[item].push(next);
        live[b] = live[b] && next !== BOUNDARY;
        growing[item] = live[b];
        if (!live[b]) ended++;
        return next;
      });
      if (ended === rows.length) break;
      if (ended >= rows.length / 8) {               // drop the ended rows and their state
        const keep = [...rows.keys()].filter((b) => live[b]);
        state = this.selectRows(state, keep);
        rows = keep.map((b) => rows[b]);
        tokens = keep.map((b) => tokens[b]);
        live = keep.map(() => true);
      }
    }
    return out;
  }
}

/** The gzipped "t<TAB>item" / "h<TAB>item" lines as a Map item -> "train" or "val/test". */
async function readItems(response) {
  const text = await new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).text();
  const items = new Map();
  for (const line of text.split("\n")) {
    if (line.length > 2) items.set(line.slice(2), line[0] === "t" ? "train" : "val/test");
  }
  return items;
}
