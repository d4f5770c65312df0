"""`makemore serve` (also `python -m makemore.serve`): find and load the runs, listen, serve until
Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from ..errors import RunError
from .server import exposure_warning, make_server


def find_runs(paths) -> list[Path]:
    """The run directories among `paths`: each that is a run, and every run directly inside each
    that is not (a directory of runs)."""
    from ..runs import is_run
    found = []
    for p in map(Path, paths):
        if is_run(p):
            found.append(p)
        elif p.is_dir():
            inside = sorted(d for d in p.iterdir() if d.is_dir() and is_run(d))
            if not inside:
                raise RunError(f"{p}: neither a run directory nor a directory of runs (no config.json in it or "
                               "its subdirectories)")
            found += inside
        else:
            raise RunError(f"{p}: no such directory; train a run with `makemore train -o {p}`")
    return found


def load_runs(paths, weights: str = "best") -> dict:
    """{name: Run} of the run directories found in `paths`; a run is named after its directory
    (with its parent's name too where two would share a name)."""
    from ..runs import load_run
    dirs = list(dict.fromkeys(p.resolve() for p in find_runs(paths)))
    names = [d.name for d in dirs]
    names = [f"{d.parent.name}/{d.name}" if names.count(d.name) > 1 else d.name for d in dirs]
    names = [n if names.count(n) == 1 else f"{n}-{i}" for i, n in enumerate(names)]
    return {name: load_run(d, weights, "cpu") for name, d in zip(names, dirs)}


HELP = "a local web page to explore runs"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `makemore serve` (also `python -m makemore.serve`)."""
    from ..commandline import add
    p.add_argument("runs", nargs="*", metavar="RUN_DIR",
                   help="run directories, or directories of runs (default: ./runs)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; anything else prints a warning)")
    p.add_argument("--port", type=int, default=0, help="port (default: 0, a free one)")
    add(p, "weights")
    add(p, "threads", default=1, help="torch's CPU threads per request (default: 1; requests run side by side)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


DESCRIPTION = ("Serve a local web page to explore trained runs: generate items, type one and watch the "
               "next-character distribution and each character's surprise, look inside the model "
               "(bigram counts, embeddings, attention, gates, tanh statistics) and compare runs. A JSON "
               "API under /api/ answers the same questions (docs/serve.md).")


def main(args) -> int:
    """Load the runs, listen, print the URL, serve until Ctrl-C. Errors raise UsageError / RunError."""
    from ..runs import set_threads
    set_threads(args.threads)
    runs = load_runs(args.runs or ["runs"], args.weights)
    warning = exposure_warning(args.host)
    server = make_server(runs, args.host, args.port, args.verbose)
    if warning:
        print(warning, file=sys.stderr)
    print(f"serving {len(runs)} run{'s' if len(runs) != 1 else ''} at {server.url}", flush=True)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):           # `kill` stops it as Ctrl-C does; set even where
            signal.signal(s, _interrupt)                    # SIGINT came in ignored (a background job)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def standalone(argv=None) -> int:
    """`python -m makemore.serve`: the same command, with the command line's one-line errors."""
    from ..commandline import Parser, guarded
    args = add_arguments(Parser(prog="makemore serve", description=DESCRIPTION)).parse_args(argv)
    return guarded("serve", main, args)
