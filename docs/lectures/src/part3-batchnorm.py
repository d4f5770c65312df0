# %% [markdown]
# # Part 3: activations, gradients and BatchNorm, step by step
#
# The MLP of Part 2 trains, but only by luck: its initialization is far off. This lecture looks
# inside the net while it trains (the loss at the start, the tanh outputs, the gradients, the size
# of each update) and fixes what it finds one step at a time: a calm output layer, an unsaturated
# tanh, Kaiming's scale, then Batch Normalization (Ioffe & Szegedy 2015), and finally a deep net
# written as layers, with the four diagnostic figures. Each step is plain torch, checked against the
# package (its hand-written layers in `makemore.models.layers`, its `diagnostics`, and its `mlp`
# model with the lecture's options). `MAKEMORE_LECTURE_FAST=1` shortens the trainings.
# %% [markdown zh]
# # 第三部分：激活值、梯度与 BatchNorm，一步一步来
#
# 第二讲的 MLP 能训练，但只是碰巧：它的初始化差得很远。这一讲在训练时观察网络内部（起始损失、tanh 的输出、
# 梯度、每次更新的幅度），发现问题就一步一步修正：让输出层平静下来、让 tanh 不饱和、用 Kaiming 的尺度，然后是
# 批归一化（Batch Normalization，Ioffe 与 Szegedy，2015），最后把一个深层网络写成一层层的模块，并画出四张
# 诊断图。每一步都是朴素的 torch，并与本包核对（`makemore.models.layers` 里手写的层、`diagnostics`，以及带讲座
# 选项的 `mlp` 模型）。设 `MAKEMORE_LECTURE_FAST=1` 会缩短训练。

# %%
import random
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import diagnostics, lectures as L
from makemore.data import bundled_names
from makemore.models import layers as ref
from makemore.presets import MODEL_PRESETS

L.plot_style()
words = open(bundled_names()).read().splitlines()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size, block_size = len(itos), 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return torch.tensor(X), torch.tensor(Y)


random.seed(42)
random.shuffle(words)
n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
data = mm.build_dataset(mm.read_words())              # the package's split: the same examples
L.check("Xtr", Xtr, data.train.examples(3)[0].long())
# %% [code zh]
import random
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import diagnostics, lectures as L
from makemore.data import bundled_names
from makemore.models import layers as ref
from makemore.presets import MODEL_PRESETS

L.plot_style()
words = open(bundled_names()).read().splitlines()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size, block_size = len(itos), 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return torch.tensor(X), torch.tensor(Y)


random.seed(42)
random.shuffle(words)
n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
data = mm.build_dataset(mm.read_words())              # 本包的划分：样本完全相同
L.check("Xtr", Xtr, data.train.examples(3)[0].long())

# %% [markdown]
# <!-- topic p3-init -->
# ## The loss at initialization: what should it be?
#
# Before any training the net knows nothing, so it should spread its probability evenly: a loss of
# −ln(1/27) = 3.2958. The Part 2 net (every weight drawn from N(0, 1)) starts far above that: its
# logits are large, so it is very sure of itself and mostly wrong, and the first thousands of steps
# are spent just undoing that. Scaling the output layer down (W2 × 0.01, b2 × 0) makes the logits
# nearly equal at the start; then the loss starts where it should. The package's `mlp`, with the
# lecture's initialization and its fix as options, starts at the same numbers on the same batch.
# %% [markdown zh]
# <!-- topic p3-init -->
# ## 初始化时的损失应该是多少？
#
# 训练之前网络什么都不知道，所以它应该把概率均匀地分开：损失为 −ln(1/27) = 3.2958。第二讲的网络（每个权重都
# 取自 N(0, 1)）的起点远高于此：它的 logits 很大，因此过于自信而又大多是错的，最初的几千步只是在纠正这一点。
# 把输出层缩小（W2 × 0.01，b2 × 0），开始时 logits 就几乎相等；这样损失就从它该在的地方开始。本包的 `mlp` 把
# 讲座的初始化和这个修正都做成了选项，在同一个批次上给出同样的数。

# %%
def init(w1=1.0, b1=1.0, w2=1.0, b2=1.0, n_embd=10, n_hidden=200):
    """The Part 2 net, drawn from the lecture's seed, each tensor times a scale."""
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    return [torch.randn((vocab_size, n_embd), generator=g),
            torch.randn((n_embd * block_size, n_hidden), generator=g) * w1,
            torch.randn(n_hidden, generator=g) * b1,
            torch.randn((n_hidden, vocab_size), generator=g) * w2,
            torch.randn(vocab_size, generator=g) * b2]


def forward(params, X):
    C, W1, b1, W2, b2 = params
    hpreact = C[X].view(X.shape[0], -1) @ W1 + b1
    h = torch.tanh(hpreact)
    return h @ W2 + b2, hpreact, h


Xb, Yb = Xtr[:32], Ytr[:32]
print("uniform:", -torch.log(torch.tensor(1 / 27)).item())
for name, scales, preset in [("N(0, 1) everywhere", {}, "part3-original"),
                             ("W2 * 0.01, b2 * 0", {"w2": 0.01, "b2": 0.0}, "part3-softmax")]:
    logits, _, _ = forward(init(**scales), Xb)
    loss = F.cross_entropy(logits, Yb)
    torch.manual_seed(L.LECTURE_SEED)
    model = mm.build_model("mlp", vocab_size, data.max_len + 1, **MODEL_PRESETS["mlp"][preset])
    L.check(f"loss, {name}", loss, model.loss(Xb, Yb), atol=1e-5)
    print(f"{name:20s} loss on a batch {loss.item():.4f}; largest |logit| {logits.abs().max().item():.1f}")
