# %% [markdown]
# # Part 5: WaveNet, step by step
#
# A longer context (8 characters) squashed into one hidden layer loses too much too early. The fifth
# lecture follows WaveNet (van den Oord et al. 2016): fuse neighbouring characters in pairs, then
# pairs of pairs, one level at a time, so the net builds its picture of the context gradually. On
# the way the code is reorganized like torch.nn (an `Embedding`, a `FlattenConsecutive`, a
# `Sequential` of layers), and a quiet BatchNorm bug is found and fixed. Each layer is written out in
# a cell and checked against the package's layer of the same name; the 200,000-step training is the
# package's (`makemore train --type wavenet --recipe lecture`). `MAKEMORE_LECTURE_FAST=1` shortens it.
# %% [markdown zh]
# # 第五部分：WaveNet，一步一步来
#
# 把更长的上下文（8 个字符）压进一个隐藏层，信息丢得太多、也太早。第五讲参照 WaveNet（van den Oord 等，2016）：
# 先把相邻的字符两两融合，再把两两融合的结果两两融合，一层一层来，让网络逐步形成对上下文的理解。途中代码
# 被整理成 torch.nn 的样子（一个 `Embedding`、一个 `FlattenConsecutive`、一个由各层组成的 `Sequential`），
# 还发现并修正了一个不易察觉的 BatchNorm 错误。每一层都在单元格里写出，并与本包同名的层核对；200,000 步的
# 训练交给本包（`makemore train --type wavenet --recipe lecture`）。设 `MAKEMORE_LECTURE_FAST=1` 会缩短训练。

# %%
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.models import layers as ref

L.plot_style()
data = mm.build_dataset(mm.read_words())
vocab_size, block_size = data.vocab.size, 8
Xtr, Ytr = (t.long() for t in data.train.examples(block_size))
print(Xtr.shape, Ytr.shape)
for x, y in zip(Xtr[:8], Ytr[:8]):
    print("".join(data.vocab.show(i) for i in x.tolist()), "-->", data.vocab.show(y.item()))
# %% [code zh]
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.models import layers as ref

L.plot_style()
data = mm.build_dataset(mm.read_words())
vocab_size, block_size = data.vocab.size, 8
Xtr, Ytr = (t.long() for t in data.train.examples(block_size))
print(Xtr.shape, Ytr.shape)
for x, y in zip(Xtr[:8], Ytr[:8]):
    print("".join(data.vocab.show(i) for i in x.tolist()), "-->", data.vocab.show(y.item()))

# %% [markdown]
# <!-- topic p5-layers -->
# ## Layers like torch.nn's
#
# Part 3's `Linear`, `BatchNorm1d` and `Tanh`, joined by an `Embedding` (the table C, looked up with
# the indices), a `FlattenConsecutive(n)` that concatenates each run of n neighbouring positions
# ((B, T, C) becomes (B, T/n, C·n)), and a `Sequential` that applies a list of layers in turn. The
# BatchNorm below already takes its statistics the fixed way, explained two cells down.
# %% [markdown zh]
# <!-- topic p5-layers -->
# ## 仿照 torch.nn 的层
#
# 第三讲的 `Linear`、`BatchNorm1d` 和 `Tanh`，再加上一个 `Embedding`（表 C，用下标查表）、一个把每 n 个相邻
# 位置拼接起来的 `FlattenConsecutive(n)`（(B, T, C) 变成 (B, T/n, C·n)），以及一个依次应用一列层的
# `Sequential`。下面的 BatchNorm 已经采用修正后的方式取统计量，后面第二个单元格会解释。

# %%
class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in ** 0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            dims = 0 if x.ndim == 2 else (0, 1)           # over the batch, and over the positions too
            xmean, xvar = x.mean(dims, keepdim=True), x.var(dims, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        self.out = self.gamma * (x - xmean) / torch.sqrt(xvar + self.eps) + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num, dim):
        self.weight = torch.randn((num, dim))

    def __call__(self, ix):
        self.out = self.weight[ix]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)                              # the last level: (B, C * n)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


