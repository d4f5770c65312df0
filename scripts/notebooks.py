"""Build the lecture notebooks of docs/lectures/ from their sources, in English and in Chinese,
and execute them so that they read with their outputs.

Each source, docs/lectures/src/NAME.py, is a script in the "percent" cell format:

    # %% [markdown]      an English text cell
    # %% [markdown zh]   its Chinese twin
    # %%                 a code cell, the same in both notebooks ...
    # %% [code zh]       ... unless this follows it: the Chinese notebook's version of that cell,
                         the same program with Chinese comments and strings

A Chinese code cell must be the same program as its English one: the same tokens, except that
comments may differ and a string may differ where the Chinese one holds Chinese. Both notebooks,
NAME.ipynb and NAME.zh-CN.ipynb, start with the same setup cell (SETUP), are executed, and must
print the same numbers cell by cell.

    python scripts/notebooks.py                 # build and execute every notebook (the full lectures' runs)
    python scripts/notebooks.py part1-bigram    # one of them
    MAKEMORE_LECTURE_FAST=1 python scripts/notebooks.py --check   # execute shortened runs, write nothing

MAKEMORE_LECTURE_RUNS sets where the notebooks keep their run directories (default: a temporary
one; a relative path is taken from docs/lectures/, where the notebooks run, as a learner's
would); a finished run found there is read instead of trained again, so the Chinese notebook reads
the runs the English one trained.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import tokenize
from pathlib import Path

import nbformat

LECTURES = Path(__file__).resolve().parents[1] / "docs" / "lectures"
SOURCES = LECTURES / "src"
LANGUAGES = {"en": "", "zh": ".zh-CN"}
MARKERS = {"": "code", "[code zh]": "code zh", "[markdown]": "en", "[markdown zh]": "zh"}
CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# The first cell of every notebook: install the package where it is missing (a hosted Jupyter
# service), and say which language the checks print in.
SETUP = {
    "en": '''# Setup: makemore must be importable. Inside a clone of the project this installs the clone;
# elsewhere (a hosted Jupyter service), set MAKEMORE_SOURCE to a clone's path or a pip-installable URL first.
import importlib, importlib.util, os, subprocess, sys
from pathlib import Path
if importlib.util.find_spec("makemore") is None:
    clone = next((p for p in [Path.cwd(), *Path.cwd().parents] if (p / "src" / "makemore").is_dir()), None)
    source = os.environ.get("MAKEMORE_SOURCE") or (clone and str(clone))
    if source is None:
        raise SystemExit("makemore is not installed: set MAKEMORE_SOURCE to a clone of it (or a pip-installable URL)")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", source])
    importlib.invalidate_caches()
os.environ["MAKEMORE_LECTURE_LANG"] = "en"        # the checks print in English''',
    "zh": '''# 准备：需要能导入 makemore。在项目的克隆目录里，这一格会安装该克隆；
# 在别处（例如在线 Jupyter 服务），请先把 MAKEMORE_SOURCE 设为克隆的路径或可供 pip 安装的地址。
import importlib, importlib.util, os, subprocess, sys
from pathlib import Path
if importlib.util.find_spec("makemore") is None:
    clone = next((p for p in [Path.cwd(), *Path.cwd().parents] if (p / "src" / "makemore").is_dir()), None)
    source = os.environ.get("MAKEMORE_SOURCE") or (clone and str(clone))
    if source is None:
        raise SystemExit("没有安装 makemore：请把 MAKEMORE_SOURCE 设为它的克隆目录（或可供 pip 安装的地址）")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", source])
    importlib.invalidate_caches()
os.environ["MAKEMORE_LECTURE_LANG"] = "zh"        # 核对结果用中文打印''',
}


def parse(text: str) -> list[tuple[str, str]]:
    """[(kind, text)] with kind code, code zh, en or zh, in the source's order."""
    cells, kind, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                cells.append((kind, "\n".join(lines).strip("\n")))
            kind = MARKERS.get(line[4:].strip())
            if kind is None:
                raise SystemExit(f"unknown cell marker {line!r}")
            lines = []
        elif kind in ("en", "zh"):
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    if kind is not None:
        cells.append((kind, "\n".join(lines).strip("\n")))
    return cells


def _tokens(code: str) -> list[tuple[int, str]]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(code + "\n").readline) if t.type not in skip]