L.figure("p3-init", loss.item())
# %% [code zh]
def init(w1=1.0, b1=1.0, w2=1.0, b2=1.0, n_embd=10, n_hidden=200):
    """第二讲的网络，用讲座的种子抽取，每个张量乘以一个比例。"""
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    return [torch.randn((vocab_size, n_embd), generator=g),
            torch.randn((n_embd * block_size, n_hidden), generator=g) * w1,
            torch.randn(n_hidden, generator=g) * b1,
            torch.randn((n_hidden, vocab_size), generator=g) * w2,
            torch.randn(vocab_size, generator=g) * b2]


def forward(params, X):
    C, W1, b1, W2, b2 = params
    hpreact = C[X].view(X.shape[0], -1) @ W1 + b1
    h = torch.tanh(hpreact)
    return h @ W2 + b2, hpreact, h


Xb, Yb = Xtr[:32], Ytr[:32]
print("均匀预测：", -torch.log(torch.tensor(1 / 27)).item())
for name, scales, preset in [("全部取自 N(0, 1)", {}, "part3-original"),
                             ("W2 * 0.01，b2 * 0", {"w2": 0.01, "b2": 0.0}, "part3-softmax")]:
    logits, _, _ = forward(init(**scales), Xb)
    loss = F.cross_entropy(logits, Yb)
    torch.manual_seed(L.LECTURE_SEED)
    model = mm.build_model("mlp", vocab_size, data.max_len + 1, **MODEL_PRESETS["mlp"][preset])
    L.check(f"损失，{name}", loss, model.loss(Xb, Yb), atol=1e-5)
    print(f"{name:20s} 一个批次上的损失 {loss.item():.4f}；最大的 |logit| {logits.abs().max().item():.1f}")
L.figure("p3-init", loss.item())

# %% [markdown]
# <!-- topic p3-tanh -->
# ## Saturated tanh units
#
# The hidden layer has a problem of its own: its pre-activations are spread over tens of units, so
# most tanh outputs sit at −1 or 1. There the tanh is flat, its derivative 1 − tanh² is about 0, and
# the gradient flowing through that unit is cut off. The histogram piles up at ±1; in the image each
# white pixel is a unit of an example with |tanh| > 0.97, and a column all white would be a dead
# unit, one that never learns. Scaling W1 by 0.2 and b1 by 0.01 calms it. The share of saturated
# outputs is checked against the package's `diagnostics.saturation`.
# %% [markdown zh]
# <!-- topic p3-tanh -->
# ## 饱和的 tanh 单元
#
# 隐藏层有它自己的问题：激活前的值分布在几十个单位的范围内，所以大多数 tanh 输出停在 −1 或 1。在那里 tanh
# 是平的，导数 1 − tanh² 约等于 0，流经这个单元的梯度就被截断了。直方图堆积在 ±1；图像中每个白色像素是某个
# 样本中 |tanh| > 0.97 的单元，整列全白就是一个死单元，永远学不到东西。把 W1 乘以 0.2、b1 乘以 0.01 就能让它
# 平静下来。饱和输出所占的比例与本包的 `diagnostics.saturation` 核对。

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 6))
for row, (name, scales) in enumerate([("N(0, 1)", {"w2": 0.01, "b2": 0.0}),
                                      ("W1 * 0.2, b1 * 0.01", {"w1": 0.2, "b1": 0.01, "w2": 0.01, "b2": 0.0})]):
    _, hpreact, h = forward(init(**scales), Xb)
    saturated = (h.abs() > 0.97).float().mean().item() * 100
    L.check(f"saturated %, {name}", saturated, diagnostics.saturation(h), atol=1e-4)
    axes[row, 0].hist(h.view(-1).tolist(), 50)
    axes[row, 0].set_title(f"tanh outputs, {name}: {saturated:.1f}% saturated")
    axes[row, 1].imshow(h.abs() > 0.97, cmap="gray", interpolation="nearest")
    axes[row, 1].set_title("white: |tanh| > 0.97 (32 examples × 200 units)")
plt.tight_layout()
plt.show()
# %% [code zh]
fig, axes = plt.subplots(2, 2, figsize=(12, 6))
for row, (name, scales) in enumerate([("N(0, 1)", {"w2": 0.01, "b2": 0.0}),
                                      ("W1 * 0.2，b1 * 0.01", {"w1": 0.2, "b1": 0.01, "w2": 0.01, "b2": 0.0})]):
    _, hpreact, h = forward(init(**scales), Xb)
    saturated = (h.abs() > 0.97).float().mean().item() * 100
    L.check(f"饱和比例，{name}", saturated, diagnostics.saturation(h), atol=1e-4)
    axes[row, 0].hist(h.view(-1).tolist(), 50)
    axes[row, 0].set_title(f"tanh 输出，{name}：{saturated:.1f}% 饱和")
    axes[row, 1].imshow(h.abs() > 0.97, cmap="gray", interpolation="nearest")
    axes[row, 1].set_title("白色：|tanh| > 0.97（32 个样本 × 200 个单元）")
plt.tight_layout()
plt.show()

# %% [markdown]
# <!-- topic p3-kaiming -->
# ## Kaiming initialization instead of hand-picked scales
#
# What scale keeps a layer's outputs at the size of its inputs? A sum of fan_in products of unit
# numbers has standard deviation √fan_in, so dividing the weights by √fan_in keeps it at 1. A tanh
# squeezes its input, so He et al. (2015) multiply by a gain to make up for it: 5/3 for tanh. For
# the first layer, fan_in = 30: (5/3)/√30 = 0.3043, close to the 0.2 picked by hand. torch has the
# same rule (`torch.nn.init.calculate_gain`, `kaiming_normal_`).
# %% [markdown zh]
# <!-- topic p3-kaiming -->
# ## 用 Kaiming 初始化代替手选的比例
#
# 什么样的比例能让一层的输出保持与输入同样的大小？fan_in 个单位大小的乘积之和，标准差是 √fan_in，所以把权重
# 除以 √fan_in 就能保持为 1。tanh 会压缩它的输入，所以 He 等人（2015）再乘一个增益来补偿：tanh 的增益是 5/3。
# 对第一层，fan_in = 30：(5/3)/√30 = 0.3043，与手选的 0.2 相近。torch 里有同样的规则
# （`torch.nn.init.calculate_gain`、`kaiming_normal_`）。

