"""makemore sample: new items from a trained run, each marked new or seen."""

from __future__ import annotations

import json
import sys

from ..commandline import add
from ..errors import UsageError

HELP = "generate new items"
DESCRIPTION = "Generate items from a trained run. Each is marked as new, in train, or in val/test."


def add_arguments(s) -> None:
    add(s, "out", required=True)
    s.add_argument("-n", "--num", type=int, default=20, help="how many items (default: 20)")
    add(s, "temperature", help="softmax temperature; 0 = greedy (default: 1.0)")
    s.add_argument("--top-k", type=int, help="sample only among the k most likely characters")
    s.add_argument("--top-p", type=float, help="nucleus sampling: the smallest set of characters with this much probability")
    s.add_argument("--prefix", default="", help="continue items that start with this")
    add(s, "seed", default=None, help="random seed: same seed, same items")
    s.add_argument("--unique", action="store_true", help="no repeated items")
    add(s, "tag")
    s.add_argument("--show-tag", action="store_true", help="print each item's tag (a run of tagged items)")
    add(s, "weights", "json", "device")


def main(a) -> int:
    from ..runs import load_run
    run = load_run(a.out, a.weights, a.device)
    if a.show_tag and not run.tags:
        raise UsageError(f"--show-tag: {run.path} was trained on untagged items")
    items = run.sample(a.num, prefix=a.prefix, unique=a.unique, seed=a.seed, temperature=a.temperature,
                       top_k=a.top_k, top_p=a.top_p, tag=a.tag)
    marks = [s["novelty"] for s in items]
    if "?" in marks:
        print(f"warning: the run's data file {run.config['data']['input']} is gone; novelty not marked", file=sys.stderr)
    if a.unique and len(items) < a.num:
        print(f"warning: found only {len(items)} distinct items", file=sys.stderr)
    if a.json:
        print(json.dumps(items, ensure_ascii=False))
        return 0
    for s in items:
        print(f"{s['item']:<24} {s['novelty']}" + (f"  {s['tag']}" if a.show_tag else ""))
    counts = {k: marks.count(k) for k in ("new", "train", "val/test")}
    print(f"{len(items)} items: {counts['new']} new, {counts['train']} in train, {counts['val/test']} in val/test",
          file=sys.stderr)
    return 0
