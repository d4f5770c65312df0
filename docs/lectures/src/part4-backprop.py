# %% [markdown]
# # Part 4: backprop by hand ("becoming a backprop ninja")
#
# `loss.backward()` is not magic, and knowing what it computes is what lets you debug a net whose
# gradients vanish, explode or silently go wrong. This lecture takes the BatchNorm MLP of Part 3,
# cuts its forward into small steps, and computes the gradient of the loss with respect to every
# intermediate tensor by hand, from the loss back to the embedding table. Each gradient is checked
# against autograd's with `L.check` (the lecture's `cmp`: exact, approximate, largest difference).
# Then the two fused shortcuts (cross-entropy and BatchNorm, each in one expression), and finally a
# whole training run that uses only the hand-written gradients.
#
# Every step below is also a `makemore exercise` (p4-e01 ... p4-e04), listed at the end.
# %% [markdown zh]
# # 第四部分：手写反向传播（"成为反向传播忍者"）
#
# `loss.backward()` 并不神秘；知道它算了什么，才能调试梯度消失、爆炸或悄悄出错的网络。这一讲拿出第三讲
# 的 BatchNorm MLP，把它的前向计算切成小步，然后从损失一直到嵌入表，手工算出损失对每一个中间张量的梯度。
# 每个梯度都用 `L.check` 与 autograd 的结果核对（即讲座里的 `cmp`：完全相同、近似相同、最大差值）。
# 接着是两个融合的捷径（交叉熵和 BatchNorm，各用一个表达式），最后用纯手写的梯度完整训练一遍。
#
# 下面每一步也都是一道 `makemore exercise`（p4-e01 … p4-e04），列在最后。

# %%
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.exercises import part4 as reference

L.plot_style()
# %% [code zh]
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.exercises import part4 as reference

L.plot_style()

# %% [markdown]
# <!-- topic p4-data -->
# ## The data and the net
#
# The lectures' split of names.txt, contexts of 3 characters. The net is Part 3's: 10-dimensional
# embeddings, one hidden layer of 64 units with BatchNorm, tanh, the output layer. It is initialized
# the lecture's way: small random numbers everywhere, even where zeros would be usual, because a
# zero can hide a wrong gradient (b1 is kept too, though BatchNorm makes it useless). The package
# holds the same initialization (`makemore.exercises.part4`, the exercises' reference).
# %% [markdown zh]
# <!-- topic p4-data -->
# ## 数据与网络
#
# 用讲座对 names.txt 的划分，上下文长 3 个字符。网络就是第三讲的那个：10 维嵌入，一个 64 单元、带 BatchNorm
# 的隐藏层，tanh，输出层。按讲座的方式初始化：处处都是小的随机数，连通常取 0 的地方也不例外，因为 0 会掩盖
# 错误的梯度（b1 也保留着，尽管 BatchNorm 让它毫无用处）。本包里有同样的初始化（`makemore.exercises.part4`，
# 也就是练习的参考实现）。

# %%
data = mm.build_dataset(mm.read_words())
Xtr, Ytr = (t.long() for t in data.train.examples(3))
Xdev, Ydev = (t.long() for t in data.val.examples(3))
print(Xtr.shape, Ytr.shape, Xdev.shape)

n_embd, n_hidden, vocab_size, block_size = 10, 64, 27, 3
g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
b2 = torch.randn(vocab_size, generator=g) * 0.1
own = torch.Generator().manual_seed(1)       # the lecture draws these two unseeded; a generator of their own here
bngain = torch.randn((1, n_hidden), generator=own) * 0.1 + 1.0
bnbias = torch.randn((1, n_hidden), generator=own) * 0.1
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
L.figure("p4-data", sum(p.nelement() for p in parameters))
for name, p in zip(reference.PARAMETERS, parameters):
    L.check(name, p, reference.init_parameters()[name])
    p.requires_grad = True
# %% [code zh]
data = mm.build_dataset(mm.read_words())
Xtr, Ytr = (t.long() for t in data.train.examples(3))
Xdev, Ydev = (t.long() for t in data.val.examples(3))
print(Xtr.shape, Ytr.shape, Xdev.shape)

