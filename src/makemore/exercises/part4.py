"""The backprop lecture's exercises ("becoming a backprop ninja", E01-E04), and two warm-ups.

The net is the lecture's: an MLP with one BatchNorm layer (embeddings of 3 characters, 10 each;
64 hidden units), its forward chopped into small steps so that each has a gradient of its own. Its
BatchNorm uses the batch variance with Bessel's correction (dividing by n - 1), as the lecture does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .framework import Exercise, cmp, examples, same

LECTURE = "Part 4"
N_EMBD, N_HIDDEN, BLOCK, BATCH = 10, 64, 3, 32
# the intermediate tensors of the forward, from the loss back to the embeddings (E01's order)
STEPS = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits",
         "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff",
         "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C"]
PARAMETERS = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]


def init_parameters(g: torch.Generator | None = None, vocab_size: int = 27) -> dict:
    """The lecture's initialization, drawn from g (default: a generator seeded 2147483647, the
    lecture's): small but non-zero everywhere (a zero would hide a wrong gradient), b1 included
    although BatchNorm makes it useless."""
    g = g or torch.Generator().manual_seed(2147483647)
    own = torch.Generator().manual_seed(1)
    fan_in = N_EMBD * BLOCK
    return {"C": torch.randn((vocab_size, N_EMBD), generator=g),
            "W1": torch.randn((fan_in, N_HIDDEN), generator=g) * (5 / 3) / fan_in ** 0.5,
            "b1": torch.randn(N_HIDDEN, generator=g) * 0.1,
            "W2": torch.randn((N_HIDDEN, vocab_size), generator=g) * 0.1,
            "b2": torch.randn(vocab_size, generator=g) * 0.1,
            # the lecture draws these two from torch's global generator, unseeded; here from one of their
            # own, so that what g draws next (the first batch) is the lecture's
            "bngain": torch.randn((1, N_HIDDEN), generator=own) * 0.1 + 1.0,
            "bnbias": torch.randn((1, N_HIDDEN), generator=own) * 0.1}


def forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The lecture's forward in small steps: every intermediate tensor, keeping its gradient."""
    n = Xb.shape[0]
    t = {}
    t["emb"] = p["C"][Xb]                                            # (B, 3, 10)
    t["embcat"] = t["emb"].view(n, -1)                                # (B, 30)
    t["hprebn"] = t["embcat"] @ p["W1"] + p["b1"]                     # (B, 64)
    t["bnmeani"] = 1 / n * t["hprebn"].sum(0, keepdim=True)           # (1, 64)
    t["bndiff"] = t["hprebn"] - t["bnmeani"]
    t["bndiff2"] = t["bndiff"] ** 2
    t["bnvar"] = 1 / (n - 1) * t["bndiff2"].sum(0, keepdim=True)      # Bessel's correction, as the lecture
    t["bnvar_inv"] = (t["bnvar"] + 1e-5) ** -0.5
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]
    t["hpreact"] = p["bngain"] * t["bnraw"] + p["bnbias"]
    t["h"] = torch.tanh(t["hpreact"])
    t["logits"] = t["h"] @ p["W2"] + p["b2"]                          # (B, 27)
    t["logit_maxes"] = t["logits"].max(1, keepdim=True).values
    t["norm_logits"] = t["logits"] - t["logit_maxes"]                 # subtract the max, for safety
    t["counts"] = t["norm_logits"].exp()
    t["counts_sum"] = t["counts"].sum(1, keepdim=True)
    t["counts_sum_inv"] = t["counts_sum"] ** -1
    t["probs"] = t["counts"] * t["counts_sum_inv"]
    t["logprobs"] = t["probs"].log()
    t["loss"] = -t["logprobs"][range(n), Yb].mean()
    return t


def autograd_reference():
    """The lecture's parameters and first batch (one generator for both, as the lecture draws them),
    and every step's gradient by autograd: (params, Xb, Yb, values, grads)."""
    g = torch.Generator().manual_seed(2147483647)
    p = {k: v.requires_grad_() for k, v in init_parameters(g).items()}
    X, Y = examples("train", BLOCK)
    ix = torch.randint(0, X.shape[0], (BATCH,), generator=g)
    Xb, Yb = X[ix], Y[ix]
    t = forward(p, Xb, Yb)
    for v in t.values():
        if not v.is_leaf:
            v.retain_grad()
    t["loss"].backward()
    grads = {k: (p[k] if k in p else t[k]).grad for k in STEPS}
    values = {k: v.detach() for k, v in {**t, **p}.items()}
    return p, Xb, Yb, values, grads


