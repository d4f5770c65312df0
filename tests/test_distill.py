"""`makemore distill`: the teacher's distributions stored once, the student's loss, and the student a
normal run (alpha 0 is plain training, bit for bit)."""

import json
import pytest
import torch
import torch.nn.functional as F

import makemore as mm
from makemore.batches import Batches, SoftTargets
from makemore.data import build_dataset
from makemore.distill import distill, teacher_sha256
from makemore.errors import RunError
from makemore.models import build_model
from makemore.runs import RunDir
from makemore.train import TrainConfig, train

from conftest import run_in_process as cli

pytestmark = pytest.mark.usefixtures("one_thread")



STUDENT = dict(type="lstm", n_embd=8, n_hidden=16, max_steps=12, batch_size=16, eval_interval=6, log_interval=3,
               device="cpu")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, one_thread):
    """A trained teacher: a mixture of a tiny LSTM and a 3-gram, on 600 names."""
    root = tmp_path_factory.mktemp("teacher")
    words = mm.read_words()[:600]
    f = root / "small.txt"
    f.write_text("\n".join(words) + "\n")
    mm.create_run(root / "lstm", str(f), type="lstm", n_embd=8, n_hidden=16, max_steps=10, device="cpu").train(progress=False)
    mm.create_run(root / "kn", str(f), type="ngram", n=3, device="cpu").train(progress=False)
    mm.ensemble(root / "mix", [root / "lstm", root / "kn"], device="cpu")
    return root


def test_the_stored_distributions_are_the_teachers_softmax(teacher, tmp_path):
    run = distill(tmp_path / "s", teacher / "mix", alpha=0.5, progress=False, **STUDENT)
    c = run.config
    assert c["distill"]["teacher"] == str((teacher / "mix").resolve()) and c["distill"]["alpha"] == 0.5
    assert c["distill"]["teacher_sha256"] == teacher_sha256(teacher / "mix")
    f = tmp_path / "s" / c["distill"]["soft_targets"]
    assert c["train"]["soft_targets"] == str(f.resolve())
    probs, meta = SoftTargets.read(f)
    assert probs.dtype == torch.float16 and json.loads(meta["about"])["teacher_sha256"] == c["distill"]["teacher_sha256"]
    model = mm.load_run(teacher / "mix").model
    X = run.data.train.X.long()
    expected = torch.softmax(model(X)[0], dim=-1)                       # (N, T, V), the mixture's distributions
    assert probs.shape == expected.shape
    torch.testing.assert_close(probs.float(), expected, atol=1e-3, rtol=1e-3)   # float16
    student = mm.load_run(tmp_path / "s")                               # a normal run: eval and sample work
    assert set(student.evaluate()) == {"train", "val", "test"} and len(student.sample(3, seed=0)) == 3
    m = f.stat().st_mtime_ns                                            # a second student reads them, not recomputes
    distill(tmp_path / "s", teacher / "mix", alpha=0.3, force=True, progress=False, **STUDENT)
    assert f.stat().st_mtime_ns == m


def test_alpha_zero_is_plain_training_bit_for_bit(teacher, tmp_path):
    distill(tmp_path / "d", teacher / "mix", alpha=0.0, progress=False, dropout=0.1, **STUDENT)
    mm.create_run(tmp_path / "p", str(teacher / "small.txt"), dropout=0.1, **STUDENT).train(progress=False)
    a, b = mm.load_run(tmp_path / "d", weights="last").model, mm.load_run(tmp_path / "p", weights="last").model
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    assert mm.load_run(tmp_path / "d").evaluate() == mm.load_run(tmp_path / "p").evaluate()


def test_the_students_loss_mixes_the_true_and_the_teachers_targets(names):
    data = build_dataset(names[:500])
    torch.manual_seed(0)
    model = build_model("lstm", data.vocab.size, data.max_len + 1, n_embd=8, n_hidden=16)
    N, T = data.train.X.shape
    p = torch.softmax(torch.randn(N, T, data.vocab.size), -1)           # a teacher's distributions
    alpha = 0.3
    batches = Batches(data.train, model, "cpu", torch.Generator().manual_seed(1), soft=SoftTargets(alpha * p, alpha))
    plain = Batches(data.train, model, "cpu", torch.Generator().manual_seed(1))
    x, y, extra = batches.sample(8)
    x0, y0, _ = plain.sample(8)
    assert torch.equal(x, x0) and torch.equal(y, y0)                    # the same rows as without soft targets
    ix = [next(i for i in range(N) if torch.equal(data.train.X[i, :x.size(1)].long(), row)) for row in x]
    soft = extra["soft"]                                                # (B, T, V)
    has = y != -1
    manual = alpha * p[ix, :x.size(1)] + (1 - alpha) * F.one_hot(y.clamp(min=0), data.vocab.size) * has[..., None]
    torch.testing.assert_close(soft, manual)
    assert torch.allclose(soft.sum(-1)[has], torch.ones(int(has.sum())))
    logits = model(x)[0]
    logp = F.log_softmax(logits, -1)
    ce = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-1)
    ce_teacher = -(p[ix, :x.size(1)] * logp).sum(-1)[has].mean()
    assert model.loss(x, y, soft=soft).item() == pytest.approx(((1 - alpha) * ce + alpha * ce_teacher).item(), abs=1e-5)
    one_hot = F.one_hot(y.clamp(min=0), data.vocab.size).float()
    assert model.loss(x, y, soft=one_hot).item() == pytest.approx(ce.item(), abs=1e-6)