n_embd, n_hidden, vocab_size, block_size = 10, 64, 27, 3
g = torch.Generator().manual_seed(L.LECTURE_SEED)
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
b2 = torch.randn(vocab_size, generator=g) * 0.1
own = torch.Generator().manual_seed(1)       # 讲座里这两个没有设种子；这里给它们单独一个生成器
bngain = torch.randn((1, n_hidden), generator=own) * 0.1 + 1.0
bnbias = torch.randn((1, n_hidden), generator=own) * 0.1
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
L.figure("p4-data", sum(p.nelement() for p in parameters))
for name, p in zip(reference.PARAMETERS, parameters):
    L.check(name, p, reference.init_parameters()[name])
    p.requires_grad = True

# %% [markdown]
# <!-- topic p4-forward -->
# ## The forward, in steps small enough to differentiate one at a time
#
# One batch of 32 (drawn from the same generator, after the weights, as the lecture draws it). The
# BatchNorm takes the batch variance with Bessel's correction, dividing by n − 1, as the lecture
# does. The cross-entropy is spelled out: subtract the row maximum, exponentiate, normalize, log,
# pick the targets. Autograd then fills the gradient of every step (`retain_grad` keeps those of
# the intermediate tensors). The package's forward gives the same loss.
# %% [markdown zh]
# <!-- topic p4-forward -->
# ## 前向计算，切成可以逐个求导的小步
#
# 一个 32 个样本的批次（和讲座一样，在权重之后用同一个生成器抽取）。BatchNorm 的批方差用贝塞尔校正，除以
# n − 1，和讲座一致。交叉熵逐步写出：减去每行最大值、取指数、归一化、取对数、挑出目标。然后由 autograd 填好
# 每一步的梯度（`retain_grad` 保留中间张量的梯度）。本包的前向计算给出同样的损失。

# %%
batch_size = n = 32
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
Xb, Yb = Xtr[ix], Ytr[ix]

emb = C[Xb]                                          # (32, 3, 10) embed the characters
embcat = emb.view(emb.shape[0], -1)                  # (32, 30) concatenate
hprebn = embcat @ W1 + b1                            # (32, 64) hidden pre-activation
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)        # (1, 64) BatchNorm: the batch mean
bndiff = hprebn - bnmeani                            # (32, 64)
bndiff2 = bndiff ** 2
bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)   # (1, 64) the variance, Bessel-corrected
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv                           # (32, 64) normalized
hpreact = bngain * bnraw + bnbias                    # scaled and shifted
h = torch.tanh(hpreact)                              # (32, 64)
logits = h @ W2 + b2                                 # (32, 27)
logit_maxes = logits.max(1, keepdim=True).values     # (32, 1) cross-entropy, step by step
norm_logits = logits - logit_maxes                   # subtract the max, for safety
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdim=True)             # (32, 1)
counts_sum_inv = counts_sum ** -1
probs = counts * counts_sum_inv                      # (32, 27)
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()

for p in parameters:
    p.grad = None
for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits, h, hpreact,
          bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]:
    t.retain_grad()
loss.backward()
L.figure("p4-forward", loss.item())
L.check("loss", loss, reference.forward(reference.init_parameters(), Xb, Yb)["loss"])
# %% [code zh]
batch_size = n = 32
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
Xb, Yb = Xtr[ix], Ytr[ix]

emb = C[Xb]                                          # (32, 3, 10) 字符嵌入
embcat = emb.view(emb.shape[0], -1)                  # (32, 30) 拼接
hprebn = embcat @ W1 + b1                            # (32, 64) 隐藏层激活前
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)        # (1, 64) BatchNorm：批均值
bndiff = hprebn - bnmeani                            # (32, 64)
bndiff2 = bndiff ** 2
bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)   # (1, 64) 方差，带贝塞尔校正
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv                           # (32, 64) 归一化
hpreact = bngain * bnraw + bnbias                    # 缩放与平移
h = torch.tanh(hpreact)                              # (32, 64)
logits = h @ W2 + b2                                 # (32, 27)
logit_maxes = logits.max(1, keepdim=True).values     # (32, 1) 交叉熵，逐步计算
norm_logits = logits - logit_maxes                   # 减去最大值，保证数值安全
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdim=True)             # (32, 1)
counts_sum_inv = counts_sum ** -1
probs = counts * counts_sum_inv                      # (32, 27)
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()

