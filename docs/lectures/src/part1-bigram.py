# %% [markdown]
# # Part 1: the bigram language model
#
# A companion to "building makemore" part 1, on the package: every step of the lecture, the figure
# or number it shows, and a check against the lecture's own figure where there is one. Run the
# cells in order; `MAKEMORE_LECTURE_FAST=1` shortens the trainings (the test suite runs it so).
# %% [markdown zh]
# # 第一部分：二元语法（bigram）语言模型
#
# 配合 "building makemore" 第一讲使用：讲座的每一步都在本包上完成，给出它展示的图或数字，
# 能对照的地方都与讲座自己的数字核对。按顺序运行各单元；设 `MAKEMORE_LECTURE_FAST=1` 会缩短训练
# （测试套件就是这样运行的）。

# %%
import math
import torch
import makemore as mm
from makemore import lectures as L
from makemore.plots import bigram_heatmap
from IPython.display import Image

words = mm.read_words()                 # the bundled names.txt
print(len(words), "names; shortest", min(map(len, words)), "longest", max(map(len, words)))
print(words[:8])

# %% [markdown]
# ## Counting bigrams with a dict
#
# Each name is a sequence of pairs: '.' then its first character, ..., its last character then '.'.
# The lecture counts them in a plain dict first; `L.pair_counts` is that dict.
# %% [markdown zh]
# ## 用字典统计二元组
#
# 每个名字都是一串字符对：先是 '.' 和第一个字符，……，最后是末字符和 '.'。讲座先用普通的
# 字典来计数；`L.pair_counts` 就是这个字典。

# %%
pairs = L.pair_counts(words)
print(len(pairs), "distinct pairs,", sum(pairs.values()), "in all")
pairs.most_common(10)

# %% [markdown]
# ## The count tensor and its heatmap
#
# The same counts in a 27 × 27 tensor `N[previous, next]`, index 0 being '.': the count bigram
# model of the package fits exactly this table. The lecture's famous cell: `N[a, n] = 5438`.
# %% [markdown zh]
# ## 计数张量与热力图
#
# 同样的计数放进 27 × 27 的张量 `N[前一个, 下一个]`，下标 0 是 '.'：本包的计数 bigram 模型拟合的
# 正是这张表。讲座里有名的那一格：`N[a, n] = 5438`。

# %%
data = mm.build_dataset(words)          # vocabulary + the lectures' 80/10/10 split
vocab = data.vocab
bigram = L.fit_bigram(data)             # counted over every name, as the lecture does
N = bigram.counts.long()
a, n = vocab.encode("an")
print("N[a, n] =", N[a, n].item())
assert N[a, n] == 5438
assert all(N[vocab.encode(x)[0] if x != "." else 0, vocab.encode(y)[0] if y != "." else 0] == c
           for (x, y), c in pairs.items())          # the dict and the tensor agree
Image(bigram_heatmap(N.tolist(), [vocab.show(i) for i in range(vocab.size)], "bigram.png",
                     f"bigram counts over {len(words):,} names"))

# %% [markdown]
# ## Probabilities, smoothing and sampling
#
# Each row, normalized, is the distribution of the next character. With add-1 smoothing
# (`N + 1`, the package's default) no pair has probability 0. Sampling one character at a time
# with `torch.multinomial` and the lecture's generator, seeded 2147483647, prints the lecture's
# five names.
# %% [markdown zh]
# ## 概率、平滑与采样
#
# 每一行归一化后，就是下一个字符的分布。加一平滑（`N + 1`，本包的默认）让任何字符对的概率都
# 不为 0。用 `torch.multinomial` 和讲座的生成器（种子 2147483647）一次采一个字符，打印出的正是
# 讲座里的五个名字。

# %%
P = bigram.logp.exp()                   # (27, 27) rows sum to 1
print("row '.' sums to", P[0].sum().item())
samples = L.lecture_samples(P, vocab, n=5, seed=L.LECTURE_SEED)
print("\n".join(samples))
assert samples == ["cexze.", "momasurailezitynn.", "konimittain.", "llayn.", "ka."]

# %% [markdown]
# ## The likelihood of single names
#
# The model's quality is the probability it gives the data; its log is a sum over the pairs,
# and the negative mean is the loss. A name with a pair never seen ('jq' in "andrejq") has
# probability 0 without smoothing: an infinite loss. Add-1 smoothing makes it finite.
# %% [markdown zh]
# ## 单个名字的似然
#
# 模型的好坏看它给数据的概率；取对数后是各字符对之和，取负的平均就是损失。含有从未出现过的
# 字符对（"andrejq" 里的 'jq'）的名字，不平滑时概率为 0，损失为无穷大；加一平滑后变为有限值。

