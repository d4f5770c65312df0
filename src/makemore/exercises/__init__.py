"""The "building makemore" lectures' own exercises, each checking itself.

The learner writes a function (a trigram model, a split, a softmax that cannot overflow, a
backward pass by hand ...), and `check` compares what it returns with a reference the way the
lectures' `cmp` does: exact, approximately equal (torch.allclose), and the largest difference.
References are torch (autograd, softmax, cross-entropy) or the package's own models, never the
solutions, which live apart in `makemore.exercises.solutions` (one module per lecture).

Each lecture's exercises are in a module of their own (part1 ... part4); an exercise is named by
its lecture and its number there: p1-e01 is the first lecture's E01. A few warm-ups of each
lecture's steps have names of their own (p1-counts, p4-tanh ...).

    makemore exercise list
    makemore exercise show p1-e01 --write e01.py      # the task, and a file to fill in
    makemore exercise check p1-e01 e01.py

or in a notebook: `from makemore import exercises; print(exercises.check("p1-e04", my_function))`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import UsageError, first_line
from .framework import Exercise, Result


def _registry() -> dict[str, Exercise]:
    from . import part1, part2, part3, part4
    return {e.id: e for part in (part1, part2, part3, part4) for e in part.EXERCISES}


EXERCISES = list(_registry().values())
BY_ID = {e.id: e for e in EXERCISES}


def get(exercise: str) -> Exercise:
    if exercise not in BY_ID:
        raise UsageError(f"no exercise {exercise!r}; there are {', '.join(BY_ID)} (makemore exercise list)")
    return BY_ID[exercise]


def listing() -> str:
    return "\n".join(f"{e.id:<11} {e.title} ({e.lecture}): write {', '.join(e.functions)}" for e in EXERCISES)


def show(exercise: str) -> str:
    e = get(exercise)
    return f"Exercise {e.id}: {e.title} ({e.lecture})\n\n{e.task}\n\nStart from:\n\n{e.template}"


def write_template(exercise: str, path, force: bool = False) -> Path:
    """A file to fill in, with the function(s) to write; an existing file is kept unless force."""
    path = Path(path)
    if path.exists() and not force:
        raise UsageError(f"{path}: exists; check it with `makemore exercise check {exercise} {path}` (or --force)")
    e = get(exercise)
    path.write_text(f'"""Exercise {e.id}: {e.title}. Check: makemore exercise check {e.id} {path.name}"""\n\n'
                    f"import torch\nimport torch.nn.functional as F\n\n\n{e.template}")
    return path


def load(path):
    """The learner's module from a file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file (write one with `makemore exercise show ID --write {path}`)")
    spec = importlib.util.spec_from_file_location(f"exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(exercise: str, answer) -> Result:
    """Check a learner's answer: a module or file path holding the function(s), or the function
    itself (for one-function exercises). Errors in the learner's code are reported, not raised."""
    e = get(exercise)
    result = Result(e.id)
    try:
        if callable(answer) and not isinstance(answer, type):      # the function itself
            if len(e.functions) != 1:
                raise UsageError(f"exercise {e.id} needs {', '.join(e.functions)}: pass a module or a file")
            answer = type("answer", (), {e.functions[0]: staticmethod(answer)})
        elif isinstance(answer, (str, Path)):
            answer = load(answer)
        missing = [name for name in e.functions if not hasattr(answer, name)]
        if missing:
            raise UsageError(f"no function {', '.join(missing)} to check")
        result.comparisons = e.check(answer)
    except UsageError:
        raise
    except NotImplementedError:
        result.error = f"{', '.join(e.functions)} not written yet (NotImplementedError)"
    except Exception as err:                          # the learner's code failed: say how, in one line
        result.error = f"{type(err).__name__}: {first_line(err)}"
    return result
