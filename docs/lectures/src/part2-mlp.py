# %% [markdown]
# # Part 2: the MLP (Bengio et al. 2003), step by step
#
# Counting contexts longer than one character blows up (27ⁿ cells, Part 1), so the second lecture
# follows Bengio, Ducharme, Vincent and Jauvin (2003), "A Neural Probabilistic Language Model":
# give every character a small learned vector (an embedding), concatenate the vectors of the last
# three characters, and let a hidden layer of tanh units predict the next one. Every step is
# written out in plain torch and checked against the package's `mlp` model, which is this same
# net (`--init randn` draws its weights in the lecture's order, from the lecture's seed).
# `MAKEMORE_LECTURE_FAST=1` shortens the trainings.
# %% [markdown zh]
# # 第二部分：多层感知机 MLP（Bengio 等，2003），一步一步来
#
# 统计长于一个字符的上下文会爆炸（27ⁿ 格，见第一讲），所以第二讲沿用 Bengio、Ducharme、Vincent 和
# Jauvin（2003）的论文《A Neural Probabilistic Language Model》：给每个字符一个学出来的小向量（嵌入），
# 把最后三个字符的向量拼接起来，由一层 tanh 隐藏单元预测下一个字符。每一步都用朴素的 torch 写出，并与
# 本包的 `mlp` 模型核对，它就是这个网络（`--init randn` 按讲座的顺序、用讲座的种子抽取权重）。设
# `MAKEMORE_LECTURE_FAST=1` 会缩短训练。

# %%
import random
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

L.plot_style()
words = open(bundled_names()).read().splitlines()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
data = mm.build_dataset(mm.read_words())            # the package: vocabulary and the 80/10/10 split
L.check("stoi", stoi, {c: i for i, c in enumerate(data.vocab.chars, start=1)} | {".": 0})
# %% [code zh]
import random
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

L.plot_style()
words = open(bundled_names()).read().splitlines()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
data = mm.build_dataset(mm.read_words())            # 本包：词表与 80/10/10 划分
L.check("stoi", stoi, {c: i for i, c in enumerate(data.vocab.chars, start=1)} | {".": 0})

# %% [markdown]
# <!-- topic p2-dataset -->
# ## The dataset: every context of three characters, and the character after it
#
# Slide a window of `block_size = 3` characters over each name, starting with `...`: each position
# gives one example, the window (X) and the next character (Y). "emma" gives five.
# %% [markdown zh]
# <!-- topic p2-dataset -->
# ## 数据集：每个三字符上下文，以及它后面的字符
#
# 在每个名字上滑动一个 `block_size = 3` 个字符的窗口，从 `...` 开始：每个位置给出一个样本，窗口（X）
# 和下一个字符（Y）。"emma" 给出五个。

# %%
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]            # crop and append
    return torch.tensor(X), torch.tensor(Y)


for context, ix in zip(*build_dataset(["emma"])):
    print("".join(itos[i.item()] for i in context), "--->", itos[ix.item()])
X, Y = build_dataset(words)
print(X.shape, X.dtype, Y.shape, Y.dtype)
# %% [code zh]
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]            # 裁掉最旧的，追加最新的
    return torch.tensor(X), torch.tensor(Y)


for context, ix in zip(*build_dataset(["emma"])):
    print("".join(itos[i.item()] for i in context), "--->", itos[ix.item()])
X, Y = build_dataset(words)
print(X.shape, X.dtype, Y.shape, Y.dtype)

# %% [markdown]
# <!-- topic p2-embedding -->
# ## The embedding table C
#
# The lecture starts small: each of the 27 characters gets 2 numbers. Looking a character up,
# `C[5]`, is the same as multiplying its one-hot vector by C (the first layer of a net, without a
# bias or a non-linearity), only cheaper; and indexing with a whole tensor, `C[X]`, looks up every
# entry at once: (228146, 3) indices give (228146, 3, 2) numbers. The small net's weights are drawn
# in the lecture's order from its seed; the package's `mlp` with `init="randn"` draws the same.
# %% [markdown zh]
# <!-- topic p2-embedding -->
# ## 嵌入表 C
#
# 讲座从小处开始：27 个字符每个分到 2 个数。查一个字符 `C[5]`，与用它的 one-hot 向量去乘 C（网络的第一层，
# 没有偏置和非线性）结果相同，只是更省事；用整个张量做下标 `C[X]` 会一次查出所有元素：(228146, 3) 个下标
# 得到 (228146, 3, 2) 个数。这个小网络的权重按讲座的顺序、用讲座的种子抽取；本包 `init="randn"` 的 `mlp`
# 抽出的完全一样。

