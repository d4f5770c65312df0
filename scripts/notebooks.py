"""Build the lecture notebooks of docs/lectures/ from their sources, in English and in Chinese,
and execute them so that they read with their outputs.

Each source, docs/lectures/src/NAME.py, is a script in the "percent" cell format: `# %%` starts a
code cell, `# %% [markdown]` an English text cell and `# %% [markdown zh]` its Chinese twin. Both
notebooks, NAME.ipynb and NAME.zh-CN.ipynb, get the same code cells; the English one is executed
and its outputs are copied into the Chinese one.

    python scripts/notebooks.py                 # build and execute every notebook (the full lectures' runs)
    python scripts/notebooks.py part1-bigram    # one of them
    MAKEMORE_LECTURE_FAST=1 python scripts/notebooks.py --check   # what the tests do: execute shortened
                                                # runs, write nothing, fail on any error

MAKEMORE_LECTURE_RUNS sets where the notebooks keep their run directories (default: a temporary
one); a finished run found there is read instead of trained again.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from pathlib import Path

import nbformat

LECTURES = Path(__file__).resolve().parents[1] / "docs" / "lectures"
SOURCES = LECTURES / "src"
LANGUAGES = {"en": "", "zh": ".zh-CN"}


def parse(text: str) -> list[tuple[str, str]]:
    """[(kind, text)] with kind code, en or zh, in the source's order."""
    cells, kind, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                cells.append((kind, "\n".join(lines).strip("\n")))
            tag = line[4:].strip()
            kind = {"": "code", "[markdown]": "en", "[markdown zh]": "zh"}.get(tag)
            if kind is None:
                raise SystemExit(f"unknown cell marker {line!r}")
            lines = []
        elif kind in ("en", "zh"):
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind == "code":
            lines.append(line)
    if kind is not None:
        cells.append((kind, "\n".join(lines).strip("\n")))
    return cells


def notebook(cells: list[tuple[str, str]], language: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, text in cells:
        if kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(text))
        elif kind == language:
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
    for i, cell in enumerate(nb.cells):        # stable ids, so a rebuild changes only what changed
        cell["id"] = f"{language}-{i}"
    return nb


def build(name: str) -> dict[str, nbformat.NotebookNode]:
    """The unexecuted notebooks of one source: {"en": ..., "zh": ...}."""
    cells = parse((SOURCES / f"{name}.py").read_text())
    return {lang: notebook(cells, lang) for lang in LANGUAGES}


def execute(nb: nbformat.NotebookNode, workdir: str, timeout: int = 3600) -> nbformat.NotebookNode:
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
    return nb


def drop_noise(nb: nbformat.NotebookNode) -> None:
    """Leave out what the kernel says about itself rather than about the lecture (tqdm's note that
    Jupyter's widgets are missing)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.name == "stderr" and "TqdmWarning" in o.text)]


def copy_outputs(source: nbformat.NotebookNode, target: nbformat.NotebookNode) -> None:
    code = [c for c in source.cells if c.cell_type == "code"]
    for c, t in zip(code, [c for c in target.cells if c.cell_type == "code"]):
        t.outputs, t.execution_count = copy.deepcopy(c.outputs), c.execution_count


def names() -> list[str]:
    return sorted(p.stem for p in SOURCES.glob("*.py"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"notebooks to build (default: all of {', '.join(names())})")
    ap.add_argument("--check", action="store_true", help="execute, write nothing")
    args = ap.parse_args(argv)
    for name in args.names or names():
        nbs = build(name)
        runs = os.environ.get("MAKEMORE_LECTURE_RUNS")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MAKEMORE_LECTURE_RUNS"] = runs or str(Path(tmp) / "runs")   # the kernel inherits it
            try:
                execute(nbs["en"], tmp)
            finally:
                if runs is None:
                    del os.environ["MAKEMORE_LECTURE_RUNS"]
        drop_noise(nbs["en"])
        copy_outputs(nbs["en"], nbs["zh"])
        if not args.check:
            for lang, suffix in LANGUAGES.items():
                nbformat.write(nbs[lang], LECTURES / f"{name}{suffix}.ipynb")
        print(f"{name}: executed{'' if args.check else ', written'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