# %%
x = torch.randn(1000, 10)
w = torch.randn(10, 200)
print("input std", round(x.std().item(), 3), "| output std, w ~ N(0, 1):", round((x @ w).std().item(), 3),
      "| w / sqrt(10):", round((x @ (w / 10 ** 0.5)).std().item(), 3))
kaiming = (5 / 3) / 30 ** 0.5
L.check("tanh gain", 5 / 3, torch.nn.init.calculate_gain("tanh"))
W = torch.empty(200, 30)
torch.nn.init.kaiming_normal_(W, nonlinearity="tanh")
L.check("std of kaiming_normal_", W.std(), kaiming, atol=0.01)
L.figure("p3-kaiming", kaiming)
# %% [code zh]
x = torch.randn(1000, 10)
w = torch.randn(10, 200)
print("输入标准差", round(x.std().item(), 3), "| 输出标准差，w ~ N(0, 1)：", round((x @ w).std().item(), 3),
      "| w / sqrt(10)：", round((x @ (w / 10 ** 0.5)).std().item(), 3))
kaiming = (5 / 3) / 30 ** 0.5
L.check("tanh 的增益", 5 / 3, torch.nn.init.calculate_gain("tanh"))
W = torch.empty(200, 30)
torch.nn.init.kaiming_normal_(W, nonlinearity="tanh")
L.check("kaiming_normal_ 的标准差", W.std(), kaiming, atol=0.01)
L.figure("p3-kaiming", kaiming)

# %% [markdown]
# <!-- topic p3-batchnorm -->
# ## Batch Normalization
#
# Instead of choosing scales so that the pre-activations come out roughly standard, make them
# standard: subtract the batch's mean from each unit and divide by the batch's standard deviation.
# Then let the net undo that where it helps, with a learned gain and bias per unit (bngain, bnbias,
# starting at 1 and 0). Two things follow. b1 becomes useless (the mean subtraction removes it: its
# gradient is zero). And at inference there is no batch, so the lecture keeps a running mean and
# standard deviation during training (a moving average with momentum 0.001) and uses those.
#
# The lecture divides by the standard deviation with Bessel's correction (`std` divides by n − 1),
# where torch's BatchNorm divides by n; the package's `BatchNorm1d(unbiased=True)` does the former.
# %% [markdown zh]
# <!-- topic p3-batchnorm -->
# ## 批归一化（Batch Normalization）
#
# 与其挑选比例让激活前的值大致标准，不如直接把它们变成标准的：每个单元减去批次的均值、除以批次的标准差。
# 再让网络在有用的地方把它还原回去：每个单元一个学出来的增益和偏置（bngain、bnbias，从 1 和 0 开始）。这带来
# 两个后果。b1 变得毫无用处（减去均值会把它抵消：它的梯度为 0）。而推理时没有批次，所以讲座在训练中维护
# 一个滑动的均值和标准差（动量 0.001 的移动平均），推理时就用它们。
#
# 讲座用带贝塞尔校正的标准差（`std` 除以 n − 1），而 torch 的 BatchNorm 除以 n；本包的
# `BatchNorm1d(unbiased=True)` 采用前者。

# %%
g = torch.Generator().manual_seed(L.LECTURE_SEED)
n_embd, n_hidden = 10, 200
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
b1 = torch.zeros(n_hidden)                              # kept for one step, to see its gradient
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
b2 = torch.randn(vocab_size, generator=g) * 0
bngain, bnbias = torch.ones((1, n_hidden)), torch.zeros((1, n_hidden))
bnmean_running, bnstd_running = torch.zeros((1, n_hidden)), torch.ones((1, n_hidden))
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
    p.requires_grad = True