def test_a_distilled_run_resumes_exactly_and_checks_its_rows(teacher, tmp_path, names):
    run = distill(tmp_path / "s", teacher / "mix", alpha=0.5, progress=False, **{**STUDENT, "max_steps": 1})
    data, f = run.data, run.config["train"]["soft_targets"]
    cfg = dict(max_steps=30, batch_size=16, lr=3e-3, eval_interval=10, log_interval=5, bucket=4, soft_targets=f,
               distill_alpha=0.5, distill_temperature=2.0)

    def fresh():
        torch.manual_seed(0)
        return build_model("lstm", data.vocab.size, data.max_len + 1, n_embd=8, n_hidden=16, dropout=0.1)
    full = fresh()
    train(full, data, TrainConfig(**cfg), checkpoints=RunDir(tmp_path / "a"), progress=False)
    part, rd = fresh(), RunDir(tmp_path / "b")
    train(part, data, TrainConfig(**cfg), checkpoints=rd, progress=False, stop_at=13)
    resumed = fresh()
    from safetensors.torch import load_model
    load_model(resumed, str(rd.weights_file("last")))
    train(resumed, data, TrainConfig(**cfg), checkpoints=rd, progress=False, resume=rd.load_state())
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    other = build_dataset(names[:700])
    with pytest.raises(RunError, match="computed on other training rows"):
        SoftTargets.load(f, other.train, 0.5)
    flat = SoftTargets.load(f, data.train, 0.5, temperature=2.0).probs / 0.5     # p^(1/2), renormalized
    p = SoftTargets.read(f)[0].float().sqrt()
    torch.testing.assert_close(flat, p / p.sum(-1, keepdim=True))


def test_bad_distill_commands_are_one_line_errors(teacher, tmp_path, capsys):
    for args, msg in [([str(teacher / "mix"), "--alpha", "2"], "--alpha must be in [0, 1]"),
                      ([], "the teacher run directory is missing"),
                      ([str(tmp_path / "nothing")], "not a run directory"),
                      ([str(teacher / "mix"), "--type", "mlp"], "distillation trains sequence models"),
                      ([str(teacher / "mix"), "--temperature", "0"], "--temperature must be > 0")]:
        code, err = cli(capsys, "distill", "-o", tmp_path / "s", *args)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, (args, err)


def test_packed_rows_carry_the_soft_targets_of_their_tokens(names):
    """The Transformer's packed rows: each token's target distribution is its own item's, at its
    own position in that item."""
    data = build_dataset(names[:300])
    torch.manual_seed(0)
    model = build_model("transformer", data.vocab.size, data.max_len + 1, n_layer=1, n_head=2, n_embd=16)
    N, T = data.train.X.shape
    p = torch.softmax(torch.randn(N, T, data.vocab.size), -1)
    batches = Batches(data.train, model, "cpu", torch.Generator().manual_seed(1), pack=True, soft=SoftTargets(0.4 * p, 0.4))
    x, y, extra = batches.sample(16)
    first = torch.nonzero(extra["pos"] == 0)                            # (items, 2): where each item starts
    for r, c in first.tolist():
        n = int(((extra["seg"][r] == extra["seg"][r, c]) & (y[r] != -1)).sum())
        row = next(i for i in range(N) if torch.equal(data.train.Y[i, :n].long(), y[r, c:c + n])
                   and torch.equal(data.train.X[i, :n].long(), x[r, c:c + n]))
        want = 0.4 * p[row, :n] + 0.6 * F.one_hot(y[r, c:c + n], data.vocab.size)
        torch.testing.assert_close(extra["soft"][r, c:c + n], want)
    assert torch.isfinite(model.loss(x, y, soft=extra["soft"], pos=extra["pos"], seg=extra["seg"]))