for p in parameters:
    p.grad = None
for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits, h, hpreact,
          bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]:
    t.retain_grad()
loss.backward()
L.figure("p4-forward", loss.item())
L.check("loss", loss, reference.forward(reference.init_parameters(), Xb, Yb)["loss"])

# %% [markdown]
# <!-- topic p4-e01 -->
# ## Exercise 1: backward through every step
#
# The rule for every step: the gradient of the loss with respect to a tensor is the local
# derivative of the step times the gradient flowing into its output (the chain rule), with two
# bookkeeping laws. A tensor used in several places gets the *sum* of the gradients from each use.
# A tensor that was broadcast in the forward (a (32, 1) column stretched over 27 columns, a (1, 64)
# row over 32 rows) gets its gradient *summed* over the dimension it was stretched along, and the
# reverse also holds: a sum in the forward is a broadcast in the backward. Each gradient has the
# shape of its tensor.
#
# First the cross-entropy, from the loss back to the logits. Only 32 entries of logprobs reach the
# loss, each with weight −1/n. `counts` is used twice (in `probs` and in `counts_sum`), so its two
# gradients add up. `logit_maxes` only shifts each row, which softmax ignores: its gradient is (up
# to rounding) zero, as it should be.
# %% [markdown zh]
# <!-- topic p4-e01 -->
# ## 练习 1：逐步反向传播
#
# 每一步的规则：损失对某个张量的梯度，等于这一步的局部导数乘以流入其输出的梯度（链式法则），另有两条记账
# 规则。一个张量在几处被用到，它的梯度是各处梯度之*和*。前向时被广播过的张量（(32, 1) 的列被拉伸到 27 列，
# (1, 64) 的行被拉伸到 32 行），梯度要沿被拉伸的维度*求和*；反过来也成立：前向的求和，在反向就是广播。每个
# 梯度的形状都和它对应的张量相同。
#
# 先是交叉熵，从损失回到 logits。logprobs 里只有 32 个元素进入损失，每个的权重是 −1/n。`counts` 被用了
# 两次（在 `probs` 和 `counts_sum` 里），所以两份梯度要相加。`logit_maxes` 只是平移每一行，softmax 对此
# 不敏感：它的梯度（除舍入误差外）为 0，理应如此。

# %%
worst = {}                                           # the largest difference of each gradient, for the summary
def cmp(name, dt, t):
    worst[name] = L.check(name, dt, t.grad, atol=1e-7).max_difference

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n                   # loss = -mean of the picked entries
dprobs = (1.0 / probs) * dlogprobs                   # d log(x) = 1/x
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)      # broadcast over 27 columns in the forward: sum
dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv    # d x^-1 = -x^-2
dcounts = counts_sum_inv * dprobs + torch.ones_like(counts) * dcounts_sum     # two uses: the gradients add
dnorm_logits = counts * dcounts                      # d e^x = e^x
dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
dlogits = dnorm_logits.clone()
dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes   # the max routes to its argmax
for name, dt, t in [("logprobs", dlogprobs, logprobs), ("probs", dprobs, probs), ("counts_sum_inv", dcounts_sum_inv, counts_sum_inv),
                    ("counts_sum", dcounts_sum, counts_sum), ("counts", dcounts, counts), ("norm_logits", dnorm_logits, norm_logits),
                    ("logit_maxes", dlogit_maxes, logit_maxes), ("logits", dlogits, logits)]:
    cmp(name, dt, t)