steps = L.steps(200_000, 2_000)
lossi = []
for i in range(steps):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    hpreact = C[Xtr[ix]].view(32, -1) @ W1 + b1
    bnmeani = hpreact.mean(0, keepdim=True)
    bnstdi = hpreact.std(0, keepdim=True)                # Bessel's correction, as the lecture
    hpreact_bn = bngain * (hpreact - bnmeani) / bnstdi + bnbias
    with torch.no_grad():
        bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
        bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
    loss = F.cross_entropy(torch.tanh(hpreact_bn) @ W2 + b2, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    if i == 0:
        L.check("b1.grad (BatchNorm removes b1)", b1.grad, torch.zeros(n_hidden), atol=1e-7)
        layer = ref.BatchNorm1d(n_hidden, eps=0.0, unbiased=True)     # the package's layer
        L.check("BatchNorm, lecture's std", hpreact_bn, layer(hpreact.detach()) * bngain + bnbias, atol=1e-4)
        L.check("torch's n instead", hpreact_bn, ref.BatchNorm1d(n_hidden, eps=0.0)(hpreact.detach()) * bngain + bnbias,
                atol=1e-4, differ=True)
    lr = 0.1 if i < steps // 2 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    lossi.append(loss.log10().item())
# %% [code zh]
g = torch.Generator().manual_seed(L.LECTURE_SEED)
n_embd, n_hidden = 10, 200
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
b1 = torch.zeros(n_hidden)                              # 保留一步，看看它的梯度
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
b2 = torch.randn(vocab_size, generator=g) * 0
bngain, bnbias = torch.ones((1, n_hidden)), torch.zeros((1, n_hidden))
bnmean_running, bnstd_running = torch.zeros((1, n_hidden)), torch.ones((1, n_hidden))
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
    p.requires_grad = True

steps = L.steps(200_000, 2_000)
lossi = []
for i in range(steps):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    hpreact = C[Xtr[ix]].view(32, -1) @ W1 + b1
    bnmeani = hpreact.mean(0, keepdim=True)
    bnstdi = hpreact.std(0, keepdim=True)                # 和讲座一样，带贝塞尔校正
    hpreact_bn = bngain * (hpreact - bnmeani) / bnstdi + bnbias
    with torch.no_grad():
        bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
        bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
    loss = F.cross_entropy(torch.tanh(hpreact_bn) @ W2 + b2, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    if i == 0:
        L.check("b1.grad（BatchNorm 抵消了 b1）", b1.grad, torch.zeros(n_hidden), atol=1e-7)
        layer = ref.BatchNorm1d(n_hidden, eps=0.0, unbiased=True)     # 本包的层
        L.check("BatchNorm，讲座的标准差", hpreact_bn, layer(hpreact.detach()) * bngain + bnbias, atol=1e-4)
        L.check("改用 torch 的 n", hpreact_bn, ref.BatchNorm1d(n_hidden, eps=0.0)(hpreact.detach()) * bngain + bnbias,
                atol=1e-4, differ=True)
    lr = 0.1 if i < steps // 2 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    lossi.append(loss.log10().item())

# %% [markdown]
# <!-- topic p3-running -->
# ## Train mode and eval mode: the running statistics
#
# After training, the lecture first measures the mean and standard deviation over the whole
# training set once (calibration), then shows the running estimates kept during training come out
# about the same, so no separate step is needed. In eval mode each name's loss no longer depends on
# which other names share its batch.
# %% [markdown zh]
# <!-- topic p3-running -->
# ## 训练模式与评估模式：滑动统计量
#
# 训练之后，讲座先在整个训练集上一次性测出均值和标准差（校准），再说明训练中维护的滑动估计与之几乎相同，所以
# 不需要另外这一步。在评估模式下，每个名字的损失不再取决于和它同批的是哪些名字。

# %%
with torch.no_grad():
    hcal = C[Xtr].view(Xtr.shape[0], -1) @ W1 + b1
    bnmean, bnstd = hcal.mean(0, keepdim=True), hcal.std(0, keepdim=True)
    print("calibrated against running: mean differs by at most", round((bnmean - bnmean_running).abs().max().item(), 3),
          ", std by at most", round((bnstd - bnstd_running).abs().max().item(), 3))

    def split_loss(X, Y, mean, std):
        hpreact = C[X].view(X.shape[0], -1) @ W1 + b1
        return F.cross_entropy(torch.tanh(bngain * (hpreact - mean) / std + bnbias) @ W2 + b2, Y).item()

    losses = [split_loss(X, Y, bnmean_running, bnstd_running) for X, Y in [(Xtr, Ytr), (Xdev, Ydev)]]
print(f"train {losses[0]:.4f}, val {losses[1]:.4f} (running statistics)")
L.figure("p3-running", losses)
# %% [code zh]
with torch.no_grad():
    hcal = C[Xtr].view(Xtr.shape[0], -1) @ W1 + b1
    bnmean, bnstd = hcal.mean(0, keepdim=True), hcal.std(0, keepdim=True)
    print("校准值与滑动值相比：均值最多相差", round((bnmean - bnmean_running).abs().max().item(), 3),
          "，标准差最多相差", round((bnstd - bnstd_running).abs().max().item(), 3))

    def split_loss(X, Y, mean, std):
        hpreact = C[X].view(X.shape[0], -1) @ W1 + b1
        return F.cross_entropy(torch.tanh(bngain * (hpreact - mean) / std + bnbias) @ W2 + b2, Y).item()

    losses = [split_loss(X, Y, bnmean_running, bnstd_running) for X, Y in [(Xtr, Ytr), (Xdev, Ydev)]]
print(f"训练 {losses[0]:.4f}，验证 {losses[1]:.4f}（滑动统计量）")
L.figure("p3-running", losses)

# %% [markdown]
# <!-- topic p3-loss-log -->
# ## The loss log
#
# The lecture keeps a log of every fix, each stage trained for 200,000 steps. Each stage is one
# command of the package (`makemore train --type mlp --preset STAGE --recipe part3`: the lecture's
# seed, initialization and batches), trained once and read back here; the lines above print each.
# Every stage lands within 0.01 of the lecture. The better initializations gain on val, and BatchNorm
# gains nothing more on a net this shallow: its worth shows in deep nets, next.
# %% [markdown zh]
# <!-- topic p3-loss-log -->
# ## 损失记录
#
# 讲座为每次修正都记了一笔，每个阶段都训练 200,000 步。每个阶段都是本包的一条命令
# （`makemore train --type mlp --preset 阶段 --recipe part3`：讲座的种子、初始化和批次），训练一次后在这里
# 读回；上面几行打印了每条命令。每个阶段都与讲座相差不到 0.01。更好的初始化让验证损失下降，而在这么浅的
# 网络上 BatchNorm 没有带来更多好处：它的价值体现在深层网络上，见下文。

# %%
rows = L.loss_log(L.runs_dir() / "part3", steps=L.steps(None, 300))
print(f"{'stage':16s} {'train':>7s} {'val':>7s}   lecture: {'train':>7s} {'val':>7s}")
for r in rows:
    print(f"{r['stage']:16s} {r['train']:7.4f} {r['val']:7.4f}            {r['lecture_train']:7.4f} {r['lecture_val']:7.4f}")
L.figure("p3-loss-log", [x for r in rows for x in (r["train"], r["val"])])
# %% [code zh]
rows = L.loss_log(L.runs_dir() / "part3", steps=L.steps(None, 300))
print(f"{'阶段':16s} {'训练':>7s} {'验证':>7s}   讲座：{'训练':>7s} {'验证':>7s}")
for r in rows:
    print(f"{r['stage']:16s} {r['train']:7.4f} {r['val']:7.4f}            {r['lecture_train']:7.4f} {r['lecture_val']:7.4f}")
L.figure("p3-loss-log", [x for r in rows for x in (r["train"], r["val"])])

# %% [markdown]
# <!-- topic p3-layers -->
# ## A deep net, written as layers
#
# To go deeper, the lecture writes its pieces as small classes in the style of torch.nn: `Linear`
# (weights divided by √fan_in), `BatchNorm1d` (batch statistics in training, running ones in eval,
# the variance with n − 1 as above), `Tanh`. Each keeps its last output in `.out`, to be inspected
# later. Five hidden layers of 100: 47,024 parameters. Each class is checked against the package's
# layer of the same name, with the same weights.
# %% [markdown zh]
# <!-- topic p3-layers -->
# ## 深层网络，写成一层层的模块
#
# 为了加深网络，讲座仿照 torch.nn 的风格把各部分写成小类：`Linear`（权重除以 √fan_in）、`BatchNorm1d`（训练时
# 用批次统计量，评估时用滑动统计量，方差和上面一样除以 n − 1）、`Tanh`。每个类都把最近一次的输出保存在 `.out`
# 里，供之后观察。五个 100 单元的隐藏层：47,024 个参数。每个类都与本包中同名的层、用同样的权重核对。

# %%
class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in ** 0.5
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
            xmean, xvar = x.mean(0, keepdim=True), x.var(0, keepdim=True)      # var divides by n - 1
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


def deep_net(batchnorm, gain):
    """The lecture's deep net, drawn from its seed: 5 hidden layers of 100, with or without BatchNorm."""
    global g
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    C = torch.randn((vocab_size, 10), generator=g)
    sizes = [30, 100, 100, 100, 100, 100]
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [Linear(fan_in, fan_out, bias=not batchnorm)] + ([BatchNorm1d(fan_out)] if batchnorm else []) + [Tanh()]
    layers += [Linear(100, vocab_size, bias=not batchnorm)] + ([BatchNorm1d(vocab_size)] if batchnorm else [])
    with torch.no_grad():
        if batchnorm:
            layers[-1].gamma *= 0.1                    # the last layer: less confident
        else:
            layers[-1].weight *= 0.1
        for layer in layers[:-1]:
            if isinstance(layer, Linear):
                layer.weight *= gain
    return C, layers


C, layers = deep_net(batchnorm=True, gain=1.0)
L.figure("p3-layers", sum(p.nelement() for p in [C] + [p for layer in layers for p in layer.parameters()]))
x = torch.randn(32, 30)
lin, bn, th = ref.Linear(30, 100, bias=False), ref.BatchNorm1d(100, unbiased=True), ref.Tanh()
with torch.no_grad():
    lin.weight.copy_(layers[0].weight)
    normalized = bn(lin(x))                          # one training step of the package's BatchNorm
    L.check("Linear", layers[0](x), lin(x))
    L.check("BatchNorm1d", layers[1](layers[0].out), normalized, atol=1e-5)
    L.check("Tanh", layers[2](layers[1].out), th(normalized), atol=1e-5)
    L.check("running_var", layers[1].running_var[0], bn.running_var, atol=1e-5)
# %% [code zh]
class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in ** 0.5
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
            xmean, xvar = x.mean(0, keepdim=True), x.var(0, keepdim=True)      # var 除以 n - 1
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


def deep_net(batchnorm, gain):
    """讲座的深层网络，用讲座的种子抽取：5 个 100 单元的隐藏层，带或不带 BatchNorm。"""
    global g
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    C = torch.randn((vocab_size, 10), generator=g)
    sizes = [30, 100, 100, 100, 100, 100]
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [Linear(fan_in, fan_out, bias=not batchnorm)] + ([BatchNorm1d(fan_out)] if batchnorm else []) + [Tanh()]
    layers += [Linear(100, vocab_size, bias=not batchnorm)] + ([BatchNorm1d(vocab_size)] if batchnorm else [])
    with torch.no_grad():
        if batchnorm:
            layers[-1].gamma *= 0.1                    # 最后一层：降低自信
        else:
            layers[-1].weight *= 0.1
        for layer in layers[:-1]:
            if isinstance(layer, Linear):
                layer.weight *= gain
    return C, layers


C, layers = deep_net(batchnorm=True, gain=1.0)
L.figure("p3-layers", sum(p.nelement() for p in [C] + [p for layer in layers for p in layer.parameters()]))
x = torch.randn(32, 30)
lin, bn, th = ref.Linear(30, 100, bias=False), ref.BatchNorm1d(100, unbiased=True), ref.Tanh()
with torch.no_grad():
    lin.weight.copy_(layers[0].weight)
    normalized = bn(lin(x))                          # 本包的 BatchNorm 走一步训练
    L.check("Linear", layers[0](x), lin(x))
    L.check("BatchNorm1d", layers[1](layers[0].out), normalized, atol=1e-5)
    L.check("Tanh", layers[2](layers[1].out), th(normalized), atol=1e-5)
    L.check("running_var", layers[1].running_var[0], bn.running_var, atol=1e-5)

# %% [markdown]
# <!-- topic p3-diagnostics -->
# ## The four diagnostic figures
#
# The lecture trains the deep net for 1,000 steps at a constant rate of 0.1 and then looks at four
# things: the distribution of each tanh layer's outputs (mean, standard deviation, the share above
# 0.97); of their gradients; of each weight matrix's gradient, with its grad:data ratio (how large
# the gradient is next to the weights); and, over the 1,000 steps, each matrix's update:data ratio,
# log10(std(lr · grad) / std(weights)), whose healthy level is about −3 (each step changes the
# weights by about a thousandth). Below, the net without BatchNorm (Kaiming gain 5/3) and with it;
# the statistics are checked against the package's `diagnostics` functions.
# %% [markdown zh]
# <!-- topic p3-diagnostics -->
# ## 四张诊断图
#
# 讲座以恒定的学习率 0.1 把深层网络训练 1,000 步，然后看四样东西：每个 tanh 层输出的分布（均值、标准差、超过
# 0.97 的比例）；它们梯度的分布；每个权重矩阵梯度的分布及其 grad:data 比（梯度相对于权重有多大）；以及在这
# 1,000 步中，每个矩阵的 update:data 比 log10(std(lr · grad) / std(weights))，健康的水平约为 −3（每一步把权重
# 改变千分之一左右）。下面分别是不带 BatchNorm（Kaiming 增益 5/3）和带 BatchNorm 的网络；统计量与本包
# `diagnostics` 中的函数核对。

# %%
def train_deep(C, layers, steps, lr=0.1):
    """The lecture's loop, with the diagnostics' bookkeeping: retain each layer's output gradient,
    and record each step's update:data ratios."""
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.requires_grad = True
    ud = []
    for i in range(steps + 1):                      # the lecture breaks after step 1,000
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        x = C[Xtr[ix]].view(32, -1)
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, Ytr[ix])
        for layer in layers:
            layer.out.retain_grad()
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
    return parameters, ud


def show(layers, parameters, ud, title):
    fig, axes = plt.subplots(1, 4, figsize=(20, 3.5))
    for i, layer in enumerate(layers[:-1]):
        if isinstance(layer, Tanh):
            t = layer.out
            stats = diagnostics.activation_stats(t)
            L.check(f"layer {i} stats", [round(t.mean().item(), 6), round(t.std().item(), 6)],
                    [round(stats["mean"], 6), round(stats["std"], 6)])
            print(f"layer {i:2d}: mean {t.mean():+.2f}, std {t.std():.2f}, saturated {stats['saturated_pct']:.2f}%, "
                  f"gradient std {t.grad.std():.2e}")
            hy, hx = torch.histogram(t.detach(), density=True)
            axes[0].plot(hx[:-1], hy, label=f"layer {i}")
            hy, hx = torch.histogram(t.grad, density=True)
            axes[1].plot(hx[:-1], hy, label=f"layer {i}")
    for i, p in enumerate(parameters):
        if p.ndim == 2:
            ratio = diagnostics.grad_data_ratio(p.grad, p.detach())
            L.check(f"grad:data {tuple(p.shape)}", (p.grad.std() / p.std()).item(), ratio, atol=1e-6)
            hy, hx = torch.histogram(p.grad, density=True)
            axes[2].plot(hx[:-1], hy, label=f"{tuple(p.shape)}: {ratio:.1e}")
            axes[3].plot([u[i] for u in ud], label=f"{tuple(p.shape)}")
    axes[3].plot([0, len(ud)], [-3, -3], "k")
    for ax, name in zip(axes, ["activations", "activation gradients", "weight gradients (grad:data)", "update:data, log10"]):
        ax.set_title(f"{title}: {name}", fontsize=10)
        ax.legend(fontsize=7)
    plt.show()


steps = L.steps(1000, 200)
for batchnorm, gain in [(False, 5 / 3), (True, 1.0)]:
    C, layers = deep_net(batchnorm, gain)
    parameters, ud = train_deep(C, layers, steps)
    show(layers, parameters, ud, "with BatchNorm" if batchnorm else "without BatchNorm")
L.figure("p3-diagnostics", [round(diagnostics.saturation(layer.out), 2) for layer in layers if isinstance(layer, Tanh)])
# %% [code zh]
def train_deep(C, layers, steps, lr=0.1):
    """讲座的训练循环，加上诊断所需的记录：保留每层输出的梯度，并记下每一步的 update:data 比。"""
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.requires_grad = True
    ud = []
    for i in range(steps + 1):                      # 讲座在第 1,000 步之后停下
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        x = C[Xtr[ix]].view(32, -1)
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, Ytr[ix])
        for layer in layers:
            layer.out.retain_grad()
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
    return parameters, ud


