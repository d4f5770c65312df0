"""Constrained sampling: how close each way comes to p(item | constraints), and how fast it is.

    python benchmarks/constraints.py --run runs/names   # a default LSTM on names.txt (trained first if missing)
    python benchmarks/constraints.py --table            # only rewrite the docs table from the JSON

- Exactness, on the bigram and the 5-gram of names.txt, where p(item | constraints) is known
  exactly (the backward pass gives the constraints' probability, the model each item's): the
  total-variation distance between N sampled items and it, for the exact path, for plain masking,
  for sequential Monte Carlo with the constraints alone as its guide, and for SMC guided by a
  Kneser-Ney 4-gram of the training items (what `sample` uses), at several particle counts. TV over all
  items: 0.5 (sum over the items drawn of |share - p| + the probability of the items never drawn).
  The exact path's own distance is the sampling noise of N items.
- Quality on the default LSTM, where the exact distribution is out of reach, against rejection
  sampling (plain samples kept when they meet the constraints, which is exact): the mean
  log-probability of the items, the distance between the length histograms and between the
  items' shares (beside the distance between two rejection samples of the same size, the noise),
  and the top items.
- Speed on the LSTM: constrained items per minute, guided SMC at the default particle count
  against rejection sampling, A/B in one run, under `--suffix son --min-len 5 --max-len 8`, a
  constraint met about 1 time in 1,800 and one met about 1 time in 100,000.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, parser, publish  # noqa: E402

CASES = {      # name -> the constraints
    "--suffix son --min-len 5 --max-len 8": dict(suffix="son", min_len=5, max_len=8),
    "--contains k --excludes a --max-len 6": dict(contains=["k"], excludes=["a"], max_len=6),
    "--regex '[a-z]*(ley|lee)' --max-len 7": dict(regex="[a-z]*(ley|lee)", max_len=7),
}
RARE = ("--suffix ley --contains z", dict(suffix="ley", contains=["z"]))
RAREST = ("--suffix zz --min-len 6", dict(suffix="zz", min_len=6))
N = 100_000                     # items per exactness cell
WAYS = [("masking", 1, False), ("SMC, plain", 16, False), ("SMC, guided", 1, True), ("SMC, guided", 4, True),
        ("SMC, guided", 16, True)]
QUALITY_N = {"--suffix son --min-len 5 --max-len 8": 10_000, RARE[0]: 2_000}
QUALITY_P = [(1, True), (4, True), (16, True), (64, True), (256, False)]


def tv(count: Counter, total: int, prob) -> float:
    """Total-variation distance between the shares of drawn items and p(item | constraints) = prob(item)."""
    probs = {w: prob(w) for w in count}
    drawn = sum(abs(c / total - probs[w]) for w, c in count.items())
    return 0.5 * (drawn + max(0.0, 1 - sum(probs.values())))


def tv_counts(a: Counter, b: Counter) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))


def exactness(log):
    from makemore.constraints import Automaton, Exact, Guide, chains, smc
    from makemore.constraints.sample import twists
    from makemore.data import build_dataset, read_words
    from makemore.models import build_model
    data = build_dataset(read_words())
    V, L = data.vocab.size, data.max_len
    fit = lambda kind, **o: build_model(kind, V, L + 1, **o).fit(*data.train.examples(max(1, o.get("n", 2) - 1))).eval()  # noqa: E731
    from makemore.runs.run import GUIDES
    guides = [fit(kind, **options) for kind, _, options in GUIDES]          # what `sample` guides the particles with
    out = {}
    for model_name, m in (("bigram", fit("bigram")), ("5-gram", fit("ngram", n=5))):
        for name, c in CASES.items():
            a = Automaton(data.vocab, L, **{"min_len": 0, **c})
            exact = Exact(chains(m, L, None, {})[0], a)
            log_z = exact.log_z([])
            cache = {}

            def prob(w):
                if w not in cache:
                    ids = data.vocab.encode(w) + [0]
                    ctx, lp = exact.chain.start, 0.0
                    for t in ids:
                        lp += float(exact.chain.logP[ctx, t])
                        ctx = int(exact.chain.next[ctx, t])
                    cache[w] = math.exp(lp - log_z)
                return cache[w]

            def items(ids):
                return Counter(data.vocab.decode([i for i in r if i]) for r in ids.tolist())
            row = {"p_constraints": math.exp(log_z)}
            t0 = time.perf_counter()
            row["exact"] = tv(items(exact.draw(N, [], torch.Generator().manual_seed(0))[0]), N, prob)
            log(f"{model_name} {name}: exact {row['exact']:.4f} ({time.perf_counter() - t0:.0f} s)")
            guided = Guide(a, twists=twists(guides, a, None, None))
            for way, P, guide in WAYS:
                t0 = time.perf_counter()
                ids, _, est = smc(m, guided if guide else Guide(a), N, particles=P, generator=torch.Generator().manual_seed(0))
                row[f"{way} {P}"] = tv(items(ids), N, prob)
                log(f"  {way} {P}: TV {row[f'{way} {P}']:.4f} ({time.perf_counter() - t0:.0f} s)")
            out[f"{model_name} {name}"] = row
    return out


def rejection(run, automaton, n, seed):
    """n items of the run that meet the automaton, by plain sampling; and how many were drawn."""
    kept, drawn = [], 0
    while len(kept) < n:
        batch = run.sample(50_000, seed=seed + drawn, marks=False)
        drawn += len(batch)
        kept += [d["item"] for d in batch if automaton.satisfied(d["item"])]
    return kept[:n], drawn


def summary(items, logps):
    n = len(items)
    mean = sum(logps) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in logps) / max(n - 1, 1))
    return {"mean_logp": mean, "se": sd / math.sqrt(n), "lengths": Counter(map(len, items)), "items": Counter(items)}


def quality(run, log):
    from makemore.constraints import Automaton, sample_constrained
    twist = run.twist()
    out = {}
    for name, c in ((next(iter(CASES)), next(iter(CASES.values()))), RARE):
        n = QUALITY_N[name]
        a = Automaton(run.vocab, run.max_len, **{"min_len": 0, **c})
        t0 = time.perf_counter()
        ref, drawn = rejection(run, a, 2 * n, 0)
        scores = [-d["nll"] for d in run.score(ref)]
        log(f"{name}: rejection kept {len(ref)} of {drawn} ({time.perf_counter() - t0:.0f} s)")
        A, B = summary(ref[:n], scores[:n]), summary(ref[n:], scores[n:])
        row = {"rejection": {"mean_logp": A["mean_logp"], "se": A["se"], "len_tv": tv_counts(A["lengths"], B["lengths"]),
                             "item_tv": tv_counts(A["items"], B["items"]), "top": A["items"].most_common(5)}}
        for P, guided in QUALITY_P:
            t0 = time.perf_counter()
            got = sample_constrained(run.model, run.vocab, n, a, particles=P, seed=1, twist=twist if guided else None)
            S = summary([d["item"] for d in got], [d["logp"] for d in got])
            way = f"{'guided' if guided else 'plain'} SMC, {P}"
            row[way] = {"mean_logp": S["mean_logp"], "se": S["se"], "len_tv": tv_counts(S["lengths"], A["lengths"]),
                        "item_tv": tv_counts(S["items"], A["items"]), "top": S["items"].most_common(5),
                        "p": sum(d["p_constraint"] for d in got) / n}
            log(f"  {way}: {row[way]} ({time.perf_counter() - t0:.0f} s)")
        out[name] = row
    return out


def guides(run, log, reference):
    """Guided SMC at the default particle count with a bigram, 3-, 4- and 5-gram guide: the mean
    log p of the items drawn, beside rejection's (`reference`, the quality part's)."""
    from makemore.constraints import PARTICLES, Automaton, sample_constrained
    from makemore.models import build_model
    out = {}
    for name, c in ((next(iter(CASES)), next(iter(CASES.values()))), RARE):
        n = QUALITY_N[name] // 2
        a = Automaton(run.vocab, run.max_len, **{"min_len": 0, **c})
        row = {"rejection": reference[name]["rejection"]["mean_logp"], "rejection_se": reference[name]["rejection"]["se"],
               "particles": PARTICLES, "items": n}
        for order in (2, 3, 4, 5):
            kind, options = ("bigram", {}) if order == 2 else ("ngram", {"n": order})
            guide = build_model(kind, run.vocab.size, run.max_len + 1, **options).fit(*run.data.train.examples(order - 1))
            got = sample_constrained(run.model, run.vocab, n, a, particles=PARTICLES, seed=1, twist=guide)
            S = summary([d["item"] for d in got], [d["logp"] for d in got])
            row[f"{order}-gram"] = {"mean_logp": S["mean_logp"], "se": S["se"]}
            log(f"{name}: {order}-gram guide {row[f'{order}-gram']}")
        out[name] = row
    return out


def speed(run, log, rounds=3):
    from makemore.constraints import PARTICLES as DEFAULT, Automaton
    out = {}
    run.twist()                                       # counted once per run, not per call
    for name, c in ((next(iter(CASES)), next(iter(CASES.values()))), RARE, RAREST):
        a = Automaton(run.vocab, run.max_len, **{"min_len": 0, **c})
        smc_rate, rej_rate, p = [], [], None
        for r in range(rounds):
            t0 = time.perf_counter()
            got = run.sample(2000, constraints=c, seed=r, marks=False)
            smc_rate.append(len(got) / (time.perf_counter() - t0) * 60)
            p = sum(s["p_constraint"] for s in got) / len(got)
            t0, kept, drawn = time.perf_counter(), 0, 0
            while kept < 200 and time.perf_counter() - t0 < 60:
                items = run.sample(50_000, seed=1000 * r + drawn, marks=False)
                drawn += len(items)
                kept += sum(a.satisfied(s["item"]) for s in items)
            rej_rate.append(kept / (time.perf_counter() - t0) * 60)
        out[name] = {"smc_per_min": sorted(smc_rate)[len(smc_rate) // 2], "rejection_per_min": sorted(rej_rate)[len(rej_rate) // 2],
                     "p_constraints": p, "particles": DEFAULT}
        log(f"{name}: {out[name]}")
    return out


def measure(run_dir, only=None):
    torch.set_num_threads(2)
    log = lambda s: print(s, flush=True)          # noqa: E731
    from makemore.runs import create_run, load_run
    if not (Path(run_dir) / "config.json").exists():
        create_run(run_dir).train(progress=False)
    run = load_run(run_dir)
    from common import load_results
    res = load_results("constraints") if only else {}
    res.update(machine=machine(), n=N)
    for part, fn in (("exactness", lambda: exactness(log)), ("quality", lambda: quality(run, log)),
                     ("guides", lambda: guides(run, log, res["quality"])), ("speed", lambda: speed(run, log))):
        if not only or part in only:
            res[part] = fn()
    return res


def _cell(name):
    return f"`{name.replace('|', chr(92) + '|')}`"


def table(res):
    heads = [f"{w}, {P}" if w != "masking" else "masking" for w, P, _ in WAYS]
    lines = [f"Measured on {res['machine']}.", "",
             f"**Exactness** on the count models of names.txt: total-variation distance between {res['n']:,} sampled items "
             "and p(item | constraints) (the exact path's is the noise of that many samples; masking is one particle, "
             "unweighted; plain SMC proposes from the masked model; guided SMC from the model times a 4-gram's exact "
             "probability of meeting the constraints, the default):", "",
             "| model | constraints | p(constraints) | exact path | " + " | ".join(heads) + " |",
             "|---|---|---:|---:|" + "---:|" * len(heads)]
    for name, r in res["exactness"].items():
        model, case = name.split(" ", 1)
        lines.append(f"| {model} | {_cell(case)} | {r['p_constraints']:.5f} | {r['exact']:.4f} | "
                     + " | ".join(f"{r[f'{w} {P}']:.4f}" for w, P, _ in WAYS) + " |")
    lines += ["", "**Quality on the default LSTM** against rejection sampling (exact): the items' mean log-probability "
              "(± its standard error), the distance between length histograms and between the items' shares (the "
              "rejection row: between two rejection samples of the same size, the noise), and the top items:", "",
              "| constraints | way | items | mean log p | length TV | item TV | top items |", "|---|---|---:|---:|---:|---:|---|"]
    for name, rows in res["quality"].items():
        n = QUALITY_N.get(name, 0)
        for way, r in rows.items():
            top = ", ".join(f"{w} {c / n:.1%}" for w, c in r["top"][:3])
            lines.append(f"| {_cell(name)} | {way} | {n:,} | {r['mean_logp']:.2f} ± {r['se']:.2f} | {r['len_tv']:.3f} | "
                         f"{r['item_tv']:.3f} | {top} |")
    first = next(iter(res.get("guides", {}).values()), {"particles": 0})
    lines += ["", f"**Which guide**, on the default LSTM at {first['particles']} particles: the mean log p of the items "
              "(± its standard error) with each count model of the training items as the guide, beside rejection "
              "sampling's:", "",
              "| constraints | rejection | bigram | 3-gram | 4-gram | 5-gram |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in res.get("guides", {}).items():
        lines.append(f"| {_cell(name)} | {r['rejection']:.2f} ± {r['rejection_se']:.2f} | "
                     + " | ".join(f"{r[f'{k}-gram']['mean_logp']:.2f} ± {r[f'{k}-gram']['se']:.2f}" for k in (2, 3, 4, 5)) + " |")
    lines += ["", "**Speed** on the default LSTM (names.txt), constrained items per minute, guided SMC at the default "
              "particle count vs rejection sampling, A/B in one run:", "",
              "| constraints | p(constraints), estimated | particles | SMC | rejection sampling | ratio |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, r in res["speed"].items():
        lines.append(f"| {_cell(name)} | {r['p_constraints']:.6f} | {r['particles']} | {r['smc_per_min']:,.0f} | "
                     f"{r['rejection_per_min']:,.0f} | {r['smc_per_min'] / max(r['rejection_per_min'], 1e-9):.1f} |")
    return "\n".join(lines)


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", default=str(ROOT / "runs" / "names"), help="a default LSTM run on names.txt")
    ap.add_argument("--only", nargs="+", choices=["exactness", "quality", "guides", "speed"], help="measure these parts again")
    args = ap.parse_args()
    publish("constraints", table, None if args.table else lambda: measure(args.run, args.only))


if __name__ == "__main__":
    main()
