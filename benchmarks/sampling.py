"""Sampling speed of the default model (the LSTM), the default Transformer and a mixture (an
ensemble of three LSTMs and a 6-gram, like `makemore best`'s members), 10,000 items each as
`makemore sample` draws them, three ways, A/B interleaved in one process:

- incremental: `generate` as it is (carried state / KV cache; rows that have ended leave the batch)
- full re-run: the same loop with `cached=False`, re-running the forward over the whole prefix
- before: `generate` and the models' `step` as they were at commit 827c2cf, copied below
  (`generate_before`, `StepBefore`): every row stepped, all in one batch, until all had ended; the
  LSTM embedded each token and multiplied it by the input weights at every step

    python benchmarks/sampling.py                        # trains the models briefly first
    python benchmarks/sampling.py --runs /tmp/sampling   # keeps them there, and reuses them next time
    python benchmarks/sampling.py --table                # only rewrite the docs table from the JSON

The incremental path and the full re-run give the same items from the same seed (the tests check
it item for item, and so does this script), so that comparison is of speed alone. Before drew with
torch.multinomial for every row of the batch at every step, now only the items still growing draw,
so the same seed gives other items than before, from the same distribution (the mean lengths are
reported side by side). Targets on 2 CPU cores: the default LSTM at least 1,000,000 items per
minute; the default Transformer at least 100,000 items per minute.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish  # noqa: E402

MODELS = {   # name -> (what, runs: name -> create_run options); the name's own run is the one measured
    "lstm": ("default model: `makemore train` (LSTM, preset default)", {"lstm": {}}),
    "transformer": ("`--type transformer` (preset default)", {"transformer": dict(type="transformer")}),
    "mixture": ("ensemble: 3 LSTMs (seeds 1337, 2, 3) + 6-gram, weights fitted on val",
                {"lstm": {}, "lstm-seed2": dict(seed=2), "lstm-seed3": dict(seed=3), "ngram6": dict(type="ngram", n=6)}),
}


# ---- the code before this benchmark's change (commit 827c2cf), for the "before" column ----

class StepBefore:
    """A model's incremental path as it was: a recurrent net embedded the tokens and multiplied
    them by the first layer's input weights at every step, and computed its cells as training does;
    the Transformer zeroed its cache and attended through scaled_dot_product_attention; an ensemble
    stepped its members so."""

    def __init__(self, model):
        from makemore.models.ensemble import Ensemble
        self.model = model
        self.members = [StepBefore(m) for m in model.members] if isinstance(model, Ensemble) else None

    def init_state(self, batch_size, device=None):
        from makemore.models.transformer import Transformer
        state = self.model.init_state(batch_size, device)
        if isinstance(self.model, Transformer):
            state = {"t": 0, "kv": [tuple(torch.zeros_like(K) for K in cache) for cache in state["kv"]]}
        return state

    def step(self, tokens, state):
        from makemore.models.rnn import Recurrent
        from makemore.models.transformer import Transformer
        m = self.model
        if self.members is not None:
            outs = [b.step(tokens, s) for b, s in zip(self.members, state)]
            return m._mix([lg for lg, _ in outs]), [s for _, s in outs]
        if isinstance(m, Recurrent):
            x = m.wte(tokens.long())                                     # (B, n_embd)
            new_state = []
            for cell, s in zip(m.cells, state):
                s = cell.step(cell.x2h(x), s)
                new_state.append(s)
                x = s[0]                                                 # (B, H)
            return m.lm_head(x), new_state                               # (B, V)
        if isinstance(m, Transformer):
            t = state["t"]
            x = m.wte(tokens.long())[:, None] + m.wpe.weight[t]          # (B, 1, C)
            rot = m._rotation(t)
            for block, (K, V) in zip(m.blocks, state["kv"]):
                q, k, v = block.attn.heads(block.ln_1(x), rot)          # (B, nh, 1, hs)
                K[:, :, t:t + 1] = k
                V[:, :, t:t + 1] = v
                y = F.scaled_dot_product_attention(q, K[:, :, :t + 1], V[:, :, :t + 1])  # (B, nh, 1, hs)
                x = x + block.attn.merge(y)
                x = x + block.mlp(block.ln_2(x))
            return m.lm_head(m.ln_f(x))[:, 0], {"t": t + 1, "kv": state["kv"]}
        return m.step(tokens, state)


@torch.no_grad()
def generate_before(model, n: int, max_len: int, prefix: list[int] = (), temperature: float = 1.0,
                    top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
                    device="cpu", cached: bool = True) -> torch.Tensor:
    """makemore.sampling.generate at commit 827c2cf, its incremental path (cached=True)."""
    from makemore.data import BOUNDARY
    from makemore.sampling import check_sampling_options, filter_logits
    assert cached
    check_sampling_options(temperature, top_k, top_p)
    model.eval()
    decoder = StepBefore(model)
    out = torch.zeros(n, max_len, dtype=torch.long)
    state = decoder.init_state(n, device)
    tokens = torch.full((n,), BOUNDARY, dtype=torch.long, device=device)
    for t, tok in enumerate(prefix):               # feed the boundary and the prefix
        _, state = decoder.step(tokens, state)
        tokens = torch.full((n,), tok, dtype=torch.long, device=device)
        out[:, t] = tok
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(len(prefix), max_len):
        logits, state = decoder.step(tokens, state)                                 # (n, V)
        if temperature == 0:
            nxt = logits.argmax(-1)                                                  # (n,)
        else:
            probs = F.softmax(filter_logits(logits.float(), temperature, top_k, top_p), dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(device)  # (n,)
        nxt = nxt.masked_fill(done, BOUNDARY)
        out[:, t] = nxt.cpu()
        done |= nxt == BOUNDARY
        if bool(done.all()):
            break
        tokens = nxt
    return out


@contextlib.contextmanager
def before():
    """sample_items (unchanged) calling the old generate."""
    from makemore import sampling
    new = sampling.generate
    sampling.generate = generate_before
    try:
        yield
    finally:
        sampling.generate = new


# ---- the measurement ----

def trained_runs(root: Path, steps: int, names) -> dict:
    """The runs of MODELS, trained in root (each briefly: the speed does not depend on training,
    only the items' lengths do, and those are realistic after a few thousand steps); a run already
    there is reused. Returns name -> the run directory measured."""
    import makemore as mm
    out = {}
    for name in names:
        runs = MODELS[name][1]
        for run, options in runs.items():
            if not (root / run / "config.json").exists():
                train = {} if options.get("type") == "ngram" else dict(max_steps=steps, eval_interval=steps)
                print(f"training {run} ({steps} steps)" if train else f"counting {run}", flush=True)
                mm.create_run(root / run, **options, **train).train(progress=False)
        if len(runs) > 1:
            if not (root / name / "config.json").exists():
                mm.ensemble(root / name, [root / r for r in runs])
        out[name] = root / name if len(runs) > 1 else root / next(iter(runs))
    return out


PATHS = ("before", "cached", "rerun")


def time_path(run, n, batch_size, path, seed) -> tuple[float, list[str]]:
    from makemore.sampling import sample_items
    with before() if path == "before" else contextlib.nullcontext():
        t0 = time.perf_counter()
        items = sample_items(run.model, run.vocab, n, run.max_len, seed=seed, batch_size=batch_size,
                             cached=path != "rerun")
        return time.perf_counter() - t0, items


def measure(name: str, run_dir: Path, n: int, batch_size: int | None, rounds: int) -> dict:
    from makemore.runs import load_run
    from makemore.sampling import default_batch_size
    run = load_run(run_dir)
    batch_size = batch_size or default_batch_size(run.max_len)              # as `makemore sample` does
    for path in PATHS:                                                      # warm up every path
        time_path(run, 1000, batch_size, path, 0)
    times, lengths = {p: [] for p in PATHS}, {p: [] for p in PATHS}
    for r in range(rounds):                                                 # A/B interleaved
        items = {}
        for path in PATHS:
            dt, items[path] = time_path(run, n, batch_size, path, seed=r)
            times[path].append(dt)
            lengths[path] += map(len, items[path])
            print(f"{name} round {r}: {path:7s} {n:,} items in {dt:6.2f} s ({n / dt * 60:,.0f} items/min)", flush=True)
        assert items["cached"] == items["rerun"], "the incremental path and the full re-run drew different items"
    s = {p: statistics.median(times[p]) for p in PATHS}
    return {"what": MODELS[name][0], "type": run.type, "params": sum(p.numel() for p in run.model.parameters()),
            "items": n, "batch_size": batch_size, "rounds": rounds,
            "mean_len": statistics.mean(lengths["cached"]), "before_mean_len": statistics.mean(lengths["before"]),
            **{f"{p}_s": s[p] for p in PATHS}, **{f"{p}_items_per_min": n / s[p] * 60 for p in PATHS},
            "speedup_vs_before": s["before"] / s["cached"], "speedup_vs_rerun": s["rerun"] / s["cached"],
            "threads": torch.get_num_threads(), "machine": machine()}


def table(results: dict) -> str:
    rows = ["| model | params | items × rounds | batch | mean length (before) | before | incremental | full re-run "
            "| vs before | vs full re-run |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(r, path):
        return f"{r[f'{path}_s']:.2f} s ({r[f'{path}_items_per_min']:,.0f} items/min)" if f"{path}_s" in r else "–"
    for name, r in results.items():
        before_len = f" ({r['before_mean_len']:.2f})" if "before_mean_len" in r else ""
        vs_before = f"{r['speedup_vs_before']:.1f}x" if "speedup_vs_before" in r else "–"
        rows.append(f"| `{name}`: {r.get('what', r['type'])} | {r['params']:,} | {r['items']:,} × {r.get('rounds', 3)} | "
                    f"{r['batch_size']:,} | {r['mean_len']:.2f}{before_len} | {cell(r, 'before')} | {cell(r, 'cached')} | "
                    f"{cell(r, 'rerun')} | {vs_before} | {r.get('speedup_vs_rerun', r.get('speedup', 0)):.1f}x |")
    machines = sorted({r["machine"] for r in results.values()}) or [machine()]
    return ("\n".join(rows) + "\n\nMedian seconds of A/B-interleaved rounds in one process, each the whole "
            "`sample_items` call (decoding included), with the batch `makemore sample` uses. Before: commit "
            f"827c2cf's `generate` and `step`. Machine: {'; '.join(machines)}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--runs", type=Path, help="where the models are trained, and reused from if already there "
                    "(default: a temporary directory)")
    ap.add_argument("--train-steps", type=int, default=2000, help="steps of each training (default 2000)")
    ap.add_argument("-n", type=int, default=10_000, help="items per round (default 10,000)")
    ap.add_argument("--batch-size", type=int, help="rows sampled at once (default: as `makemore sample` does)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = ap.parse_args()

    def measure_all():
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            root = args.runs or Path(tmp)
            runs = trained_runs(root, args.train_steps, args.models)
            measured = {name: measure(name, runs[name], args.n, args.batch_size, args.rounds) for name in args.models}
        merged = {**load_results("sampling"), **measured}                   # the models not measured now stay
        return {name: merged[name] for name in MODELS if name in merged}
    publish("sampling", table, None if args.table else measure_all)


if __name__ == "__main__":
    main()
