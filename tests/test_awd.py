"""The AWD-LSTM regularizers of the recurrent nets (DropConnect on h -> h, variational dropout, AR
and TAR) and the uniform average of the weights at the end of training (--swa-start)."""

import pytest
import torch
import torch.nn.functional as F

from makemore.data import build_dataset
from makemore.errors import UsageError
from makemore.models import build_model
from makemore.models.base import sequence_loss
from makemore.models.rnn import locked_dropout
from makemore.runs import RunDir
from makemore.train import TrainConfig, train

from conftest import run_in_process as cli

pytestmark = pytest.mark.usefixtures("one_thread")



V, L = 7, 9
AWD = dict(weight_drop=0.3, locked_in=0.2, locked_hidden=0.25, locked_out=0.15, ar=2.0, tar=1.0, dropout=0.1)


def make(name="lstm", seed=0, **opts):
    torch.manual_seed(seed)
    return build_model(name, V, L + 1, n_embd=8, n_hidden=16, n_layer=2, **opts)


def batch(seed=1):
    """Rows of items of different lengths: inputs (B, L+1), targets with -1 past each item's end."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, V, (5, L + 1), generator=g)
    y = torch.randint(1, V, (5, L + 1), generator=g)
    for b, n in enumerate([10, 3, 7, 1, 5]):
        y[b, n:] = -1
    return x, y


def today_forward(m, idx):
    """The recurrent forward as it was before these options: dropout on each layer's input and
    before the head, the plain cells."""
    B, T = idx.shape
    x = m.wte(idx)
    for cell, start in zip(m.cells, m.start):
        state = tuple(s.expand(B, -1) for s in start)
        xw = cell.x2h(m.drop(x))
        hs = []
        for t in range(T):
            state = cell.step(xw[:, t], state)
            hs.append(state[0])
        x = torch.stack(hs, dim=1)
    return m.lm_head(m.drop(x))


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm"])
def test_options_off_are_the_model_of_today_bit_for_bit(name):
    m = make(name, dropout=0.2).train()
    x, y = batch()
    torch.manual_seed(5)
    ref = today_forward(m, x)
    torch.manual_seed(5)
    logits, loss = m(x, y)
    assert torch.equal(logits, ref)
    torch.manual_seed(5)
    assert torch.equal(m.loss(x, y), sequence_loss(ref, y))          # no regularizer added


def test_locked_dropout_is_one_mask_per_item_shared_over_time():
    x = torch.randn(4, 6, 5)
    torch.manual_seed(3)
    out = locked_dropout(x, 0.4, training=True)
    torch.manual_seed(3)
    mask = torch.empty(4, 1, 5).bernoulli_(0.6) / 0.6                  # (B, 1, D), drawn by hand
    assert torch.equal(out, x * mask)
    ratio = out / x                                                    # (B, T, D): the mask
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio))        # the same at every time step
    assert not torch.allclose(ratio[0], ratio[1])                      # another one per item
    assert torch.equal(locked_dropout(x, 0.4, training=False), x) and torch.equal(locked_dropout(x, 0.0, True), x)


def test_weight_drop_is_one_dropconnect_mask_on_h2h_per_forward():
    m = make("lstm", weight_drop=0.5, locked_in=0.3).train()
    x, y = batch()
    torch.manual_seed(7)
    logits, _ = m(x)
    torch.manual_seed(7)                                               # the same draws, by hand, in the order
    B, T = x.shape                                                     # the model takes them
    h = m.wte(x) * (torch.empty(B, 1, 8).bernoulli_(0.7) / 0.7)
    for cell, start in zip(m.cells, m.start):
        w = F.dropout(cell.h2h.weight, 0.5)                            # one mask for all steps and rows
        assert (w == 0).float().mean().item() == pytest.approx(0.5, abs=0.1)
        state, xw, hs = tuple(s.expand(B, -1) for s in start), cell.x2h(h), []
        for t in range(T):
            i, f, g, o = (xw[:, t] + state[0] @ w.T).chunk(4, dim=-1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            state = (torch.sigmoid(o) * torch.tanh(c), c)
            hs.append(state[0])
        h = torch.stack(hs, dim=1)
    torch.testing.assert_close(logits, m.lm_head(h), atol=1e-6, rtol=0)
    m.eval()
    assert not torch.allclose(m(x)[0], logits, atol=1e-3)               # eval: the whole weights, no mask


def test_ar_and_tar_are_added_to_the_training_loss_only():
    m = make("lstm", ar=2.0, tar=0.5).eval()                           # no dropout: the states are the step path's
    x, y = batch()
    state, hs = m.init_state(x.size(0)), []
    for t in range(x.size(1)):                                         # the incremental path's hidden states
        _, state = m.step(x[:, t], state)
        hs.append(state[-1][0])
    h = torch.stack(hs, 1)                                             # (B, T, H), last layer
    ce = F.cross_entropy(m(x)[0].flatten(0, 1), y.flatten(), ignore_index=-1)
    ar, tar, n_ar, n_tar = 0.0, 0.0, 0, 0
    for b in range(x.size(0)):                                         # by hand, position by position
        n = int((y[b] != -1).sum())
        for t in range(n):
            ar, n_ar = ar + h[b, t].pow(2).mean(), n_ar + 1
            if t + 1 < n:
                tar, n_tar = tar + (h[b, t + 1] - h[b, t]).pow(2).mean(), n_tar + 1
    expected = ce + 2.0 * ar / n_ar + 0.5 * tar / n_tar
    assert m.loss(x, y).item() == pytest.approx(expected.item(), abs=1e-5)
    assert m(x, y)[1].item() == pytest.approx(ce.item(), abs=1e-6)    # the evaluated loss: the NLL alone


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm"])
def test_incremental_path_equals_forward_with_every_option_on(name):
    m = make(name, **AWD).eval()
    x = torch.randint(0, V, (4, L + 1))
    full, _ = m(x)
    state, steps = m.init_state(4), []
    for t in range(L + 1):
        logits, state = m.step(x[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=0)
    m.train()
    x, y = batch()
    m.loss(x, y).backward()                                            # every option trains
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_bad_values_are_one_line_errors(small_file, tmp_path, capsys):
    for opts, msg in [(dict(weight_drop=1.0), "--weight-drop must be in"), (dict(locked_out=-0.1), "--locked-out must be in"),
                      (dict(ar=-1.0), "--ar must be >= 0"), (dict(tar=float("nan")), "--tar must be >= 0")]:
        with pytest.raises(UsageError, match=msg):
            make("lstm", **opts)
    for args, msg in [(["--weight-drop", "1.5"], "--weight-drop must be in [0, 1)"),
                      (["--swa-start", "1"], "--swa-start must be in [0, 1)"),
                      (["--swa-start", "0.5", "--ema", "0.9"], "--swa-start and --ema are two averages"),
                      (["--type", "mlp", "--ar", "1"], "option --ar does not apply to --type mlp")]:
        code, err = cli(capsys, "train", "-i", small_file, "-o", tmp_path / "r", "--max-steps", 1, *args)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, err


def seeded(data, name="lstm", **opts):
    torch.manual_seed(0)
    return build_model(name, data.vocab.size, data.max_len + 1, n_embd=8, n_hidden=16, **opts)


def test_swa_is_the_mean_of_the_weights_of_the_last_steps(tmp_path, names):
    data = build_dataset(names[:1000])
    cfg = dict(max_steps=20, batch_size=16, lr=3e-3, eval_interval=10, log_interval=5, bucket=8)
    plain = seeded(data, dropout=0.1)
    train(plain, data, TrainConfig(**cfg), progress=False)
    snapshots = []

    def record(step, model, lr):
        if step >= 15:                                                 # the steps after 15 = 0.75 * 20
            snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    model, run = seeded(data, dropout=0.1), RunDir(tmp_path / "r")
    train(model, data, TrainConfig(**cfg, swa_start=0.75), checkpoints=run, progress=False, on_step=record)
    assert len(snapshots) == 5
    for k, v in plain.state_dict().items():
        assert torch.equal(snapshots[-1][k], v), k                      # the average does not touch training
    saved = seeded(data, dropout=0.1)
    from safetensors.torch import load_model
    load_model(saved, str(run.weights_file("last")))
    for k, v in model.state_dict().items():
        mean = torch.stack([s[k] for s in snapshots]).mean(0)
        assert torch.allclose(v, mean, atol=1e-6), k
        assert torch.equal(saved.state_dict()[k], v), k


@pytest.mark.parametrize("opts,stop", [(dict(swa_start=0.5), 22), (dict(swa_start=0.5), 12), ({}, 22)])
def test_resume_is_exact_with_swa_and_the_awd_options(tmp_path, names, opts, stop):
    """Stopped before or after the average starts (step 20 of 40), or with every AWD option on,
    and resumed: the same trained and averaged weights as one uninterrupted run."""
    data = build_dataset(names[:1000])
    cfg = dict(max_steps=40, batch_size=16, lr=3e-3, eval_interval=15, log_interval=5, bucket=4, **opts)
    model_opts = {} if opts else {k: v for k, v in AWD.items() if k != "locked_hidden"}
    full = seeded(data, **model_opts)
    train(full, data, TrainConfig(**cfg), checkpoints=RunDir(tmp_path / "a"), progress=False)
    run = RunDir(tmp_path / "b")
    train(seeded(data, **model_opts), data, TrainConfig(**cfg), checkpoints=run, progress=False, stop_at=stop)
    resumed = seeded(data, **model_opts)
    from safetensors.torch import load_model
    load_model(resumed, str(run.weights_file("last")))
    train(resumed, data, TrainConfig(**cfg), checkpoints=run, progress=False, resume=run.load_state())
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