# %%
P0 = L.fit_bigram(data, smoothing=0).logp.exp()
for item in ["andrej", "andrejq"]:
    for name, table in [("no smoothing", P0), ("add-1", P)]:
        r = L.item_likelihood(table, vocab, item)
        print(f"{item:8s} {name:13s} nll {r['nll']:8.4f}  per pair {r['nll_per_char']:.4f}")
for r in L.item_likelihood(P, vocab, "andrejq")["bigrams"]:
    print(f"  {r['bigram']}: p {r['p']:.4f}  log p {r['logp']:.4f}")

# %% [markdown]
# ## The average negative log-likelihood: 2.4544
#
# Over every pair of names.txt. The lecture adds up the log-probabilities in a float32 tensor and
# prints 2.4544; the package's metric (token-weighted, in float64) gives the exact mean, 2.4546:
# the last digits are float32's rounding over 228,146 terms.
# %% [markdown zh]
# ## 平均负对数似然：2.4544
#
# 对 names.txt 的全部字符对求平均。讲座在 float32 张量里累加对数概率，打印 2.4544；本包的指标
# （按 token 加权、float64 计算）给出精确均值 2.4546：最后几位的差别是 float32 在 228,146 项上的
# 舍入误差。

# %%
everything = L.whole(data)
nll = mm.evaluate(bigram, everything)
print(f"package: {nll:.4f} nats per character over {everything.n_targets:,} pairs")
log_likelihood = torch.zeros(())                      # the lecture's loop, float32
for w in words:
    ids = [0] + vocab.encode(w) + [0]
    for x, y in zip(ids, ids[1:]):
        log_likelihood += P[x, y].log()
print(f"the lecture's float32 sum: {(-log_likelihood / everything.n_targets).item():.4f}")
assert abs(nll - 2.4544) < 5e-4

# %% [markdown]
# ## The neural bigram reaches the counts' loss
#
# One-hot(previous character) @ W and a softmax, trained by full-batch gradient descent (lr 50):
# the network learns the log-counts, so its loss comes down to the count model's. Both are fitted
# on the training split and scored on val here.
# %% [markdown zh]
# ## 神经网络 bigram 达到计数模型的损失
#
# one-hot(前一个字符) @ W 再接 softmax，用全批量梯度下降（学习率 50）训练：网络学到的是对数计数，
# 所以它的损失会降到计数模型的水平。这里两者都在训练集上拟合、在验证集上评估。

# %%
counts_val = mm.evaluate(L.fit_bigram(data, data.train), data.val)
torch.manual_seed(L.LECTURE_SEED)
net = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=0.01)
print("initial val loss", round(mm.evaluate(net, data.val), 4))
mm.train(net, data, mm.TrainConfig(optimizer="sgd", lr=50.0, batch_size=0, max_steps=L.steps(300, 30),
                                   schedule="constant", weight_decay=0.0, eval_interval=100, log_interval=100),
         progress=False)
net_val = mm.evaluate(net, data.val)
print(f"val: counts {counts_val:.4f}, neural bigram {net_val:.4f}")
if not L.FAST:
    assert abs(net_val - counts_val) < 0.01

# %% [markdown]
# ## Smoothing and regularization are the same knob
#
# Adding k to every count pulls the probabilities towards uniform; so does the penalty
# `reg * mean(W²)`, which pulls every logit towards 0. Side by side: train and val loss against k
# and against reg. A little of either costs almost nothing on train and nothing on val; a lot of
# either makes both worse, the same way.
# %% [markdown zh]
# ## 平滑与正则化是同一个旋钮
#
# 给每个计数加 k，会把概率拉向均匀分布；惩罚项 `reg * mean(W²)` 把每个 logit 拉向 0，效果一样。
# 并排来看：训练/验证损失随 k 与随 reg 的变化。两者少量时训练集上几乎没有代价、验证集上也无损失；
# 加多了，两者以同样的方式变差。

# %%
import matplotlib.pyplot as plt
smooth = L.smoothing_curve(data, ks=(0.01, 0.1, 1, 10, 100, 1000))
reg = L.regularization_curve(data, strengths=(0.001, 0.01, 0.1, 1, 10), steps=L.steps(300, 20))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, rows, key, title in [(axes[0], smooth, "k", "count bigram, add-k smoothing"),
                             (axes[1], reg, "reg", "neural bigram, + reg * mean(W^2)")]:
    for split in ("train", "val"):
        ax.plot([r[key] for r in rows], [r[split] for r in rows], "o-", label=split)
    ax.set_xscale("log"); ax.set_xlabel(key); ax.set_title(title); ax.grid(alpha=0.3); ax.legend()
axes[0].set_ylabel("loss [nats/char]")
plt.show()
for r in smooth:
    print(f"k {r['k']:>7}: train {r['train']:.4f} val {r['val']:.4f}")
for r in reg:
    print(f"reg {r['reg']:>5}: train {r['train']:.4f} val {r['val']:.4f}")
