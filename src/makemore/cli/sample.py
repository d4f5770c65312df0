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
    c = s.add_argument_group("constraints (every item meets them all, drawn from the model's distribution given them)")
    c.add_argument("--suffix", metavar="S", help="items that end in S")
    c.add_argument("--contains", metavar="S", action="append", help="items that hold S (repeatable)")
    c.add_argument("--excludes", metavar="S", action="append", help="items that never hold S (repeatable)")
    c.add_argument("--min-len", type=int, metavar="N", help="items of at least N characters")
    add(c, "max_len", help="items of at most N characters (default: the model's longest)")
    c.add_argument("--regex", metavar="R", help="items that match the regular expression R, whole (no back-references)")
    c.add_argument("--new", action="store_true", help="never an item of the training file (any part of its split)")
    c.add_argument("--particles", type=int, metavar="P", help="sequential Monte Carlo particles per item "
                   "(default: 16; more: closer to the exact conditional distribution, slower)")
    add(s, "weights", "json", "device")


def main(a) -> int:
    from ..runs import load_run
    run = load_run(a.out, a.weights, a.device)
    if a.show_tag and not run.tags:
        raise UsageError(f"--show-tag: {run.path} was trained on untagged items")
    constraints = {k: v for k, v in (("suffix", a.suffix), ("contains", a.contains), ("excludes", a.excludes),
                                     ("min_len", a.min_len), ("max_len", a.max_len), ("regex", a.regex),
                                     ("new", a.new or None)) if v is not None}
    if a.particles is not None and not constraints:
        raise UsageError("--particles: give a constraint (--suffix, --contains, --excludes, --min-len, --max-len, --regex, --new)")
    items = run.sample(a.num, prefix=a.prefix, unique=a.unique, seed=a.seed, temperature=a.temperature,
                       top_k=a.top_k, top_p=a.top_p, tag=a.tag, constraints=constraints, particles=a.particles)
    marks = [s["novelty"] for s in items]
    if "?" in marks:
        print(f"warning: the run's data file {run.config['data']['input']} is gone; novelty not marked", file=sys.stderr)
    if a.unique and len(items) < a.num:
        print(f"warning: found only {len(items)} distinct items", file=sys.stderr)
    if a.json:
        print(json.dumps(items, ensure_ascii=False))
        return 0
    if constraints:
        p = sum(s["p_constraint"] for s in items) / len(items)
        print(f"about 1 in {1 / p:,.0f} of this model's items{' that start with the prefix' if a.prefix else ''} "
              f"meet the constraints ({'exactly' if items[0]['exact'] else 'estimated by the particles'})"
              if p > 0 else "the model gives these constraints no probability", file=sys.stderr)
    for s in items:
        print(f"{s['item']:<24} {s['novelty']}" + (f"  {s['tag']}" if a.show_tag else ""))
    counts = {k: marks.count(k) for k in ("new", "train", "val/test")}
    print(f"{len(items)} items: {counts['new']} new, {counts['train']} in train, {counts['val/test']} in val/test",
          file=sys.stderr)
    return 0