def show(layers, parameters, ud, title):
    fig, axes = plt.subplots(1, 4, figsize=(20, 3.5))
    for i, layer in enumerate(layers[:-1]):
        if isinstance(layer, Tanh):
            t = layer.out
            stats = diagnostics.activation_stats(t)
            L.check(f"第 {i} 层统计量", [round(t.mean().item(), 6), round(t.std().item(), 6)],
                    [round(stats["mean"], 6), round(stats["std"], 6)])
            print(f"第 {i:2d} 层：均值 {t.mean():+.2f}，标准差 {t.std():.2f}，饱和 {stats['saturated_pct']:.2f}%，"
                  f"梯度标准差 {t.grad.std():.2e}")
            hy, hx = torch.histogram(t.detach(), density=True)
            axes[0].plot(hx[:-1], hy, label=f"第 {i} 层")
            hy, hx = torch.histogram(t.grad, density=True)
            axes[1].plot(hx[:-1], hy, label=f"第 {i} 层")
    for i, p in enumerate(parameters):
        if p.ndim == 2:
            ratio = diagnostics.grad_data_ratio(p.grad, p.detach())
            L.check(f"grad:data {tuple(p.shape)}", (p.grad.std() / p.std()).item(), ratio, atol=1e-6)
            hy, hx = torch.histogram(p.grad, density=True)
            axes[2].plot(hx[:-1], hy, label=f"{tuple(p.shape)}：{ratio:.1e}")
            axes[3].plot([u[i] for u in ud], label=f"{tuple(p.shape)}")
    axes[3].plot([0, len(ud)], [-3, -3], "k")
    for ax, name in zip(axes, ["激活值", "激活值的梯度", "权重的梯度（grad:data）", "update:data，log10"]):
        ax.set_title(f"{title}：{name}", fontsize=10)
        ax.legend(fontsize=7)
    plt.show()


