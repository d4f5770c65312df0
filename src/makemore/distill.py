"""Distillation (`makemore distill`): a student trained on a teacher's next-character distributions.

The teacher is any run directory, usually an ensemble (`makemore ensemble`, `makemore best`): a
mixture predicts better than any one model, but samples at the cost of all its members. Of a
mixture of both reading directions (`makemore best`'s), the left-to-right half teaches: the other
half gives no next-character distribution. The
student is one model, trained on the same file and split, on the targets

    (1 - alpha) * one_hot(true character) + alpha * p_teacher(next character | prefix)

so its loss is (1 - alpha) * CE(true) + alpha * CE(teacher), as in Hinton, Vinyals & Dean (2015),
"Distilling the Knowledge in a Neural Network" (here the temperature, when not 1, flattens the
teacher's distributions only: p^(1/T), renormalized; the student is trained and scored at 1).

The teacher's distributions over every position of the training split are computed once (no
gradient, in batches) and stored in the student's run directory as float16 safetensors
(`teacher-HASH.safetensors`, 22 MB for names.txt), named by the hash of the teacher's weights, so
a second student of the same teacher reads them instead of computing them again. The student's
run is a normal run directory: its config.json has the training options that point at that file
(`train.soft_targets`, `distill_alpha`, `distill_temperature`, so `--resume` continues the same
distillation) and a `distill` record of the teacher (its path and the SHA-256 of its weights).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch

from .batches import SoftTargets, split_digest
from .data import MAX_BYTES
from .errors import DataError, RunError, UsageError
from .models.base import SequenceModel
from .runs import RunDir, create_run, load_run, memory_available
from .train import TrainConfig

BATCH_ROWS = 512               # the teacher's forward, this many items at a time


def teacher_sha256(path) -> str:
    """The SHA-256 of a run's weights (best.safetensors, else model.safetensors); of an ensemble:
    of its mixture weights and every member's hash, in order."""
    rundir = RunDir(path)
    config = rundir.read_config()
    h = hashlib.sha256()
    if config["type"] == "ensemble":
        h.update(repr(config["weights"]).encode())
        for member in config["members"]:
            h.update(teacher_sha256(rundir.path / member).encode())
        return h.hexdigest()
    f = rundir.weights_file("best")
    f = f if f.exists() else rundir.weights_file("last")
    if not f.exists():
        raise RunError(f"{rundir.path}: the teacher has no weights saved yet ({f.name} missing)")
    with open(f, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@torch.no_grad()
def teacher_probs(model, split, device="cpu", batch_rows: int = BATCH_ROWS) -> torch.Tensor:
    """The model's next-character distribution at every position of the split's rows: (N, T, V)
    float32, softmax of its logits (positions past an item's end included; nothing trains on them).
    A teacher of tagged items gives each row its distribution given the row's own tag."""
    model.eval()
    X = split.X
    out = torch.empty(X.size(0), X.size(1), model.config.vocab_size)                 # (N, T, V)
    for i in range(0, X.size(0), batch_rows):
        tags = {} if split.tags is None else {"tags": split.tags[i:i + batch_rows].to(device)}
        logits, _ = model(X[i:i + batch_rows].long().to(device), **tags)              # (b, T, V)
        out[i:i + batch_rows] = torch.softmax(logits.float(), dim=-1).cpu()
    return out


def distill(path, teacher, *, progress: bool = True, **settings):
    """Train a student in `path` on the teacher run's distributions (`student` takes the settings);
    returns the trained Run."""
    run = student(path, teacher, **settings)
    run.train(progress=progress)
    return run


def student(path, teacher, *, alpha: float = 0.5, temperature: float = 1.0, force: bool = False,
            device="auto", type: str | None = None, preset: str | None = None, recipe: str | None = None,
            **options):
    """A new student run in `path`, ready to train (run.train()) on the teacher run's distributions,
    which are computed here (once: a file of them already in `path` is reused).
    options: any model or training option of the student's type, as for create_run."""
    if not 0 <= alpha <= 1:
        raise UsageError(f"--alpha must be in [0, 1], got {alpha}")
    if not temperature > 0:
        raise UsageError(f"--temperature must be > 0, got {temperature}")
    for k in ("soft_targets", "distill_alpha", "distill_temperature"):
        if k in options:
            raise UsageError(f"--{k.replace('_', '-')}: set by makemore distill itself (use --alpha, --temperature)")
    teacher = Path(teacher)
    if not RunDir(teacher).exists():
        raise RunError(f"{teacher}: not a run directory (no config.json); the teacher must be a trained run")
    if Path(path).resolve() == teacher.resolve():
        raise UsageError(f"{path}: the student cannot be written into its teacher's directory")
    t = load_run(teacher)
    if t.reverse:
        raise UsageError(f"{teacher}: the teacher must read items left to right (it gives the student next-character "
                         "distributions); this one reads right to left")
    teacher_model = t.model.ltr if t.two_way else t.model      # a mixture of both directions: its left-to-right half
    if t.two_way:
        print(f"{teacher} mixes both reading directions: the student learns from its left-to-right members' mixture",
              file=sys.stderr)
    d = t.config["data"]
    digest = teacher_sha256(teacher)
    run = create_run(path, d["input"], type=type, preset=preset, recipe=recipe, encoding=d["encoding"],
                     max_len=d["max_len_limit"], dedupe=bool(d.get("dedupe", False)), split_seed=d["split_seed"],
                     max_bytes=d.get("max_bytes", MAX_BYTES), tagged=bool(d.get("tags")),
                     normalize=d.get("normalize", "none") == "NFC", unit=d.get("unit", "char"), force=force, device=device,
                     soft_targets="", distill_alpha=alpha, distill_temperature=temperature, **options)
    if run.config["data"]["sha256"] != d["sha256"] or run.vocab.chars != t.vocab.chars or run.max_len != t.max_len \
            or run.tags != t.tags:
        raise DataError(f"{d['input']}: the teacher's data file is not the one it was trained on any more")
    if not isinstance(run.model, SequenceModel):
        raise UsageError(f"--type {run.type}: distillation trains sequence models (rnn, gru, lstm, bow, transformer)")
    train_split = run.data.train
    N, T = train_split.X.shape
    need = N * T * run.vocab.size * (4 + 4 + 2)        # the teacher's float32 output, the float32 targets, float16 on disk
    free = memory_available()
    if free is not None and need > free:
        raise UsageError(f"the teacher's distributions over {N:,} training items would take about {need / 2**30:,.1f} GiB, "
                         f"more than the {free / 2**30:,.1f} GiB available")
    soft_file = (Path(path) / f"teacher-{digest[:16]}.safetensors").resolve()
    if not _holds(soft_file, train_split):
        probs = teacher_probs(teacher_model.to(run.device), train_split, run.device)
        soft_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = soft_file.with_name(f".{soft_file.name}.{os.getpid()}.part")      # whole, or not there at all
        SoftTargets.save(tmp, probs, train_split, {"teacher": str(teacher.resolve()), "teacher_sha256": digest})
        os.chmod(tmp, 0o644)
        os.replace(tmp, soft_file)
    run.config["train"]["soft_targets"] = str(soft_file)
    TrainConfig(**run.config["train"]).validate()
    run.config["distill"] = {"teacher": str(teacher.resolve()), "teacher_type": t.type, "teacher_sha256": digest,
                             "teacher_val": t.config.get("val"), "alpha": alpha, "temperature": temperature,
                             "soft_targets": soft_file.name}
    return run


def _holds(soft_file: Path, split) -> bool:
    """Whether the file is already the teacher's distributions over these rows (computed once)."""
    if not soft_file.exists():
        return False
    try:
        _, meta = SoftTargets.read(soft_file)
    except RunError:
        return False
    return meta.get("rows") == split_digest(split)
