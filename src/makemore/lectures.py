"""The "building makemore" lectures' steps and experiments, on the package (docs/lectures/ walks
through them, one notebook per lecture).

What a lecture computes by hand once, to show how it works, is here a short function on the
package's data, models and runs: the bigram pairs counted with a dict, the lecture's sampling loop
and seed, the likelihood of single names, the contexts of a name, the smoothing and
regularization curves, and the activations lecture's loss log, stage by stage.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import torch

from .data import BOUNDARY, Dataset, Split, Vocab, encode_words
from .evaluation import evaluate
from .models import build_model
from .train import TrainConfig, train

LECTURE_SEED = 2147483647        # the lectures' torch.Generator().manual_seed(...)

# The notebooks' switches: MAKEMORE_LECTURE_FAST=1 shortens every training (the test suite runs
# them so), MAKEMORE_LECTURE_RUNS is where they keep their run directories.
FAST = os.environ.get("MAKEMORE_LECTURE_FAST") == "1"


def steps(full: int | None, fast: int) -> int | None:
    """A notebook's number of training steps: the lecture's, or a few with MAKEMORE_LECTURE_FAST=1."""
    return fast if FAST else full


def runs_dir() -> Path:
    return Path(os.environ.get("MAKEMORE_LECTURE_RUNS", "runs/lectures"))


def close_to(value: float, lecture: float, tol: float, what: str) -> str:
    """One line comparing a measured number with the lecture's; with the full runs, an
    AssertionError if it is further than tol (shortened runs only print)."""
    line = f"{what}: {value:.4f} (the lecture: {lecture:.4f}, difference {value - lecture:+.4f})"
    if not FAST:
        assert abs(value - lecture) <= tol, line + f" is more than {tol} off"
    return line

# The activations lecture's loss log (part 3), one stage per fix: (preset, what changed, the
# lecture's train and val). Each stage is `makemore train --type mlp --preset P --recipe part3`.
LOSS_LOG = [
    ("part3-original", "the original net: every weight drawn from N(0, 1)", 2.1245, 2.1682),
    ("part3-softmax", "the output layer made unsure at initialization (W2 * 0.01, b2 * 0)", 2.07, 2.13),
    ("part3-tanh", "the tanh layer made unsaturated at initialization (W1 * 0.2, b1 * 0.01)", 2.0356, 2.1027),
    ("part3-kaiming", "Kaiming initialization, W1 * (5/3) / sqrt(30), instead of hand-picked scales", 2.0377, 2.1070),
    ("part3-batchnorm", "a BatchNorm layer between W1 and the tanh", 2.0668, 2.1048),
]


def pair_counts(words: list[str]) -> Counter:
    """The first lecture's dict of bigram counts: ('.', 'e'), ('e', 'm'), ... over every item,
    with '.' marking its start and its end."""
    counts = Counter()
    for w in words:
        chs = ["."] + list(w) + ["."]
        counts.update(zip(chs, chs[1:]))
    return counts


def whole(data: Dataset) -> Split:
    """All the items of a dataset as one split (the first lecture counts over the whole file)."""
    words = data.train.words + data.val.words + data.test.words
    return Split(words, *encode_words(words, data.vocab, data.max_len))


def fit_bigram(data: Dataset, split: Split | None = None, smoothing: float = 1.0):
    """The count bigram fitted on a split (default: the whole file, as the first lecture does)."""
    model = build_model("bigram", data.vocab.size, data.max_len + 1, smoothing=smoothing)
    split = split or whole(data)
    ctx, y, _ = model.examples(split)
    return model.fit(ctx, y)


def lecture_samples(P: torch.Tensor, vocab: Vocab, n: int = 5, seed: int = LECTURE_SEED) -> list[str]:
    """The first lecture's sampling loop: one item at a time, one character at a time, from the rows
    of P (V, V) with torch.multinomial and one generator, each item ending with its '.'."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ix, chars = BOUNDARY, []
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            chars.append(vocab.show(ix))
            if ix == BOUNDARY:
                break
        out.append("".join(chars))
    return out


