"""makemore score: how much given items look like the training data, under a run's model."""

from __future__ import annotations

import json

from ..commandline import add

HELP = "NLL of given items under the model"
DESCRIPTION = "How much each item looks like the training data: total NLL (nats) and per character (end included)."


def add_arguments(c) -> None:
    add(c, "out", required=True)
    c.add_argument("items", nargs="+", metavar="ITEM", help="items to score")
    add(c, "tag", help="a run of tagged items: log p(item | TAG); without it, the marginal "
                       "log p(item) = log sum over tags of p(tag) p(item | tag)")
    add(c, "weights", "json", "device")


def main(a) -> int:
    from ..runs import load_run
    scores = load_run(a.out, a.weights, a.device).score(a.items, tag=a.tag)
    if a.json:
        print(json.dumps(scores, ensure_ascii=False))
        return 0
    print(f"{'item':<24} {'nll (nats)':>10} {'per char':>9}")
    for s in scores:
        print(f"{s['item']:<24} {s['nll']:10.3f} {s['nll_per_char']:9.4f}")
    return 0
