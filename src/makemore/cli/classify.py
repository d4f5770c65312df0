"""makemore classify: which tag each item most likely has, by Bayes' rule on a run of tagged items."""

from __future__ import annotations

import json

from ..commandline import add
from ..errors import UsageError

HELP = "p(tag | item) for items, from a run of tagged items"
DESCRIPTION = ("Tell each item's tag with the generative model itself: p(tag | item) = p(tag) p(item | tag) / p(item), "
               "p(tag) being the tag's share of the training split.")


def add_arguments(c) -> None:
    add(c, "out", required=True)
    c.add_argument("items", nargs="*", metavar="ITEM", help="items to classify")
    add(c, "input", help="classify the items of this file (one per line) instead")
    add(c, "top", default=3, help="tags shown per item, most likely first (default: 3)")
    add(c, "weights", "json", "device")


def main(a) -> int:
    from ..data import read_words
    from ..runs import load_run
    if bool(a.items) == bool(a.input):
        raise UsageError("give items to classify, or -i FILE, not both" if a.items else "give items to classify, or -i FILE")
    run = load_run(a.out, a.weights, a.device)
    items = a.items or read_words(a.input, encoding=run.config["data"]["encoding"], max_len=run.max_len)
    out = run.classify(items, top=a.top)
    if a.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    for r in out:
        print(f"{r['item']:<24} " + "  ".join(f"{t['tag']} {t['p']:.3f}" for t in r["tags"]))
    return 0
