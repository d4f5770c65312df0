"""`makemore export`: the three formats from the command line on trained runs, the hub folder read
back as a run, and bad input refused in one line with nothing half-written or changed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import makemore as mm
from makemore import export as export_module
from test_reliability import cli, one_line
from test_serve import snapshot, trained_runs

needs_onnx = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                                reason="the export extra is not installed (pip install 'makemore[export]')")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return trained_runs(tmp_path_factory.mktemp("serve"))


@needs_onnx
def test_onnx_folder_scores_as_the_run(runs, tmp_path):
    from makemore.export.runtime import OnnxModel
    out = tmp_path / "lstm-onnx"
    code, err = cli("export", runs / "lstm", "--format", "onnx", "-o", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["forward.onnx", "init.onnx", "model.json", "step.onnx"]
    m = json.loads((out / "model.json").read_text())
    run = mm.load_run(runs / "lstm")
    assert m["vocab"] == [""] + run.vocab.chars and m["max_len"] == run.max_len and m["type"] == "lstm"
    assert [s["name"] for s in m["state"]] == ["h0", "c0"]
    items = ["emma", "olivia", "x"]
    split = mm.sampling.items_split(run.vocab, items, run.max_len)
    logp = torch.log_softmax(OnnxModel(out)(split.X)[0].double(), -1)                  # (N, T, V)
    Y = split.Y.long()
    nll = -(logp.gather(2, Y.clamp(min=0)[..., None])[..., 0] * (Y >= 0)).sum(1)
    assert torch.allclose(nll, torch.tensor([s["nll"] for s in run.score(items)], dtype=torch.float64), atol=1e-4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]              # no temporary folder left


def test_hub_folder_is_a_run_with_its_card(runs, tmp_path):
    out = tmp_path / "hub"
    code, err = cli("export", runs / "transformer", "--format", "hub", "-o", out, "--license", "mit")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "metrics.jsonl", "model.safetensors"]
    run, hub = mm.load_run(runs / "transformer"), mm.load_run(out)
    for (k, a), (_, b) in zip(run.model.state_dict().items(), hub.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert hub.score(["emma"]) == run.score(["emma"])
    assert [x["item"] for x in hub.sample(5, seed=3)] == [x["item"] for x in run.sample(5, seed=3)]
    assert cli("sample", "-o", out, "-n", "3")[0] == 0
    card = (out / "README.md").read_text()
    head, _, body = card.removeprefix("---\n").partition("\n---\n")
    final = [r for r in run.metrics if r.get("final")][-1]
    data = run.config["data"]
    assert "library_name: makemore" in head and "license: mit" in head and "- transformer" in head
    assert f"sha256: {data['sha256']}" in head
    assert hashlib.sha256(Path(data["input"]).read_bytes()).hexdigest() == data["sha256"]
    assert f"value: {final['val']:.4f}" in head and f"value: {final['test'] / math.log(2):.4f}" in head
    assert "type: novelty" in head
    assert f"| val | {final['val']:.4f} |" in body and "## Samples" in body and "mm.load_run" in body
    assert json.loads((out / "metrics.jsonl").read_text())["val"] == final["val"]


def test_bad_input_is_refused_in_one_line(runs, tmp_path):
    code, err = cli("export", tmp_path / "nothing", "--format", "onnx", "-o", tmp_path / "o")
    assert code == 2 and one_line(err, "export") and "nothing" in err and "config.json" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    code, err = cli("export", broken, "--format", "hub", "-o", tmp_path / "o")
    assert code == 2 and one_line(err, "export") and str(broken / "config.json") in err
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    before = snapshot(full)
    code, err = cli("export", runs / "bigram", "--format", "hub", "-o", full)
    assert code == 2 and one_line(err, "export") and "--force" in err and snapshot(full) == before
    code, err = cli("export", runs / "bigram", "--format", "hub", "-o", runs)
    assert code == 2 and one_line(err, "export") and "holds the run" in err
    code, err = cli("export", runs / "mix", "--format", "hub", "-o", tmp_path / "mix")
    assert code == 2 and one_line(err, "export") and "ensemble" in err and not (tmp_path / "mix").exists()
    code, err = cli("export", runs / "bigram", "--format", "onnx", "--license", "mit", "-o", tmp_path / "o")
    assert code == 2 and one_line(err, "export") and "--license" in err
    code, err = cli("export", runs / "bigram", "--format", "web", "--runtime", tmp_path, "-o", tmp_path / "o")
    assert code == 2 and one_line(err, "export") and "ort.wasm.min.mjs" in err
    code, err = cli("export", runs / "bigram", "--format", "pdf", "-o", tmp_path / "o")
    assert code == 2 and "invalid choice" in err
    assert not (tmp_path / "o").exists()


def test_force_replaces_and_an_interrupted_export_leaves_nothing(runs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert cli("export", runs / "bigram", "--format", "hub", "-o", out, "--force")[0] == 0
    assert not (out / "old.txt").exists() and (out / "model.safetensors").exists()
    before = snapshot(out)

    def dies(run, folder, **options):
        (folder / "config.json").write_text("{}")           # part of an export, then the process is stopped
        raise KeyboardInterrupt
    monkeypatch.setattr(export_module, "_writer", lambda format: dies)
    code, _ = cli("export", runs / "bigram", "--format", "hub", "-o", out, "--force")
    assert code == 130 and snapshot(out) == before                              # the old export, untouched
    code, _ = cli("export", runs / "bigram", "--format", "hub", "-o", tmp_path / "new")
    assert code == 130 and not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]                # no temporary folder left


def test_a_tagged_page_gets_a_pooled_guide_when_its_own_are_too_large(tmp_path, monkeypatch):
    """The page's constrained sampling is guided per tag where the tables fit, else by one bigram of
    all the training items (any guide keeps the particles correct)."""
    from makemore.export import web
    lines = [f"{t}\t{w}" for t, words in (("a", ["abba", "bab", "abc", "cab"]), ("x", ["xyz", "zyx", "xxy", "yzx"]))
             for w in words] * 20
    (tmp_path / "two.tsv").write_text("\n".join(lines) + "\n")
    mm.create_run(tmp_path / "r", tmp_path / "two.tsv", tagged=True, type="mlp", max_steps=2).train(progress=False)
    run = mm.load_run(tmp_path / "r")
    entries, files, own = web.guide_tables(run)
    assert [(e["type"], e["tags"]) for e in entries][:1] == [("NGram", 2)] and not own
    V = run.vocab.size
    monkeypatch.setattr(web, "GUIDE_CELLS", V * V)                  # room for one table, not one per tag
    entries, files, own = web.guide_tables(run)
    assert [(e["type"], e["tags"], e["contexts"]) for e in entries] == [("Bigram", 1, V)]
    assert len(files[entries[0]["file"]]) == V * V * 8                 # float32 log-probabilities, int32 next
