"""The shape of the code: one layer under the CLI, no import cycles, the contract in one place,
presets as the one source of defaults, and a front door that stays short."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "makemore"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (functions included). Importing
    a.b.c runs a.b's __init__ too, so that is an edge as well (but not the root package's)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if not t or not t.startswith("makemore"):
                continue
            found.add(t)
            parent = t.rpartition(".")[0]
            while parent.count("."):                     # intermediate packages run their __init__,
                if not name.startswith(parent + "."):    # unless this module is inside it (then it runs already)
                    found.add(parent)
                parent = parent.rpartition(".")[0]
    found.discard(name)
    return found


def find_cycle(graph: dict) -> list | None:
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        state[n] = "done"
        stack.pop()

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_no_import_cycle_in_the_package():
    graph = {name: imports(name) for name in MODULES}
    assert graph["makemore.cli"] >= {"makemore.runs", "makemore.presets"}          # the scan sees imports
    assert "makemore.train" in graph["makemore.diagnostics"]                        # ... in functions too
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_imports_upward():
    """Layers: data < models < batches / evaluation / train < sampling, diagnostics < presets < runs < cli."""
    below = {"makemore.data": {"makemore.models", "makemore.train", "makemore.runs", "makemore.cli", "makemore.presets"},
             "makemore.models": {"makemore.train", "makemore.batches", "makemore.evaluation", "makemore.runs",
                                 "makemore.presets", "makemore.cli", "makemore.diagnostics", "makemore.sampling"},
             "makemore.train": {"makemore.runs", "makemore.presets", "makemore.cli", "makemore.diagnostics"},
             "makemore.presets": {"makemore.runs", "makemore.cli"},
             "makemore.runs": {"makemore.cli"}}
    for low, high in below.items():
        for name in MODULES:
            if name == low or name.startswith(low + "."):
                assert not imports(name) & high, f"{name} imports {imports(name) & high}"


def test_no_benchmark_imports_the_cli():
    for script in (ROOT / "benchmarks").glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith("makemore.cli") for n in names), f"{script.name} imports makemore.cli"


def test_the_contract_is_branched_on_in_one_place():
    """No `windowed` flag and no `hasattr(model, "fit")`: the loop, the evaluation and the
    diagnostics call the training contract of models/base.py."""
    for name, path in MODULES.items():
        text = path.read_text()
        assert "windowed" not in text, name
        assert not re.search(r"hasattr\([^)]*['\"]fit['\"]", text), name


def test_cli_is_thin():
    assert len((SRC / "cli.py").read_text().splitlines()) <= 400


def test_help_is_generated_from_the_tables():
    from makemore import presets
    from makemore.models import MODELS
    out = subprocess.run([sys.executable, "-m", "makemore", "train", "--help"], capture_output=True, text=True,
                         env={"COLUMNS": "2000", "PATH": ""}).stdout
    for kind, table in presets.MODEL_PRESETS.items():
        for name in table:
            assert f"{kind}: " in out and name in out, (kind, name)
    assert all(kind in out for kind in MODELS)
    assert "lecture" in out                                         # the recipes
    assert "(transformer)" in out and "dropout probability" in out  # field help from the configs' metadata


def test_presets_resolve_in_order():
    """Type defaults < recipe < explicit options; preset < explicit model options; unknown is an error."""
    from makemore import presets
    from makemore.errors import UsageError
    r = presets.resolve("transformer", max_steps=7, n_embd=32)
    assert r.preset == "default" and r.model["n_embd"] == 32 and r.model["rope"] is True
    assert r.train.max_steps == 7 and r.train.lr == presets.TRAIN["transformer"]["lr"]
    r = presets.resolve("bnmlp", recipe="lecture")
    assert r.preset == "lecture" and r.train.optimizer == "sgd" and r.train.calibrate
    assert presets.resolve().type == presets.DEFAULT_TYPE == "lstm"
    for bad, match in [(dict(type="lstm", n_head=2), "--n-head does not apply"), (dict(type="nope"), "unknown model type"),
                       (dict(type="lstm", preset_name="huge"), "no preset 'huge'"), (dict(type="rnn", recipe="lecture"), "no settings")]:
        with pytest.raises(UsageError, match=match):
            presets.resolve(**bad)


def test_readme_is_a_short_front_door():
    en = (ROOT / "README.md").read_text()
    zh = (ROOT / "README.zh-CN.md").read_text()
    assert len(en.splitlines()) <= 160 and len(zh.splitlines()) <= 170
    head = "\n".join(en.splitlines()[:20])
    commands = re.findall(r"```bash\n(.*?)\n```", en, re.S)[:2]
    assert len(commands) == 2 and all(c in head for c in commands)
    assert "README.zh-CN.md" in "\n".join(en.splitlines()[:5])
    assert re.findall(r"```bash\n(.*?)\n```", zh, re.S)[:2] == commands          # the same commands, in step
    for doc in ("docs/usage.md", "docs/results.md"):
        assert doc in en and (ROOT / doc).exists()
    for link in re.findall(r"\]\(([^)#]+)\)", en + zh):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
