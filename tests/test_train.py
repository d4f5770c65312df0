"""Training loop: schedule, the one metric, exact resumption, a short MLP run."""

import math
import signal

import pytest
import torch
import torch.nn.functional as F

from makemore.runs import RunDir
from makemore.data import build_dataset
from makemore.models import build_model
from makemore.evaluation import evaluate, token_nll
from makemore.train import TrainConfig, lr_at, train


def test_lr_schedules():
    c = TrainConfig(max_steps=1000, lr=1.0, warmup_steps=100, min_lr_ratio=0.1)
    assert lr_at(c, 0) == pytest.approx(0.01) and lr_at(c, 99) == pytest.approx(1.0)
    assert lr_at(c, 100) == pytest.approx(1.0)
    assert lr_at(c, 550) == pytest.approx(0.55)          # half way down the cosine
    assert lr_at(c, 1000) == pytest.approx(0.1)
    s = TrainConfig(max_steps=200_000, lr=0.1, schedule="step", decay_at=0.5, decay_factor=0.1)
    assert lr_at(s, 99_999) == 0.1 and lr_at(s, 100_000) == pytest.approx(0.01)
    assert lr_at(TrainConfig(schedule="constant", lr=0.3), 10**6) == 0.3


def test_metric_is_token_weighted(names_data):
    # sum of per-token losses / number of targets, not a mean of per-item (or per-batch) means
    d = names_data
    torch.manual_seed(0)
    m = build_model("mlp", d.vocab.size, d.max_len + 1, n_hidden=16).eval()
    logits, _ = m(d.val.X.long())
    ref = F.cross_entropy(logits.flatten(0, 1).double(), d.val.Y.long().flatten(), ignore_index=-1).item()
    assert evaluate(m, d.val) == pytest.approx(ref, abs=1e-6)
    assert len(token_nll(m, d.val)) == 22655


def seeded(model_type, data, **opts):
    """A model built from the same initial weights at every call (so two runs can be compared)."""
    torch.manual_seed(0)
    return build_model(model_type, data.vocab.size, data.max_len + 1, **opts)


@pytest.mark.parametrize("model_type,opts", [("mlp", {"bucket": 64}), ("nnbigram", {"bucket": 64}), ("rnn", {"bucket": 64}),
                                             ("rnn", {"bucket": 4}), ("rnn", {}), ("transformer", {"pack": True}),
                                             ("transformer", {"pack": True, "ema": 0.9}), ("bnmlp", {"ema": 0.8})])
