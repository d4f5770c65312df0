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
    assert graph["makemore.cli.train"] >= {"makemore.runs", "makemore.commandline"}   # the scan sees imports
    assert "makemore.train" in graph["makemore.diagnostics"]                        # ... in functions too
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_imports_upward():
    """Layers: data < models < batches / evaluation / train < sampling, diagnostics < presets < runs <
    lectures (what the notebooks call) and the callers (cli)."""
    below = {"makemore.data": {"makemore.models", "makemore.train", "makemore.runs", "makemore.cli", "makemore.presets"},
             "makemore.models": {"makemore.train", "makemore.batches", "makemore.evaluation", "makemore.runs",
                                 "makemore.presets", "makemore.cli", "makemore.diagnostics", "makemore.sampling"},
             "makemore.train": {"makemore.runs", "makemore.presets", "makemore.cli", "makemore.diagnostics"},
             "makemore.presets": {"makemore.runs", "makemore.cli", "makemore.lectures"},
             "makemore.runs": {"makemore.cli", "makemore.lectures", "makemore.export"},
             "makemore.lectures": {"makemore.cli", "makemore.serve", "makemore.sweep"}}
    for low, high in below.items():
        for name in MODULES:
            if name == low or name.startswith(low + "."):
                assert not imports(name) & high, f"{name} imports {imports(name) & high}"


def imports_the_cli(source: str) -> bool:
    """Whether Python source imports makemore.cli, in any spelling: `import makemore.cli [as c]`,
    `from makemore.cli import ...`, `from makemore import cli`, importlib.import_module("makemore.cli")."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__"):
            modules = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        else:
            continue
        if any(m == "makemore.cli" or m.startswith("makemore.cli.") for m in modules):
            return True
    return False


def test_the_cli_import_check_sees_every_spelling():
    for source in ("import makemore.cli", "import makemore.cli as c", "from makemore.cli import main",
                   "from makemore import cli", "from makemore import runs, cli as c", "import os, makemore.cli",
                   "import importlib\nimportlib.import_module('makemore.cli')", "__import__('makemore.cli')",
                   "def f():\n    from makemore import cli"):
        assert imports_the_cli(source), source
    for source in ("import makemore", "from makemore import runs", "from makemore.runs import client",
                   "import makemore.client", "subprocess.run([sys.executable, '-m', 'makemore', 'train'])"):
        assert not imports_the_cli(source), source


def test_no_benchmark_imports_the_cli():
    for script in (ROOT / "benchmarks").glob("*.py"):
        assert not imports_the_cli(script.read_text()), f"{script.name} imports makemore.cli"


def test_the_contract_is_branched_on_in_one_place():
    """No `windowed` flag and no `hasattr(model, "fit")`: the loop, the evaluation and the
    diagnostics call the training contract of models/base.py."""
    for name, path in MODULES.items():
        text = path.read_text()
        assert "windowed" not in text, name
        assert not re.search(r"hasattr\([^)]*['\"]fit['\"]", text), name


CALLERS = [name for name in MODULES if name.startswith(("makemore.cli", "makemore.serve"))
           or name in ("makemore.sweep.command", "makemore.commandline")]


def private_names_used(name: str) -> list[str]:
    """The private names (a leading underscore) a module takes from other modules of the package."""
    tree = ast.parse(MODULES[name].read_text())
    found = [f"{node.module}.{a.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    modules = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names
               if f"makemore.{a.name}" in MODULES or f"{name.rpartition('.')[0]}.{a.name}" in MODULES}
    found += [f"{node.value.id}.{node.attr}" for node in ast.walk(tree) if isinstance(node, ast.Attribute)
              and isinstance(node.value, ast.Name) and node.value.id in modules
              and node.attr.startswith("_") and not node.attr.startswith("__")]
    return found


def test_callers_use_the_library_not_its_internals():
    """The command line, the web server and the sweep's command call the library's public names only."""
    assert "makemore.cli.train" in CALLERS and "makemore.serve.server" in CALLERS
    for name in CALLERS:
        assert not private_names_used(name), (name, private_names_used(name))


def test_the_private_name_check_sees_them(tmp_path, monkeypatch):
    bad = tmp_path / "bad.py"
    bad.write_text("from .runs import _check_new\nfrom . import runs\nruns._train_member()\n")
    monkeypatch.setitem(MODULES, "makemore.cli.bad", bad)
    assert private_names_used("makemore.cli.bad") == ["runs._check_new", "runs._train_member"]


def test_every_command_is_a_module_listed_once():
    """Each command's module has its help, description, parser and main; COMMANDS lists each once."""
    import importlib
    from makemore import cli
    assert len(set(cli.COMMANDS.values())) == len(cli.COMMANDS)
    for name, module in cli.COMMANDS.items():
        m = importlib.import_module(module)
        assert all(callable(getattr(m, f, None)) for f in ("add_arguments", "main")), name
        assert isinstance(m.HELP, str) and isinstance(m.DESCRIPTION, str), name