# %% [code zh]
worst = {}                                           # 每个梯度的最大差值，留作最后的汇总
def cmp(name, dt, t):
    worst[name] = L.check(name, dt, t.grad, atol=1e-7).max_difference

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n                   # 损失 = 被挑出元素的均值取负
dprobs = (1.0 / probs) * dlogprobs                   # d log(x) = 1/x
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)      # 前向时广播到 27 列：反向求和
dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv    # d x^-1 = -x^-2
dcounts = counts_sum_inv * dprobs + torch.ones_like(counts) * dcounts_sum     # 用了两次：梯度相加
dnorm_logits = counts * dcounts                      # d e^x = e^x
dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
dlogits = dnorm_logits.clone()
dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes   # 最大值的梯度流向它的位置
for name, dt, t in [("logprobs", dlogprobs, logprobs), ("probs", dprobs, probs), ("counts_sum_inv", dcounts_sum_inv, counts_sum_inv),
                    ("counts_sum", dcounts_sum, counts_sum), ("counts", dcounts, counts), ("norm_logits", dnorm_logits, norm_logits),
                    ("logit_maxes", dlogit_maxes, logit_maxes), ("logits", dlogits, logits)]:
    cmp(name, dt, t)

# %% [markdown]
# The output layer and the tanh. For `logits = h @ W2 + b2` the gradients come out of the shapes:
# dh must be (32, 64), so it is dlogits (32, 27) @ W2ᵀ (27, 64); dW2 (64, 27) is hᵀ @ dlogits; b2 was
# broadcast over the batch, so db2 sums over it. The tanh's derivative is 1 − tanh², written with its
# output h. Then BatchNorm's scale and shift: bngain and bnbias were broadcast over the batch too.
# %% [markdown zh]
# 输出层与 tanh。对 `logits = h @ W2 + b2`，梯度可以从形状推出来：dh 必须是 (32, 64)，所以它是 dlogits
# (32, 27) @ W2ᵀ (27, 64)；dW2 (64, 27) 是 hᵀ @ dlogits；b2 在批次上被广播，所以 db2 沿批次求和。tanh 的导数
# 是 1 − tanh²，用它的输出 h 来写。接着是 BatchNorm 的缩放与平移：bngain 和 bnbias 也在批次上被广播过。

# %%
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h ** 2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnraw = bngain * dhpreact
dbnbias = dhpreact.sum(0, keepdim=True)
for name, dt, t in [("h", dh, h), ("W2", dW2, W2), ("b2", db2, b2), ("hpreact", dhpreact, hpreact),
                    ("bngain", dbngain, bngain), ("bnbias", dbnbias, bnbias), ("bnraw", dbnraw, bnraw)]:
    cmp(name, dt, t)

# %% [markdown]
# The BatchNorm statistics. `bndiff` is used twice (in `bndiff2` and in `bnraw`); `bnvar` summed over
# the batch with weight 1/(n − 1), so its gradient is broadcast back with that weight; `hprebn`
# reaches the loss directly (through `bndiff`) and through the mean.
# %% [markdown zh]
# BatchNorm 的统计量。`bndiff` 用了两次（在 `bndiff2` 和 `bnraw` 里）；`bnvar` 以 1/(n − 1) 的权重对批次
# 求和，所以它的梯度以同样的权重广播回去；`hprebn` 既直接（经 `bndiff`）影响损失，也通过均值影响损失。

# %%
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbndiff = bnvar_inv * dbnraw
dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv
dbndiff2 = 1.0 / (n - 1) * torch.ones_like(bndiff2) * dbnvar
dbndiff += 2 * bndiff * dbndiff2                     # bndiff's second use
dhprebn = dbndiff.clone()
dbnmeani = -dbndiff.sum(0, keepdim=True)
dhprebn += 1.0 / n * torch.ones_like(hprebn) * dbnmeani
for name, dt, t in [("bnvar_inv", dbnvar_inv, bnvar_inv), ("bnvar", dbnvar, bnvar), ("bndiff2", dbndiff2, bndiff2),
                    ("bndiff", dbndiff, bndiff), ("bnmeani", dbnmeani, bnmeani), ("hprebn", dhprebn, hprebn)]:
    cmp(name, dt, t)
# %% [code zh]
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbndiff = bnvar_inv * dbnraw
dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv
dbndiff2 = 1.0 / (n - 1) * torch.ones_like(bndiff2) * dbnvar
dbndiff += 2 * bndiff * dbndiff2                     # bndiff 的第二处使用
dhprebn = dbndiff.clone()
dbnmeani = -dbndiff.sum(0, keepdim=True)
dhprebn += 1.0 / n * torch.ones_like(hprebn) * dbnmeani
for name, dt, t in [("bnvar_inv", dbnvar_inv, bnvar_inv), ("bnvar", dbnvar, bnvar), ("bndiff2", dbndiff2, bndiff2),
                    ("bndiff", dbndiff, bndiff), ("bnmeani", dbnmeani, bnmeani), ("hprebn", dhprebn, hprebn)]:
    cmp(name, dt, t)