# %%
g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((27, 2), generator=g)
W1 = torch.randn((6, 100), generator=g)
b1 = torch.randn(100, generator=g)
W2 = torch.randn((100, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]

torch.manual_seed(L.LECTURE_SEED)
small = mm.build_model("mlp", 27, data.max_len + 1, n_embd=2, n_hidden=100, init="randn")   # the package's net
L.check("C", C, small.wte.weight)
L.check("W1", W1, small.hidden.weight.T)            # nn.Linear stores W1 transposed
L.check("C[5] = one_hot(5) @ C", C[5], F.one_hot(torch.tensor(5), num_classes=27).float() @ C)
emb = C[X]
print(emb.shape)
L.check("C[X][13, 2] = C[X[13, 2]]", emb[13, 2], C[X[13, 2]])
# %% [code zh]
g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((27, 2), generator=g)
W1 = torch.randn((6, 100), generator=g)
b1 = torch.randn(100, generator=g)
W2 = torch.randn((100, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]

torch.manual_seed(L.LECTURE_SEED)
small = mm.build_model("mlp", 27, data.max_len + 1, n_embd=2, n_hidden=100, init="randn")   # 本包的网络
L.check("C", C, small.wte.weight)
L.check("W1", W1, small.hidden.weight.T)            # nn.Linear 存的是 W1 的转置
L.check("C[5] = one_hot(5) @ C", C[5], F.one_hot(torch.tensor(5), num_classes=27).float() @ C)
emb = C[X]
print(emb.shape)
L.check("C[X][13, 2] = C[X[13, 2]]", emb[13, 2], C[X[13, 2]])

# %% [markdown]
# <!-- topic p2-view -->
# ## Concatenating the three embeddings: `cat`, `unbind`, or `view`
#
# The hidden layer wants one row of 3 × 2 = 6 numbers per example. `torch.cat` of the three slices
# works, `torch.cat(torch.unbind(emb, 1), 1)` works for any block size, and both copy the data into
# new memory. `emb.view(-1, 6)` gives the same numbers with no copy at all: a tensor is one flat
# block of storage plus a shape and strides that say how to read it, and `view` only changes those.
# %% [markdown zh]
# <!-- topic p2-view -->
# ## 把三个嵌入拼起来：`cat`、`unbind`，还是 `view`
#
# 隐藏层要求每个样本一行 3 × 2 = 6 个数。用 `torch.cat` 拼接三个切片可以，`torch.cat(torch.unbind(emb, 1), 1)`
# 对任意块长都可以，但两者都会把数据复制到新的内存里。`emb.view(-1, 6)` 得到同样的数，却完全不复制：张量就是
# 一块平铺的存储，加上说明如何读取它的形状和步长，`view` 只改变这两样。

# %%
by_cat = torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1)
by_unbind = torch.cat(torch.unbind(emb, 1), 1)
by_view = emb.view(-1, 6)
L.check("cat == view", by_cat, by_view)
L.check("unbind == view", by_unbind, by_view)
print("view shares emb's storage:", by_view.data_ptr() == emb.data_ptr(), "; cat made a copy:", by_cat.data_ptr() != emb.data_ptr())
a = torch.arange(18)
print(a.view(3, 3, 2).shape, a.view(9, 2).stride(), a.view(3, 6).stride(), "same storage:",
      a.view(3, 6).untyped_storage().data_ptr() == a.untyped_storage().data_ptr())
# %% [code zh]
by_cat = torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1)
by_unbind = torch.cat(torch.unbind(emb, 1), 1)
by_view = emb.view(-1, 6)
L.check("cat == view", by_cat, by_view)
L.check("unbind == view", by_unbind, by_view)
print("view 与 emb 共用存储：", by_view.data_ptr() == emb.data_ptr(), "；cat 复制了一份：", by_cat.data_ptr() != emb.data_ptr())
a = torch.arange(18)
print(a.view(3, 3, 2).shape, a.view(9, 2).stride(), a.view(3, 6).stride(), "存储相同：",
      a.view(3, 6).untyped_storage().data_ptr() == a.untyped_storage().data_ptr())

# %% [markdown]
# <!-- topic p2-small -->
# ## The hidden layer, the output, and the loss of the small net
#
# `emb.view(-1, 6) @ W1 + b1` adds b1 (100,) to every row of the (N, 100) product: broadcasting
# aligns it from the right and stretches it down the rows, which is what we want. Then tanh, the
# output layer, the softmax and the negative log-likelihood, as in Part 1. With every weight drawn
# from N(0, 1) the net is very sure of itself and often wrong: its loss starts far above the
# −ln(1/27) = 3.30 of a uniform guess. The lecture, which at this point has the 32 examples of the
# first five names only, prints their loss: the same number comes out of the same weights here.
# %% [markdown zh]
# <!-- topic p2-small -->
# ## 隐藏层、输出层，以及这个小网络的损失
#
# `emb.view(-1, 6) @ W1 + b1` 把 b1 (100,) 加到 (N, 100) 乘积的每一行：广播从右往左对齐，沿各行拉伸，正是
# 我们想要的。然后是 tanh、输出层、softmax 和负对数似然，与第一讲相同。每个权重都取自 N(0, 1)，网络过于
# 自信、又常常出错：它的初始损失远高于均匀猜测的 −ln(1/27) = 3.30。讲座此时只用了前五个名字的 32 个样本，
# 打印的是它们的损失：同样的权重在这里算出同一个数。