def option_help(out: str, flag: str) -> str:
    """The help text of one option in `--help` output (one line each: COLUMNS is wide)."""
    found = [line.split(None, 2)[2] for line in out.splitlines() if re.match(rf"\s+{re.escape(flag)} [A-Z_]+ ", line)]
    assert len(found) == 1, (flag, found)
    return found[0]


def listed(out: str) -> tuple[dict, list, list]:
    """What train --help lists: {type: [its presets]}, the recipes, the model types."""
    presets = re.fullmatch(r"named model size of the type \((.*)\); unset: .*", option_help(out, "--preset")).group(1)
    recipes = re.fullmatch(r"named training recipe: (.*?) \(.*", option_help(out, "--recipe")).group(1)
    types = re.fullmatch(r"model type: (.*?) \(default: .*", option_help(out, "--type")).group(1)
    return ({kind: names.split(", ") for kind, names in (entry.split(": ") for entry in presets.split("; "))},
            recipes.split(", "), types.split(", "))


def test_help_is_generated_from_the_tables():
    from makemore import presets
    from makemore.models import MODELS
    out = subprocess.run([sys.executable, "-m", "makemore", "train", "--help"], capture_output=True, text=True,
                         env={"COLUMNS": "2000", "PATH": "", "PYTHONPATH": str(SRC.parent)}).stdout   # this source
    assert listed(out) == ({kind: list(table) for kind, table in presets.MODEL_PRESETS.items()}, list(presets.RECIPES),
                           list(MODELS))                        # each listing exactly the tables, in their order
    assert "(transformer)" in out and "dropout probability" in out  # field help from the configs' metadata


def test_the_help_check_sees_a_preset_missing_from_its_listing():
    out = ("  --type TYPE  model type: bigram, lstm (default: lstm)\n"
           "  --preset PRESET  named model size of the type (lstm: default; transformer: tiny); unset: the type's "
           "`default` where it has one\n  --recipe RECIPE  named training recipe: lecture (none of them)\n")
    assert listed(out) == ({"lstm": ["default"], "transformer": ["tiny"]}, ["lecture"], ["bigram", "lstm"])
    assert listed(out)[0] != {"lstm": ["default", "none"], "transformer": ["tiny"]}   # "none" appears, but not listed


def test_each_option_is_defined_once():
    """A flag is defined in one place: the shared table of commandline.py, a config dataclass field,
    or one command's own add_argument, whichever command module it is in. Commands other than train
    take a TrainConfig field's option (--seed, --batch-size) from the field itself."""
    from dataclasses import fields
    from makemore import cli, commandline
    from makemore.train import TrainConfig
    literal = []
    for name in CALLERS:
        tree = ast.parse(MODULES[name].read_text())
        literal += [a.value for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
                    for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
    shared = [flag for flags, _ in commandline.OPTIONS.values() for flag in flags]
    fields_ = ["--" + f.name.replace("_", "-") for f in fields(TrainConfig)] + ["--" + n.replace("_", "-") for n in commandline.MODEL_FIELDS]
    defined = literal + shared + fields_
    assert "--port" in literal and "--alpha" in literal                     # the scan reads serve's and distill's too
    assert len(defined) == len(set(defined)), sorted({f for f in defined if defined.count(f) > 1})
    parser = cli.build_parser()
    for argv, want in [(["lr-find"], (1337, 32)), (["diagnose"], (1337, 32)), (["sample", "-o", "x"], (None, None))]:
        a = parser.parse_args(argv)
        assert (a.seed, getattr(a, "batch_size", None)) == want, argv


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