# %% [markdown]
# The first layer and the embeddings. `view` only reshapes, so its backward reshapes back. The
# lookup `C[Xb]` copied rows of C; each copy's gradient goes back to the row it came from, adding
# up where a character appears several times in the batch.
# %% [markdown zh]
# 第一层与嵌入。`view` 只改变形状，所以反向时把形状改回去。查表 `C[Xb]` 复制了 C 的若干行；每一份副本的
# 梯度回到它来自的那一行，某个字符在批次里出现多次时，梯度累加。

# %%
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C)
for k in range(Xb.shape[0]):
    for j in range(Xb.shape[1]):
        dC[Xb[k, j]] += demb[k, j]
for name, dt, t in [("embcat", dembcat, embcat), ("W1", dW1, W1), ("b1", db1, b1), ("emb", demb, emb), ("C", dC, C)]:
    cmp(name, dt, t)
print(f"{len(worst)} gradients by hand; the largest difference from autograd: {max(worst.values()):.3g}")
L.figure("p4-e01", max(worst.values()))
# %% [code zh]
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C)
for k in range(Xb.shape[0]):
    for j in range(Xb.shape[1]):
        dC[Xb[k, j]] += demb[k, j]
for name, dt, t in [("embcat", dembcat, embcat), ("W1", dW1, W1), ("b1", db1, b1), ("emb", demb, emb), ("C", dC, C)]:
    cmp(name, dt, t)
print(f"手写了 {len(worst)} 个梯度；与 autograd 的最大差值：{max(worst.values()):.3g}")
L.figure("p4-e01", max(worst.values()))

# %% [markdown]
# <!-- topic p4-e02 -->
# ## Exercise 2: the cross-entropy's backward in one expression
#
# Written as math rather than as code, the eight steps above collapse: the gradient of the mean
# cross-entropy with respect to the logits is softmax(logits) minus the one-hot target, over n. Per
# row it sums to zero: it pulls down every wrong character by its probability and pushes up the
# right one by as much. It agrees with autograd to float rounding (not bit for bit: other
# operations, in another order).
# %% [markdown zh]
# <!-- topic p4-e02 -->
# ## 练习 2：交叉熵的反向传播，一个表达式
#
# 用数学而不是代码来推，上面的八步会合并成一步：平均交叉熵对 logits 的梯度等于 softmax(logits) 减去目标的
# one-hot，再除以 n。每一行的和为 0：它按概率把每个错误字符往下拉，再把正确字符往上推同样多。它与 autograd
# 的结果只差浮点舍入（不是逐位相同：运算不同，顺序也不同）。

# %%
loss_fast = F.cross_entropy(logits, Yb)
L.check("F.cross_entropy", loss_fast, loss)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
worst["logits (fused)"] = L.check("logits (fused)", dlogits, logits.grad, atol=1e-7).max_difference
print("each row sums to", dlogits.sum(1)[:4].tolist())
plt.figure(figsize=(6, 6))
plt.imshow(dlogits.detach(), cmap="gray")
plt.title("dlogits: the targets pulled up (dark), the rest pushed down")
plt.show()
# %% [code zh]
loss_fast = F.cross_entropy(logits, Yb)
L.check("F.cross_entropy", loss_fast, loss)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
worst["logits（融合）"] = L.check("logits（融合）", dlogits, logits.grad, atol=1e-7).max_difference
print("每一行的和：", dlogits.sum(1)[:4].tolist())
plt.figure(figsize=(6, 6))
plt.imshow(dlogits.detach(), cmap="gray")
plt.title("dlogits：目标被往上拉（深色），其余被往下推")
plt.show()

