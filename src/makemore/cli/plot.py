"""makemore plot FIGURE: the lectures' figures as PNG (bigram counts, loss curves, embeddings), numbers printed too."""

from __future__ import annotations

import json
from pathlib import Path

from ..commandline import Parser, add
from ..errors import RunError, UsageError

HELP = "figures: bigram heatmap, loss curves, embeddings, a tagged run's confusion matrix"
DESCRIPTION = "Save a figure as PNG; its numbers are printed too (--json for machines)."


def add_arguments(pl) -> None:
    psub = pl.add_subparsers(dest="figure", metavar="FIGURE", parser_class=Parser)
    psub.required = True
    b = psub.add_parser("bigram", help="the bigram count heatmap of the input",
                        description="The first lecture's V x V grid of bigram counts over all items.")
    add(b, "input", "encoding", "png", "json")
    add(b, "top", default=40, help="show the N most frequent characters at most (default: 40)")
    add(b, "out", help="save bigram.png in this directory (default: current directory)")
    lo = psub.add_parser("loss", help="training and val loss of one or more runs",
                         description="log10 of the training loss (means over log intervals) with the val points.")
    add(lo, "out", nargs="+", required=True, help="run directories (several: one figure)")
    lo.add_argument("--window", type=int, default=1, help="average this many logged points more (default: 1)")
    add(lo, "png", "json")
    em = psub.add_parser("embeddings", help="character embeddings, 2-D (PCA above 2)",
                         description="Scatter of the model's character embedding table, each point labelled.")
    add(em, "out", required=True)
    add(em, "weights", "png", "json", "device")
    co = psub.add_parser("confusion", help="a tagged run's confusion matrix on a split",
                         description="Which tag `classify` gives the items of each tag (rows: the true tag), with "
                                     "the accuracy and macro-F1.")
    add(co, "out", required=True)
    add(co, "split", "weights", "png", "json", "device")


def png(args, default_dir, name) -> Path:
    """Where a command saves its figure: --png, else `name` in default_dir (or here)."""
    return Path(args.png) if args.png else Path(default_dir or ".") / name


def main(a) -> int:
    from .. import plots
    from ..runs import load_run
    if a.figure == "bigram":
        from ..data import read_words
        from ..diagnostics import bigram_table
        t = bigram_table(read_words(a.input, encoding=a.encoding, max_len=10**6), a.top)
        path = plots.bigram_heatmap(t["counts"], t["chars"], png(a, a.out, "bigram.png"), t["title"])
        if a.json:
            print(json.dumps({"chars": t["chars"], "counts": t["counts"], "png": str(path)}, ensure_ascii=False))
            return 0
        print("most frequent pairs:  " + "  ".join(f"{p} {c:,}" for p, c in t["top_pairs"]))
    elif a.figure == "loss":
        if a.window < 1:
            raise UsageError(f"--window must be at least 1, got {a.window}")
        curves = [(run.path.name, run.metrics) for run in (load_run(d, weights=None) for d in a.out)]
        for d, (_, records) in zip(a.out, curves):
            if not records:
                raise RunError(f"{d}: metrics.jsonl is empty or missing")
        path = plots.loss_curves(curves, png(a, a.out[0], "loss.png"), a.window)
        if a.json:
            print(json.dumps({name: records for name, records in curves}))
            return 0
        print(plots.loss_summary(curves))
    elif a.figure == "confusion":
        run = load_run(a.out, a.weights, a.device)
        r = run.tag_report(a.split)
        title = f"{run.path.name}, {a.split}: accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}"
        path = plots.confusion_plot(r["confusion"], r["tags"], png(a, run.path, "confusion.png"), title)
        if a.json:
            print(json.dumps({**r, "png": str(path)}, ensure_ascii=False))
            return 0
        print(title)
    else:
        from ..diagnostics import embedding_points
        run = load_run(a.out, a.weights, a.device)
        e = embedding_points(run.model, run.vocab, run.type)
        path = plots.embeddings_plot(e["points"], e["chars"], png(a, run.path, "embeddings.png"), e["title"])
        if a.json:
            print(json.dumps({"chars": e["chars"], "points": e["points"], "png": str(path)}, ensure_ascii=False))
            return 0
    print(f"saved {path}")
    return 0
