"""Tags: one model of tagged items against one model per tag and one untagged model, its classifier
against a discriminative baseline, the tag fidelity of what it generates, and what tags cost in speed.
Data: first names by locale (the bundled locales.tsv) and by gender within four locales
(benchmarks/data/genders.tsv), both from faker's tables, built by scripts/locales.py.

    pip install scikit-learn faker && python scripts/locales.py   # the data (locales.tsv ships)
    python benchmarks/tags.py                  # trains and measures (about 25 minutes on 2 cores)
    python benchmarks/tags.py --quick          # a few hundred steps per model, to try the script
    python benchmarks/tags.py --ways           # only measure the ways to take the tag again (into the saved JSON)
    python benchmarks/tags.py --table          # only rewrite the docs table from the JSON

Everything is on the test split of the one seed-42 split of the (tag, item) lines; NLL is
token-weighted (a tag's test characters, ends included, summed and divided by their number).
- Conditional NLL given the true tag: the tagged model; one model per tag (trained on its tag's
  training items alone, the same recipe, the best val checkpoint kept); one untagged model.
- Classification: the tagged models by Bayes' rule (p(tag) from the training split) against
  scikit-learn's TF-IDF of character 1-4-grams with logistic regression (C chosen on val).
  Accuracy, macro-F1 and the expected calibration error of the top probability (15 bins).
- Fidelity: 1,000 items sampled per tag from the tagged LSTM, classified by the baseline: the
  share given the requested tag, against the same share of the tag's real test items.
- How the neural models take the tag, on val (each way trained alike, 3,000 steps): the LSTM's own
  start state per tag (the library's) vs the tag's vector added to every input; the Transformer's
  vector added to every input (the library's) vs at the first position only, the boundary's (a
  first token for the tag).
- Speed: the tagged and the untagged LSTM's training step and sampling, A/B interleaved.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, load_results, machine, parser, publish  # noqa: E402

DATASETS = {"locales": None, "genders": ROOT / "benchmarks" / "data" / "genders.tsv"}
ENOUGH = 100           # a tag with at least this many items counts towards "every locale with enough items"


class KeepBest:
    """The checkpoints object train() saves through: keeps the best-by-val weights in memory."""

    def __init__(self):
        self.best = None

    def save_checkpoint(self, model, state, best):
        if best:
            self.best = copy.deepcopy(model.state_dict())

    def log(self, record):
        pass


def subset(split, rows, tags=True):
    from makemore.data import Split
    return Split(None, split.X[rows], split.Y[rows], split.vocab, lengths=split.lengths[rows],
                 tags=split.tags[rows] if tags else None)


def fitted(type_, data, n_tags, steps, **model):
    """A model of `data` (tagged if n_tags), trained with the type's recipe for `steps` steps (the
    count models: counted), the best val weights kept."""
    from makemore import presets
    from makemore.models import build_model
    from makemore.train import TrainConfig, train
    r = presets.resolve(type_, **model)
    cfg = replace(r.train, **({"max_steps": steps, "eval_interval": max(50, steps // 8)} if r.train.max_steps else {}))
    torch.manual_seed(cfg.seed)
    m = build_model(type_, data.vocab.size, data.max_len + 1, n_tags, **r.model)
    keep = KeepBest()
    t0 = time.perf_counter()
    train(m, data, TrainConfig(**vars(cfg)), checkpoints=keep, progress=False)
    if keep.best is not None:
        m.load_state_dict(keep.best)
    return m.eval(), time.perf_counter() - t0


class InputTags(nn.Module):
    """An embedding table plus the rows' tag's vector (set in `tags` before each forward)."""

    def __init__(self, wte, n_tags):
        super().__init__()
        self.wte, self.tags = wte, None
        self.table = nn.Parameter(torch.zeros(n_tags, wte.embedding_dim))

    def forward(self, idx):
        from makemore.models.base import per_position
        return self.wte(idx) + per_position(self.table, self.tags)


def lstm_tag_on_inputs(config):
    """The LSTM with the tag's vector added to every input instead of a start state per tag."""
    from makemore.models.rnn import LSTM

    class LSTMInputs(LSTM):
        def __init__(self, config):
            super().__init__(config)
            self.tag_start = None
            self.wte = InputTags(self.wte, config.n_tags)

        def start_states(self, batch_size, tags=None, device=None):
            return [tuple(s.expand(batch_size, -1) for s in layer) for layer in self.start.to(device)]

        def unroll(self, idx, tags=None):
            self.wte.tags = tags
            return super().unroll(idx, tags)
    return LSTMInputs(config)


