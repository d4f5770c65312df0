"""The runs module from Python: create, train, load, resume, ensemble; nothing written before it
should be, nothing changed by a call that fails."""

import json

import pytest
import torch

import makemore as mm
from makemore.errors import RunError, UsageError

pytestmark = pytest.mark.usefixtures("one_thread")


def snapshot(d):
    return {f.name: f.read_bytes() for f in sorted(d.iterdir())}


def test_create_train_load(tmp_path, small_file):
    d = tmp_path / "run"
    run = mm.create_run(d, small_file, type="mlp", max_steps=40, eval_interval=20)
    assert not d.exists()                                        # nothing written before train()
    assert run.config["data"]["input"] == str(small_file.resolve())
    result = run.train(progress=False)
    assert result["step"] == 40 and not result["interrupted"]
    assert set(result["losses"]) == {"train", "val", "test"}
    loaded = mm.load_run(d)
    assert loaded.type == "mlp" and loaded.vocab.size == run.vocab.size
    assert loaded.evaluate() == pytest.approx(result["losses"], abs=1e-9)
    assert [r["step"] for r in loaded.metrics if "val" in r and not r.get("final")] == [20, 40]
    items = loaded.sample(5, seed=1)
    assert len(items) == 5 and all(s["novelty"] in ("new", "train", "val/test") for s in items)
    assert loaded.sample(5, seed=1) == items
    assert loaded.score(["emma"])[0]["chars"] == 5
    with pytest.raises(RunError, match="does not train again"):
        loaded.train()


def test_bad_calls_name_their_argument(tmp_path, small_file):
    d = tmp_path / "run"
    mm.create_run(d, small_file, type="bigram").train(progress=False)
    with pytest.raises(UsageError, match="--weights must be best or last"):
        mm.load_run(d, weights="middle")
    run = mm.load_run(d)
    with pytest.raises(UsageError, match=r"-n must be in \[1, 10,000,000\]"):
        run.sample(0)
    with pytest.raises(TypeError, match="list of strings"):
        run.score("emma")
    with pytest.raises(UsageError, match="--split must be one of"):
        run.evaluate(["dev"])
    with pytest.raises(UsageError, match="--n-hidden does not apply to --type bigram"):
        mm.create_run(tmp_path / "x", small_file, type="bigram", n_hidden=3)


def test_force_and_resume_change_nothing_until_they_start(tmp_path, small_file):
    d = tmp_path / "run"
    mm.create_run(d, small_file, type="mlp", max_steps=20, eval_interval=10).train(progress=False)
    before = snapshot(d)
    with pytest.raises(RunError, match="holds a run of type mlp"):
        mm.create_run(d, small_file, type="mlp")
    with pytest.raises(UsageError, match="--lr must be > 0"):
        mm.create_run(d, small_file, type="mlp", force=True, lr=-1.0)
    with pytest.raises(UsageError, match="--max-steps must be >= 0"):
        mm.resume_run(d, max_steps=-3)
    with pytest.raises(UsageError, match="cannot change on --resume"):
        mm.resume_run(d, n_hidden=3)
    forced = mm.create_run(d, small_file, type="bigram", force=True)   # checked and built, not yet started
    assert snapshot(d) == before
    forced.train(progress=False)
    assert json.loads((d / "config.json").read_text())["type"] == "bigram"


def test_resume_from_python_equals_a_straight_run(tmp_path, small_file):
    straight = mm.create_run(tmp_path / "a", small_file, type="lstm", n_hidden=32, max_steps=30, eval_interval=10,
                             bucket=4, dropout=0.1)
    straight.train(progress=False)
    part = mm.create_run(tmp_path / "b", small_file, type="lstm", n_hidden=32, max_steps=30, eval_interval=10,
                         bucket=4, dropout=0.1)
    assert part.train(progress=False, stop_at=13)["interrupted"]
    resumed = mm.resume_run(tmp_path / "b")
    resumed.train(progress=False)
    for k, v in mm.load_run(tmp_path / "a", "last").model.state_dict().items():
        assert torch.equal(v, mm.load_run(tmp_path / "b", "last").model.state_dict()[k]), k


def test_the_checkpoint_state_carries_its_own_weights(tmp_path, small_file):
    """A kill between the renames of model.safetensors and state.pt cannot mix two checkpoints:
    resume reads the weights saved inside state.pt."""
    d = tmp_path / "run"
    mm.create_run(d, small_file, type="mlp", max_steps=20, eval_interval=10).train(progress=False)
    state = torch.load(d / "state.pt", weights_only=True)
    model = mm.load_run(d, "last").model
    assert all(torch.equal(state["weights"][k], v) for k, v in model.state_dict().items())
    (d / "model.safetensors").write_bytes((d / "best.safetensors").read_bytes())  # as if a newer file had landed
    resumed = mm.resume_run(d, max_steps=20)
    assert all(torch.equal(state["weights"][k], v) for k, v in resumed.model.state_dict().items())


def test_nnbigram_regularization_is_in_its_loss():
    """One loss for the neural bigram, whoever asks: forward's, the training contract's, both
    NLL + reg * mean(W^2), as in the lecture."""
    torch.manual_seed(0)
    m = mm.build_model("nnbigram", 5, 4, reg=0.5)
    idx = torch.randint(0, 5, (3, 4))
    logits, loss = m(idx, idx)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, 5), idx.reshape(-1))
    assert loss.item() == pytest.approx((nll + 0.5 * (m.W ** 2).mean()).item(), rel=1e-6)
    x, y = idx.reshape(-1, 1), idx.reshape(-1)
    assert m.loss(x, y).item() == pytest.approx(
        (torch.nn.functional.cross_entropy(m.W[x[:, 0]], y) + 0.5 * (m.W ** 2).mean()).item(), rel=1e-6)


@pytest.mark.parametrize("spec", [("lstm", {"n_embd": 64, "n_hidden": 1024}, 64),
                                  ("wavenet", {"n_embd": 24, "n_hidden": 512, "block_size": 8}, 1024)])
def test_the_memory_estimate_holds_the_measured_peak_of_a_run(spec):
    """runs.memory_needed against a real run's peak, measured in a fresh process by
    benchmarks/memory.py (5 steps, then the three splits evaluated): at or above it, and not far."""
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "memory.py"
    out = subprocess.run([sys.executable, str(script), "--child", json.dumps(spec)], check=True,
                         capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert r["peak_mib"] <= r["estimate_mib"] <= 4 * r["peak_mib"], r


def test_the_load_estimate_is_the_weights_twice():
    from makemore.models import shape_model
    from makemore.runs import memory_needed
    meta = shape_model("transformer", 27, 16)
    weights = sum(p.numel() * 4 for p in meta.parameters()) + sum(b.numel() * b.element_size() for b in meta.buffers())
    assert memory_needed(meta) == 2 * weights
