"""makemore eval: the mean negative log-likelihood per character of a run on its splits, or on a file."""

from __future__ import annotations

import json
import math

from ..commandline import add, loss_table

HELP = "mean NLL per character (nats and bits) on the run's splits"
DESCRIPTION = "Evaluate a run: token-weighted mean negative log-likelihood per character."


def add_arguments(e) -> None:
    add(e, "out", required=True)
    add(e, "split", default="all", choices=["train", "val", "test", "all"], help="which split (default: all)")
    add(e, "weights", "json", "device")
    add(e, "input", help="evaluate on this file instead of the run's data (same vocabulary)")


def main(a) -> int:
    from ..data import SPLITS
    from ..runs import load_run
    run = load_run(a.out, a.weights, a.device)
    losses = run.evaluate_file(a.input) if a.input else run.evaluate(SPLITS if a.split == "all" else [a.split])
    tags = run.tag_report("test" if a.split == "all" else a.split) if run.tags and not a.input else None
    if a.json:
        targets = {s: (run.config["data"].get("targets") or {}).get(s) for s in losses}
        print(json.dumps({**losses, "unit": "nats/char", "bits_per_char": {s: v / math.log(2) for s, v in losses.items()},
                          "targets": targets, "type": run.type, "weights": a.weights} | ({"tags": tags} if tags else {}),
                         ensure_ascii=False))
        return 0
    print(loss_table(losses))
    if tags:
        print(tag_summary(tags))
    return 0


def tag_summary(r: dict) -> str:
    """A tagged run's report on one split, in a few lines."""
    return (f"tagged items, {r['split']} split ({r['items']:,} items): NLL per character given the true tag "
            f"{r['conditional']:.4f}, marginal over tags {r['marginal']:.4f} nats\n"
            f"classify: accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}, calibration error {r['ece']:.4f} "
            f"(confusion matrix: makemore plot confusion -o RUN, or --json)")