# %% [markdown]
# <!-- topic p4-e03 -->
# ## Exercise 3: BatchNorm's backward in one expression
#
# The same for BatchNorm, from dhpreact to dhprebn in one go. Every output of a column depends on
# every input of that column, through the mean and the variance; working the sums through (with the
# lecture's n − 1 in the variance) gives
# dhprebn = bngain · bnvar_inv / n · (n · dhpreact − Σ dhpreact − n/(n−1) · bnraw · Σ(dhpreact · bnraw)),
# the sums over the batch.
# %% [markdown zh]
# <!-- topic p4-e03 -->
# ## 练习 3：BatchNorm 的反向传播，一个表达式
#
# 对 BatchNorm 也一样，从 dhpreact 一步得到 dhprebn。一列的每个输出都经由均值和方差依赖于这一列的每个
# 输入；把求和推导清楚（方差里用讲座的 n − 1），得到
# dhprebn = bngain · bnvar_inv / n · (n · dhpreact − Σ dhpreact − n/(n−1) · bnraw · Σ(dhpreact · bnraw))，
# 求和都沿批次进行。

# %%
hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
L.check("hpreact", hpreact_fast, hpreact)
dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
worst["hprebn (fused)"] = L.check("hprebn (fused)", dhprebn, hprebn.grad, atol=1e-7).max_difference
# %% [code zh]
hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
L.check("hpreact", hpreact_fast, hpreact)
dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
worst["hprebn（融合）"] = L.check("hprebn（融合）", dhprebn, hprebn.grad, atol=1e-7).max_difference


# %% [markdown]
# <!-- topic p4-e04 -->
# ## Exercise 4: train with the hand-written backward only
#
# The lecture's last step: the net (now with 200 hidden units, as the lecture's final run) trained
# for 200,000 steps with the gradients by hand: E02's cross-entropy, E03's BatchNorm, the rest from
# E01, all under `torch.no_grad()`, so autograd cannot help. Beside it, the same run with autograd,
# from the same weights and batches: they must reach the same loss. Then, as the lecture does,
# BatchNorm's statistics are measured once over the whole training set and the net is scored.
# %% [markdown zh]
# <!-- topic p4-e04 -->
# ## 练习 4：只用手写的反向传播来训练
#
# 讲座的最后一步：用手写梯度把网络（和讲座最后那次训练一样，改成 200 个隐藏单元）训练 200,000 步：交叉熵
# 用练习 2 的，BatchNorm 用练习 3 的，其余来自练习 1，全部在 `torch.no_grad()` 下进行，autograd 帮不上忙。
# 旁边是用 autograd 的同一次训练，权重和批次都相同：两者必须达到同样的损失。然后像讲座那样，在整个训练集上
# 测一次 BatchNorm 的统计量，再给网络打分。

# %%
def init(n_hidden):
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    own = torch.Generator().manual_seed(1)
    return [torch.randn((vocab_size, n_embd), generator=g),
            torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5,
            torch.randn(n_hidden, generator=g) * 0.1,
            torch.randn((n_hidden, vocab_size), generator=g) * 0.1,
            torch.randn(vocab_size, generator=g) * 0.1,
            torch.randn((1, n_hidden), generator=own) * 0.1 + 1.0,
            torch.randn((1, n_hidden), generator=own) * 0.1]


def forward(params, Xb):
    """The net in training mode; returns what the backward needs."""
    C, W1, b1, W2, b2, bngain, bnbias = params
    embcat = C[Xb].view(Xb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnvar_inv = (hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5
    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * bnvar_inv
    h = torch.tanh(bngain * bnraw + bnbias)
    return h @ W2 + b2, (embcat, bnvar_inv, bnraw, h)


def backward(params, Xb, Yb, logits, saved):
    """Every parameter's gradient, by hand."""
    C, W1, b1, W2, b2, bngain, bnbias = params
    embcat, bnvar_inv, bnraw, h = saved
    n = Xb.shape[0]
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    dh = dlogits @ W2.T
    dhpreact = (1.0 - h ** 2) * dh
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    demb = (dhprebn @ W1.T).view(n, block_size, n_embd)
    dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))   # the loop above, in one call
    return [dC, embcat.T @ dhprebn, dhprebn.sum(0), h.T @ dlogits, dlogits.sum(0),
            (bnraw * dhpreact).sum(0, keepdim=True), dhpreact.sum(0, keepdim=True)]


