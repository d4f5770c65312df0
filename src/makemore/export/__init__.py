"""Taking a trained run out of the package: `export(run, format, out)`.

- onnx: the model as ONNX graphs (init, step, forward) and model.json (graphs.py); runtime.py runs
  them on ONNX Runtime behind the model contract.
- web: a folder of static files that generates in the browser with onnxruntime-web (web.py).
- hub: config.json, model.safetensors and a README.md model card, the layout of a model
  repository on the Hugging Face Hub, which load_run and every command read as a run (hub.py).

An export is written into a new hidden folder beside `out` and renamed into place when it is
complete, so an interrupted export leaves nothing half-written; an existing non-empty `out` is
replaced only with force=True, and never when it holds the run being exported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import UsageError
from ..files import UMASK
from ..runs import load_run

FORMATS = ("onnx", "web", "hub")


def _writer(format: str):
    if format == "onnx":
        from .graphs import write_onnx
        return write_onnx
    if format == "web":
        from .web import write_web
        return write_web
    from .hub import write_hub
    return write_hub


def check_output(out: Path, run_path: Path, force: bool) -> None:
    """May `out` be written (replacing what is there only with force, and never the run itself)?"""
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: exists and is not a folder")
    inside = run_path.resolve()
    if out.resolve() == inside or out.resolve() in inside.parents:
        raise UsageError(f"-o {out}: holds the run being exported; choose another folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"-o {out}: exists and is not empty; pass --force to replace it")


def export(run, format: str, out, force: bool = False, license: str | None = None, runtime: str | None = None) -> Path:
    """Export a run (a path or a loaded Run) in `format` to the folder `out`; returns out.
    license: the hub card's license id (default "other"); runtime: for web, a folder holding
    onnxruntime-web's files (default: fetched once from the npm registry and cached)."""
    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if license is not None and format != "hub":
        raise UsageError("--license is for --format hub")
    if runtime is not None and format != "web":
        raise UsageError("--runtime is for --format web")
    options = {"license": license or "other"} if format == "hub" else {"runtime": runtime} if format == "web" else {}
    out = Path(out)
    run = load_run(run) if isinstance(run, (str, os.PathLike)) else run
    check_output(out, run.path, force)
    writer = _writer(format)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".export"))
    aside = None
    try:
        writer(run, tmp, **options)
        os.chmod(tmp, 0o777 & ~UMASK)
        if out.exists():
            aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.rename(out, aside / "old")
        try:
            os.rename(tmp, out)
        except OSError:
            if aside is not None:                  # put the old folder back
                os.rename(aside / "old", out)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return out