def test_resume_is_exact(tmp_path, names, model_type, opts):
    """Stopped at step 22 and resumed, training ends with the same weights as one run, also when
    it stops in the middle of a pool of length-sorted batches (22 of 64, or 2 of a pool of 4), with
    packed rows and dropout, and with a moving average of the weights (and BatchNorm's buffers)."""
    data = build_dataset(names[:2000])
    cfg = dict(max_steps=40, batch_size=16, lr=3e-3, eval_interval=15, log_interval=5, warmup_steps=5, **opts)
    model_opts = {"n_layer": 2, "n_embd": 16, "n_head": 2, "dropout": 0.1} if model_type == "transformer" else {}

    def fresh():
        return seeded(model_type, data, **model_opts)

    full = fresh()
    train(full, data, TrainConfig(**cfg), checkpoints=RunDir(tmp_path / "a"), progress=False)

    part = fresh()
    run = RunDir(tmp_path / "b")
    out = train(part, data, TrainConfig(**cfg), checkpoints=run, progress=False, stop_at=22)
    assert out == {"step": 22, "best_val": out["best_val"], "interrupted": signal.SIGINT}
    resumed = fresh()   # a new process would rebuild the model and load the last weights
    from safetensors.torch import load_model
    load_model(resumed, str(run.weights_file("last")))
    train(resumed, data, TrainConfig(**cfg), checkpoints=run, progress=False, resume=run.load_state())
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("model_type", ["transformer", "bnmlp"])
def test_ema_saves_the_average_and_trains_the_same(tmp_path, names, model_type):
    """--ema: the weights saved, scored and returned are, after each step, d * average + (1 - d) *
    trained (buffers too: BatchNorm's running statistics), from the initial weights, with d the
    decay or (1 + step) / (10 + step) if lower (here until step 26); the trained weights follow
    the very same path as without it."""
    data = build_dataset(names[:2000])
    cfg = dict(max_steps=40, batch_size=16, lr=3e-3, eval_interval=40, log_interval=10)
    model_opts = {"n_layer": 2, "n_embd": 16, "n_head": 2, "dropout": 0.1} if model_type == "transformer" else {}
    decay = 0.75

    def fresh():
        return seeded(model_type, data, **model_opts)

    plain = fresh()
    train(plain, data, TrainConfig(**cfg), progress=False)
    model, run = fresh(), RunDir(tmp_path / "r")
    average, trained = dict(model.state_dict()), None

    def follow(step, model, lr):
        nonlocal average, trained
        d = (1 + step) / (10 + step) if step < 26 else decay
        trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
        average = {k: d * average[k] + (1 - d) * v for k, v in trained.items()}

    train(model, data, TrainConfig(**cfg, ema=decay), checkpoints=run, progress=False, on_step=follow)
    for k, v in plain.state_dict().items():
        assert torch.equal(trained[k], v), k                     # the average does not touch training
    saved = fresh()
    from safetensors.torch import load_model
    load_model(saved, str(run.weights_file("last")))
    for k, v in model.state_dict().items():
        assert torch.allclose(v, average[k], atol=1e-6), k
        assert torch.equal(saved.state_dict()[k], v), k
    assert all(not torch.equal(v, trained[k]) for k, v in model.state_dict().items() if v.is_floating_point())
    assert run.read_metrics()[-1]["val"] == pytest.approx(evaluate(model, data.val), abs=1e-9)
    with pytest.raises(ValueError, match="--ema must be in"):
        TrainConfig(ema=1.0).validate()


def test_ema_can_be_turned_on_or_off_on_resume(tmp_path, names):
    """A run saved with an average resumes from its trained weights, not the average, also with
    --ema 0; one saved without resumes with an average started there. Either way, the training
    itself is the run without any average."""
    data = build_dataset(names[:2000])
    cfg = dict(max_steps=30, batch_size=16, lr=3e-3, eval_interval=10, log_interval=5)
    model_opts = {"n_layer": 2, "n_embd": 16, "n_head": 2}

    def fresh():
        return seeded("transformer", data, **model_opts)

    full = fresh()
    train(full, data, TrainConfig(**cfg), progress=False)
    from safetensors.torch import load_model
    for first, then in ((0.9, 0.0), (0.0, 0.9)):
        run = RunDir(tmp_path / f"{first}-{then}")
        train(fresh(), data, TrainConfig(**cfg, ema=first), checkpoints=run, progress=False, stop_at=17)
        resumed, trained = fresh(), {}
        load_model(resumed, str(run.weights_file("last")))
        train(resumed, data, TrainConfig(**cfg, ema=then), checkpoints=run, progress=False, resume=run.load_state(),
              on_step=lambda step, m, lr: trained.update({k: v.clone() for k, v in m.state_dict().items()}))
        for k, v in full.state_dict().items():
            assert torch.equal(trained[k], v), (first, then, k)


def test_mlp_learns_names_fast(names_data):
    # the default AdamW recipe, shortened: val must already be well below the bigram's 2.45
    torch.manual_seed(0)
    d = names_data
    m = build_model("mlp", d.vocab.size, d.max_len + 1)
    train(m, d, TrainConfig(max_steps=2500, batch_size=256, lr=3e-3, warmup_steps=100, eval_interval=2500),
          progress=False)
    assert evaluate(m, d.val) < 2.22