steps = L.steps(1000, 200)
for batchnorm, gain in [(False, 5 / 3), (True, 1.0)]:
    C, layers = deep_net(batchnorm, gain)
    parameters, ud = train_deep(C, layers, steps)
    show(layers, parameters, ud, "带 BatchNorm" if batchnorm else "不带 BatchNorm")
L.figure("p3-diagnostics", [round(diagnostics.saturation(layer.out), 2) for layer in layers if isinstance(layer, Tanh)])

# %% [markdown]
# <!-- topic p3-gain -->
# ## How much the scale matters, without and with BatchNorm
#
# Without BatchNorm, the gain of the weights decides everything: too small and the activations
# shrink layer by layer towards 0, too large and the tanh units saturate. With BatchNorm the forward
# pass does not depend on the weights' scale at all (each layer's pre-activations are standardized
# anyway): the statistics come out the same for every gain, checked below. What the scale still
# changes is the size of each update relative to the weights: larger weights get relatively
# smaller updates (their gradient shrinks as the weights grow), so the learning rate must be
# retuned with the gain.
# %% [markdown zh]
# <!-- topic p3-gain -->
# ## 尺度有多重要：不带与带 BatchNorm
#
# 不带 BatchNorm 时，权重的增益决定一切：太小，激活值逐层缩向 0；太大，tanh 单元饱和。带 BatchNorm 时，前向
# 计算完全不依赖权重的尺度（每层激活前的值反正都会被标准化）：任何增益下统计量都一样，下面做了核对。尺度仍会
# 改变的，是每次更新相对于权重的大小：权重越大，更新相对越小（权重变大时梯度随之变小），所以改变增益后学习率
# 也要重新调。

