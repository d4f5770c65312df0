"""The search space of a sweep: each type's dimensions (presets.SEARCH) with the user's overrides
(a file or --param), each checked against the type's options before any trial trains."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import presets
from ..errors import UsageError, first_line

SEARCH_KINDS = ("log", "float", "int", "choice")


def parse_value(text: str):
    """A command-line value as JSON would read it: 64 -> int, 1e-3 -> float, true -> bool, else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_space(file=None, params=()) -> dict | None:
    """The overrides of `--space FILE.json` and then each `--param NAME=SPEC`: {name: spec} where a
    spec is [kind, low, high(, step)] or ["choice", ...], a plain value (fixed), or None (dropped:
    the type's default applies). None when neither is given."""
    if file is None and not params:
        return None
    space = {}
    if file is not None:
        try:
            space = json.loads(Path(file).read_text())
        except OSError as e:
            raise UsageError(f"--space {file}: cannot read ({e.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"--space {file}: not JSON ({e})") from None
        if not isinstance(space, dict):
            raise UsageError(f"--space {file}: expected a JSON object of option -> [kind, low, high]")
    for p in params:
        name, eq, spec = p.partition("=")
        if not eq or not name:
            raise UsageError(f"--param {p}: expected NAME=KIND:LOW:HIGH[:STEP], NAME=choice:A:B..., NAME=VALUE "
                             "or NAME=default")
        kind, *bounds = spec.split(":")
        if spec == "default":
            space[name] = None
        elif kind in SEARCH_KINDS:
            space[name] = [kind, *map(parse_value, bounds)]
        else:
            space[name] = parse_value(spec)
    return {name.replace("-", "_"): spec for name, spec in space.items()}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_dimension(type: str, name: str, spec, where: str = "search space") -> list:
    """One dimension as a list [kind, ...], checked: an option of the type, a kind that suits it,
    sane bounds, and every value at the ends (each value of a choice or a short int range) a valid
    setting, so that a bad range is one line now, not a failed trial later."""
    kinds = option_types(type)
    if name not in kinds:
        raise UsageError(f"{where}: {name} is not an option of --type {type} (its options: {', '.join(kinds)})")
    bad = f"{where}: {name}: "
    if not isinstance(spec, (list, tuple)) or not spec or spec[0] not in SEARCH_KINDS:
        raise UsageError(bad + f"expected [kind, low, high] with kind one of {', '.join(SEARCH_KINDS)}, got {spec!r}")
    kind, args = spec[0], list(spec[1:])
    if kind == "choice":
        if len(args) < 2 or not all(isinstance(a, (str, int, float, bool)) for a in args) or len(set(args)) < len(args):
            raise UsageError(bad + f"a choice needs two or more distinct values, got {args}")
        values = args
    else:
        wanted = kinds[name]
        if wanted not in (int, float) or wanted is int and kind != "int":
            use = "whole numbers: use int" if wanted is int else "one of a few values: use choice"
            raise UsageError(bad + f"takes {use}, not {kind}")
        if len(args) not in (2, 3) or not all(_number(a) for a in args):
            raise UsageError(bad + f"expected {kind}:LOW:HIGH[:STEP] with numbers, got {args}")
        lo, hi, step = args[0], args[1], args[2] if len(args) == 3 else None
        if not lo < hi:
            raise UsageError(bad + f"the low end ({lo}) must be below the high end ({hi})")
        if kind == "log" and (lo <= 0 or step is not None):
            raise UsageError(bad + "a log range needs a low end > 0 and no step")
        if kind == "int" and not all(isinstance(a, int) for a in args):
            raise UsageError(bad + f"an int range takes whole numbers, got {args}")
        if step is not None and (step <= 0 or abs((hi - lo) / step - round((hi - lo) / step)) > 1e-9):
            raise UsageError(bad + f"the step ({step}) must be > 0 and divide high - low ({hi - lo})")
        values = list(range(lo, hi + 1, step or 1)) if kind == "int" and (hi - lo) // (step or 1) < 64 else [lo, hi]
    for v in values:
        check_options(type, {name: v}, f"{where}: {name}={v}")
    return [kind, *args]


def option_types(type: str) -> dict:
    """{option: the type of its value} for every training option and every model option of `type`."""
    from ..models import MODELS, config_fields
    from ..models.base import option_type
    from ..train import TRAIN_FIELDS
    if type not in MODELS:
        raise UsageError(f"--type: unknown model type {type!r}; choose one of: {', '.join(MODELS)}")
    return {k: option_type(f) for k, f in {**TRAIN_FIELDS, **config_fields(type)}.items()}


def check_options(type: str, options: dict, where: str = "") -> None:
    """Raise a one-line UsageError unless `options` are valid settings of a `type` run: the
    training options in range, the model built (on the meta device, no memory) without complaint."""
    from ..models import shape_model
    try:
        resolved = presets.resolve(type, **options)
        shape_model(resolved.type, 32, 32, **resolved.model)
    except UsageError as e:
        raise UsageError(f"{where}: {e}" if where else str(e)) from None
    except (TypeError, ValueError) as e:
        raise UsageError(f"{where or ', '.join(options)}: not a valid setting ({first_line(e)})") from None


def resolve_space(type: str, overrides: dict | None = None, where: str = "search space") -> tuple[dict, dict]:
    """(space, fixed): the type's presets.SEARCH with `overrides` applied, every dimension checked,
    and the options the overrides fix to one value."""
    space = {k: list(v) for k, v in presets.SEARCH.get(type, {}).items()}
    fixed, known = {}, option_types(type)
    for name, spec in (overrides or {}).items():
        if name not in known:
            raise UsageError(f"{where}: {name} is not an option of --type {type} (its options: {', '.join(known)})")
        space.pop(name, None)
        if spec is None:
            continue
        if isinstance(spec, (list, tuple)):
            space[name] = spec
        else:
            check_options(type, {name: spec}, f"{where}: {name}={spec}")
            fixed[name] = spec
    if not space:
        raise UsageError(f"{where}: nothing to search for --type {type}"
                         + ("" if type in presets.SEARCH else f" (presets.SEARCH has: {', '.join(presets.SEARCH)})"))
    return {name: check_dimension(type, name, spec, where) for name, spec in space.items()}, fixed


def describe(spec) -> str:
    """A dimension in words: "0.001 to 0.01, log scale", "128 to 512, step 64", "8 or 16"."""
    kind, *args = spec
    if kind == "choice":
        return ", ".join(map(format_value, args[:-1])) + f" or {format_value(args[-1])}"
    step = f", step {format_value(args[2])}" if len(args) > 2 else ""
    return f"{format_value(args[0])} to {format_value(args[1])}" + (", log scale" if kind == "log" else step)


def space_table() -> str:
    """presets.SEARCH as a markdown table, with each option's default and each type's steps per
    trial (docs/sweeps.md holds it; a test keeps the two in step)."""
    from dataclasses import asdict
    from ..models import config_fields
    lines = ["| type | steps per trial | option | searched over | default |", "|---|---:|---|---|---:|"]
    for kind, space in presets.SEARCH.items():
        r = presets.resolve(kind)
        defaults = {**{k: f.default for k, f in config_fields(kind).items()}, **r.model, **asdict(r.train)}
        for i, (name, spec) in enumerate(space.items()):
            first = (f"`{kind}`", f"{r.train.max_steps:,}" if r.train.max_steps else "none (counts)") if i == 0 else ("", "")
            lines.append(f"| {first[0]} | {first[1]} | `{name}` | {describe(spec)} | {format_value(defaults[name])} |")
    return "\n".join(lines)


def suggest(trial, space: dict) -> dict:
    """The options of one trial, drawn by the study's sampler from `space`."""
    params = {}
    for name, (kind, *args) in space.items():
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, args)
        elif kind == "int":
            params[name] = trial.suggest_int(name, args[0], args[1], step=args[2] if len(args) > 2 else 1)
        else:
            params[name] = trial.suggest_float(name, args[0], args[1], log=kind == "log",
                                               step=args[2] if len(args) > 2 else None)
    return params


def format_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return "-" if v is None else str(v)