def test_checkpoints_and_metrics(tmp_path, names):
    data = build_dataset(names[:1000])
    torch.manual_seed(0)
    m = build_model("mlp", data.vocab.size, data.max_len + 1)
    run = RunDir(tmp_path / "r")
    train(m, data, TrainConfig(max_steps=30, eval_interval=10, log_interval=10), checkpoints=run, progress=False)
    recs = run.read_metrics()
    assert [r["step"] for r in recs if "val" in r] == [10, 20, 30]
    elapsed = [r["elapsed"] for r in recs if "val" in r]                      # wall time since the start
    assert 0 < elapsed[0] < elapsed[1] < elapsed[2]
    assert all(math.isfinite(r["loss"]) and r["tokens_per_sec"] > 0 for r in recs if "loss" in r)
    assert run.weights_file("best").exists() and run.weights_file("last").exists()
    assert not list(run.path.glob("*.tmp"))     # atomic writes leave no temporary files


@pytest.mark.parametrize("model_type", ["transformer", "lstm", "bow"])
def test_batches_are_cut_to_the_longest_item(names_data, model_type):
    """Sequence batches drop the all-padding columns past the longest item drawn; the loss is
    the same as over the full padded rows."""
    from makemore.batches import Batches
    torch.manual_seed(0)
    model = build_model(model_type, names_data.vocab.size, names_data.max_len + 1)
    batches = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(0))
    x, y, _ = batches.sample(8)                                                   # (8, T)
    assert x.size(1) < names_data.max_len + 1                                   # 8 names are rarely 15 long
    assert (y[:, -1] != -1).any()                                               # the longest one fills it
    full = torch.Generator().manual_seed(0)
    ix = torch.randint(len(batches.x), (8,), generator=full)
    X, Y = names_data.train.X[ix].long(), names_data.train.Y[ix].long()
    assert torch.equal(X[:, :x.size(1)], x) and (Y[:, x.size(1):] == -1).all()
    model.eval()
    assert torch.allclose(model.loss(x, y), model.loss(X, Y), atol=1e-6)


def test_bucketed_batches_draw_uniformly_with_little_padding(names_data):
    """A pool of length-sorted batches holds exactly the items a plain uniform draw of the same
    size would, each batch served once; each batch is cut to its longest item, and far less of
    it is padding than in random batches."""
    from makemore.batches import Batches
    model = build_model("transformer", names_data.vocab.size, names_data.max_len + 1, n_layer=1, n_embd=8, n_head=2)
    K, B = 16, 32
    bucketed = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(3), bucket=K)
    plain = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(3))
    drawn = torch.randint(len(plain.x), (K * B,), generator=torch.Generator().manual_seed(3))
    served, pad = [], {"bucketed": 0.0, "plain": 0.0}
    for _ in range(K):
        ix = bucketed._indices(B)
        served.append(ix)
        lengths = names_data.train.lengths[ix]
        pad["bucketed"] += 1 - lengths.sum().item() / (B * lengths.max().item())
        lengths = plain.lengths[plain._indices(B)]
        pad["plain"] += 1 - lengths.sum().item() / (B * lengths.max().item())
    assert torch.equal(torch.cat(served).sort().values, drawn.sort().values)
    assert not bucketed.pool                                          # all K served: the next call draws anew
    assert pad["bucketed"] < 0.5 * pad["plain"]
    x, y, _ = bucketed.sample(B)                                         # (B, T), T the longest item drawn
    assert (y[:, -1] != -1).any() and x.shape == y.shape == (B, x.size(1))