# %%
stats = {}
for batchnorm in (False, True):
    for gain in (0.5, 1.0, 5 / 3, 3.0):
        C, layers = deep_net(batchnorm, gain)
        parameters, ud = train_deep(C, layers, 0)
        tanhs = [layer.out for layer in layers if isinstance(layer, Tanh)]
        stats[batchnorm, gain] = torch.tensor([[t.std().item(), diagnostics.saturation(t)] for t in tanhs])
        print(f"{'with' if batchnorm else 'without':7s} BatchNorm, gain {gain:.2f}: layer stds "
              + " ".join(f"{s:.2f}" for s in stats[batchnorm, gain][:, 0].tolist())
              + f" | saturated % of the last {stats[batchnorm, gain][-1, 1]:.1f} | update:data of W1 {ud[0][1]:+.2f}")
L.check("with BatchNorm, gain 0.5 against 3", stats[True, 0.5], stats[True, 3.0], atol=1e-3)
L.check("without BatchNorm, gain 0.5 against 3", stats[False, 0.5], stats[False, 3.0], atol=1e-3, differ=True)
# %% [code zh]
stats = {}
for batchnorm in (False, True):
    for gain in (0.5, 1.0, 5 / 3, 3.0):
        C, layers = deep_net(batchnorm, gain)
        parameters, ud = train_deep(C, layers, 0)
        tanhs = [layer.out for layer in layers if isinstance(layer, Tanh)]
        stats[batchnorm, gain] = torch.tensor([[t.std().item(), diagnostics.saturation(t)] for t in tanhs])
        print(f"{'带' if batchnorm else '不带'} BatchNorm，增益 {gain:.2f}：各层标准差 "
              + " ".join(f"{s:.2f}" for s in stats[batchnorm, gain][:, 0].tolist())
              + f" | 最后一层饱和比例 {stats[batchnorm, gain][-1, 1]:.1f}% | W1 的 update:data {ud[0][1]:+.2f}")
L.check("带 BatchNorm，增益 0.5 对比 3", stats[True, 0.5], stats[True, 3.0], atol=1e-3)
L.check("不带 BatchNorm，增益 0.5 对比 3", stats[False, 0.5], stats[False, 3.0], atol=1e-3, differ=True)

# %% [markdown]
# <!-- topic p3-e01 -->
# ## E01: every weight and bias at zero
#
# The lecture's first exercise asks what happens when every parameter starts at 0. The net trains,
# but only partly. While h = tanh(0) = 0, the gradient of W2 (hᵀ · dlogits) is zero, and so is the
# gradient reaching h (dlogits · W2ᵀ, with W2 = 0), hence W1, b1 and C never move: only b2 learns.
# The net then predicts one distribution for every context, at best how often each character comes
# next: the loss of the character frequencies, which the package's 1-gram count model gives.
# %% [markdown zh]
# <!-- topic p3-e01 -->
# ## E01：所有权重和偏置都为 0
#
# 讲座的第一道练习问：如果每个参数都从 0 开始会怎样？网络能训练，但只训练了一部分。只要 h = tanh(0) = 0，W2 的
# 梯度（hᵀ · dlogits）就为 0，流到 h 的梯度（dlogits · W2ᵀ，而 W2 = 0）也为 0，于是 W1、b1 和 C 永远不动：只有
# b2 在学习。这时网络对所有上下文都预测同一个分布，最好也只是每个字符作为下一个字符出现的频率：其损失就是字符
# 频率的损失，本包的 1 元计数模型给出的正是它。

# %%
params = [torch.zeros(27, 10), torch.zeros(30, 200), torch.zeros(200), torch.zeros(200, 27), torch.zeros(27)]
for p in params:
    p.requires_grad = True
g = torch.Generator().manual_seed(L.LECTURE_SEED)
for i in range(L.steps(5000, 500)):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    loss = F.cross_entropy(forward(params, Xtr[ix])[0], Ytr[ix])
    for p in params:
        p.grad = None
    loss.backward()
    for p in params:
        p.data += -0.1 * p.grad
print("parameters that moved:", [name for name, p in zip(["C", "W1", "b1", "W2", "b2"], params) if p.abs().sum() > 0])
with torch.no_grad():
    trained = F.cross_entropy(forward(params, Xtr)[0], Ytr).item()
unigram = mm.build_model("ngram", vocab_size, data.max_len + 1, n=1, method="add-k", smoothing=0.0).fit(*data.train.examples(1))
print(f"train loss {trained:.4f}; the best any b2 can do (the 1-gram counts): {mm.evaluate(unigram, data.train):.4f}")
# %% [code zh]
params = [torch.zeros(27, 10), torch.zeros(30, 200), torch.zeros(200), torch.zeros(200, 27), torch.zeros(27)]
for p in params:
    p.requires_grad = True
g = torch.Generator().manual_seed(L.LECTURE_SEED)
for i in range(L.steps(5000, 500)):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    loss = F.cross_entropy(forward(params, Xtr[ix])[0], Ytr[ix])
    for p in params:
        p.grad = None
    loss.backward()
    for p in params:
        p.data += -0.1 * p.grad
