"""Any script: items of Devanagari, Thai and emoji, read by code point or by grapheme cluster.

    pip install -e ".[bench]" && python benchmarks/anyscript.py     # builds the lists from faker, trains, samples
    python benchmarks/anyscript.py --table                          # only rewrite the docs table from the JSON

The lists, built here from faker's tables (MIT licence; the version pinned in the bench extra):
- hi_IN: the Hindi locale's first and last names (Devanagari: vowel signs, viramas, nuktas);
- th_TH: the Thai locale's first and last names (vowel and tone marks above and below);
- emoji: en_US first names, each with one emoji sequence drawn (seeded) from a fixed set: skin
  tones, ZWJ sequences, flags, keycaps and presentation selectors.

For each list and each unit (`--unit char`, `--unit grapheme`), a default LSTM is trained for
STEPS steps, and SAMPLES items are drawn. Measured: the share of items with a broken cluster (a
cluster that starts with a combining mark, or is a lone joiner, selector, skin tone or half a
flag: something with nothing to combine with), the share holding a cluster never seen in
training, and the test NLL per item in nats (per character would not compare across units).
"""

from __future__ import annotations

import importlib
import random
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

STEPS = 1000
SAMPLES = 5000
EMOJI = ["👍🏽", "👋🏿", "🧑🏻\u200d💻", "👩\u200d👩\u200d👧", "🏳️\u200d🌈", "🇫🇷", "🇯🇵", "🇧🇷", "1️⃣", "❤️", "✌🏼",
         "🐈\u200d⬛", "👨🏾\u200d🍳", "🙂", "⭐", "🌍"]
BROKEN = r"^(?:\p{M}|\u200d|\ufe0f|[\U0001F3FB-\U0001F3FF]|[\U0001F1E6-\U0001F1FF])"   # nothing to combine with


def person(locale: str):
    return importlib.import_module(f"faker.providers.person.{locale}").Provider


def lists() -> dict[str, list[str]]:
    out = {}
    for locale in ("hi_IN", "th_TH"):
        p = person(locale)
        out[locale] = list(dict.fromkeys(n.strip() for n in list(p.first_names) + list(p.last_names) if n.strip()))
    rng = random.Random(0)
    names = list(dict.fromkeys(person("en_US").first_names))
    out["emoji"] = [f"{n}{rng.choice(EMOJI)}" if rng.random() < 0.5 else f"{rng.choice(EMOJI)}{n}" for n in names]
    return out


def broken(item: str, seen: set[str]) -> tuple[bool, bool]:
    """(a cluster with nothing to combine with, a cluster never seen in training)."""
    import regex
    clusters = regex.findall(r"\X", item)
    return (any(regex.match(BROKEN, c) and not (len(c) > 1 and regex.match(r"[\U0001F1E6-\U0001F1FF]{2}", c))
                for c in clusters),
            any(c not in seen for c in clusters))


def measure_one(path: Path, out: Path, unit: str, log) -> dict:
    import regex
    from makemore.runs import create_run
    run = create_run(out, path, unit=unit, max_steps=STEPS, seed=0)
    run.train(progress=False)
    seen = {c for w in run.data.train.words for c in regex.findall(r"\X", w)}
    items = [s["item"] for s in run.sample(SAMPLES, seed=0, marks=False)]
    flags = [broken(w, seen) for w in items]
    test = run.data.test.words
    nll = sum(s["nll"] for s in run.score(test)) / len(test)
    row = {"vocab": run.vocab.size - 1, "items": len(run.data.train) + len(run.data.val) + len(test),
           "broken": sum(b for b, _ in flags) / len(items), "unseen": sum(u for _, u in flags) / len(items),
           "test_nll_item": nll, "examples": items[:6]}
    log(f"{path.stem} {unit}: {row}")
    return row


def measure():
    torch.set_num_threads(2)
    log = lambda s: print(s, flush=True)          # noqa: E731
    res = {"machine": machine(), "steps": STEPS, "samples": SAMPLES, "lists": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, items in lists().items():
            path = Path(tmp) / f"{name}.txt"
            path.write_text("\n".join(items) + "\n", encoding="utf-8")
            res["lists"][name] = {unit: measure_one(path, Path(tmp) / f"{name}-{unit}", unit, log) for unit in ("char", "grapheme")}
    return res


def table(res):
    lines = [f"Measured on {res['machine']}: the default LSTM, {res['steps']:,} steps, {res['samples']:,} items sampled "
             "per row. A broken item has a cluster with nothing to combine with (a leading combining mark, a lone "
             "joiner, selector, skin tone or half a flag); an unseen cluster is one no training item has. NLL per "
             "item: nats, on the test split (the same items in both units).", "",
             "| list | items | unit | tokens | broken items | items with an unseen cluster | test NLL per item |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for name, units in res["lists"].items():
        for unit, r in units.items():
            lines.append(f"| {name} | {r['items']:,} | {unit} | {r['vocab']} | {r['broken']:.2%} | {r['unseen']:.2%} | "
                         f"{r['test_nll_item']:.3f} |")
    return "\n".join(lines)


def main():
    args = parser(__doc__).parse_args()
    publish("anyscript", table, None if args.table else measure)


if __name__ == "__main__":
    main()