@pytest.mark.parametrize("L", [16, 11, 30])
def test_pack_rows_places_every_item_without_overlap(L):
    """Best-fit decreasing: every item in one row, no two overlapping, none past the row's end,
    and few rows: within the bin-packing guarantee of 11/9 of the optimum + 1, itself at least
    the total length over L (names-like lengths, 1 to 16, mostly 5 to 9)."""
    from makemore.batches import pack_rows
    g = torch.Generator().manual_seed(L)
    for B in (1, 32, 512):
        lengths = (torch.randn(B, generator=g) * 2.5 + 7).round().clamp(1, min(16, L)).long().tolist()
        row, offset, R = pack_rows(lengths, L)
        used = torch.zeros(R, L, dtype=torch.long)
        for r, o, n in zip(row, offset, lengths):
            assert 0 <= r < R and o >= 0 and o + n <= L
            used[r, o:o + n] += 1
        assert used.max() == 1 and used.sum() == sum(lengths)
        assert (used.sum(1) > 0).all()                                  # no empty row
        assert R <= 11 / 9 * math.ceil(sum(lengths) / L) + 1


@pytest.mark.parametrize("rope", [False, True])
def test_packed_batch_is_the_plain_batch(names_data, rope):
    """A packed batch holds the same items as a plain one drawn from the same generator state, in
    fewer positions; through the Transformer, every target gets the same logits as in its own row,
    so the loss and every gradient are the plain batch's (rotary positions too: each item's own)."""
    from makemore.batches import Batches
    torch.manual_seed(0)
    model = build_model("transformer", names_data.vocab.size, names_data.max_len + 1, n_layer=2, n_embd=16, n_head=2,
                        rope=rope)
    packed = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(4), pack=True)
    plain = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(4))
    B = 32
    for _ in range(3):
        x, y, extra = packed.sample(B)                                           # (R, L)
        X, Y, none = plain.sample(B)                                             # (B, T)
        assert none == {} and x.shape == y.shape == extra["pos"].shape == extra["seg"].shape
        assert x.numel() < 0.85 * X.numel()                                     # about 250 positions for 340
        seg, pos = extra["seg"], extra["pos"]
        assert torch.equal((seg >= 0).sum(), (Y != -1).sum())                   # every target, once
        assert torch.equal(x[seg >= 0], X[seg[seg >= 0], pos[seg >= 0]])
        assert torch.equal(y[seg >= 0], Y[seg[seg >= 0], pos[seg >= 0]]) and (y[seg < 0] == -1).all()
        logits, _ = model(x, pos=pos, seg=seg)                                   # (R, L, V)
        ref, _ = model(X)                                                        # (B, T, V)
        assert torch.allclose(logits[seg >= 0], ref[seg[seg >= 0], pos[seg >= 0]], atol=1e-5)
        grads = []
        for batch in ((x, y, extra), (X, Y, {})):
            model.zero_grad()
            loss = model.loss(batch[0], batch[1], **batch[2])
            loss.backward()
            grads.append([p.grad.clone() for p in model.parameters()])
        for a, b in zip(*grads):
            assert torch.allclose(a, b, atol=1e-6)


def test_packing_is_for_the_transformer_only(names_data):
    from makemore.batches import Batches
    lstm = build_model("lstm", names_data.vocab.size, names_data.max_len + 1)
    with pytest.raises(ValueError, match="--pack applies to models that attend within packed rows"):
        Batches(names_data.train, lstm, "cpu", torch.Generator(), pack=True)
    tf = build_model("transformer", names_data.vocab.size, names_data.max_len + 1)
    with pytest.raises(ValueError, match="--pack and --bucket"):
        Batches(names_data.train, tf, "cpu", torch.Generator(), bucket=8, pack=True)


def test_bucketed_loss_weighs_every_target_alike(names_data):
    """Weighed by Batches.weigh, a length-sorted batch's loss is its targets' summed NLL over the
    average targets of a batch: a target of a short item counts as much as one of a long item
    (the plain batch mean would count it more)."""
    from makemore.batches import Batches
    torch.manual_seed(0)
    model = build_model("transformer", names_data.vocab.size, names_data.max_len + 1, n_layer=1, n_embd=8, n_head=2)
    batches = Batches(names_data.train, model, "cpu", torch.Generator().manual_seed(0), bucket=8)
    B = 16
    counts = []
    for _ in range(8):
        x, y, _ = batches.sample(B)
        scaled = batches.weigh(model.loss(x, y), y, B)
        logits, _ = model(x)
        nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-1, reduction="sum")
        assert scaled.item() == pytest.approx(nll.item() / (B * batches.tokens_per_row), rel=1e-5)
        counts.append((y != -1).sum().item())
    assert max(counts) > 1.5 * min(counts)                       # the batches' target counts differ


