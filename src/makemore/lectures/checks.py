"""How a lecture notebook checks the learner's code: against the package, and against the lecture.

- `check("P", P, bigram.probs())`: a tensor (or a list, a number) the learner computed in a cell,
  next to what the package computes, printed the way the lectures' `cmp` prints it (exact,
  approximate, largest difference). A disagreement raises CheckFailed, so a notebook run stops at
  the first cell whose code went wrong; `differ=True` checks that two things are *not* equal (a bug
  shown on purpose, such as `keepdim=False`).
- `figure("p1-emma-losses", losses)`: a number the notes or the lecture give (topics.TOPICS), next
  to ours. Cheap figures are checked on every run; the long trainings' figures only on full runs
  (with MAKEMORE_LECTURE_FAST=1 the trainings are shortened, and benchmarks/lectures.py checks
  their full runs).

The switches are environment variables, read when a cell runs (so a notebook can set them in a
cell): MAKEMORE_LECTURE_FAST=1 shortens trainings, MAKEMORE_LECTURE_RUNS is where run directories
go (default runs/lectures), MAKEMORE_LECTURE_LANG=zh prints the checks in Chinese (the Chinese
notebooks' first cell sets it), and MAKEMORE_LECTURE_FIGURES names a file that collects every
figure as a JSON line (the notebook builder sets it to write the coverage table).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from ..exercises.framework import Comparison, cmp
from .topics import TOPICS

FAST_ENV, RUNS_ENV, FIGURES_ENV = "MAKEMORE_LECTURE_FAST", "MAKEMORE_LECTURE_RUNS", "MAKEMORE_LECTURE_FIGURES"
LANG_ENV = "MAKEMORE_LECTURE_LANG"
WORDS = {"en": {"exact": "exact", "approximate": "approximate", "maxdiff": "maxdiff", "ours": "ours",
                "notes": "the notes", "lecture": "the lecture", "off": "more than {} off",
                "short": "(a shortened run; benchmarks/lectures.py checks the full one)"},
         "zh": {"exact": "完全相同", "approximate": "近似相同", "maxdiff": "最大差值", "ours": "我们",
                "notes": "笔记", "lecture": "讲座", "off": "相差超过 {}",
                "short": "（缩短的训练；完整训练的数字由 benchmarks/lectures.py 核对）"}}
LECTURE_SEED = 2147483647        # the lectures' torch.Generator().manual_seed(...)


class CheckFailed(AssertionError):
    """The learner's code disagrees with the package, or a figure with the lecture's."""


def fast() -> bool:
    """Whether trainings are shortened (MAKEMORE_LECTURE_FAST=1), read now, not at import."""
    return os.environ.get(FAST_ENV) == "1"


def steps(full, shortened):
    """The lecture's number of training steps, or `shortened` under MAKEMORE_LECTURE_FAST=1."""
    return shortened if fast() else full


def language() -> str:
    """The notebook's language for printed checks: zh under MAKEMORE_LECTURE_LANG=zh, else en."""
    return "zh" if os.environ.get(LANG_ENV) == "zh" else "en"


def plot_style() -> None:
    """The notebooks' figures: a font that draws Chinese labels in the Chinese notebooks (Debian's
    fonts-noto-cjk, for instance; without one, a warning says so and the labels show as boxes)."""
    import matplotlib
    matplotlib.rcParams.update({"figure.dpi": 80, "axes.grid": False})
    if language() == "zh":
        from ..plots import use_fonts_for
        use_fonts_for(["训练验证损失二元组计数"])


def runs_dir() -> Path:
    """Where the notebooks keep their run directories (and figures): MAKEMORE_LECTURE_RUNS or runs/lectures."""
    return Path(os.environ.get(RUNS_ENV, "runs/lectures"))


def check(what: str, got, want, *, atol: float = 1e-6, rtol: float = 1e-5, differ: bool = False):
    """Print how the learner's `got` compares with the package's `want`; raise CheckFailed unless
    they agree (to atol / rtol), or, with differ=True, unless they do not."""
    if isinstance(want, (torch.Tensor, int, float)) and not isinstance(want, bool):
        result = cmp(what, got, want if isinstance(want, torch.Tensor) else torch.tensor(float(want), dtype=torch.float64),
                     atol=atol, rtol=rtol)
        agree = result.approximate
    else:                                           # names, shapes, lists: equal or not
        agree = got == want
        result = Comparison(what, agree, agree, 0.0 if agree else math.inf)
    w = WORDS[language()]
    print(f"{what:<16} | {w['exact']}: {result.exact!s:5} | {w['approximate']}: {result.approximate!s:5} | "
          f"{w['maxdiff']}: {result.max_difference:.3g}")
    if agree == differ:
        raise CheckFailed(f"{what}: " + ("expected a difference, got the same" if differ else
                                         f"differs from the package's (largest difference {result.max_difference:.3g})"))
    return result


def format_figure(value) -> str:
    """A figure as the notebooks and the coverage table print it."""
    if isinstance(value, (list, tuple)):
        return " / ".join(format_figure(v) for v in value)
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.3g}" if abs(value) < 1e-3 else f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def within(ours, figure, tol) -> bool:
    """Whether our figure (a number, a string, or a list of them) is within tol of the lecture's."""
    if isinstance(figure, (list, tuple)):
        return isinstance(ours, (list, tuple)) and len(ours) == len(figure) and \
            all(within(o, f, tol) for o, f in zip(ours, figure))
    if isinstance(figure, str):
        return ours == figure
    return abs(float(ours) - figure) <= tol


def figure(key: str, ours):
    """Print one of our figures beside the notes' or the lecture's (TOPICS[key]) and record it;
    raise CheckFailed if it is off by more than the topic's tolerance (a long training's figure
    only on a full run)."""
    topic = TOPICS[key]
    if isinstance(ours, torch.Tensor):
        ours = ours.item() if ours.numel() == 1 else ours.tolist()
    if isinstance(ours, (list, tuple)):
        ours = [o.item() if isinstance(o, torch.Tensor) else o for o in ours]
    w = WORDS[language()]
    line = f"{getattr(topic, language())}: {w['ours']} {format_figure(ours)} · {w[topic.source]} {format_figure(topic.figure)}"
    if os.environ.get(FIGURES_ENV):
        with open(os.environ[FIGURES_ENV], "a") as f:
            f.write(json.dumps({"key": key, "ours": ours, "fast": fast()}) + "\n")
    if topic.long and fast():
        print(f"{line}  {w['short']}")
        return ours
    ok = within(ours, topic.figure, topic.tol)
    print(line + ("  ✓" if ok else "  ✗ " + w["off"].format(topic.tol)))
    if not ok:
        raise CheckFailed(line)
    return ours