def item_likelihood(P: torch.Tensor, vocab: Vocab, item: str) -> dict:
    """Each bigram of an item with its probability and log-probability, and the item's total and
    mean negative log-likelihood (infinite where a bigram has probability 0)."""
    ids = [BOUNDARY] + vocab.encode(item) + [BOUNDARY]
    rows = []
    for a, b in zip(ids, ids[1:]):
        p = float(P[a, b])
        rows.append({"bigram": vocab.show(a) + vocab.show(b), "p": p, "logp": math.log(p) if p > 0 else -math.inf})
    nll = -sum(r["logp"] for r in rows)
    return {"item": item, "bigrams": rows, "nll": nll, "nll_per_char": nll / len(rows)}


def contexts(item: str, vocab: Vocab, block_size: int = 3) -> list[tuple[str, str]]:
    """The MLP lecture's dataset for one item: each window of block_size characters (padded with
    '.' before the start) and the character that follows it."""
    ids = vocab.encode(item) + [BOUNDARY]
    window, out = [BOUNDARY] * block_size, []
    for ix in ids:
        out.append(("".join(vocab.show(i) for i in window), vocab.show(ix)))
        window = window[1:] + [ix]
    return out


def smoothing_curve(data: Dataset, ks=(0.0, 0.1, 1.0, 10.0, 100.0, 1000.0)) -> list[dict]:
    """Train and val loss of the count bigram fitted on train with add-k smoothing, for each k."""
    rows = []
    for k in ks:
        m = fit_bigram(data, data.train, smoothing=k)
        rows.append({"k": k, "train": evaluate(m, data.train), "val": evaluate(m, data.val)})
    return rows


def regularization_curve(data: Dataset, strengths=(0.0, 0.01, 0.1, 1.0, 10.0), steps: int = 300,
                         seed: int = LECTURE_SEED) -> list[dict]:
    """Train and val loss of the neural bigram trained on train (the lecture's full-batch gradient
    descent, lr 50) with loss + reg * mean(W^2), for each strength."""
    rows = []
    for reg in strengths:
        torch.manual_seed(seed)
        m = build_model("nnbigram", data.vocab.size, data.max_len + 1, reg=reg)
        cfg = TrainConfig(optimizer="sgd", lr=50.0, batch_size=0, max_steps=steps, schedule="constant",
                          weight_decay=0.0, eval_interval=steps, log_interval=steps, seed=seed)
        train(m, data, cfg, progress=False)
        rows.append({"reg": reg, "train": evaluate(m, data.train), "val": evaluate(m, data.val)})
    return rows


def loss_log(root, steps: int | None = None, input=None, progress: bool = False) -> list[dict]:
    """The activations lecture's loss log: each stage of LOSS_LOG trained as the lecture trains it
    (`--recipe part3`: its seed, its batches, 200,000 SGD steps; `steps` shortens them), into
    ROOT/STAGE. A stage whose run directory already holds a finished run of the same settings is
    read, not trained again. Rows: stage, what, train, val (of the last step), the lecture's."""
    from .runs import create_run, load_run
    rows = []
    for preset, what, lecture_train, lecture_val in LOSS_LOG:
        path = Path(root) / preset
        options = {} if steps is None else {"max_steps": steps, "eval_interval": steps, "log_interval": min(steps, 1000)}
        run = create_run(path, input, type="mlp", preset=preset, recipe="part3", force=True, **options) \
            if not _finished(path, preset, options) else None
        if run is not None and run.train(progress=progress)["interrupted"]:
            raise KeyboardInterrupt(f"{preset}: training interrupted; its checkpoint is in {path}")
        done = load_run(path, weights="last")
        losses = done.evaluate(("train", "val"))
        rows.append({"stage": preset, "what": what, "train": losses["train"], "val": losses["val"],
                     "lecture_train": lecture_train, "lecture_val": lecture_val,
                     "steps": done.config["train"]["max_steps"]})
    return rows


def _finished(path: Path, preset: str, options: dict) -> bool:
    """Whether `path` holds a finished run of this stage with exactly these settings."""
    from dataclasses import asdict
    from .presets import resolve
    from .runs import is_run, load_run
    if not is_run(path):
        return False
    run = load_run(path, weights=None)
    want = resolve("mlp", preset, "part3", **options)
    return (run.config["train"] == asdict(want.train) and run.config["preset"] == preset
            and all(run.config["model"].get(k) == v for k, v in want.model.items())
            and any(r.get("final") for r in run.metrics))