@pytest.mark.parametrize("model_type", ["bnmlp", "wavenet"])
def test_calibrated_batchnorm_holds_the_training_set_statistics(names_data, model_type):
    """After calibration each BatchNorm's running mean / unbiased variance are those of its input
    over the whole training split, as an eval-mode pass over all of it (one batch) sees them:
    the later layers measured on inputs normalized by the calibrated earlier ones."""
    from makemore.models.layers import BatchNorm1d
    from makemore.evaluation import calibrate_batchnorm
    data = build_dataset(names_data.train.words[:1500])
    torch.manual_seed(0)
    m = build_model(model_type, data.vocab.size, data.max_len + 1)
    train(m, data, TrainConfig(max_steps=30, batch_size=32, lr=0.05, optimizer="sgd", eval_interval=30), progress=False)
    norms = [l for l in m.modules() if isinstance(l, BatchNorm1d)]
    before = [bn.running_mean.clone() for bn in norms]
    assert calibrate_batchnorm(m, data.train, budget=1000 * 4 * 27) == len(norms) >= 1     # in several chunks
    seen = []
    hooks = [bn.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].reshape(-1, inp[0].size(-1))))
             for bn in norms]
    m.eval()
    with torch.no_grad():
        m.next_logits(data.train.examples(m.block_size)[0].long())                # everything at once
    for h in hooks:
        h.remove()
    for bn, x, old in zip(norms, seen, before):
        assert torch.allclose(bn.running_mean, x.mean(0), atol=1e-4)
        assert torch.allclose(bn.running_var, x.var(0), rtol=1e-3, atol=1e-4)
        assert not torch.allclose(bn.running_mean, old, atol=1e-4)                 # the moving average differed


def test_compile_and_bfloat16_are_the_same_training(names_data):
    """--compile and --dtype bfloat16 change how the step runs, not what it computes."""
    data = build_dataset(names_data.train.words[:3000])
    vals = {}
    for opts in ({}, {"compile": True}, {"dtype": "bfloat16"}):
        torch.manual_seed(0)
        m = build_model("mlp", data.vocab.size, data.max_len + 1)
        cfg = TrainConfig(max_steps=60, batch_size=64, lr=3e-3, eval_interval=60, **opts)
        train(m, data, cfg, progress=False)
        vals[tuple(opts)] = evaluate(m, data.val)
    assert vals[("compile",)] == pytest.approx(vals[()], abs=1e-4)
    assert vals[("dtype",)] == pytest.approx(vals[()], abs=0.03) and vals[("dtype",)] != vals[()]
    with pytest.raises(ValueError, match="--dtype"):
        TrainConfig(dtype="float16").validate()


@pytest.mark.parametrize("model_type", ["transformer", "mlp"])
def test_token_nll_is_in_order(names_data, model_type):
    """Evaluation sorts rows by length and trims padding, but returns every target's NLL in the
    split's order (ensembles mix members target by target), equal to one plain forward."""
    torch.manual_seed(0)
    m = build_model(model_type, names_data.vocab.size, names_data.max_len + 1).eval()
    s = names_data.val
    with torch.no_grad():
        logits, _ = m(s.X.long())                                                 # (N, T, V)
    y = s.Y.long()
    ref = F.cross_entropy(logits.flatten(0, 1).double(), y.flatten(), ignore_index=-1, reduction="none")
    ref = ref[y.flatten() != -1]
    got = token_nll(m, s, budget=4096 * 4 * 27)                                     # many chunks
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)
