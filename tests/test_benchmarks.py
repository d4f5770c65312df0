"""The measured tables in docs/results.md are the benchmarks' saved results, as the script that
measured them renders them: no table is edited by hand, none is left behind its JSON."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "common")


def load(name):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_has_saved_results():
    assert len(SCRIPTS) >= 8
    assert {p.stem for p in (BENCH / "results").glob("*.json")} == set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_results_table_is_the_saved_results(name):
    common = load("common")
    script = load(name)
    assert script.table(common.load_results(name)).strip() == common.results_section(name, getattr(script, "DOC", "results.md"))