print("动过的参数：", [name for name, p in zip(["C", "W1", "b1", "W2", "b2"], params) if p.abs().sum() > 0])
with torch.no_grad():
    trained = F.cross_entropy(forward(params, Xtr)[0], Ytr).item()
unigram = mm.build_model("ngram", vocab_size, data.max_len + 1, n=1, method="add-k", smoothing=0.0).fit(*data.train.examples(1))
print(f"训练损失 {trained:.4f}；任何 b2 能达到的最好结果（1 元计数）：{mm.evaluate(unigram, data.train):.4f}")

# %% [markdown]
# <!-- topic p3-e02 -->
# ## E02: folding BatchNorm into the linear layer before it
#
# In eval mode a BatchNorm is a fixed affine map of each feature: y = γ (x − μ) / √(σ² + ε) + β. Its
# input is x = hW + b, so the two fold into one linear layer: W' = W · s and b' = (b − μ) · s + β,
# with s = γ / √(σ² + ε) per output feature. After training, the BatchNorm can be thrown away. Below,
# a small net (Linear, BatchNorm, tanh, twice, then the output layer) is trained for a while, folded,
# and checked to give the same outputs in eval mode.
# %% [markdown zh]
# <!-- topic p3-e02 -->
# ## E02：把 BatchNorm 折叠进它前面的线性层
#
# 在评估模式下，BatchNorm 是对每个特征的固定仿射变换：y = γ (x − μ) / √(σ² + ε) + β。它的输入是 x = hW + b，
# 所以两者可以合成一个线性层：W' = W · s，b' = (b − μ) · s + β，其中 s = γ / √(σ² + ε)，每个输出特征一个。
# 训练完之后，BatchNorm 就可以扔掉了。下面把一个小网络（Linear、BatchNorm、tanh，两次，再接输出层）训练一会儿，
# 折叠，然后核对它在评估模式下给出同样的输出。

# %%
def fold(W, b, gamma, beta, mean, var, eps):
    s = gamma / torch.sqrt(var + eps)
    return W * s, (b - mean) * s + beta


torch.manual_seed(0)
net = [ref.Linear(30, 64), ref.BatchNorm1d(64), ref.Tanh(), ref.Linear(64, 64), ref.BatchNorm1d(64), ref.Tanh(),
       ref.Linear(64, vocab_size)]
C = torch.randn(vocab_size, 10, requires_grad=True)
opt = torch.optim.SGD([C] + [p for m in net for p in m.parameters()], lr=0.1)
for i in range(L.steps(2000, 200)):
    ix = torch.randint(0, Xtr.shape[0], (32,))
    x = C[Xtr[ix]].view(32, -1)
    for m in net:
        x = m(x)
    opt.zero_grad()
    F.cross_entropy(x, Ytr[ix]).backward()
    opt.step()
with torch.no_grad():
    for m in net:
        m.eval()
    x = C[Xdev[:500]].view(500, -1)
    want = x
    for m in net:
        want = m(want)
    folded = []
    for lin, bn in [(net[0], net[1]), (net[3], net[4])]:
        folded.append(fold(lin.weight, lin.bias, bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps))
    h = torch.tanh(x @ folded[0][0] + folded[0][1])
    h = torch.tanh(h @ folded[1][0] + folded[1][1])
    L.check("folded net, eval mode", net[6](h), want, atol=1e-4)
# %% [code zh]
def fold(W, b, gamma, beta, mean, var, eps):
    s = gamma / torch.sqrt(var + eps)
    return W * s, (b - mean) * s + beta


torch.manual_seed(0)
net = [ref.Linear(30, 64), ref.BatchNorm1d(64), ref.Tanh(), ref.Linear(64, 64), ref.BatchNorm1d(64), ref.Tanh(),
       ref.Linear(64, vocab_size)]
C = torch.randn(vocab_size, 10, requires_grad=True)
opt = torch.optim.SGD([C] + [p for m in net for p in m.parameters()], lr=0.1)
for i in range(L.steps(2000, 200)):
    ix = torch.randint(0, Xtr.shape[0], (32,))
    x = C[Xtr[ix]].view(32, -1)
    for m in net:
        x = m(x)
    opt.zero_grad()
    F.cross_entropy(x, Ytr[ix]).backward()
    opt.step()
with torch.no_grad():
    for m in net:
        m.eval()
    x = C[Xdev[:500]].view(500, -1)
    want = x
    for m in net:
        want = m(want)
    folded = []
    for lin, bn in [(net[0], net[1]), (net[3], net[4])]:
        folded.append(fold(lin.weight, lin.bias, bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps))
    h = torch.tanh(x @ folded[0][0] + folded[0][1])
    h = torch.tanh(h @ folded[1][0] + folded[1][1])
    L.check("折叠后的网络，评估模式", net[6](h), want, atol=1e-4)

# %% [markdown]
# ## The lecture's exercises
#
# - **p3-e01**: all-zero initialization: which gradients are not zero, and what the net trains down to.
# - **p3-e02**: fold a BatchNorm into the Linear before it, checked against the package's layers in eval mode.
#
# ```
# makemore exercise show p3-e02 --write e02.py
# makemore exercise check p3-e02 e02.py
# ```
#
# The deep net's diagnostics are also one command: `makemore diagnose --type bnmlp` (and `--no-batchnorm`).
# %% [markdown zh]
# ## 讲座的练习
#
# - **p3-e01**：全零初始化：哪些梯度不为 0，网络最终训练到什么程度。
# - **p3-e02**：把 BatchNorm 折叠进它前面的 Linear，在评估模式下与本包的层核对。
#
# ```
# makemore exercise show p3-e02 --write e02.py
# makemore exercise check p3-e02 e02.py
# ```
#
# 深层网络的诊断也可以用一条命令完成：`makemore diagnose --type bnmlp`（以及 `--no-batchnorm`）。