x = torch.randn(4, 8, 10)
L.check("FlattenConsecutive(2)", FlattenConsecutive(2)(x), ref.FlattenConsecutive(2)(x))
L.check("FlattenConsecutive(8)", FlattenConsecutive(8)(x), ref.FlattenConsecutive(8)(x))
emb, emb_ref = Embedding(27, 10), ref.Embedding(27, 10)
with torch.no_grad():
    emb_ref.weight.copy_(emb.weight)
    L.check("Embedding", emb(Xtr[:4]), emb_ref(Xtr[:4]))
    L.check("BatchNorm1d, (B, T, C)", BatchNorm1d(10)(x), ref.BatchNorm1d(10, unbiased=True)(x), atol=1e-5)
# %% [code zh]
class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in ** 0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            dims = 0 if x.ndim == 2 else (0, 1)           # 在批次上，也在位置上
            xmean, xvar = x.mean(dims, keepdim=True), x.var(dims, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        self.out = self.gamma * (x - xmean) / torch.sqrt(xvar + self.eps) + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num, dim):
        self.weight = torch.randn((num, dim))

    def __call__(self, ix):
        self.out = self.weight[ix]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)                              # 最后一层：(B, C * n)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


x = torch.randn(4, 8, 10)
L.check("FlattenConsecutive(2)", FlattenConsecutive(2)(x), ref.FlattenConsecutive(2)(x))
L.check("FlattenConsecutive(8)", FlattenConsecutive(8)(x), ref.FlattenConsecutive(8)(x))
emb, emb_ref = Embedding(27, 10), ref.Embedding(27, 10)
with torch.no_grad():
    emb_ref.weight.copy_(emb.weight)
    L.check("Embedding", emb(Xtr[:4]), emb_ref(Xtr[:4]))
    L.check("BatchNorm1d, (B, T, C)", BatchNorm1d(10)(x), ref.BatchNorm1d(10, unbiased=True)(x), atol=1e-5)

# %% [markdown]
# <!-- topic p5-hierarchy -->
# ## The hierarchy, layer by layer
#
# The lecture's model: embeddings of 24, then three levels, each fusing two neighbours
# (`FlattenConsecutive(2)`) and mixing them with Linear, BatchNorm and tanh (128 units), then the
# output layer (its weights × 0.1: unsure at the start). A batch of 4 contexts goes through and each
# layer's output shape is printed: (4, 8) → (4, 8, 24) → (4, 4, 48) → … → (4, 27). With the same
# weights, the package's `wavenet` model gives the same logits.
# %% [markdown zh]
# <!-- topic p5-hierarchy -->
# ## 层级结构，逐层查看
#
# 讲座的模型：24 维嵌入，然后是三层，每层把相邻两个位置融合起来（`FlattenConsecutive(2)`），再经过 Linear、
# BatchNorm 和 tanh（128 个单元）混合，最后是输出层（权重 × 0.1：开始时没有把握）。送入 4 个上下文组成的批次，
# 打印每一层输出的形状：(4, 8) → (4, 8, 24) → (4, 4, 48) → … → (4, 27)。用同样的权重，本包的 `wavenet` 模型
# 给出同样的 logits。

# %%
torch.manual_seed(42)
n_embd, n_hidden = 24, 128
model = Sequential([
    Embedding(vocab_size, n_embd),
    FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    Linear(n_hidden, vocab_size),
])
with torch.no_grad():
    model.layers[-1].weight *= 0.1
L.figure("p5-hierarchy", sum(p.nelement() for p in model.parameters()))
x = Xtr[:4]
print(tuple(x.shape))
for layer in model.layers:
    x = layer(x)
    print(f"{type(layer).__name__:20s} {tuple(x.shape)}")

