"""What every command line of the package shares: an argument parser whose errors are one line
and exit status 2, the guard that turns the library's user errors into the same, every option
that more than one command takes (defined once, here), and the printing more than one does."""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import fields

from . import presets
from .data import MAX_BYTES
from .errors import DataError, RunError, UsageError, first_line
from .models import DATA_FIELDS, MODELS
from .models.base import option_type
from .train import TRAIN_FIELDS


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line and exit status 2, and no abbreviations."""

    def __init__(self, *args, **kwargs):                  # --max is not --max-steps
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def guarded(command: str, fn, *args) -> int:
    """fn(*args), with bad input of any kind (data, usage, a run directory, the operating system,
    memory) printed as one line `makemore COMMAND: error: ...` and exit status 2; Ctrl-C: 130."""
    try:
        return fn(*args)
    except (DataError, UsageError, RunError) as e:
        print(f"makemore {command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:                        # permissions, a full disk, a read-only directory
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"makemore {command}: error: {where}{e.strerror or first_line(e)}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as e:    # memory: Python's own error, or torch's allocator failing
        if isinstance(e, RuntimeError) and not out_of_memory(e):
            raise
        detail = f" ({first_line(e, 200)})" if str(e).strip() else ""
        print(f"makemore {command}: error: out of memory{detail}; this machine could not give what it needed "
              "(a smaller model, batch or input needs less)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if os.environ.get("RANK", "0") == "0" or "WORLD_SIZE" not in os.environ:   # torchrun: rank 0 alone says so
            print("interrupted", file=sys.stderr)
        return 130


def out_of_memory(e: RuntimeError) -> bool:
    """Whether torch failed to allocate: on the CPU a RuntimeError of its allocator, on a GPU its
    OutOfMemoryError (a RuntimeError too)."""
    return type(e).__name__ == "OutOfMemoryError" or any(
        s in str(e) for s in ("DefaultCPUAllocator: not enough memory", "DefaultCPUAllocator: can't allocate memory"))


# Every option that more than one command takes, defined once: name -> (flags, argparse settings).
# A command takes one with add(parser, name), overriding a setting where it must (its help, its default).
OPTIONS = {
    "out": (("-o", "--out"), dict(metavar="DIR", help="run directory")),
    "input": (("-i", "--input"), dict(metavar="FILE", help="text file with one item per line (default: the bundled names.txt)")),
    "tagged": (("--tagged",), dict(action="store_true", help="the input's lines are TAG<TAB>ITEM (without -i: the "
                                   "bundled first names by locale); a directory of NAME.txt files, one per tag, is "
                                   "read as tagged items without it")),
    "tag": (("--tag",), dict(metavar="TAG", help="a run of tagged items: items of this tag (a blend: it=0.7,es=0.3); "
                             "default: tags drawn from their training frequencies")),
    "split": (("--split",), dict(default="test", choices=["train", "val", "test"], help="which split (default: test)")),
    "max_len": (("--max-len",), dict(type=int, metavar="N", help="the longest item, in characters")),
    "top": (("--top",), dict(type=int, metavar="N", help="show the N first at most")),
    "encoding": (("--encoding",), dict(default="utf-8", help="text encoding of the input (default: utf-8)")),
    "max_bytes": (("--max-bytes",), dict(type=int, default=MAX_BYTES, help=f"largest input read (default: {MAX_BYTES:,})")),
    "device": (("--device",), dict(default="auto", help="auto, cpu, cuda or mps (default: auto)")),
    "threads": (("--threads",), dict(type=int, help="CPU threads for torch (default: torch's choice, one per core)")),
    "weights": (("--weights",), dict(default="best", choices=["best", "last"], help="which checkpoint: best by val, or last (default: best)")),
    "json": (("--json",), dict(action="store_true", help="print JSON")),
    "force": (("--force",), dict(action="store_true", help="overwrite an existing run in DIR (once the new one starts)")),
    "resume": (("--resume",), dict(action="store_true", help="continue the run in DIR exactly where it stopped")),
    "no_progress": (("--no-progress",), dict(action="store_true", help="no progress bar")),
    "temperature": (("--temperature",), dict(type=float, default=1.0, help="softmax temperature (default: 1.0)")),
    "png": (("--png",), dict(metavar="PATH", help="where to save the figure (default: in the run directory, or here)")),
    "type": (("--type",), dict(help=f"model type: {', '.join(MODELS)} (default: {presets.DEFAULT_TYPE})")),
    "preset": (("--preset",), dict(help=f"named model size of the type ({presets.presets_help()}); unset: the type's "
                                    "`default` where it has one")),
    "recipe": (("--recipe",), dict(help=f"named training recipe: {', '.join(presets.RECIPES)} (`lecture` reproduces the "
                                    "lectures' SGD runs; `part3` the activations lecture's own run, its seed and batches included)")),
}
MODEL_FIELDS = sorted({f.name for cls in MODELS.values() for f in fields(cls.Config)} - set(DATA_FIELDS))


def config_option(f, default=None) -> tuple:
    """A config field's option, (flags, argparse settings): its type from the field's default, its
    help from the field's metadata (the first config that has one)."""
    helps = [g.metadata["help"] for config in [None, *MODELS.values()] for g in
             (fields(config.Config) if config else TRAIN_FIELDS.values()) if g.name == f.name and "help" in g.metadata]
    text = (helps[0] if helps else f"{f.name.replace('_', ' ')} (model option)") + ("" if default is None else f" (default: {default})")
    kind = dict(action=argparse.BooleanOptionalAction) if option_type(f) is bool else dict(type=option_type(f), metavar=f.name.upper())
    return ("--" + f.name.replace("_", "-"),), dict(default=default, help=text, **kind)


def add(parser, *names, **settings):
    """Add the shared options `names`: OPTIONS, or TrainConfig fields with their defaults (settings
    override; give one name with them)."""
    for name in names:
        flags, defaults = OPTIONS[name] if name in OPTIONS else config_option(TRAIN_FIELDS[name], TRAIN_FIELDS[name].default)
        parser.add_argument(*flags, **{**defaults, **settings})


def add_config_options(group, dataclass_fields, seen: set) -> None:
    """One option per config field not in `seen`, its default unset (the type's presets fill it)."""
    for f in dataclass_fields:
        if f.name not in seen and f.name not in DATA_FIELDS:
            seen.add(f.name)
            flags, settings = config_option(f)
            group.add_argument(*flags, **settings)


def training_and_model_options(parser, training: str, model: str, skip=()) -> None:
    """Every TrainConfig field and every model type's option, in two groups (as train takes them)."""
    seen = set(skip)
    add_config_options(parser.add_argument_group(training), TRAIN_FIELDS.values(), seen)
    model_options(parser, model, seen)


def model_options(parser, title, seen: set | None = None) -> None:
    seen, group = set() if seen is None else seen, parser.add_argument_group(title)
    for cls in MODELS.values():
        add_config_options(group, fields(cls.Config), seen)


def explicit(args, names) -> dict:
    """The options among `names` given on the command line."""
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def loss_table(losses: dict) -> str:
    lines = ["split   nats/char  bits/char"]
    lines += [f"{s:<7} {v:9.4f}  {v / math.log(2):9.4f}" for s, v in losses.items()]
    return "\n".join(lines)
