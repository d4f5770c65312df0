"""What every exercise is made of: the comparison a check prints (as the lectures' `cmp`), a check's
result, the exercise record, and the lectures' examples the checks draw from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch


@dataclass
class Comparison:
    """One line of a check, as the lecture's cmp prints it."""
    what: str
    exact: bool
    approximate: bool
    max_difference: float

    def __str__(self):
        return (f"{self.what:<28} | exact: {str(self.exact):5} | approximate: {str(self.approximate):5} | "
                f"maxdiff: {self.max_difference:.3g}")


def cmp(what: str, got, want: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> Comparison:
    """Compare a learner's tensor with the reference: exact, approximately equal, largest difference."""
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got, dtype=want.dtype)
        except (TypeError, ValueError, RuntimeError):
            return Comparison(f"{what} (not a tensor: {type(got).__name__})", False, False, math.inf)
    if got.shape != want.shape:
        return Comparison(f"{what} (shape {tuple(got.shape)}, expected {tuple(want.shape)})", False, False, math.inf)
    got, want = got.detach(), want.detach()
    diff = (got.double() - want.double()).abs().max().item() if got.numel() else 0.0
    approx = bool(torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol))
    return Comparison(what, bool(torch.equal(got, want)), approx, diff if math.isfinite(diff) else math.inf)


def same(what: str, got, want) -> Comparison:
    """A comparison of two things that are equal or not (names, a choice)."""
    ok = got == want
    return Comparison(f"{what}: {got!r}" + ("" if ok else f", expected {want!r}"), ok, ok, 0.0 if ok else math.inf)


def examples(split: str, block_size: int):
    """(X, Y) of one part of the lectures' split of names.txt ("train", "val" or "test"): every
    context of block_size characters (int64) and the character that follows it."""
    from ..data import build_dataset, read_words
    x, y = build_dataset(read_words()).split(split).examples(block_size)
    return x.long(), y.long()


@dataclass
class Result:
    exercise: str
    comparisons: list[Comparison] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.comparisons) and all(c.approximate for c in self.comparisons)

    def __str__(self):
        lines = [str(c) for c in self.comparisons]
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(f"exercise {self.exercise}: {'passed' if self.passed else 'not yet'}")
        return "\n".join(lines)


@dataclass
class Exercise:
    id: str                                # p1-e01: the lecture, then its number there
    title: str
    lecture: str
    functions: list[str]                   # what the learner writes
    task: str
    template: str
    check: Callable                        # module -> [Comparison]