def _check_atomic(m):
    p, Xb, Yb, values, grads = autograd_reference()
    got = m.backprop(dict(values), Xb, Yb)
    return [cmp(name, got.get("d" + name), grads[name], atol=1e-7) if "d" + name in got
            else same(f"d{name} returned", False, True) for name in STEPS]


def _check_cross_entropy(m):
    _, _, Yb, values, grads = autograd_reference()
    logits = values["logits"].clone().requires_grad_()
    F.cross_entropy(logits, Yb).backward()
    out = [cmp("dlogits (fused)", m.cross_entropy_backward(values["logits"].clone(), Yb), logits.grad, atol=1e-7)]
    return out + [cmp("dlogits, as E01's chain", m.cross_entropy_backward(values["logits"].clone(), Yb), grads["logits"], atol=1e-7)]


def _check_batchnorm(m):
    """The learner's BatchNorm forward tells which variance it uses (the lecture's n - 1 or torch's
    n); its backward is checked against autograd through that same forward."""
    g = torch.Generator().manual_seed(4)
    x = (torch.randn(32, 64, generator=g, dtype=torch.float64) * 3 + 1)
    gamma = torch.rand(1, 64, generator=g, dtype=torch.float64) + 0.5
    beta = torch.randn(1, 64, generator=g, dtype=torch.float64)
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    got = m.batchnorm_forward(x.clone(), gamma.clone(), beta.clone())
    out = []
    for name, unbiased in (("n - 1, as the lecture", True), ("n, as torch.nn.BatchNorm1d", False)):
        xr, gr, br = (t.clone().requires_grad_() for t in (x, gamma, beta))
        ref = gr * (xr - xr.mean(0, keepdim=True)) / torch.sqrt(xr.var(0, keepdim=True, unbiased=unbiased) + 1e-5) + br
        forward_ok = cmp(f"forward, variance over {name}", got, ref)
        if forward_ok.approximate:
            ref.backward(dout)
            dx, dgamma, dbeta = m.batchnorm_backward(dout, x.clone(), gamma.clone())
            return [forward_ok, cmp("dx", dx, xr.grad), cmp("dgamma", dgamma, gr.grad), cmp("dbeta", dbeta, br.grad)]
        out.append(forward_ok)
    return out                                     # neither convention: both comparisons fail


def _check_training(m):
    """20 steps of the learner's manual train_step (under no_grad: autograd cannot help) against the
    same steps by autograd, from the same parameters and batches."""
    X, Y = examples("train", BLOCK)
    g = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, X.shape[0], (BATCH,), generator=g) for _ in range(20)]
    ours = init_parameters()
    ref = {k: v.clone().requires_grad_() for k, v in init_parameters().items()}
    losses, ref_losses = [], []
    for ix in batches:
        with torch.no_grad():
            losses.append(float(m.train_step(ours, X[ix], Y[ix], 0.1)))
        loss = forward(ref, X[ix], Y[ix])["loss"]
        ref_losses.append(loss.item())
        for v in ref.values():
            v.grad = None
        loss.backward()
        with torch.no_grad():
            for v in ref.values():
                v -= 0.1 * v.grad
    out = [cmp("losses of 20 steps", torch.tensor(losses), torch.tensor(ref_losses), atol=1e-5)]
    return out + [cmp(k, ours[k], ref[k], atol=1e-5) for k in PARAMETERS]


def _check_tanh(m):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 64, generator=g, dtype=torch.float64, requires_grad=True)
    out = torch.tanh(x)
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    out.backward(dout)
    return [cmp("dx through tanh", m.tanh_backward(dout, out.detach()), x.grad)]