def train(steps, by_hand):
    params = init(200)
    for p in params:
        p.requires_grad = not by_hand
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        lr = 0.1 if i < steps // 2 else 0.01                  # the lecture's decay, halfway
        if by_hand:
            with torch.no_grad():
                logits, saved = forward(params, Xb)
                grads = backward(params, Xb, Yb, logits, saved)
                for p, grad in zip(params, grads):
                    p -= lr * grad
        else:
            logits, _ = forward(params, Xb)
            loss = F.cross_entropy(logits, Yb)
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
    return [p.detach() for p in params]


@torch.no_grad()
def split_loss(params, X, Y, Xcal):
    """The loss on (X, Y), BatchNorm normalizing with the mean and variance of Xcal (the training set)."""
    C, W1, b1, W2, b2, bngain, bnbias = params
    hcal = C[Xcal].view(Xcal.shape[0], -1) @ W1 + b1
    mean, var = hcal.mean(0, keepdim=True), hcal.var(0, keepdim=True, unbiased=True)
    hpre = C[X].view(X.shape[0], -1) @ W1 + b1
    h = torch.tanh(bngain * (hpre - mean) * (var + 1e-5) ** -0.5 + bnbias)
    return F.cross_entropy(h @ W2 + b2, Y).item()


steps = L.steps(200_000, 2_000)
by_hand, by_autograd = train(steps, by_hand=True), train(steps, by_hand=False)
for name, a, b in zip(reference.PARAMETERS, by_hand, by_autograd):
    L.check(name, a, b, atol=1e-3, rtol=1e-2)
result = {}
for name, params in [("by hand", by_hand), ("autograd", by_autograd)]:
    result[name] = [split_loss(params, X, Y, Xtr) for X, Y in [(Xtr, Ytr), (Xdev, Ydev)]]
    print(f"{name:9s} train {result[name][0]:.4f}  val {result[name][1]:.4f}")
L.check("train, val: by hand against autograd", torch.tensor(result["by hand"]), torch.tensor(result["autograd"]), atol=1e-3)
L.figure("p4-e04", result["by hand"])
# %% [code zh]
def init(n_hidden):
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    own = torch.Generator().manual_seed(1)
    return [torch.randn((vocab_size, n_embd), generator=g),
            torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5,
            torch.randn(n_hidden, generator=g) * 0.1,
            torch.randn((n_hidden, vocab_size), generator=g) * 0.1,
            torch.randn(vocab_size, generator=g) * 0.1,
            torch.randn((1, n_hidden), generator=own) * 0.1 + 1.0,
            torch.randn((1, n_hidden), generator=own) * 0.1]


def forward(params, Xb):
    """训练模式下的网络；返回反向传播需要的量。"""
    C, W1, b1, W2, b2, bngain, bnbias = params
    embcat = C[Xb].view(Xb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnvar_inv = (hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) ** -0.5
    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * bnvar_inv
    h = torch.tanh(bngain * bnraw + bnbias)
    return h @ W2 + b2, (embcat, bnvar_inv, bnraw, h)


def backward(params, Xb, Yb, logits, saved):
    """手工算出每个参数的梯度。"""
    C, W1, b1, W2, b2, bngain, bnbias = params
    embcat, bnvar_inv, bnraw, h = saved
    n = Xb.shape[0]
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    dh = dlogits @ W2.T
    dhpreact = (1.0 - h ** 2) * dh
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    demb = (dhprebn @ W1.T).view(n, block_size, n_embd)
    dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))   # 上面那个循环，一次调用完成
    return [dC, embcat.T @ dhprebn, dhprebn.sum(0), h.T @ dlogits, dlogits.sum(0),
            (bnraw * dhpreact).sum(0, keepdim=True), dhpreact.sum(0, keepdim=True)]