# %%
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)            # (228146, 100)
logits = h @ W2 + b2                                 # (228146, 27)
counts = logits.exp()
prob = counts / counts.sum(1, keepdim=True)
loss = -prob[torch.arange(len(Y)), Y].log().mean()
print(sum(p.nelement() for p in parameters), "parameters", "loss over every example:", round(loss.item(), 4))
L.check("logits", logits, small.next_logits(X), atol=1e-4)
first = -prob[torch.arange(32), Y[:32]].log().mean()         # the 32 examples of the first five names: the lecture's data at this point
L.figure("p2-small", first.item())
# %% [code zh]
h = torch.tanh(emb.view(-1, 6) @ W1 + b1)            # (228146, 100)
logits = h @ W2 + b2                                 # (228146, 27)
counts = logits.exp()
prob = counts / counts.sum(1, keepdim=True)
loss = -prob[torch.arange(len(Y)), Y].log().mean()
print(sum(p.nelement() for p in parameters), "个参数", "全部样本上的损失：", round(loss.item(), 4))
L.check("logits", logits, small.next_logits(X), atol=1e-4)
first = -prob[torch.arange(32), Y[:32]].log().mean()         # 前五个名字的 32 个样本：讲座此时用的数据
L.figure("p2-small", first.item())

# %% [markdown]
# <!-- topic p2-cross-entropy -->
# ## `F.cross_entropy` instead of softmax, log and pick
#
# The same number in one call, and preferred for three reasons: it never builds `counts` and `prob`
# (two more tensors the size of the logits, in the forward and again in the backward); its backward
# is one simple expression (Part 4 derives it); and it subtracts each row's maximum logit before
# exponentiating, so a confident net's large logits give a number instead of inf and nan.
# %% [markdown zh]
# <!-- topic p2-cross-entropy -->
# ## 用 `F.cross_entropy` 代替 softmax、取对数、挑选
#
# 一次调用得到同一个数，更推荐它有三个原因：它不生成 `counts` 和 `prob`（前向和反向都各多出两个与 logits
# 一样大的张量）；它的反向传播是一个简单的表达式（第四讲会推导）；它在取指数前先减去每行的最大 logit，
# 所以很有把握的网络给出的大 logits 也能得到一个数，而不是 inf 和 nan。

# %%
L.check("F.cross_entropy", F.cross_entropy(logits, Y), loss, atol=1e-5)
big = torch.tensor([[-100.0, -3.0, 0.0, 100.0]])
naive = -(big.exp() / big.exp().sum(1, keepdim=True))[0, 3].log()
print("by hand:", naive.item(), "  F.cross_entropy:", F.cross_entropy(big, torch.tensor([3])).item())
# %% [code zh]
L.check("F.cross_entropy", F.cross_entropy(logits, Y), loss, atol=1e-5)
big = torch.tensor([[-100.0, -3.0, 0.0, 100.0]])
naive = -(big.exp() / big.exp().sum(1, keepdim=True))[0, 3].log()
print("手写：", naive.item(), "  F.cross_entropy：", F.cross_entropy(big, torch.tensor([3])).item())

# %% [markdown]
# <!-- topic p2-overfit -->
# ## Overfitting one batch of 32
#
# A first sanity check of any training loop: 3,481 parameters can nearly memorize 32 examples.
# The loss falls fast, but not to zero: some contexts of the batch (`...` above all) are followed by
# different characters in different names, and no net can be sure of both.
# %% [markdown zh]
# <!-- topic p2-overfit -->
# ## 在一个 32 样本的批次上过拟合
#
# 任何训练循环的第一项检查：3,481 个参数几乎可以记住 32 个样本。损失下降得很快，但降不到 0：这个批次里有些
# 上下文（尤其是 `...`）在不同的名字里后面跟着不同的字符，没有哪个网络能同时对两者都有把握。

# %%
for p in parameters:
    p.requires_grad = True
Xb, Yb = X[:32], Y[:32]
for step in range(L.steps(1000, 200)):
    emb = C[Xb]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)
    for p in parameters:
        p.grad = None
    loss.backward()
    for p in parameters:
        p.data += -0.1 * p.grad