class FirstTags(InputTags):
    """An embedding table plus the tag's vector at each item's first position only (`pos` set too)."""

    def forward(self, idx):
        from makemore.models.base import per_position
        pos = torch.arange(idx.size(1), device=idx.device) if self.pos is None else self.pos
        return self.wte(idx) + per_position(self.table, self.tags) * (pos == 0)[..., None].to(self.table.dtype)


def transformer_tag_first(config):
    """The Transformer with the tag's vector added at each item's first position only (the
    boundary's: a first token for the tag), the library's every-position vector kept at zero."""
    from makemore.models.transformer import Transformer

    class TagFirst(Transformer):
        def __init__(self, config):
            super().__init__(config)
            self.wtag.requires_grad_(False)
            self.wte = FirstTags(self.wte, config.n_tags)

        def forward(self, idx, targets=None, pos=None, seg=None, tags=None):
            self.wte.tags, self.wte.pos = tags, pos
            return super().forward(idx, targets, pos, seg, tags)
    return TagFirst(config)


WAYS = {       # each family: the library's way, then the other, with the model that takes the tag so
    "lstm": (("a start state per tag", None), ("the tag's vector added to every input", lstm_tag_on_inputs)),
    "transformer": (("the tag's vector added to every input", None),
                    ("the tag's vector at the first position only (a first token)", transformer_tag_first)),
}


