"""The lecture notebooks (docs/lectures/) and what they check a learner's code with: each notebook is
built from its source in both languages and executed with shortened trainings (every check in it
asserts); the stored notebooks are the current sources' executed; the Chinese ones are the same
program with Chinese text; every topic of the study notes has its cell; the activations lecture's
stages match the lecture's own code."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import notebooks  # noqa: E402

NAMES = notebooks.names()
ROOT = Path(__file__).resolve().parents[1]


def test_every_lecture_has_a_notebook_in_both_languages():
    assert NAMES == ["part1-bigram", "part2-mlp", "part3-batchnorm", "part4-backprop", "part5-wavenet", "part6-beyond"]
    for name in NAMES:
        nbs = notebooks.build(name)
        en = [c.source for c in nbs["en"].cells if c.cell_type == "markdown"]
        zh = [c.source for c in nbs["zh"].cells if c.cell_type == "markdown"]
        assert len(en) == len(zh) > 3, name                                     # every text cell has its twin
        assert all(notebooks.CJK.search(z) for z in zh), name                   # and it is Chinese
        assert nbs["en"].cells[0].cell_type == "markdown" and nbs["en"].cells[1].source == notebooks.SETUP["en"]


ENGLISH = re.compile(r"[A-Za-z']{3,}(?:[ ,]+[A-Za-z']{3,})+")      # two English words in a row


@pytest.mark.parametrize("name", NAMES)
def test_the_chinese_notebook_speaks_chinese(name):
    """No English comment or printed label in a Chinese notebook's code: a comment or string with
    two English words in a row must hold Chinese too (identifiers and code are fine)."""
    zh = notebooks.build(name)["zh"]
    english = []
    for cell in zh.cells:
        if cell.cell_type == "code":
            for t in tokenize.generate_tokens(io.StringIO(cell.source + "\n").readline):
                if t.type in (tokenize.COMMENT, tokenize.STRING) and ENGLISH.search(t.string) \
                        and not notebooks.CJK.search(t.string):
                    english.append(t.string)
    assert not english, english


def test_a_chinese_twin_must_be_the_same_program():
    assert notebooks.program_difference('x = f(a, "b")  # one\n', 'x = f(a, "乙")  # 一\n') is None
    assert notebooks.program_difference('x = f(a)\n', 'x = f(b)\n') == "'a' (English) against 'b' (Chinese)"
    assert notebooks.program_difference('print("n")\n', 'print("m")\n') is not None      # strings change only into Chinese
    assert notebooks.program_difference('x = 1\n', 'x = 1\ny = 2\n') is not None
    with pytest.raises(SystemExit, match="another program"):
        notebooks.code_cells([("code", "x = 1"), ("code zh", "x = 2")])
    with pytest.raises(SystemExit, match="must follow"):
        notebooks.code_cells([("code zh", "x = 1")])


def test_the_source_format():
    cells = notebooks.parse("# %% [markdown]\n# # Title\n# text\n# %% [markdown zh]\n# # 标题\n# %%\nx = 1\n\n# a comment\n"
                            "# %% [code zh]\nx = 1\n\n# 注释\n")
    assert cells == [("en", "# Title\ntext"), ("zh", "# 标题"), ("code", "x = 1\n\n# a comment"), ("code zh", "x = 1\n\n# 注释")]
    with pytest.raises(SystemExit):
        notebooks.parse("# %% [raw]\n")


@pytest.mark.parametrize("name", NAMES)
def test_the_stored_notebooks_are_the_sources_executed(name):
    import nbformat
    built = notebooks.build(name)
    for lang, suffix in notebooks.LANGUAGES.items():
        stored = nbformat.read(notebooks.LECTURES / f"{name}{suffix}.ipynb", as_version=4)
        assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built[lang].cells], \
            f"docs/lectures/{name}{suffix}.ipynb is stale: run python scripts/notebooks.py {name}"
        code = [c for c in stored.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{name}{suffix}: not executed"
        assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{name}{suffix}: an error is stored"
        assert not [o for c in code for o in c.outputs if "(a shortened run" in o.get("text", "") or "缩短的训练" in o.get("text", "")], \
            f"{name}{suffix}: stored from a shortened run"


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs(name, tmp_path, monkeypatch):
    """Both languages executed from the source with MAKEMORE_LECTURE_FAST=1: any failing check or
    figure fails the test, and the two must print the same numbers."""
    monkeypatch.setenv("MAKEMORE_LECTURE_FAST", "1")
    monkeypatch.setenv("PYTHONPATH", str(Path(mm.__file__).parents[1]))
    nbs = notebooks.run(name, check=True, runs=str(tmp_path / "runs"))
    for nb in nbs.values():
        assert all(c.execution_count for c in nb.cells if c.cell_type == "code")


def test_every_topic_of_the_notes_has_its_cell():
    """Each topic is marked in exactly one text cell of its notebook; a topic with a figure prints it
    there with L.figure; every L.figure names a topic."""
    sources = {name: (notebooks.SOURCES / f"{name}.py").read_text() for name in NAMES}
    for key, topic in L.TOPICS.items():
        marks = {name: s.count(f"<!-- topic {key} -->") for name, s in sources.items()}
        assert marks[topic.notebook] == 2 and sum(marks.values()) == 2, (key, marks)     # the English and Chinese cell
        if topic.figure is not None:
            assert f'L.figure("{key}"' in sources[topic.notebook], key
    called = {k for s in sources.values() for k in re.findall(r'L\.figure\("([^"]+)"', s)}
    assert called <= set(L.TOPICS) and all(L.TOPICS[k].figure is not None for k in called)
    assert len([t for t in L.TOPICS.values() if t.notebook in ("part1-bigram", "part2-mlp", "part3-batchnorm")]) >= 35


def test_the_setup_cell_installs_the_package_where_it_is_missing(tmp_path):
    """The first cell, run by a Python that cannot import makemore inside a clone, installs it."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    pip_home = Path(subprocess.run([sys.executable, "-c", "import pip, os; print(os.path.dirname(os.path.dirname(pip.__file__)))"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    (Path(site) / "outer.pth").write_text(f"{pip_home}\n")          # pip and setuptools from here, not makemore
    env = {**os.environ, "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1", "PYTHONPATH": ""}
    check = [str(py), "-c", "import importlib.util; print(importlib.util.find_spec('makemore') is not None)"]
    assert subprocess.run(check, capture_output=True, text=True, env=env).stdout.strip() == "False"
    done = subprocess.run([str(py), "-c", notebooks.SETUP["en"]], cwd=ROOT / "docs" / "lectures", env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert subprocess.run(check, capture_output=True, text=True, env=env).stdout.strip() == "True"
    again = subprocess.run([str(py), "-c", notebooks.SETUP["en"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]                           # installed now: nothing to do, anywhere


# --- what the notebooks check with -------------------------------------------------------------------

def test_check_passes_on_agreement_and_stops_on_a_difference(capsys):
    L.check("same", torch.ones(3), torch.ones(3))
    assert "exact: True" in capsys.readouterr().out
    with pytest.raises(L.CheckFailed, match="differs"):
        L.check("off", torch.ones(3), torch.ones(3) * 1.01)
    L.check("shown to differ", torch.ones(3), torch.zeros(3), differ=True)
    with pytest.raises(L.CheckFailed, match="expected a difference"):
        L.check("not different", torch.ones(3), torch.ones(3), differ=True)
    L.check("names", ["a", "b"], ["a", "b"])
    with pytest.raises(L.CheckFailed):
        L.check("names", ["a"], ["b"])
    with pytest.raises(L.CheckFailed):
        L.check("a shape", torch.ones(3), torch.ones(1, 3))


def test_figures_are_checked_cheap_always_and_long_only_on_full_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MAKEMORE_LECTURE_FIGURES", str(tmp_path / "figures.jsonl"))
    monkeypatch.setenv("MAKEMORE_LECTURE_FAST", "1")
    L.figure("p1-nll", 2.45439)                                   # cheap: checked under FAST too
    with pytest.raises(L.CheckFailed):
        L.figure("p1-nll", 2.46)
    L.figure("p2-final", [3.0, 3.0])                              # long: only printed under FAST
    assert "shortened" in capsys.readouterr().out
    monkeypatch.setenv("MAKEMORE_LECTURE_FAST", "0")              # read when called, not at import
    assert not L.fast()
    with pytest.raises(L.CheckFailed):
        L.figure("p2-final", [3.0, 3.0])
    L.figure("p2-final", [2.13, 2.17])
    lines = (tmp_path / "figures.jsonl").read_text().splitlines()
    assert len(lines) == 5 and '"key": "p2-final"' in lines[-1]
    monkeypatch.setenv("MAKEMORE_LECTURE_LANG", "zh")
    L.figure("p1-dict", 5438)
    assert "我们" in capsys.readouterr().out


def test_trained_reads_a_finished_run_instead_of_training_again(tmp_path, capsys):
    options = dict(type="bigram", max_steps=1)
    first = L.trained(tmp_path / "b", **options)
    stamp = (tmp_path / "b" / "config.json").stat().st_mtime_ns
    again = L.trained(tmp_path / "b", **options)
    assert (tmp_path / "b" / "config.json").stat().st_mtime_ns == stamp
    assert first.evaluate(("val",)) == again.evaluate(("val",))
    assert "makemore train -o" in capsys.readouterr().out
    L.trained(tmp_path / "b", type="bigram", smoothing=2.0, max_steps=1)            # other settings: trained again
    assert (tmp_path / "b" / "config.json").stat().st_mtime_ns != stamp


def test_the_bigram_tables_probabilities():
    data = mm.build_dataset(mm.read_words())
    model = mm.build_model("bigram", data.vocab.size, data.max_len + 1).fit(*L.whole(data).examples(1))
    P = model.probs()
    assert torch.allclose(P.sum(1), torch.ones(data.vocab.size)) and int(model.counts.sum()) == 228146


def _lecture_net(stage: str, steps: int):
    """The activations lecture's code, written out as it is there: one generator for the weights
    and the batches, SGD at lr 0.1 then 0.01 halfway."""
    words = open(bundled_names()).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    X, Y = [], []
    for w in words[:int(0.8 * len(words))]:
        context = [0] * 3
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    scales = {"original": (1, 1, 1, 1), "softmax": (1, 1, 0.01, 0), "tanh": (0.2, 0.01, 0.01, 0),
              "kaiming": ((5 / 3) / 30 ** 0.5, 0.01, 0.01, 0)}[stage]
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * scales[0]
    b1 = torch.randn(200, generator=g) * scales[1]
    W2 = torch.randn((200, 27), generator=g) * scales[2]
    b2 = torch.randn(27, generator=g) * scales[3]
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        h = torch.tanh(C[Xtr[ix]].view(-1, 30) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < steps // 2 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
    return parameters


@pytest.mark.parametrize("stage,steps,atol", [("kaiming", 200, 1e-5), ("tanh", 200, 1e-5), ("original", 0, 0.0)])
def test_the_part3_recipe_is_the_lectures_own_run(stage, steps, atol, tmp_path):
    """`--preset part3-STAGE --recipe part3` draws the lecture's initial weights and then its
    batches: after `steps` SGD steps the weights are the lecture's, to float rounding."""
    run = mm.create_run(tmp_path / stage, type="mlp", preset=f"part3-{stage}", recipe="part3",
                        max_steps=max(steps, 1), eval_interval=max(steps, 1))
    if steps:
        run.train(progress=False)
        model = mm.load_run(tmp_path / stage, weights="last").model
    else:
        model = run.model                                       # the initialization alone: exactly the lecture's
    ours = [model.wte.weight, model.hidden.weight.T, model.hidden.bias, model.out.weight.T, model.out.bias]
    for a, b in zip(ours, _lecture_net(stage, steps)):
        assert torch.allclose(a, b, atol=atol, rtol=0), (stage, (a - b).abs().max().item())


def test_the_batchnorm_stage_drops_b1_and_normalizes(tmp_path):
    run = mm.create_run(tmp_path / "bn", type="mlp", preset="part3-batchnorm", recipe="part3", max_steps=1)
    m = run.model
    assert m.hidden.bias is None and type(m.norm).__name__ == "BatchNorm1d"
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * (5 / 3) / 30 ** 0.5       # no b1: W2 is the next draw
    W2 = torch.randn((200, 27), generator=g) * 0.01
    assert torch.equal(m.wte.weight, C) and torch.allclose(m.hidden.weight.T, W1) and torch.allclose(m.out.weight.T, W2)
    assert torch.equal(m.out.bias, torch.zeros(27))


def test_shared_rng_trains_on_one_process_only():
    with pytest.raises(mm.UsageError, match="one process"):
        from makemore import distributed
        import unittest.mock as mock
        with mock.patch.object(distributed, "world_size", return_value=2):
            data = mm.build_dataset(mm.read_words())
            mm.train(mm.build_model("mlp", data.vocab.size, data.max_len + 1), data,
                     mm.TrainConfig(max_steps=1, shared_rng=True), progress=False)


def test_mlp_stage_options_are_checked():
    for bad, match in [(dict(init="xavier"), "--init"), (dict(w1_scale=-1.0), "--w1-scale"),
                       (dict(b2_scale=float("nan")), "--b2-scale")]:
        with pytest.raises(mm.UsageError, match=match):
            mm.build_model("mlp", 27, 16, **bad)