print("loss on the batch:", loss.item())
print("the contexts ... are followed by", sorted({itos[y.item()] for x, y in zip(Xb, Yb) if x.tolist() == [0, 0, 0]}))
# %% [code zh]
for p in parameters:
    p.requires_grad = True
Xb, Yb = X[:32], Y[:32]
for step in range(L.steps(1000, 200)):
    emb = C[Xb]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)
    for p in parameters:
        p.grad = None
    loss.backward()
    for p in parameters:
        p.data += -0.1 * p.grad
print("这个批次上的损失：", loss.item())
print("上下文 ... 后面跟着", sorted({itos[y.item()] for x, y in zip(Xb, Yb) if x.tolist() == [0, 0, 0]}))

# %% [markdown]
# <!-- topic p2-lr -->
# ## Minibatches, and finding a learning rate
#
# A gradient from 32 random examples is a noisy estimate of the full gradient, but it costs 1/7,000
# of it: many rough steps beat a few exact ones. To choose the step size, the lecture sweeps it: one
# step at each of 1,000 rates spaced evenly in the exponent from 10⁻³ to 10⁰, on a fresh net, and
# plots the loss against the exponent. The loss falls slowly at the smallest rates, fastest around
# 10⁻¹, and above that it stops improving and grows noisier: the lecture reads 0.1 off this figure.
# The package's `makemore lr-find` runs the same sweep on the package's default net and suggests a
# number by one rule (half the rate where the smoothed loss is lowest): 0.119, the figure in the
# README.
# %% [markdown zh]
# <!-- topic p2-lr -->
# ## 小批量，以及如何找学习率
#
# 用 32 个随机样本算出的梯度，是整体梯度的一个带噪估计，但代价只有后者的 1/7,000：很多步粗略的更新胜过
# 几步精确的更新。为了选定步长，讲座做了一次扫描：在一个新网络上，从 10⁻³ 到 10⁰ 按指数均匀取 1,000 个
# 学习率，每个学习率走一步，然后画出损失随指数的变化。学习率最小时损失下降很慢，在 10⁻¹ 附近下降最快，
# 再往上就不再改善、而且噪声变大：讲座从这张图上读出 0.1。本包的 `makemore lr-find` 在本包的默认网络上做
# 同样的扫描，并按一条规则给出建议值（平滑后损失最低处学习率的一半）：0.119，就是 README 里那张图上的数。

# %%
random.seed(42)
random.shuffle(words)
n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
Xte, Yte = build_dataset(words[n2:])

