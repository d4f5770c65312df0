"""What every command line of the package shares: an argument parser whose errors are one line
and exit status 2, and the guard that turns the library's user errors into the same."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import DataError, RunError, UsageError, first_line


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