def ways_to_tag(data, steps, log):
    """Val NLL of each family's tagged model, the library's way and the other way."""
    from makemore import presets
    from makemore.evaluation import evaluate
    from makemore.models import MODELS
    from makemore.train import TrainConfig, train
    out = {}
    for type_, ways in WAYS.items():
        r = presets.resolve(type_)
        cfg = replace(r.train, max_steps=steps, eval_interval=max(50, steps // 6))
        row = {}
        for way, build in ways:
            config = MODELS[type_].Config(vocab_size=data.vocab.size, seq_len=data.max_len + 1, **r.model)
            config.n_tags = len(data.tags)
            torch.manual_seed(cfg.seed)
            m = MODELS[type_](config) if build is None else build(config)
            keep = KeepBest()
            train(m, data, TrainConfig(**vars(cfg)), checkpoints=keep, progress=False)
            m.load_state_dict(keep.best)
            row[way] = evaluate(m.eval(), data.val)
            log(f"  {type_} {way}: val {row[way]:.4f}")
        out[type_] = row
    return out


def untagged(data):
    from makemore.data import Dataset
    return Dataset(data.vocab, data.max_len, *(s.with_tags(None) for s in (data.train, data.val, data.test)))


def per_tag_data(data, k):
    from makemore.data import Dataset
    parts = [subset(s, (s.tags == k).nonzero().squeeze(1), tags=False) for s in (data.train, data.val, data.test)]
    return Dataset(data.vocab, data.max_len, *parts)


def nll_by_tag(item_nll, split, K):
    """{tag index: (summed NLL, targets)} over a split's items."""
    out = {}
    for k in range(K):
        rows = split.tags == k
        out[k] = (item_nll[rows].sum().item(), int(split.lengths[rows].sum()))
    return out


def compare(name, data, fit, log):
    """Test NLL per tag: tagged vs one model per tag vs untagged. fit(dataset, n_tags, alone) ->
    (the fitted model, seconds); alone: a model of one tag's items."""
    from makemore.evaluation import item_nll
    K, test = len(data.tags), data.test
    tagged, t_tagged = fit(data, K, False)
    plain, t_plain = fit(untagged(data), 0, False)
    rows = {"tagged": nll_by_tag(item_nll(tagged, test), test, K),
            "untagged": nll_by_tag(item_nll(plain, test.with_tags(None)), test, K), "per_tag": {}}
    seconds = {"tagged": t_tagged, "untagged": t_plain, "per_tag": 0.0}
    for k in range(K):
        own = per_tag_data(data, k)
        if len(own.train) == 0 or len(own.test) == 0:
            continue
        m, t = fit(own, 0, True)
        seconds["per_tag"] += t
        rows["per_tag"][k] = (item_nll(m, own.test).sum().item(), own.test.n_targets)
        log(f"  {name} per tag {data.tags[k]}: {rows['per_tag'][k][0] / max(1, rows['per_tag'][k][1]):.4f} "
            f"(tagged {rows['tagged'][k][0] / max(1, rows['tagged'][k][1]):.4f})")
    table = {}
    for k, tag in enumerate(data.tags):
        n = rows["tagged"][k][1]
        table[tag] = {"items": int((data.train.tags == k).sum() + (data.val.tags == k).sum() + (test.tags == k).sum()),
                      "test_targets": n, **{w: rows[w][k][0] / n for w in ("tagged", "untagged", "per_tag") if k in rows[w] and n}}
    total = {w: sum(v[0] for v in rows[w].values()) / sum(v[1] for v in rows[w].values()) for w in rows}
    return tagged, {"tags": table, "total": total, "seconds": seconds}


def ngram5(d, k, alone=False):
    """The 5-gram (Kneser-Ney) of a dataset, tagged if k, counted: (model, seconds)."""
    from makemore.models import build_model
    t0 = time.perf_counter()
    m = build_model("ngram", d.vocab.size, d.max_len + 1, k, n=5)
    x, y, _ = m.examples(d.train)
    m.fit(x, y, tags=m.example_tags(d.train) if k else None)
    return m.eval(), time.perf_counter() - t0


def baseline(data):
    """TF-IDF of character 1-4-grams and logistic regression, C chosen on val: (classifier, val accuracy)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    best = None
    for C in (1.0, 10.0, 100.0):
        clf = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                            LogisticRegression(C=C, max_iter=2000))
        clf.fit(data.train.words, data.train.tags.numpy())
        acc = float((clf.predict(data.val.words) == data.val.tags.numpy()).mean())
        if best is None or acc > best[1]:
            best = (clf, acc, C)
    return best


def baseline_posterior(clf, words, K):
    p = np.zeros((len(words), K))
    p[:, clf.classes_] = clf.predict_proba(words)
    return torch.from_numpy(p)


def classification(models, clf, data):
    from makemore import tagging
    K, test = len(data.tags), data.test
    prior = tagging.tag_prior(dict(zip(data.tags, torch.bincount(data.train.tags, minlength=K).tolist())))
    out = {}
    for name, m in models.items():
        post = tagging.posterior(tagging.tag_nll(m, test, K), prior)
        out[name] = {k: v for k, v in tagging.report(post, test.tags, data.tags).items() if k in ("accuracy", "macro_f1", "ece")}
    post = baseline_posterior(clf, test.words, K)
    out["baseline"] = {k: v for k, v in tagging.report(post, test.tags, data.tags).items() if k in ("accuracy", "macro_f1", "ece")}
    return out


def fidelity(model, clf, data, n=1000):
    """Per tag: the baseline's share of the tag among n items sampled under it, and among its real test items."""
    from makemore.sampling import sample_tagged
    K, out = len(data.tags), {}
    for k, tag in enumerate(data.tags):
        w = torch.zeros(K, dtype=torch.float64)
        w[k] = 1
        items = [s for s, _ in sample_tagged(model, data.vocab, n, data.max_len, w, seed=k)]
        real = [wd for wd, t in zip(data.test.words, data.test.tags.tolist()) if t == k]
        out[tag] = {"sampled": float((clf.predict(items) == k).mean()),
                    "real": float((clf.predict(real) == k).mean()) if real else None, "real_items": len(real)}
    return out


def speed(data, rounds=5, steps=30, n=4000):
    """Tagged vs untagged LSTM: ms per training step and items per second sampled, interleaved A/B."""
    from makemore import presets
    from makemore.batches import Batches
    from makemore.models import build_model
    from makemore.sampling import sample_tagged
    r = presets.resolve("lstm")
    plain_data = untagged(data)
    K = len(data.tags)
    setups = {}
    for name, d, k in (("tagged", data, K), ("untagged", plain_data, 0)):
        torch.manual_seed(0)
        m = build_model("lstm", d.vocab.size, d.max_len + 1, k, **r.model)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        setups[name] = (m, opt, Batches(d.train, m, "cpu", torch.Generator().manual_seed(0), bucket=r.train.bucket), k)
    times = {name: {"step": [], "sample": []} for name in setups}
    for _ in range(rounds):
        for name, (m, opt, b, k) in setups.items():
            m.train()
            t0 = time.perf_counter()
            for _ in range(steps):
                x, y, extra = b.sample(r.train.batch_size)
                loss = m.loss(x, y, **extra)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            times[name]["step"].append((time.perf_counter() - t0) / steps)
            w = torch.full((K,), 1 / K, dtype=torch.float64) if k else None
            t0 = time.perf_counter()
            sample_tagged(m.eval(), data.vocab, n, data.max_len, w, seed=0)
            times[name]["sample"].append(n / (time.perf_counter() - t0))
    med = {name: {k: float(np.median(v)) for k, v in t.items()} for name, t in times.items()}
    return {**med, "step_ratio": med["tagged"]["step"] / med["untagged"]["step"],
            "sample_ratio": med["tagged"]["sample"] / med["untagged"]["sample"], "rounds": rounds}


def measure_one(name, quick, log):
    from makemore.data import build_dataset, read_tagged
    tagged_items, _, _ = read_tagged(DATASETS[name])
    data = build_dataset(tagged_items.items, tags=tagged_items.tags, tag_names=tagged_items.names)
    steps, per_tag = (300, 150) if quick else (8000, 2000)
    log(f"{name}: {len(tagged_items.items):,} items, {len(data.tags)} tags, vocabulary {data.vocab.size}")
    lstm, lstm_nll = compare("lstm", data, lambda d, k, alone: fitted("lstm", d, k, per_tag if alone else steps), log)
    log(f"  lstm total {lstm_nll['total']}")
    ngram, ngram_nll = compare("5-gram", data, ngram5, log)
    clf, val_acc, C = baseline(data)
    res = {"items": len(tagged_items.items), "tags": data.tags, "vocab_size": data.vocab.size,
           "nll": {"lstm": lstm_nll, "5-gram": ngram_nll},
           "classify": classification({"lstm": lstm, "5-gram": ngram}, clf, data), "baseline_C": C,
           "fidelity": fidelity(lstm, clf, data, 200 if quick else 1000)}
    log(f"  classify {res['classify']}")
    return res, data


def measure(quick=False):
    torch.set_num_threads(2)
    log = lambda s: print(s, flush=True)          # noqa: E731
    out, data = {}, None
    for name in DATASETS:
        out[name], d = measure_one(name, quick, log)
        data = data or d
    out["ways"] = ways_to_tag(data, 200 if quick else 3000, log)
    out["speed"] = speed(data, rounds=2 if quick else 5)
    log(f"speed {out['speed']}")
    return {"machine": machine(), "quick": quick, **out}


def nll_table(name, res):
    lines = [f"**{name}** ({res['items']:,} items, {len(res['tags'])} tags): test NLL in nats per character given the "
             "true tag; the tagged model's column in bold where it beats both others.", "",
             "| tag | items | LSTM tagged | LSTM per tag | LSTM untagged | 5-gram tagged | 5-gram per tag | 5-gram untagged |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(r, best):
        v = r.get("tagged")
        s = f"{v:.3f}" if v is not None else "—"
        return f"**{s}**" if best else s

    for tag in res["tags"]:
        row = [tag, f"{res['nll']['lstm']['tags'][tag].get('items', 0):,}"]
        for model in ("lstm", "5-gram"):
            r = res["nll"][model]["tags"][tag]
            best = all(r.get("tagged", 9) < r.get(w, 9) for w in ("per_tag", "untagged"))
            row += [cell(r, best), f"{r['per_tag']:.3f}" if "per_tag" in r else "—", f"{r['untagged']:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
    t = {m: res["nll"][m]["total"] for m in ("lstm", "5-gram")}
    lines.append("| **all** | " + f"{res['items']:,} | " + " | ".join(
        f"{t[m]['tagged']:.4f} | {t[m]['per_tag']:.4f} | {t[m]['untagged']:.4f}" for m in ("lstm", "5-gram")) + " |")
    return "\n".join(lines)


def goals(res):
    """Which tags with enough items the tagged model beats both others on, per model."""
    out = []
    for model in ("lstm", "5-gram"):
        rows = res["nll"][model]["tags"]
        enough = [t for t in res["tags"] if res["nll"]["lstm"]["tags"][t].get("items", 0) >= ENOUGH]
        won = [t for t in enough if all(rows[t]["tagged"] < rows[t].get(w, 9) for w in ("per_tag", "untagged"))]
        tot = res["nll"][model]["total"]
        out.append(f"{model}: better than both on {len(won)} of the {len(enough)} tags with at least {ENOUGH} items"
                   + (f" (not on {', '.join(t for t in enough if t not in won)})" if len(won) < len(enough) else "")
                   + f"; in total {'better' if tot['tagged'] < min(tot['per_tag'], tot['untagged']) else 'not better'}")
    return out


def table(res):
    parts = [f"Measured on {res['machine']}" + (" (--quick: a trial, not the figures)" if res.get("quick") else "") + "."]
    for name in DATASETS:
        r = res[name]
        parts += ["", nll_table(name, r), "", "Goals: " + "; ".join(goals(r)) + ".", "",
                  "| classifier | accuracy | macro-F1 | calibration error (ECE) |", "|---|---:|---:|---:|"]
        labels = {"lstm": "tagged LSTM, Bayes' rule", "5-gram": "tagged 5-gram, Bayes' rule",
                  "baseline": f"TF-IDF char 1-4-grams + logistic regression (C={r['baseline_C']:g})"}
        for k, label in labels.items():
            c = r["classify"][k]
            parts.append(f"| {label} | {c['accuracy']:.4f} | {c['macro_f1']:.4f} | {c['ece']:.4f} |")
        fid = r["fidelity"]
        gaps = [abs(v["sampled"] - v["real"]) for v in fid.values() if v["real"] is not None]
        parts += ["", "Tag fidelity (share the baseline classifier gives the requested tag): " + ", ".join(
            f"{t} {v['sampled']:.2f} vs {v['real']:.2f}" for t, v in fid.items() if v["real"] is not None)
            + f" (sampled vs real test items); within 5 points on {sum(g <= 0.05 for g in gaps)} of {len(gaps)} tags."]
    parts += ["", "How the neural models take the tag (val NLL on the locales, each way trained alike for 3,000 "
              "steps, the best val checkpoint):", "",
              "| model | the library's way | val | the other way | val |", "|---|---|---:|---|---:|"]
    for type_, ((mine, _), (other, _)) in WAYS.items():
        w = res["ways"][type_]
        parts.append(f"| {type_} | {mine} | {w[mine]:.4f} | {other} | {w[other]:.4f} |")
    s = res["speed"]
    parts += ["", f"Speed, tagged vs untagged default LSTM on the locales ({s['rounds']} interleaved rounds, medians): "
              f"a training step {s['step_ratio']:.3f} times the untagged one's time, sampling "
              f"{s['sample_ratio']:.3f} times its items per second."]
    return "\n".join(parts)


def main():
    ap = parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="a few hundred steps per model, to try the script")
    ap.add_argument("--ways", action="store_true", help="only measure the ways to take the tag again")
    args = ap.parse_args()
    if args.ways:
        publish("tags", table, lambda: {**load_results("tags"), "ways": measure_ways()})
        return
    publish("tags", table, None if args.table else lambda: measure(args.quick))


def measure_ways(steps=3000):
    from makemore.data import build_dataset, read_tagged
    torch.set_num_threads(2)
    tagged, _, _ = read_tagged(None)
    data = build_dataset(tagged.items, tags=tagged.tags, tag_names=tagged.names)
    return ways_to_tag(data, steps, lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