g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((27, 10), generator=g)
W1 = torch.randn((30, 200), generator=g)
b1 = torch.randn(200, generator=g)
W2 = torch.randn((200, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True
lre = torch.linspace(-3, 0, 1000)
lrs = 10 ** lre
lossi = []
for i in range(1000):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    for p in parameters:
        p.data += -lrs[i] * p.grad
    lossi.append(loss.item())
plt.figure(figsize=(7, 3.5))
plt.plot(lre, lossi)
plt.xlabel("log10 of the learning rate")
plt.ylabel("loss of the step")
plt.show()
# %% [code zh]
random.seed(42)
random.shuffle(words)
n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
Xte, Yte = build_dataset(words[n2:])

g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((27, 10), generator=g)
W1 = torch.randn((30, 200), generator=g)
b1 = torch.randn(200, generator=g)
W2 = torch.randn((200, 27), generator=g)
b2 = torch.randn(27, generator=g)
parameters = [C, W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True
lre = torch.linspace(-3, 0, 1000)
lrs = 10 ** lre
lossi = []
for i in range(1000):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    for p in parameters:
        p.data += -lrs[i] * p.grad
    lossi.append(loss.item())
plt.figure(figsize=(7, 3.5))
plt.plot(lre, lossi)
plt.xlabel("学习率的 log10")
plt.ylabel("这一步的损失")
plt.show()

# %% [markdown]
# The package's sweep, on its default MLP, with the one rule it applies everywhere
# (`makemore lr-find --type mlp` prints the same):
# %% [markdown zh]
# 本包的扫描，在它的默认 MLP 上，用它处处采用的同一条规则（`makemore lr-find --type mlp` 打印的是同样的结果）：

# %%
from makemore.diagnostics import lr_sweep
from makemore.inspection import fresh_model

model, _ = fresh_model("mlp")                        # what `makemore lr-find --type mlp` sweeps: the default MLP, seed 1337
sweep = lr_sweep(model, data, steps=L.steps(1000, 100))
print(f"suggested: {sweep['suggested_lr']:.3g} (half of {sweep['min_loss_lr']:.3g}, where the smoothed loss is lowest)")
L.figure("p2-lr", round(sweep["suggested_lr"], 3))
# %% [code zh]
from makemore.diagnostics import lr_sweep
from makemore.inspection import fresh_model

model, _ = fresh_model("mlp")                        # `makemore lr-find --type mlp` 扫描的对象：默认 MLP，种子 1337
sweep = lr_sweep(model, data, steps=L.steps(1000, 100))
print(f"建议值：{sweep['suggested_lr']:.3g}（平滑后损失最低处 {sweep['min_loss_lr']:.3g} 的一半）")
L.figure("p2-lr", round(sweep["suggested_lr"], 3))

# %% [markdown]
# <!-- topic p2-split -->
# ## Train, dev and test
#
# A net big enough can memorize its training data, and its training loss then says nothing about
# new names. So the names are shuffled (`random.seed(42)`) and cut 80/10/10: train to fit the
# parameters, dev (the package calls it val) to choose the settings, test to report once at the end.
# The package's split is this one, example for example.
# %% [markdown zh]
# <!-- topic p2-split -->
# ## 训练集、开发集与测试集
#
# 足够大的网络能记住训练数据，这时它的训练损失对新名字毫无意义。所以把名字打乱（`random.seed(42)`）并按
# 80/10/10 切开：训练集用来拟合参数，开发集（本包称为 val）用来选择设置，测试集只在最后报告一次。本包的划分
# 就是这一个，逐个样本都相同。

# %%
print(Xtr.shape, Xdev.shape, Xte.shape)
for name, (Xs, Ys) in [("train", (Xtr, Ytr)), ("val", (Xdev, Ydev)), ("test", (Xte, Yte))]:
    ref_X, ref_Y = data.split(name).examples(3)
    L.check(f"X {name}", Xs, ref_X.long())
    L.check(f"Y {name}", Ys, ref_Y.long())

# %% [markdown]
# <!-- topic p2-300 -->
# ## Scaling up: 300 hidden units on 2-dimensional embeddings
#
# A bigger hidden layer, the embeddings still of 2: 10,281 parameters. The lecture finds train and
# dev close together (no overfitting yet) and barely better than the 100-unit net: the 2 numbers per
# character are the bottleneck, not the hidden layer. The lecture trained it by hand in a few
# stretches; here it gets the lecture's final schedule (200,000 minibatches of 32 from the lecture's
# seed, rate 0.1, then 0.01 for the second half), so it is a little better than the notes' figures.
# %% [markdown zh]
# <!-- topic p2-300 -->
# ## 扩大规模：2 维嵌入上的 300 个隐藏单元
#
# 更大的隐藏层，嵌入仍然是 2 维：10,281 个参数。讲座发现训练和开发损失很接近（还没有过拟合），而且几乎不比
# 100 个单元的网络好：瓶颈是每个字符只有 2 个数，而不是隐藏层。讲座分几段手动训练它；这里采用讲座最终的训练
# 方案（从讲座的种子出发，200,000 个 32 样本的小批量，学习率 0.1，后一半改为 0.01），所以比笔记里的数字稍好一些。

# %%
def train_mlp(n_embd, n_hidden, steps, decay_at, seed=L.LECTURE_SEED):
    """The lecture's MLP trained with minibatches of 32; returns its parameters and log10 losses."""
    g = torch.Generator().manual_seed(seed)
    C = torch.randn((27, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g)
    b1 = torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        emb = C[Xtr[ix]]                                          # (32, 3, n_embd)
        h = torch.tanh(emb.view(-1, n_embd * block_size) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < decay_at else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    return parameters, lossi


@torch.no_grad()
def split_loss(parameters, Xs, Ys):
    C, W1, b1, W2, b2 = parameters
    h = torch.tanh(C[Xs].view(Xs.shape[0], -1) @ W1 + b1)
    return F.cross_entropy(h @ W2 + b2, Ys).item()


steps = L.steps(200_000, 1_000)
p300, _ = train_mlp(2, 300, steps, decay_at=steps // 2)
print(sum(p.nelement() for p in p300), "parameters;", f"train {split_loss(p300, Xtr, Ytr):.4f}, dev {split_loss(p300, Xdev, Ydev):.4f}")
L.figure("p2-300", [split_loss(p300, Xtr, Ytr), split_loss(p300, Xdev, Ydev)])
# %% [code zh]
def train_mlp(n_embd, n_hidden, steps, decay_at, seed=L.LECTURE_SEED):
    """用 32 个样本的小批量训练讲座的 MLP；返回参数和 log10 损失。"""
    g = torch.Generator().manual_seed(seed)
    C = torch.randn((27, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g)
    b1 = torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        emb = C[Xtr[ix]]                                          # (32, 3, n_embd)
        h = torch.tanh(emb.view(-1, n_embd * block_size) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < decay_at else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    return parameters, lossi


@torch.no_grad()
def split_loss(parameters, Xs, Ys):
    C, W1, b1, W2, b2 = parameters
    h = torch.tanh(C[Xs].view(Xs.shape[0], -1) @ W1 + b1)
    return F.cross_entropy(h @ W2 + b2, Ys).item()


steps = L.steps(200_000, 1_000)
p300, _ = train_mlp(2, 300, steps, decay_at=steps // 2)
print(sum(p.nelement() for p in p300), "个参数；", f"训练 {split_loss(p300, Xtr, Ytr):.4f}，开发 {split_loss(p300, Xdev, Ydev):.4f}")
L.figure("p2-300", [split_loss(p300, Xtr, Ytr), split_loss(p300, Xdev, Ydev)])

# %% [markdown]
# <!-- topic p2-embeddings -->
# ## What the 2-dimensional embeddings learned
#
# With 2 numbers per character the table can be drawn. Characters the net treats alike sit close
# together; the closest pairs are printed below the figure, so you can compare them with it.
# %% [markdown zh]
# <!-- topic p2-embeddings -->
# ## 2 维嵌入学到了什么
#
# 每个字符只有 2 个数，整张表可以画出来。网络对待方式相近的字符挨得近；图下面打印了距离最近的几对，可以
# 和图对照着看。

# %%
C2 = p300[0].detach()
plt.figure(figsize=(6, 6))
plt.scatter(C2[:, 0], C2[:, 1], s=200)
for i in range(27):
    plt.text(C2[i, 0].item(), C2[i, 1].item(), itos[i], ha="center", va="center", color="white")
plt.grid(alpha=0.3)
plt.title("the 27 characters' embeddings")
plt.show()
dist = torch.cdist(C2, C2) + torch.eye(27) * 1e9
pairs = sorted(((dist[i, j].item(), itos[i], itos[j]) for i in range(27) for j in range(i + 1, 27)))[:6]
print("closest pairs:", ", ".join(f"{a}{b}" for _, a, b in pairs))
print("farthest from the rest:", ", ".join(itos[i] for i in dist.clamp(max=1e8).mean(1).argsort(descending=True)[:3].tolist()))
# %% [code zh]
C2 = p300[0].detach()
plt.figure(figsize=(6, 6))
plt.scatter(C2[:, 0], C2[:, 1], s=200)
for i in range(27):
    plt.text(C2[i, 0].item(), C2[i, 1].item(), itos[i], ha="center", va="center", color="white")
plt.grid(alpha=0.3)
plt.title("27 个字符的嵌入")
plt.show()
dist = torch.cdist(C2, C2) + torch.eye(27) * 1e9
pairs = sorted(((dist[i, j].item(), itos[i], itos[j]) for i in range(27) for j in range(i + 1, 27)))[:6]
print("距离最近的几对：", ", ".join(f"{a}{b}" for _, a, b in pairs))
print("离其余字符最远的：", ", ".join(itos[i] for i in dist.clamp(max=1e8).mean(1).argsort(descending=True)[:3].tolist()))

# %% [markdown]
# <!-- topic p2-final -->
# ## The lecture's final net: 10-dimensional embeddings, 200 units, 200,000 steps
#
# 11,897 parameters, trained as the lecture's last run: 200,000 minibatches of 32, rate 0.1, then
# 0.01 for the second half. The figure is the lecture's: the log10 of each step's loss, a thick band
# because every batch is another sample. The train and dev losses are of the final weights, as the
# lecture's are (the lecture drew its batches unseeded, on a split that differs from the one used
# here by a few hundred examples, so expect the same figures to within a few hundredths). Beside
# them, the package's default `mlp`, trained by its default recipe (AdamW, larger batches, a cosine
# decay) and scored on its best checkpoint by val: the better number.
# %% [markdown zh]
# <!-- topic p2-final -->
# ## 讲座最后的网络：10 维嵌入，200 个单元，200,000 步
#
# 11,897 个参数，按讲座最后一次的方式训练：200,000 个 32 样本的小批量，学习率 0.1，后一半改为 0.01。图就是
# 讲座里那张：每一步损失的 log10，因为每个批次都是另一份样本，所以是一条粗带。训练和开发损失取自最终的
# 权重，与讲座一致（讲座抽批次时没有设种子，所用的划分与这里的相差几百个样本，所以预期只能在百分之几以内
# 吻合）。旁边是本包默认的 `mlp`，按它的默认配方训练（AdamW、更大的批次、余弦衰减），用验证集上最好的
# 检查点打分：更好的数字。

# %%
steps = L.steps(200_000, 2_000)
final, lossi = train_mlp(10, 200, steps, decay_at=steps // 2)
plt.figure(figsize=(7, 3.5))
plt.plot(lossi, linewidth=0.3)
plt.xlabel("step")
plt.ylabel("log10 loss of the batch")
plt.show()
ours = [split_loss(final, Xtr, Ytr), split_loss(final, Xdev, Ydev)]
print(sum(p.nelement() for p in final), "parameters;", f"train {ours[0]:.4f}, dev {ours[1]:.4f}")
L.figure("p2-final", ours)
run = L.trained(L.runs_dir() / "part2" / "mlp", weights="best", type="mlp", **({"max_steps": 300} if L.fast() else {}))
print("the package's mlp:", {k: round(v, 4) for k, v in run.evaluate(("train", "val")).items()})
# %% [code zh]
steps = L.steps(200_000, 2_000)
final, lossi = train_mlp(10, 200, steps, decay_at=steps // 2)
plt.figure(figsize=(7, 3.5))
plt.plot(lossi, linewidth=0.3)
plt.xlabel("步数")
plt.ylabel("批次损失的 log10")
plt.show()
ours = [split_loss(final, Xtr, Ytr), split_loss(final, Xdev, Ydev)]
print(sum(p.nelement() for p in final), "个参数；", f"训练 {ours[0]:.4f}，开发 {ours[1]:.4f}")
L.figure("p2-final", ours)
run = L.trained(L.runs_dir() / "part2" / "mlp", weights="best", type="mlp", **({"max_steps": 300} if L.fast() else {}))
print("本包的 mlp：", {k: round(v, 4) for k, v in run.evaluate(("train", "val")).items()})

# %% [markdown]
# <!-- topic p2-sample -->
# ## Sampling from the MLP
#
# Start from `...`, look up the three embeddings, run the net, draw the next character from the
# softmax, slide the window, until `.` comes out.
# %% [markdown zh]
# <!-- topic p2-sample -->
# ## 从 MLP 采样
#
# 从 `...` 出发，查出三个嵌入，跑一遍网络，从 softmax 里抽出下一个字符，滑动窗口，直到抽到 `.`。

# %%
C, W1, b1, W2, b2 = (p.detach() for p in final)
g = torch.Generator().manual_seed(L.LECTURE_SEED + 10)
for _ in range(12):
    out, context = [], [0] * block_size
    while True:
        h = torch.tanh(C[torch.tensor([context])].view(1, -1) @ W1 + b1)
        ix = torch.multinomial(F.softmax(h @ W2 + b2, dim=1), num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        if ix == 0:
            break
        out.append(itos[ix])
    print("".join(out))

# %% [markdown]
# <!-- topic p2-e02 -->
# ## E02: the loss at initialization
#
# A net that knows nothing should say so: a uniform prediction over 27 characters has loss
# −ln(1/27) = 3.2958. The lecture's net starts far above it because its output layer is drawn at
# full scale. Shrinking W2 (× 0.01) and zeroing b2 makes the initial logits nearly equal, and the
# initial loss nearly uniform, while the hidden layer stays alive (W1 is not zero).
# %% [markdown zh]
# <!-- topic p2-e02 -->
# ## E02：初始化时的损失
#
# 什么都不知道的网络就应该表现得什么都不知道：对 27 个字符做均匀预测，损失是 −ln(1/27) = 3.2958。讲座的
# 网络起点远高于它，因为输出层是按完整尺度抽取的。把 W2 缩小（× 0.01）、b2 置零，初始的 logits 就几乎相等，
# 初始损失也几乎等于均匀预测的损失，而隐藏层仍然有效（W1 不为 0）。

# %%
from makemore.exercises.solutions import part2 as solution

uniform = -torch.log(torch.tensor(1 / 27)).item()
first = [t.detach() for t in train_mlp(10, 200, 0, 0)[0]]
better = solution.init(torch.Generator().manual_seed(L.LECTURE_SEED))
print(f"uniform {uniform:.4f}; the lecture's init {split_loss(first, Xtr, Ytr):.4f}; "
      f"W2 * 0.01, b2 = 0: {split_loss([better[k] for k in 'C W1 b1 W2 b2'.split()], Xtr, Ytr):.4f}")
L.figure("p2-e02", uniform)
# %% [code zh]
from makemore.exercises.solutions import part2 as solution

uniform = -torch.log(torch.tensor(1 / 27)).item()
first = [t.detach() for t in train_mlp(10, 200, 0, 0)[0]]
better = solution.init(torch.Generator().manual_seed(L.LECTURE_SEED))
print(f"均匀预测 {uniform:.4f}；讲座的初始化 {split_loss(first, Xtr, Ytr):.4f}；"
      f"W2 * 0.01、b2 = 0：{split_loss([better[k] for k in 'C W1 b1 W2 b2'.split()], Xtr, Ytr):.4f}")
L.figure("p2-e02", uniform)

# %% [markdown]
# <!-- topic p2-e03 -->
# ## E03: an idea from the paper, direct connections, measured
#
# Bengio et al.'s model adds a second path beside the hidden layer: the concatenated embeddings x go
# straight to the output, y = b + Wx + U tanh(d + Hx). Both nets below start from the same weights
# (the direct path at zero) and see the same batches; the dev loss says whether the path helps at
# this size.
# %% [markdown zh]
# <!-- topic p2-e03 -->
# ## E03：论文里的一个想法——直连，实测
#
# Bengio 等人的模型在隐藏层旁边加了第二条路：拼接后的嵌入 x 直接连到输出，y = b + Wx + U tanh(d + Hx)。下面
# 两个网络从同样的权重出发（直连路径为 0），看到同样的批次；开发损失告诉我们，在这个规模上这条路是否有用。

# %%
def train_direct(direct, steps, seed=L.LECTURE_SEED):
    g = torch.Generator().manual_seed(seed)
    p = {"C": torch.randn((27, 10), generator=g), "W1": torch.randn((30, 200), generator=g) * 0.2,
         "b1": torch.zeros(200), "W2": torch.randn((200, 27), generator=g) * 0.01, "b2": torch.zeros(27),
         "Wd": torch.zeros((30, 27))}
    for t in p.values():
        t.requires_grad = True
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        x = p["C"][Xtr[ix]].view(32, -1)
        logits = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] + (x @ p["Wd"] if direct else 0)
        loss = F.cross_entropy(logits, Ytr[ix])
        for t in p.values():
            t.grad = None
        loss.backward()
        for t in p.values():
            if t.grad is not None:
                t.data += -(0.1 if i < steps // 2 else 0.01) * t.grad
    with torch.no_grad():
        x = p["C"][Xdev].view(len(Xdev), -1)
        logits = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] + (x @ p["Wd"] if direct else 0)
        return F.cross_entropy(logits, Ydev).item()


steps = L.steps(50_000, 500)
without, with_direct = train_direct(False, steps), train_direct(True, steps)
print(f"dev loss after {steps:,} steps: without {without:.4f}, with direct connections {with_direct:.4f}")
# %% [code zh]
def train_direct(direct, steps, seed=L.LECTURE_SEED):
    g = torch.Generator().manual_seed(seed)
    p = {"C": torch.randn((27, 10), generator=g), "W1": torch.randn((30, 200), generator=g) * 0.2,
         "b1": torch.zeros(200), "W2": torch.randn((200, 27), generator=g) * 0.01, "b2": torch.zeros(27),
         "Wd": torch.zeros((30, 27))}
    for t in p.values():
        t.requires_grad = True
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        x = p["C"][Xtr[ix]].view(32, -1)
        logits = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] + (x @ p["Wd"] if direct else 0)
        loss = F.cross_entropy(logits, Ytr[ix])
        for t in p.values():
            t.grad = None
        loss.backward()
        for t in p.values():
            if t.grad is not None:
                t.data += -(0.1 if i < steps // 2 else 0.01) * t.grad
    with torch.no_grad():
        x = p["C"][Xdev].view(len(Xdev), -1)
        logits = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] + (x @ p["Wd"] if direct else 0)
        return F.cross_entropy(logits, Ydev).item()


steps = L.steps(50_000, 500)
without, with_direct = train_direct(False, steps), train_direct(True, steps)
print(f"训练 {steps:,} 步后的开发损失：不加直连 {without:.4f}，加直连 {with_direct:.4f}")

# %% [markdown]
# ## The lecture's exercises
#
# - **p2-e01**: tune the net until it beats the lecture's dev loss of 2.2 (the package's default `mlp` above does).
# - **p2-e02**: the uniform loss, and an initialization that starts near it.
# - **p2-e03**: direct connections from the paper, written and measured.
# - warm-up **p2-softmax**: a softmax that cannot overflow.
#
# ```
# makemore exercise show p2-e01 --write e01.py
# makemore exercise check p2-e01 e01.py
# ```
# %% [markdown zh]
# ## 讲座的练习
#
# - **p2-e01**：调整网络，直到开发损失低于讲座的 2.2（上面本包默认的 `mlp` 就做到了）。
# - **p2-e02**：均匀预测的损失，以及一个起点接近它的初始化。
# - **p2-e03**：论文里的直连，写出来并实测。
# - 热身题 **p2-softmax**：一个不会溢出的 softmax。
#
# ```
# makemore exercise show p2-e01 --write e01.py
# makemore exercise check p2-e01 e01.py
# ```
