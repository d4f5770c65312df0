"""The lectures' long runs, on the package: a 200,000-step training is a run directory, trained
once and read back by every later notebook run (and by the Chinese notebook after the English one).

- `trained(path, type=..., **options)`: the run at `path` with exactly these settings, trained
  unless it is already there, finished. It prints the `makemore train` line that does the same.
- `loss_log(root)`: the activations lecture's loss log, stage by stage (LOSS_LOG).
- `whole(data)`: every item of a dataset as one split (the first lecture counts over the whole file).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict
from pathlib import Path

from ..data import Dataset, Split, encode_words

# The activations lecture's loss log (part 3), one stage per fix: (preset, what changed, the
# lecture's train and val). Each stage is `makemore train --type mlp --preset P --recipe part3`.
LOSS_LOG = [
    ("part3-original", "the original net: every weight drawn from N(0, 1)", 2.1245, 2.1682),
    ("part3-softmax", "the output layer made unsure at initialization (W2 * 0.01, b2 * 0)", 2.07, 2.13),
    ("part3-tanh", "the tanh layer made unsaturated at initialization (W1 * 0.2, b1 * 0.01)", 2.0356, 2.1027),
    ("part3-kaiming", "Kaiming initialization, W1 * (5/3) / sqrt(30), instead of hand-picked scales", 2.0377, 2.1070),
    ("part3-batchnorm", "a BatchNorm layer between W1 and the tanh", 2.0668, 2.1048),
]


def whole(data: Dataset) -> Split:
    """All the items of a dataset as one split (the first lecture counts over the whole file)."""
    words = data.train.words + data.val.words + data.test.words
    return Split(words, *encode_words(words, data.vocab, data.max_len))


def command_line(path, options: dict) -> str:
    """The `makemore train` line with these options."""
    flags = []
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        flags += [flag] if v is True else [] if v is False else [flag, str(v)]
    return " ".join(["makemore", "train", "-o", str(path), *flags])


def finished(path: Path, options: dict) -> bool:
    """Whether `path` holds a finished run with exactly these settings."""
    from ..presets import resolve
    from ..runs import is_run, load_run
    if not is_run(path):
        return False
    run = load_run(path, weights=None)
    model_and_train = {k: v for k, v in options.items() if k not in ("type", "preset", "recipe")}
    want = resolve(options.get("type"), options.get("preset"), options.get("recipe"), **model_and_train)
    return (run.config["type"] == want.type and run.config["train"] == asdict(want.train)
            and run.config["preset"] == want.preset and run.config["recipe"] == want.recipe
            and all(run.config["model"].get(k) == v for k, v in want.model.items())
            and any(r.get("final") for r in run.metrics))


def trained(path, progress: bool = False, weights: str = "last", **options):
    """The run at `path` trained with these options (makemore train's, as keywords), read back
    with its last weights (the lectures compare their final weights) or its best by val. A
    finished run of the same settings found there is read instead of trained again."""
    from ..runs import create_run, load_run
    path = Path(path)
    print(command_line(path, options))
    if not finished(path, options):
        run = create_run(path, force=True, **options)
        with contextlib.redirect_stdout(io.StringIO()):      # the same output whether trained now or read back
            interrupted = run.train(progress=progress)["interrupted"]
        if interrupted:
            raise KeyboardInterrupt(f"{path}: training interrupted; its checkpoint is there")
    return load_run(path, weights=weights)


def loss_log(root, steps: int | None = None, progress: bool = False) -> list[dict]:
    """The activations lecture's loss log: each stage of LOSS_LOG trained as the lecture trains it
    (`--recipe part3`: its seed, its batches, 200,000 SGD steps; `steps` shortens them), into
    ROOT/STAGE, or read from there. Rows: stage, what, train, val (of the last step), the lecture's."""
    rows = []
    for preset, what, lecture_train, lecture_val in LOSS_LOG:
        options = {} if steps is None else {"max_steps": steps, "eval_interval": steps, "log_interval": min(steps, 1000)}
        done = trained(Path(root) / preset, progress, type="mlp", preset=preset, recipe="part3", **options)
        losses = done.evaluate(("train", "val"))
        rows.append({"stage": preset, "what": what, "train": losses["train"], "val": losses["val"],
                     "lecture_train": lecture_train, "lecture_val": lecture_val,
                     "steps": done.config["train"]["max_steps"]})
    return rows