package = mm.build_model("wavenet", vocab_size, data.max_len + 1, n_embd=n_embd, n_hidden=n_hidden)
with torch.no_grad():
    for mine, theirs in zip([p for p in model.parameters()], package.parameters()):
        theirs.copy_(mine)
    for m in package.net.layers:
        if isinstance(m, ref.BatchNorm1d):
            m.unbiased = True                            # the lecture's variance, as in the cell above
    L.check("logits", model(Xtr[:32]), package.next_logits(Xtr[:32]), atol=1e-5)
# %% [code zh]
torch.manual_seed(42)
n_embd, n_hidden = 24, 128
model = Sequential([
    Embedding(vocab_size, n_embd),
    FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
    Linear(n_hidden, vocab_size),
])
with torch.no_grad():
    model.layers[-1].weight *= 0.1
L.figure("p5-hierarchy", sum(p.nelement() for p in model.parameters()))
x = Xtr[:4]
print(tuple(x.shape))
for layer in model.layers:
    x = layer(x)
    print(f"{type(layer).__name__:20s} {tuple(x.shape)}")

package = mm.build_model("wavenet", vocab_size, data.max_len + 1, n_embd=n_embd, n_hidden=n_hidden)
with torch.no_grad():
    for mine, theirs in zip([p for p in model.parameters()], package.parameters()):
        theirs.copy_(mine)
    for m in package.net.layers:
        if isinstance(m, ref.BatchNorm1d):
            m.unbiased = True                            # 讲座的方差，和上面的单元格一样
    L.check("logits", model(Xtr[:32]), package.next_logits(Xtr[:32]), atol=1e-5)

# %% [markdown]
# <!-- topic p5-bug -->
# ## The BatchNorm bug
#
# The first version of the hierarchy ran without complaint, and was wrong: its BatchNorm took the
# mean and variance over dim 0 only, as for (B, C) inputs. Given (B, T, C) it kept one mean per
# position *and* channel, (1, 4, 68) running means instead of 68, each estimated from 32 numbers
# instead of 32 × 4, and broadcasting hid the mistake. Taking the statistics over dims (0, 1) fixes
# it; the package's `BatchNorm1d` takes them over every dim but the last.
# %% [markdown zh]
# <!-- topic p5-bug -->
# ## BatchNorm 的错误
#
# 层级结构的第一个版本运行时毫无报错，却是错的：它的 BatchNorm 只在第 0 维上求均值和方差，就像输入是 (B, C)
# 那样。输入为 (B, T, C) 时，它为每个位置*和*每个通道各保留一个均值，运行均值的形状是 (1, 4, 68) 而不是 68，
# 每个都只由 32 个数估计，而不是 32 × 4 个，广播把这个错误掩盖了。在第 (0, 1) 维上求统计量就修正了它；本包的
# `BatchNorm1d` 在除最后一维之外的所有维上求。

# %%
h = torch.randn(32, 4, 68)
print("dim 0 only:", tuple(h.mean(0, keepdim=True).shape), "  dims (0, 1):", tuple(h.mean((0, 1), keepdim=True).shape))
bug = (h - h.mean(0, keepdim=True)) / torch.sqrt(h.var(0, keepdim=True) + 1e-5)
fixed = BatchNorm1d(68)(h)
L.check("dims (0, 1)", fixed, ref.BatchNorm1d(68, unbiased=True)(h), atol=1e-5)
L.check("dim 0 only", bug, fixed, atol=1e-3, differ=True)
# %% [code zh]
h = torch.randn(32, 4, 68)
print("只在第 0 维：", tuple(h.mean(0, keepdim=True).shape), "  在第 (0, 1) 维：", tuple(h.mean((0, 1), keepdim=True).shape))
bug = (h - h.mean(0, keepdim=True)) / torch.sqrt(h.var(0, keepdim=True) + 1e-5)
fixed = BatchNorm1d(68)(h)
L.check("在第 (0, 1) 维", fixed, ref.BatchNorm1d(68, unbiased=True)(h), atol=1e-5)
L.check("只在第 0 维", bug, fixed, atol=1e-3, differ=True)

