"""Hand-written layers and recurrent cells against their torch.nn counterparts: outputs and gradients."""

import pytest
import torch
import torch.nn as nn

from makemore.models import layers
from makemore.models.rnn import GRUCell, LSTMCell, RNNCell


pytestmark = pytest.mark.usefixtures("one_thread")


def _grads(*tensors):
    return [t.grad.clone() for t in tensors]


def test_linear():
    torch.manual_seed(0)
    mine, ref = layers.Linear(5, 3), nn.Linear(5, 3)
    with torch.no_grad():
        mine.bias.normal_()
        ref.weight.copy_(mine.weight.T)
        ref.bias.copy_(mine.bias)
    x1 = torch.randn(4, 5, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    out = mine(x1)
    out.pow(2).sum().backward()
    ref(x2).pow(2).sum().backward()
    torch.testing.assert_close(out, ref(x2))
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad.T)
    torch.testing.assert_close(mine.bias.grad, ref.bias.grad)
    assert layers.Linear(100, 10, gain=5 / 3).weight.std().item() == pytest.approx(5 / 3 / 10, rel=0.15)


@pytest.mark.parametrize("shape", [(16, 6), (8, 5, 6)])
def test_batchnorm_train_and_eval(shape):
    torch.manual_seed(0)
    mine, ref = layers.BatchNorm1d(6), nn.BatchNorm1d(6)
    with torch.no_grad():
        mine.gamma.normal_()
        mine.beta.normal_()
        ref.weight.copy_(mine.gamma)
        ref.bias.copy_(mine.beta)
    to_ref = (lambda x: x) if len(shape) == 2 else (lambda x: x.transpose(1, 2))   # nn wants (B, C, T)
    for _ in range(3):   # a few updates of the running statistics
        x1 = (torch.randn(*shape) * 3 + 1).requires_grad_()
        x2 = x1.detach().clone().requires_grad_()
        w = torch.randn(*shape)
        y1, y2 = mine(x1), to_ref(ref(to_ref(x2)))
        torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)
        (y1 * w).sum().backward()
        (y2 * w).sum().backward()
        torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(mine.gamma.grad, ref.weight.grad, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(mine.beta.grad, ref.bias.grad)
        for p in (mine.gamma, mine.beta, ref.weight, ref.bias):
            p.grad = None
    torch.testing.assert_close(mine.running_mean, ref.running_mean)
    torch.testing.assert_close(mine.running_var, ref.running_var)
    mine.eval(), ref.eval()
    x = torch.randn(*shape)
    torch.testing.assert_close(mine(x), to_ref(ref(to_ref(x))), atol=1e-5, rtol=1e-5)


def test_batchnorm_with_bessels_correction_is_the_lectures():
    """unbiased=True normalizes as the lectures' own BatchNorm: the batch variance divided by n - 1;
    outputs and gradients against autograd through that formula, running variance the same."""
    torch.manual_seed(1)
    mine = layers.BatchNorm1d(6, unbiased=True)
    x1 = (torch.randn(16, 6) * 3 + 1).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    w = torch.randn(16, 6)
    (mine(x1) * w).sum().backward()
    ref = (x2 - x2.mean(0)) / torch.sqrt(x2.var(0, unbiased=True) + 1e-5)
    (ref * w).sum().backward()
    torch.testing.assert_close(mine(x1.detach()), ref.detach())
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(mine.running_var, 0.9 * 0.9 + 0.1 * (1 + 0.9) * x2.detach().var(0), atol=1e-5, rtol=0)


def test_tanh_embedding_flatten():
    torch.manual_seed(0)
    x1 = torch.randn(4, 6, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    layers.Tanh()(x1).sum().backward()
    nn.Tanh()(x2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    mine, ref = layers.Embedding(7, 3), nn.Embedding(7, 3)
    with torch.no_grad():
        ref.weight.copy_(mine.weight)
    idx = torch.tensor([[1, 2, 2], [0, 6, 1]])
    mine(idx).sum().backward()
    ref(idx).sum().backward()
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad)
    x = torch.randn(2, 8, 3)
    torch.testing.assert_close(layers.Flatten()(x), nn.Flatten()(x))
    torch.testing.assert_close(layers.FlattenConsecutive(2)(x), x.reshape(2, 4, 6))
    torch.testing.assert_close(layers.FlattenConsecutive(8)(x), x.reshape(2, 24))
    # each pair of neighbours is concatenated: position 1 of the output is positions 2 and 3
    torch.testing.assert_close(layers.FlattenConsecutive(2)(x)[:, 1], torch.cat([x[:, 2], x[:, 3]], 1))


def _copy_cell(mine, ref, order):
    """Copy torch.nn cell weights into a hand-written cell, reordering gates: order[i] = torch's gate index."""
    H = ref.hidden_size
    perm = torch.cat([torch.arange(g * H, (g + 1) * H) for g in order])
    with torch.no_grad():
        mine.x2h.weight.copy_(ref.weight_ih[perm])
        if isinstance(mine, GRUCell):
            mine.x2h.bias.copy_(ref.bias_ih[perm])
            mine.h2h.bias.copy_(ref.bias_hh[perm])
        else:
            mine.x2h.bias.copy_((ref.bias_ih + ref.bias_hh)[perm])
        mine.h2h.weight.copy_(ref.weight_hh[perm])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_cells_match_torch(kind):
    torch.manual_seed(0)
    n_in, H, B = 5, 4, 3
    if kind == "rnn":
        mine, ref, order = RNNCell(n_in, H), nn.RNNCell(n_in, H), [0]
    elif kind == "gru":
        mine, ref, order = GRUCell(n_in, H), nn.GRUCell(n_in, H), [0, 1, 2]      # torch: r, z, n
    else:
        mine, ref, order = LSTMCell(n_in, H), nn.LSTMCell(n_in, H), [0, 1, 2, 3]  # torch: i, f, g, o
    _copy_cell(mine, ref, order)
    x = torch.randn(B, n_in)
    h = torch.randn(B, H, requires_grad=True)
    c = torch.randn(B, H, requires_grad=True)
    h2, c2 = h.detach().clone().requires_grad_(), c.detach().clone().requires_grad_()
    state = (h, c) if kind == "lstm" else (h,)
    out = mine.step(mine.x2h(x), state)
    ref_out = ref(x, (h2, c2)) if kind == "lstm" else (ref(x, h2),)
    for a, b in zip(out, ref_out):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    sum(o.pow(2).sum() for o in out).backward()
    sum(o.pow(2).sum() for o in ref_out).backward()
    torch.testing.assert_close(h.grad, h2.grad, atol=1e-6, rtol=1e-5)
    if kind == "lstm":
        torch.testing.assert_close(c.grad, c2.grad, atol=1e-6, rtol=1e-5)