def _check_linear(m):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, 30, generator=g, dtype=torch.float64, requires_grad=True)
    W = torch.randn(30, 64, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(64, generator=g, dtype=torch.float64, requires_grad=True)
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    (x @ W + b).backward(dout)
    dx, dW, db = m.linear_backward(dout, x.detach(), W.detach())
    return [cmp("dx", dx, x.grad), cmp("dW", dW, W.grad), cmp("db", db, b.grad)]


_FORWARD_DOC = "the forward of makemore.exercises.part4.forward: " + ", ".join(STEPS[::-1][:6]) + " ... logprobs, loss"

EXERCISES = [
    Exercise("p4-tanh", "Backward through tanh", LECTURE, ["tanh_backward"],
             "Given out = tanh(x) and the gradient dout flowing into out, return dx. (Use out, not x.)",
             'def tanh_backward(dout, out):\n    """dout (B, H), out = tanh(x) (B, H) -> dx (B, H)."""\n'
             "    raise NotImplementedError\n", _check_tanh),
    Exercise("p4-linear", "Backward through a linear layer", LECTURE, ["linear_backward"],
             "For out = x @ W + b and the gradient dout, return (dx, dW, db). Match the shapes: each gradient "
             "has the shape of what it is the gradient of.",
             'def linear_backward(dout, x, W):\n    """dout (B, out), x (B, in), W (in, out) -> (dx, dW, db)."""\n'
             "    raise NotImplementedError\n", _check_linear),
    Exercise("p4-e01", "Backprop through the whole net, step by step", LECTURE, ["backprop"],
             "Exercise 1 of the lecture. t holds every tensor of " + _FORWARD_DOC + " (the parameters C, W1, b1, "
             "W2, b2, bngain, bnbias too); Xb and Yb are the batch. Return a dict with the gradient of the loss "
             "with respect to each of them, named d + its name (dlogprobs, dprobs, ..., dC), computed by hand from "
             "the loss backwards, one small step at a time. Each is compared with autograd's. Mind the "
             "broadcasts: a tensor used in several places sums its gradients, a (1, 64) one sums over the batch.",
             'def backprop(t, Xb, Yb):\n    """t: name -> tensor of the forward; -> {"dlogprobs": ..., ..., "dC": ...}."""\n'
             "    n = Xb.shape[0]\n    d = {}\n    d['dlogprobs'] = torch.zeros_like(t['logprobs'])\n"
             "    d['dlogprobs'][range(n), Yb] = -1.0 / n\n    # ... and so on, back to dC\n"
             "    raise NotImplementedError\n", _check_atomic),
    Exercise("p4-e02", "Cross-entropy's backward in one go", LECTURE, ["cross_entropy_backward"],
             "Exercise 2: the gradient of F.cross_entropy(logits, targets) (the mean over the batch) with respect "
             "to the logits, in one expression: softmax(logits), minus 1 at each target, divided by the batch "
             "size. Compared with autograd, and with E01's long chain.",
             'def cross_entropy_backward(logits, Yb):\n    """logits (B, V), Yb (B,) -> dloss/dlogits (B, V)."""\n'
             "    raise NotImplementedError\n", _check_cross_entropy),
    Exercise("p4-e03", "BatchNorm's backward in one go", LECTURE, ["batchnorm_forward", "batchnorm_backward"],
             "Exercise 3: batchnorm_forward normalizes each column of x (B, C) by the batch's mean and variance "
             "(+ eps), then scales by gamma (1, C) and shifts by beta (1, C); batchnorm_backward returns (dx, "
             "dgamma, dbeta), dx in one expression. Either variance is accepted: the lecture's, with Bessel's "
             "correction (divide by n - 1), or torch.nn.BatchNorm1d's (divide by n). The check finds which one "
             "your forward uses, says so, and compares your backward with autograd through that same forward; "
             "with the lecture's, dx = gamma * var_inv / n * (n * dout - dout.sum(0) - n / (n - 1) * xhat * "
             "(dout * xhat).sum(0)).",
             'def batchnorm_forward(x, gamma, beta, eps=1e-5):\n    """x (B, C), gamma (1, C), beta (1, C) -> out (B, C)."""\n'
             "    raise NotImplementedError\n\n\n"
             'def batchnorm_backward(dout, x, gamma, eps=1e-5):\n    """dout (B, C), x (B, C), gamma (1, C) -> (dx (B, C), dgamma (1, C), dbeta (1, C))."""\n'
             "    raise NotImplementedError\n", _check_batchnorm),
    Exercise("p4-e04", "Train with your own backward pass", LECTURE, ["train_step"],
             "Exercise 4: one SGD step of the net with the gradients by hand (E02's cross-entropy, E03's "
             "BatchNorm, and the rest of E01): forward the batch, compute every parameter's gradient, update "
             "each parameter in place (p -= lr * grad), return the loss. The check runs it under torch.no_grad(), "
             "so autograd cannot help, for 20 steps from the lecture's initialization, against the same steps "
             "by autograd.",
             'def train_step(params, Xb, Yb, lr):\n    """params: C, W1, b1, W2, b2, bngain, bnbias (updated in place) -> the loss."""\n'
             "    raise NotImplementedError\n", _check_training),
]
