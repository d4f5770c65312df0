"""Part 4: backprop by hand, for the forward of makemore.exercises.part4.forward."""

from __future__ import annotations

import torch


def tanh_backward(dout, out):
    return (1 - out ** 2) * dout


def linear_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(0)


def backprop(t, Xb, Yb):
    n = Xb.shape[0]
    d = {}
    d["dlogprobs"] = torch.zeros_like(t["logprobs"])
    d["dlogprobs"][range(n), Yb] = -1.0 / n
    d["dprobs"] = d["dlogprobs"] / t["probs"]
    d["dcounts_sum_inv"] = (t["counts"] * d["dprobs"]).sum(1, keepdim=True)
    d["dcounts_sum"] = -t["counts_sum"] ** -2 * d["dcounts_sum_inv"]
    d["dcounts"] = t["counts_sum_inv"] * d["dprobs"] + d["dcounts_sum"]       # both uses, summed
    d["dnorm_logits"] = t["counts"] * d["dcounts"]
    d["dlogit_maxes"] = -d["dnorm_logits"].sum(1, keepdim=True)
    d["dlogits"] = d["dnorm_logits"].clone()
    d["dlogits"][range(n), t["logits"].argmax(1)] += d["dlogit_maxes"][:, 0]
    d["dh"] = d["dlogits"] @ t["W2"].T
    d["dW2"] = t["h"].T @ d["dlogits"]
    d["db2"] = d["dlogits"].sum(0)
    d["dhpreact"] = (1 - t["h"] ** 2) * d["dh"]
    d["dbngain"] = (t["bnraw"] * d["dhpreact"]).sum(0, keepdim=True)
    d["dbnbias"] = d["dhpreact"].sum(0, keepdim=True)
    d["dbnraw"] = t["bngain"] * d["dhpreact"]
    d["dbnvar_inv"] = (t["bndiff"] * d["dbnraw"]).sum(0, keepdim=True)
    d["dbnvar"] = -0.5 * (t["bnvar"] + 1e-5) ** -1.5 * d["dbnvar_inv"]
    d["dbndiff2"] = 1 / (n - 1) * torch.ones_like(t["bndiff2"]) * d["dbnvar"]
    d["dbndiff"] = t["bnvar_inv"] * d["dbnraw"] + 2 * t["bndiff"] * d["dbndiff2"]
    d["dbnmeani"] = -d["dbndiff"].sum(0, keepdim=True)
    d["dhprebn"] = d["dbndiff"] + 1 / n * torch.ones_like(t["hprebn"]) * d["dbnmeani"]
    d["dembcat"] = d["dhprebn"] @ t["W1"].T
    d["dW1"] = t["embcat"].T @ d["dhprebn"]
    d["db1"] = d["dhprebn"].sum(0)
    d["demb"] = d["dembcat"].view(t["emb"].shape)
    d["dC"] = torch.zeros_like(t["C"])
    d["dC"].index_add_(0, Xb.flatten(), d["demb"].view(-1, t["emb"].shape[2]))
    return d


def cross_entropy_backward(logits, Yb):
    n = logits.shape[0]
    d = torch.softmax(logits, 1)
    d[range(n), Yb] -= 1
    return d / n


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=True) + eps)
    return gamma * xhat + beta


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """The lecture's BatchNorm (variance with Bessel's correction)."""
    n = x.shape[0]
    var_inv = (x.var(0, keepdim=True, unbiased=True) + eps) ** -0.5
    xhat = (x - x.mean(0, keepdim=True)) * var_inv
    dgamma = (dout * xhat).sum(0, keepdim=True)
    dbeta = dout.sum(0, keepdim=True)
    dx = gamma * var_inv / n * (n * dout - dout.sum(0, keepdim=True) - n / (n - 1) * xhat * (dout * xhat).sum(0, keepdim=True))
    return dx, dgamma, dbeta


def train_step(params, Xb, Yb, lr):
    p = params
    n = Xb.shape[0]
    # forward
    emb = p["C"][Xb]
    embcat = emb.view(n, -1)
    hprebn = embcat @ p["W1"] + p["b1"]
    var_inv = (hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5
    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * var_inv
    hpreact = p["bngain"] * bnraw + p["bnbias"]
    h = torch.tanh(hpreact)
    logits = h @ p["W2"] + p["b2"]
    loss = torch.nn.functional.cross_entropy(logits, Yb)
    # backward
    dlogits = cross_entropy_backward(logits, Yb)
    dh = dlogits @ p["W2"].T
    dhpreact = (1 - h ** 2) * dh
    dhprebn = p["bngain"] * var_inv / n * (n * dhpreact - dhpreact.sum(0, keepdim=True)
                                           - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0, keepdim=True))
    dembcat = dhprebn @ p["W1"].T
    dC = torch.zeros_like(p["C"])
    dC.index_add_(0, Xb.flatten(), dembcat.view(-1, emb.shape[2]))
    grads = {"C": dC, "W1": embcat.T @ dhprebn, "b1": dhprebn.sum(0), "W2": h.T @ dlogits, "b2": dlogits.sum(0),
             "bngain": (bnraw * dhpreact).sum(0, keepdim=True), "bnbias": dhpreact.sum(0, keepdim=True)}
    # update
    for k, grad in grads.items():
        p[k] -= lr * grad
    return loss.item()