def train(steps, by_hand):
    params = init(200)
    for p in params:
        p.requires_grad = not by_hand
    g = torch.Generator().manual_seed(L.LECTURE_SEED)
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        lr = 0.1 if i < steps // 2 else 0.01                  # 讲座的学习率衰减，在一半处
        if by_hand:
            with torch.no_grad():
                logits, saved = forward(params, Xb)
                grads = backward(params, Xb, Yb, logits, saved)
                for p, grad in zip(params, grads):
                    p -= lr * grad
        else:
            logits, _ = forward(params, Xb)
            loss = F.cross_entropy(logits, Yb)
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
    return [p.detach() for p in params]


@torch.no_grad()
def split_loss(params, X, Y, Xcal):
    """(X, Y) 上的损失，BatchNorm 用 Xcal（训练集）的均值和方差来归一化。"""
    C, W1, b1, W2, b2, bngain, bnbias = params
    hcal = C[Xcal].view(Xcal.shape[0], -1) @ W1 + b1
    mean, var = hcal.mean(0, keepdim=True), hcal.var(0, keepdim=True, unbiased=True)
    hpre = C[X].view(X.shape[0], -1) @ W1 + b1
    h = torch.tanh(bngain * (hpre - mean) * (var + 1e-5) ** -0.5 + bnbias)
    return F.cross_entropy(h @ W2 + b2, Y).item()


steps = L.steps(200_000, 2_000)
by_hand, by_autograd = train(steps, by_hand=True), train(steps, by_hand=False)
for name, a, b in zip(reference.PARAMETERS, by_hand, by_autograd):
    L.check(name, a, b, atol=1e-3, rtol=1e-2)
result = {}
for name, params in [("手写梯度", by_hand), ("autograd", by_autograd)]:
    result[name] = [split_loss(params, X, Y, Xtr) for X, Y in [(Xtr, Ytr), (Xdev, Ydev)]]
    print(f"{name:9s} 训练 {result[name][0]:.4f}  验证 {result[name][1]:.4f}")
L.check("训练、验证：手写梯度对比 autograd", torch.tensor(result["手写梯度"]), torch.tensor(result["autograd"]), atol=1e-3)
L.figure("p4-e04", result["手写梯度"])

# %% [markdown]
# The trained net writes names (BatchNorm in evaluation mode: the training set's statistics).
# %% [markdown zh]
# 训练好的网络写出的名字（BatchNorm 处于评估模式：使用训练集的统计量）。

# %%
C_, W1_, b1_, W2_, b2_, bngain_, bnbias_ = by_hand
hcal = C_[Xtr].view(Xtr.shape[0], -1) @ W1_ + b1_
bnmean, bnvar_ = hcal.mean(0, keepdim=True), hcal.var(0, keepdim=True, unbiased=True)
g = torch.Generator().manual_seed(L.LECTURE_SEED + 10)
for _ in range(10):
    out, context = [], [0] * block_size
    while True:
        hpre = C_[torch.tensor([context])].view(1, -1) @ W1_ + b1_
        h = torch.tanh(bngain_ * (hpre - bnmean) * (bnvar_ + 1e-5) ** -0.5 + bnbias_)
        ix = torch.multinomial(F.softmax(h @ W2_ + b2_, dim=1), num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        if ix == 0:
            break
        out.append(data.vocab.show(ix))
    print("".join(out))

# %% [markdown]
# ## The exercises
#
# Each step above is a `makemore exercise`, checked against autograd: p4-e01 (every step, by hand),
# p4-e02 (the cross-entropy in one expression), p4-e03 (BatchNorm in one expression; it says
# whether your forward uses the lecture's n − 1 or torch's n), p4-e04 (train with them), and two
# warm-ups, p4-tanh and p4-linear.
#
# ```
# makemore exercise show p4-e01 --write e01.py
# makemore exercise check p4-e01 e01.py
# ```
# %% [markdown zh]
# ## 练习
#
# 上面的每一步都是一道 `makemore exercise`，用 autograd 核对：p4-e01（逐步手写）、p4-e02（交叉熵一个
# 表达式）、p4-e03（BatchNorm 一个表达式；它会告诉你，你的前向用的是讲座的 n − 1 还是 torch 的 n）、p4-e04
# （用它们训练），另有两道热身题 p4-tanh 和 p4-linear。
#
# ```
# makemore exercise show p4-e01 --write e01.py
# makemore exercise check p4-e01 e01.py
# ```
