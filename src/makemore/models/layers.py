"""Hand-written layers, as built in the "building makemore" lectures (part 3: activations, gradients
and BatchNorm; part 5: WaveNet), following Ioffe & Szegedy (2015), "Batch Normalization".

They behave like their torch.nn counterparts (tests/test_layers.py checks outputs and gradients
against them) but are short enough to read in one sitting. Parameters are registered nn.Parameters
and BatchNorm's running statistics are buffers, so optimizers, state_dict and .to(device) work.

The diagnostics (`makemore diagnose`) read each layer's output and its gradient through forward
hooks, so the layers themselves keep nothing between calls.

Linear's weight is stored (fan_in, fan_out) and applied as `x @ W`, as in the lectures
(torch.nn.Linear stores its transpose).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class Linear(nn.Module):
    """y = x @ W + b, with W ~ randn(fan_in, fan_out) / sqrt(fan_in) * gain (Kaiming-style init:
    gain 5/3 keeps the std of tanh layers' activations near 1), and b = 0."""

    def __init__(self, fan_in: int, fan_out: int, bias: bool = True, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_in, fan_out) / fan_in ** 0.5 * gain)  # (fan_in, fan_out)
        if bias:
            self.bias = nn.Parameter(torch.zeros(fan_out))                                # (fan_out,)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        out = x @ self.weight                  # (..., fan_in) @ (fan_in, fan_out) -> (..., fan_out)
        if self.bias is not None:
            out = out + self.bias
        return out


class BatchNorm1d(nn.Module):
    """Normalize each feature (the last dim) to zero mean and unit variance, then scale by gamma and
    shift by beta. Statistics are taken over every dim except the last, so both (B, C) and (B, T, C)
    inputs work (the WaveNet lecture first took them over dim 0 only, a bug it then fixed).

    Training: normalize with the batch's biased variance; update the running mean and the running
    *unbiased* variance with an exponential moving average (as torch.nn.BatchNorm1d does). With
    unbiased=True, normalize with the unbiased variance (Bessel's correction, dividing by n - 1), as
    the lectures' own BatchNorm does (parts 3 and 4).
    Evaluation: normalize with the running statistics, so each example's output is independent of
    the rest of the batch.
    """

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1, unbiased: bool = False):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.unbiased = unbiased
        self.gamma = nn.Parameter(torch.ones(dim))                  # (C,) scale
        self.beta = nn.Parameter(torch.zeros(dim))                  # (C,) shift
        self.register_buffer("running_mean", torch.zeros(dim))     # (C,)
        self.register_buffer("running_var", torch.ones(dim))       # (C,)

    def forward(self, x):
        if self.training:
            dims = tuple(range(x.dim() - 1))                        # (0,) for (B, C); (0, 1) for (B, T, C)
            n = x.numel() // x.size(-1)                             # values per feature
            if n < 2:
                raise ValueError("BatchNorm1d in training mode needs more than one value per feature "
                                 f"(got input of shape {tuple(x.shape)}); use a batch of 2 or more")
            mean = x.mean(dims)                                     # (C,)
            var = x.var(dims, unbiased=self.unbiased)               # (C,) biased (torch.nn's) unless unbiased
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * (var if self.unbiased else var * n / (n - 1)))   # unbiased
        else:
            mean, var = self.running_mean, self.running_var        # (C,), (C,)
        xhat = (x - mean) / torch.sqrt(var + self.eps)              # (..., C) broadcast over the last dim
        return self.gamma * xhat + self.beta                        # (..., C)


class Tanh(nn.Module):
    def forward(self, x):
        return torch.tanh(x)


class Embedding(nn.Module):
    """A lookup table of num vectors of size dim, W ~ randn(num, dim) (the lectures' C)."""

    def __init__(self, num: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num, dim))           # (num, dim)

    def forward(self, idx):
        return self.weight[idx]                                     # (B, T) -> (B, T, dim)


class Flatten(nn.Module):
    """(B, ...) -> (B, everything else): concatenate the context's embeddings."""

    def forward(self, x):
        return x.reshape(x.size(0), -1)                             # (B, T, C) -> (B, T * C)


class FlattenConsecutive(nn.Module):
    """(B, T, C) -> (B, T // n, C * n): concatenate each run of n consecutive vectors, the
    WaveNet lecture's way to fuse pairs of neighbours one level at a time. A T // n of 1 is
    squeezed away, giving (B, C * n)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, T, C = x.shape
        if T % self.n:
            raise ValueError(f"FlattenConsecutive({self.n}) needs a length divisible by {self.n}, got {T}")
        x = x.reshape(B, T // self.n, C * self.n)                   # (B, T // n, C * n)
        if x.size(1) == 1:
            x = x.squeeze(1)                                        # (B, C * n)
        return x


class Sequential(nn.Module):
    """Apply layers in order."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