def program_difference(en: str, zh: str) -> str | None:
    """Why the Chinese code cell is not the same program as the English one (None if it is): the
    tokens must match, except comments, and strings whose Chinese version holds Chinese."""
    a, b = _tokens(en), _tokens(zh)
    for (ta, sa), (tb, sb) in zip(a, b):
        if (ta, sa) != (tb, sb) and not (ta == tb == tokenize.STRING and CJK.search(sb)):
            return f"{sa!r} (English) against {sb!r} (Chinese)"
    return None if len(a) == len(b) else f"{len(a)} tokens (English) against {len(b)} (Chinese)"


def code_cells(cells: list[tuple[str, str]]) -> list[dict]:
    """Each code cell with its Chinese version: [{"en": code, "zh": code}], checked to be one program."""
    out = []
    for kind, text in cells:
        if kind == "code":
            out.append({"en": text, "zh": text})
        elif kind == "code zh":
            if not out or out[-1]["zh"] is not out[-1]["en"]:
                raise SystemExit(f"a [code zh] cell must follow an English code cell:\n{text[:200]}")
            why = program_difference(out[-1]["en"], text)
            if why:
                raise SystemExit(f"the Chinese twin of this cell is another program ({why}):\n{out[-1]['en'][:300]}")
            out[-1]["zh"] = text
    return out


def notebook(cells: list[tuple[str, str]], language: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    code = iter(code_cells(cells))
    for kind, text in cells:
        if kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(next(code)[language]))
        elif kind == language:
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
    setup = nbformat.v4.new_code_cell(SETUP[language])
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, setup)
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


NUMBER = re.compile(r"(?<![\w.\-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?")


def printed_numbers(cell) -> list[str]:
    """The numbers a code cell printed (its text outputs), in order, leaving out the topics' names
    (each language words its own)."""
    from makemore.lectures import TOPICS
    text = "".join(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                   for o in cell.outputs if o.output_type in ("stream", "execute_result"))
    for topic in TOPICS.values():
        text = text.replace(topic.en, "").replace(topic.zh, "")
    return NUMBER.findall(text)


def number_differences(en: nbformat.NotebookNode, zh: nbformat.NotebookNode) -> list[str]:
    """The code cells where the two notebooks printed other numbers (cells that time themselves,
    with time.perf_counter, are not compared)."""
    out = []
    pairs = zip([c for c in en.cells if c.cell_type == "code"], [c for c in zh.cells if c.cell_type == "code"])
    for i, (a, b) in enumerate(pairs):
        if "perf_counter" not in a.source and printed_numbers(a) != printed_numbers(b):
            out.append(f"code cell {i}: {printed_numbers(a)[:8]} against {printed_numbers(b)[:8]}")
    return out


def names() -> list[str]:
    return sorted(p.stem for p in SOURCES.glob("*.py"))


def run(name: str, check: bool, runs: str | None = None, figures: str | None = None) -> dict[str, nbformat.NotebookNode]:
    """Execute one source's two notebooks (the English first, then the Chinese one, which reads the
    runs the English one trained); both must print the same numbers. Writes them unless check."""
    nbs = build(name)
    saved = {k: os.environ.get(k) for k in ("MAKEMORE_LECTURE_RUNS", "MAKEMORE_LECTURE_FIGURES")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MAKEMORE_LECTURE_RUNS"] = runs or str(Path(tmp) / "runs")    # the kernel inherits it
        try:
            for lang in LANGUAGES:
                os.environ.pop("MAKEMORE_LECTURE_FIGURES", None)
                if figures and lang == "en":
                    os.environ["MAKEMORE_LECTURE_FIGURES"] = figures
                execute(nbs[lang], str(LECTURES))          # where a learner opens them: relative paths as theirs
                drop_noise(nbs[lang])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    differ = number_differences(nbs["en"], nbs["zh"])
    if differ:
        raise SystemExit(f"{name}: the English and Chinese notebooks printed other numbers:\n" + "\n".join(differ))
    if not check:
        for lang, suffix in LANGUAGES.items():
            nbformat.write(nbs[lang], LECTURES / f"{name}{suffix}.ipynb")
    return nbs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"notebooks to build (default: all of {', '.join(names())})")
    ap.add_argument("--check", action="store_true", help="execute, write nothing")
    args = ap.parse_args(argv)
    for name in args.names or names():
        run(name, args.check, os.environ.get("MAKEMORE_LECTURE_RUNS"), os.environ.get("MAKEMORE_LECTURE_FIGURES"))
        print(f"{name}: executed{'' if args.check else ', written'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