# %% [markdown]
# <!-- topic p5-train -->
# ## Training it as the lecture does, and the loss figure
#
# 200,000 steps of SGD on batches of 32, rate 0.1 then 0.01 from step 150,000: the package's
# `--recipe lecture` for `wavenet`, trained once (the command is printed) and read back. The lecture's
# figure is not the raw loss, a band too thick to read, but its mean over each 1,000 steps
# (`torch.tensor(lossi).view(-1, 1000).mean(1)`); the package logs exactly that mean. Train and val
# are of the final weights, as the lecture's are.
# %% [markdown zh]
# <!-- topic p5-train -->
# ## 照讲座的方式训练，以及损失图
#
# 以 32 个样本为一批做 200,000 步 SGD，学习率 0.1，从第 150,000 步起改为 0.01：这就是本包 `wavenet` 的
# `--recipe lecture`，训练一次（会打印出命令）后读回。讲座的图不是原始损失（那是一条粗得看不清的带），而是
# 每 1,000 步的均值（`torch.tensor(lossi).view(-1, 1000).mean(1)`）；本包记录的正是这个均值。训练和验证损失
# 取自最终的权重，与讲座一致。

# %%
steps = L.steps(200_000, 1_000)
run = L.trained(L.runs_dir() / "part5" / "wavenet", type="wavenet", recipe="lecture", max_steps=steps,
                log_interval=1000, eval_interval=steps)
log = [r for r in run.metrics if "loss" in r]
plt.figure(figsize=(8, 4))
plt.plot([r["step"] for r in log], [torch.tensor(r["loss"]).log10().item() for r in log])
plt.xlabel("step")
plt.ylabel("log10 of the mean loss of each 1,000 steps")
plt.grid(alpha=0.3)
plt.show()
losses = run.evaluate(("train", "val"))
L.figure("p5-train", [losses["train"], losses["val"]])
# %% [code zh]
steps = L.steps(200_000, 1_000)
run = L.trained(L.runs_dir() / "part5" / "wavenet", type="wavenet", recipe="lecture", max_steps=steps,
                log_interval=1000, eval_interval=steps)
log = [r for r in run.metrics if "loss" in r]
plt.figure(figsize=(8, 4))
plt.plot([r["step"] for r in log], [torch.tensor(r["loss"]).log10().item() for r in log])
plt.xlabel("步数")
plt.ylabel("每 1,000 步平均损失的 log10")
plt.grid(alpha=0.3)
plt.show()
losses = run.evaluate(("train", "val"))
L.figure("p5-train", [losses["train"], losses["val"]])

# %% [markdown]
# <!-- topic p5-sample -->
# ## Samples, and the convolution hiding in the model
#
# The trained model writes names. The lecture ends on a remark: to score a whole name, the model
# runs once per position, each time over the 8 characters before it, and neighbouring positions
# recompute the same pairs. WaveNet's dilated causal convolutions compute each pair once and share
# it: the same model, evaluated at every position at once. The package's `wavenet` scores one
# window per position.
# %% [markdown zh]
# <!-- topic p5-sample -->
# ## 采样，以及模型里隐藏的卷积
#
# 训练好的模型写出名字。讲座最后提到：为了给整个名字打分，模型要对每个位置各跑一次，每次处理它之前的 8 个
# 字符，相邻位置会重复计算同样的字符对。WaveNet 的扩张因果卷积把每一对只算一次并共享：是同一个模型，一次在
# 所有位置上求值。本包的 `wavenet` 为每个位置计算一个窗口。

# %%
for s in run.sample(12, seed=L.LECTURE_SEED):
    print(f"{s['item']:16s} {s['novelty']}")
