# %% [markdown]
# # Part 1: the bigram language model, step by step
#
# The first "building makemore" lecture, as cells you read, run and change. Every step is written
# out here in plain torch, the way the lecture writes it. After a step, a line such as
# `L.check("P", P, bigram.probs())` compares what your cell computed with what the package
# computes (exact, approximately equal, largest difference, like the lecture's `cmp`) and stops
# the notebook if they disagree: change a cell, rerun it, and the check tells you whether you
# broke or fixed something. `L.figure(...)` prints our number beside the one the lecture (or the
# study notes) give.
#
# `MAKEMORE_LECTURE_FAST=1` shortens the trainings (the test suite runs the notebooks so).
# %% [markdown zh]
# # 第一部分：二元语法（bigram）语言模型，一步一步来
#
# "building makemore" 第一讲，拆成可以阅读、运行和修改的单元格。每一步都像讲座那样用朴素的 torch
# 代码写出来。每一步之后，像 `L.check("P", P, bigram.probs())` 这样的一行会把你的单元格算出的结果
# 与本包算出的结果对比（完全相同、近似相同、最大差值，和讲座里的 `cmp` 一样），两者不一致时笔记本
# 会停下：改动一个单元格，重新运行，核对结果会告诉你是改坏了还是改好了。`L.figure(...)` 把我们的
# 数字与讲座（或学习笔记）给出的数字并排打印。
#
# 设 `MAKEMORE_LECTURE_FAST=1` 会缩短训练（测试套件就是这样运行笔记本的）。

# %%
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

L.plot_style()                     # readable figures (and a Chinese font in the Chinese notebook)
# %% [code zh]
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

L.plot_style()                     # 图表的字号（中文笔记本里还会选用中文字体）

# %% [markdown]
# ## The data: 32,033 names
#
# One name per line. The package reads the same file the same way (`mm.read_words`).
# %% [markdown zh]
# ## 数据：32,033 个名字
#
# 每行一个名字。本包用同样的方式读同一个文件（`mm.read_words`）。

# %%
words = open(bundled_names()).read().splitlines()
print(len(words), "names; shortest", min(len(w) for w in words), "characters, longest", max(len(w) for w in words))
print(words[:8])
L.check("words", words, mm.read_words())
# %% [code zh]
words = open(bundled_names()).read().splitlines()
print(len(words), "个名字；最短", min(len(w) for w in words), "个字符，最长", max(len(w) for w in words))
print(words[:8])
L.check("words", words, mm.read_words())

# %% [markdown]
# <!-- topic p1-dict -->
# ## Counting bigrams in a dict, with `<S>` and `<E>`
#
# A bigram model predicts each character from the one before it alone. Its statistics are the
# pairs of consecutive characters. The lecture first marks where a name starts and ends with two
# special tokens, `<S>` and `<E>`, and counts every pair in a plain dict.
# %% [markdown zh]
# <!-- topic p1-dict -->
# ## 用字典统计二元组，带 `<S>` 和 `<E>`
#
# 二元模型只凭前一个字符预测下一个字符，它需要的统计量就是相邻字符对。讲座先用两个特殊记号 `<S>`
# 和 `<E>` 标出名字的开头和结尾，再用普通的字典数出每一对出现的次数。

# %%
b = {}
for w in words:
    chs = ["<S>"] + list(w) + ["<E>"]
    for ch1, ch2 in zip(chs, chs[1:]):
        b[(ch1, ch2)] = b.get((ch1, ch2), 0) + 1
print(len(b), "different bigrams,", sum(b.values()), "in all")
L.figure("p1-dict", b[("a", "n")])
sorted(b.items(), key=lambda kv: -kv[1])[:10]
# %% [code zh]
b = {}
for w in words:
    chs = ["<S>"] + list(w) + ["<E>"]
    for ch1, ch2 in zip(chs, chs[1:]):
        b[(ch1, ch2)] = b.get((ch1, ch2), 0) + 1
print(len(b), "种不同的二元组，共", sum(b.values()), "个")
L.figure("p1-dict", b[("a", "n")])
sorted(b.items(), key=lambda kv: -kv[1])[:10]

# %% [markdown]
# <!-- topic p1-28 -->
# ## The same counts in a 28 × 28 tensor
#
# A tensor is faster to work with than a dict: give each character an index (the 26 letters 0–25,
# `<S>` 26, `<E>` 27) and count into `N28[first, second]`. Look at what it wastes: nothing ever
# follows `<E>` (a whole row of zeros), and nothing ever comes before `<S>` (a whole column).
# %% [markdown zh]
# <!-- topic p1-28 -->
# ## 同样的计数放进 28 × 28 的张量
#
# 张量比字典好用：给每个字符一个下标（26 个字母是 0–25，`<S>` 是 26，`<E>` 是 27），计入
# `N28[前一个, 后一个]`。注意它浪费了什么：`<E>` 后面永远没有字符（整行都是 0），`<S>` 前面也永远
# 没有字符（整列都是 0）。

# %%
chars = sorted(set("".join(words)))
stoi28 = {s: i for i, s in enumerate(chars)}
stoi28["<S>"], stoi28["<E>"] = 26, 27
N28 = torch.zeros((28, 28), dtype=torch.int32)
for w in words:
    chs = ["<S>"] + list(w) + ["<E>"]
    for ch1, ch2 in zip(chs, chs[1:]):
        N28[stoi28[ch1], stoi28[ch2]] += 1
print("after <E>:", N28[27].sum().item(), "   before <S>:", N28[:, 26].sum().item())
plt.figure(figsize=(5, 5))
plt.imshow(N28, cmap="Blues")
plt.title("N28: the last row and the column before it are empty")
plt.show()
# %% [code zh]
chars = sorted(set("".join(words)))
stoi28 = {s: i for i, s in enumerate(chars)}
stoi28["<S>"], stoi28["<E>"] = 26, 27
N28 = torch.zeros((28, 28), dtype=torch.int32)
for w in words:
    chs = ["<S>"] + list(w) + ["<E>"]
    for ch1, ch2 in zip(chs, chs[1:]):
        N28[stoi28[ch1], stoi28[ch2]] += 1
print("<E> 之后：", N28[27].sum().item(), "   <S> 之前：", N28[:, 26].sum().item())
plt.figure(figsize=(5, 5))
plt.imshow(N28, cmap="Blues")
plt.title("N28：最后一行和倒数第二列都是空的")
plt.show()

# %% [markdown]
# <!-- topic p1-27 -->
# ## One `.` token: the 27 × 27 table
#
# One token, `.` at index 0, can mark both the start and the end: the table shrinks to 27 × 27 and
# nothing is wasted. This is the table the package's count bigram fits (its vocabulary puts the
# boundary at 0 too), so from here on each step is checked against it.
# %% [markdown zh]
# <!-- topic p1-27 -->
# ## 只用一个 `.`：27 × 27 的表
#
# 一个记号 `.`（下标 0）就可以同时表示开头和结尾：表缩小到 27 × 27，没有浪费。本包的计数 bigram
# 模型拟合的正是这张表（它的词表也把边界放在 0），所以从这里开始，每一步都与它核对。

# %%
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
N = torch.zeros((27, 27), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1

data = mm.build_dataset(words)          # the package: vocabulary, and the 80/10/10 split used later
vocab = data.vocab
everything = L.whole(data)              # every name as one split: this lecture counts over the whole file
bigram = mm.build_model("bigram", vocab.size, data.max_len + 1, smoothing=1.0)
bigram.fit(*everything.examples(1))     # the package's count bigram
L.check("stoi", stoi, {c: i for i, c in enumerate(vocab.chars, start=1)} | {".": 0})
L.check("N", N, bigram.counts.int())
L.check("N28 (letters)", N28[:26, :26], N[1:, 1:])
# %% [code zh]
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
N = torch.zeros((27, 27), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1

data = mm.build_dataset(words)          # 本包：词表，以及后面要用的 80/10/10 划分
vocab = data.vocab
everything = L.whole(data)              # 所有名字合成一个数据集：这一讲在整个文件上计数
bigram = mm.build_model("bigram", vocab.size, data.max_len + 1, smoothing=1.0)
bigram.fit(*everything.examples(1))     # 本包的计数 bigram 模型
L.check("stoi", stoi, {c: i for i, c in enumerate(vocab.chars, start=1)} | {".": 0})
L.check("N", N, bigram.counts.int())
L.check("N28 (letters)", N28[:26, :26], N[1:, 1:])

# %% [markdown]
# The lecture's figure: every cell with its bigram and its count. Row 0 is what starts a name,
# column 0 what ends one.
# %% [markdown zh]
# 讲座里的那张图：每一格写着它的二元组和计数。第 0 行是名字的开头字符，第 0 列是名字的结尾字符。

# %%
plt.figure(figsize=(14, 14))
plt.imshow(N, cmap="Blues")
for i in range(27):
    for j in range(27):
        plt.text(j, i, itos[i] + itos[j], ha="center", va="bottom", color="gray", fontsize=8)
        plt.text(j, i, N[i, j].item(), ha="center", va="top", color="gray", fontsize=8)
plt.axis("off")
plt.title("bigram counts N[first, second]")
plt.show()
# %% [code zh]
plt.figure(figsize=(14, 14))
plt.imshow(N, cmap="Blues")
for i in range(27):
    for j in range(27):
        plt.text(j, i, itos[i] + itos[j], ha="center", va="bottom", color="gray", fontsize=8)
        plt.text(j, i, N[i, j].item(), ha="center", va="top", color="gray", fontsize=8)
plt.axis("off")
plt.title("二元组计数 N[前一个, 后一个]")
plt.show()

# %% [markdown]
# <!-- topic p1-tensor -->
# ## `torch.tensor` or `torch.Tensor`?
#
# Two spellings, two behaviours: `torch.tensor(data)` infers the dtype from the data (integers
# stay int64), `torch.Tensor(data)` is the class and always makes float32. The lecture uses
# `torch.tensor`, and says the dtype it wants where it matters: `torch.zeros(..., dtype=torch.int32)`
# for counts, `.float()` before dividing.
# %% [markdown zh]
# <!-- topic p1-tensor -->
# ## `torch.tensor` 还是 `torch.Tensor`？
#
# 两种写法，两种行为：`torch.tensor(data)` 根据数据推断 dtype（整数保持 int64），`torch.Tensor(data)`
# 是类本身，总是生成 float32。讲座用 `torch.tensor`，并在要紧的地方写明 dtype：计数用
# `torch.zeros(..., dtype=torch.int32)`，做除法前先 `.float()`。

# %%
print(torch.tensor([1, 2, 3]).dtype, torch.Tensor([1, 2, 3]).dtype, torch.tensor([1.5]).dtype)
print(torch.tensor([5, 2]) / 2, torch.tensor([5, 2]) // 2)       # / always gives floats, // keeps integers
L.check("dtypes", [torch.tensor([1, 2]).dtype, torch.Tensor([1, 2]).dtype], [torch.int64, torch.float32])
# %% [code zh]
print(torch.tensor([1, 2, 3]).dtype, torch.Tensor([1, 2, 3]).dtype, torch.tensor([1.5]).dtype)
print(torch.tensor([5, 2]) / 2, torch.tensor([5, 2]) // 2)       # / 总是得到浮点数，// 保持整数
L.check("dtypes", [torch.tensor([1, 2]).dtype, torch.Tensor([1, 2]).dtype], [torch.int64, torch.float32])


# %% [markdown]
# <!-- topic p1-broadcast -->
# ## Probabilities: `sum(1, keepdim=True)` and broadcasting
#
# Each row of N, divided by its sum, is the distribution of the character that follows. With
# add-1 smoothing (`N + 1`) no bigram has probability 0. `P.sum(1, keepdim=True)` has shape
# (27, 1); dividing the (27, 27) table by it follows the broadcasting rules: align the shapes from
# the right, and a dimension of size 1 is stretched to match, so each row is divided by its own
# sum.
# %% [markdown zh]
# <!-- topic p1-broadcast -->
# ## 概率：`sum(1, keepdim=True)` 与广播
#
# N 的每一行除以它的和，就是后一个字符的分布。加一平滑（`N + 1`）后，任何二元组的概率都不为 0。
# `P.sum(1, keepdim=True)` 的形状是 (27, 1)；用它去除 (27, 27) 的表时遵循广播规则：从右往左对齐
# 形状，大小为 1 的维度会被拉伸到相同大小，于是每一行除以它自己的和。

# %%
P = (N + 1).float()
P /= P.sum(1, keepdim=True)               # (27, 27) / (27, 1): row i divided by the sum of row i
print(P.shape, "; each row sums to 1:", P.sum(1)[:4])
L.check("P", P, bigram.probs())
# %% [code zh]
P = (N + 1).float()
P /= P.sum(1, keepdim=True)               # (27, 27) / (27, 1)：第 i 行除以第 i 行的和
print(P.shape, "；每一行的和都是 1：", P.sum(1)[:4])
L.check("P", P, bigram.probs())

# %% [markdown]
# <!-- topic p1-keepdim -->
# Drop `keepdim=True` and the sum has shape (27,). Aligned from the right it reads as (1, 27): a
# *row* vector, stretched down the rows, so column j is divided by the sum of row j. Nothing fails,
# the shapes fit, and the table is wrong: its rows no longer sum to 1.
# %% [markdown zh]
# <!-- topic p1-keepdim -->
# 去掉 `keepdim=True`，和的形状变成 (27,)。从右往左对齐后它被当作 (1, 27)：一个*行*向量，沿各行
# 拉伸，于是第 j 列被第 j 行的和去除。不会报错，形状也对得上，可表是错的：它的各行之和不再是 1。

# %%
row_sums = (N + 1).float().sum(1)                        # (27,), not (27, 1)
wrong = (N + 1).float() / row_sums                      # (27, 27) / (27,) -> column j / sum of row j
print("shapes:", (N + 1).float().sum(1, keepdim=True).shape, "against", row_sums.shape)
print("rows of the wrong table sum to", wrong.sum(1)[:4])
L.check("P, keepdim=False", wrong, bigram.probs(), differ=True)
# %% [code zh]
row_sums = (N + 1).float().sum(1)                        # (27,)，不是 (27, 1)
wrong = (N + 1).float() / row_sums                      # (27, 27) / (27,) -> 第 j 列 / 第 j 行的和
print("形状：", (N + 1).float().sum(1, keepdim=True).shape, "对比", row_sums.shape)
print("错表各行之和：", wrong.sum(1)[:4])
L.check("P, keepdim=False", wrong, bigram.probs(), differ=True)

# %% [markdown]
# <!-- topic p1-sample -->
# ## Sampling names
#
# Start at `.`, draw the next character from its row of P with `torch.multinomial`, move to it,
# and stop when `.` comes out again. With the lecture's generator, seeded 2147483647, the first
# five names are the lecture's.
# %% [markdown zh]
# <!-- topic p1-sample -->
# ## 采样名字
#
# 从 `.` 出发，用 `torch.multinomial` 从 P 的对应行里抽出下一个字符，移到它那里，直到再次抽到 `.`
# 为止。用讲座的生成器（种子 2147483647），最先的五个名字就是讲座里的那五个。

# %%
def sample_names(table, n, seed):
    """n names drawn from a (27, 27) table of next-character probabilities, one generator for all."""
    g = torch.Generator().manual_seed(seed)
    names = []
    for _ in range(n):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(table[ix], num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        names.append("".join(out))
    return names


names = sample_names(P, 5, L.LECTURE_SEED)
print(names)
L.figure("p1-sample", names)
# %% [code zh]
def sample_names(table, n, seed):
    """从 (27, 27) 的下一字符概率表中抽出 n 个名字，全程用同一个生成器。"""
    g = torch.Generator().manual_seed(seed)
    names = []
    for _ in range(n):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(table[ix], num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        names.append("".join(out))
    return names


names = sample_names(P, 5, L.LECTURE_SEED)
print(names)
L.figure("p1-sample", names)

# %% [markdown]
# <!-- topic p1-uniform -->
# Bad as they look, they are far better than no model at all: from a uniform table (every next
# character equally likely), the same loop writes this.
# %% [markdown zh]
# <!-- topic p1-uniform -->
# 这些名字看着不怎么样，但比完全没有模型强多了：用均匀分布的表（每个字符都同样可能）跑同样的循环，
# 得到的是这样的结果。

# %%
uniform = torch.ones((27, 27)) / 27
print(sample_names(uniform, 5, L.LECTURE_SEED))

# %% [markdown]
# <!-- topic p1-nll -->
# ## How good is it? The likelihood and the average negative log-likelihood
#
# A model's quality is the probability it gives the training data: the product of the
# probabilities of every bigram. That product is tiny, so we sum logs instead
# (log(a·b·c) = log a + log b + log c); maximizing it is the same as minimizing the *negative*
# log-likelihood, and its mean over the bigrams is the loss. The lecture accumulates it in a
# float32 tensor and prints 2.4544; the package sums in float64 and gets 2.4546: the difference is
# float32's rounding over 228,146 terms.
# %% [markdown zh]
# <!-- topic p1-nll -->
# ## 模型有多好？似然与平均负对数似然
#
# 模型好不好，看它给训练数据的概率：所有二元组概率的乘积。这个乘积非常小，所以改为对数求和
# （log(a·b·c) = log a + log b + log c）；最大化它等价于最小化*负*对数似然，对所有二元组取平均就是
# 损失。讲座在 float32 张量里累加，打印 2.4544；本包用 float64 求和，得到 2.4546：差别来自 float32
# 在 228,146 项上的舍入。

# %%
log_likelihood = 0.0
n = 0
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        logprob = torch.log(P[stoi[ch1], stoi[ch2]])
        log_likelihood += logprob
        n += 1
nll = -log_likelihood
print(f"log likelihood {log_likelihood.item():.1f}, negative log likelihood {nll.item():.1f}, over {n} bigrams")
L.figure("p1-nll", (nll / n).item())
L.check("average NLL", nll / n, mm.evaluate(bigram, everything), atol=5e-4)
# %% [code zh]
log_likelihood = 0.0
n = 0
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        logprob = torch.log(P[stoi[ch1], stoi[ch2]])
        log_likelihood += logprob
        n += 1
nll = -log_likelihood
print(f"对数似然 {log_likelihood.item():.1f}，负对数似然 {nll.item():.1f}，共 {n} 个二元组")
L.figure("p1-nll", (nll / n).item())
L.check("平均负对数似然", nll / n, mm.evaluate(bigram, everything), atol=5e-4)

# %% [markdown]
# <!-- topic p1-smoothing -->
# ## One name at a time, and why the table is smoothed
#
# "andrejq" holds the bigram `jq`, which never occurs in names.txt: without smoothing its
# probability is 0 and the name's loss is infinite. Add-1 smoothing (the `+ 1` above) gives every
# bigram a little probability, and the loss becomes finite. The package scores names the same way.
# %% [markdown zh]
# <!-- topic p1-smoothing -->
# ## 逐个名字来看，以及为什么要平滑
#
# "andrejq" 含有二元组 `jq`，它在 names.txt 里从未出现：不平滑时它的概率为 0，这个名字的损失是无穷大。
# 加一平滑（上面的 `+ 1`）给每个二元组一点概率，损失就变成有限值。本包给名字打分的方式与此相同。

# %%
P_raw = N.float() / N.float().sum(1, keepdim=True)           # no smoothing
for name in ["andrej", "andrejq"]:
    chs = ["."] + list(name) + ["."]
    for label, table in [("no smoothing", P_raw), ("add-1", P)]:
        nll_name = -sum(torch.log(table[stoi[a], stoi[b]]) for a, b in zip(chs, chs[1:]))
        print(f"{name:8s} {label:13s} loss {nll_name.item():8.4f}")
print("p(q | j) without smoothing:", P_raw[stoi["j"], stoi["q"]].item(), " with add-1:", round(P[stoi["j"], stoi["q"]].item(), 5))
L.check("andrejq's loss", nll_name, mm.score_items(bigram, vocab, ["andrejq"], data.max_len)[0]["nll"])
L.figure("p1-smoothing", nll_name.item())
# %% [code zh]
P_raw = N.float() / N.float().sum(1, keepdim=True)           # 不平滑
for name in ["andrej", "andrejq"]:
    chs = ["."] + list(name) + ["."]
    for label, table in [("不平滑", P_raw), ("加一平滑", P)]:
        nll_name = -sum(torch.log(table[stoi[a], stoi[b]]) for a, b in zip(chs, chs[1:]))
        print(f"{name:8s} {label:13s} 损失 {nll_name.item():8.4f}")
print("不平滑时 p(q | j)：", P_raw[stoi["j"], stoi["q"]].item(), " 加一平滑后：", round(P[stoi["j"], stoi["q"]].item(), 5))
L.check("andrejq 的损失", nll_name, mm.score_items(bigram, vocab, ["andrejq"], data.max_len)[0]["nll"])
L.figure("p1-smoothing", nll_name.item())

# %% [markdown]
# <!-- topic p1-emma -->
# ## The neural network: the training set of "emma"
#
# Now the same model as a neural net, trained by gradient descent. Its training set is the
# bigrams as (input, label) pairs of integers: "emma" gives five, `.e`, `em`, `mm`, `ma`, `a.`.
# %% [markdown zh]
# <!-- topic p1-emma -->
# ## 神经网络："emma" 的训练集
#
# 现在把同一个模型写成神经网络，用梯度下降训练。训练集是整数形式的（输入，标签）二元组："emma"
# 给出五个：`.e`、`em`、`mm`、`ma`、`a.`。

# %%
xs, ys = [], []
for w in words[:1]:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        print(ch1, ch2)
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs, ys = torch.tensor(xs), torch.tensor(ys)
print("xs", xs, " ys", ys)
L.check("xs, ys", [xs.tolist(), ys.tolist()], [[0] + vocab.encode("emma"), vocab.encode("emma") + [0]])

# %% [markdown]
# <!-- topic p1-onehot -->
# An integer is no input for a neuron: encode each one as a one-hot vector of 27, a 1 at its
# index. It must be float to be multiplied with the weights.
# %% [markdown zh]
# <!-- topic p1-onehot -->
# 整数不能直接作为神经元的输入：把每个整数编码成长度 27 的 one-hot 向量，在它的下标处为 1。它必须是
# 浮点数，才能和权重相乘。

# %%
xenc = F.one_hot(xs, num_classes=27).float()      # (5, 27)
print(xenc.shape, xenc.dtype)
plt.figure(figsize=(6, 1.5))
plt.imshow(xenc)
plt.title("one-hot inputs of emma")
plt.show()
# %% [code zh]
xenc = F.one_hot(xs, num_classes=27).float()      # (5, 27)
print(xenc.shape, xenc.dtype)
plt.figure(figsize=(6, 1.5))
plt.imshow(xenc)
plt.title("emma 的 one-hot 输入")
plt.show()

# %% [markdown]
# ## One linear layer and a softmax
#
# 27 neurons, each with 27 weights: `W` is (27, 27). `xenc @ W` gives 27 numbers per example,
# read as log-counts ("logits"); exponentiate them into counts and normalize each row, and they
# are probabilities. Those two steps are the softmax. The package's neural bigram computes the same
# from the same W.
# %% [markdown zh]
# ## 一个线性层加 softmax
#
# 27 个神经元，每个有 27 个权重：`W` 是 (27, 27)。`xenc @ W` 为每个样本给出 27 个数，把它们看作对数计数
# （"logits"）；取指数变成计数，再把每一行归一化，就成了概率。这两步就是 softmax。本包的神经网络
# bigram 用同一个 W 算出同样的结果。

# %%
g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g)
logits = xenc @ W                                  # (5, 27) log-counts
counts = logits.exp()                              # (5, 27) counts
probs = counts / counts.sum(1, keepdim=True)       # (5, 27) each row a distribution
net = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=0.0)     # the package's neural bigram
with torch.no_grad():
    net.W.copy_(W)
L.check("logits", logits, net.next_logits(xs[:, None]))
L.check("probs", probs, F.softmax(net.next_logits(xs[:, None]), dim=1))
L.check("input 3, neuron 13", (xenc[3] * W[:, 13]).sum(), logits[3, 13])   # each logit is one dot product
for i in range(5):
    x, y = xs[i].item(), ys[i].item()
    p = probs[i, y]
    print(f"bigram {itos[x]}{itos[y]}: the net gives the right next character probability {p.item():.4f}, "
          f"log likelihood {p.log().item():.4f}, negative log likelihood {-p.log().item():.4f}")
print("average negative log likelihood:", -probs[torch.arange(5), ys].log().mean().item())
# %% [code zh]
g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g)
logits = xenc @ W                                  # (5, 27) 对数计数
counts = logits.exp()                              # (5, 27) 计数
probs = counts / counts.sum(1, keepdim=True)       # (5, 27) 每行是一个分布
net = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=0.0)     # 本包的神经网络 bigram
with torch.no_grad():
    net.W.copy_(W)
L.check("logits", logits, net.next_logits(xs[:, None]))
L.check("probs", probs, F.softmax(net.next_logits(xs[:, None]), dim=1))
L.check("第 3 个输入、第 13 个神经元", (xenc[3] * W[:, 13]).sum(), logits[3, 13])   # 每个 logit 都是一次点积
for i in range(5):
    x, y = xs[i].item(), ys[i].item()
    p = probs[i, y]
    print(f"二元组 {itos[x]}{itos[y]}：网络给正确下一字符的概率 {p.item():.4f}，"
          f"对数似然 {p.log().item():.4f}，负对数似然 {-p.log().item():.4f}")
print("平均负对数似然：", -probs[torch.arange(5), ys].log().mean().item())

# %% [markdown]
# <!-- topic p1-gd -->
# ## Forward, backward, update: gradient descent by hand
#
# The loss is that average negative log-likelihood. `loss.backward()` fills `W.grad`; a step
# against the gradient lowers the loss. The first gradient is checked against the package's
# (its loss through autograd), then three steps at learning rate 0.1, as the lecture runs them:
# the notes write the losses as 3.76 → 3.74 → 3.72.
# %% [markdown zh]
# <!-- topic p1-gd -->
# ## 前向、反向、更新：手写梯度下降
#
# 损失就是上面的平均负对数似然。`loss.backward()` 填好 `W.grad`；逆着梯度走一步，损失就下降。先把
# 第一次的梯度与本包（经 autograd 算出的损失）核对，再像讲座那样以学习率 0.1 走三步：笔记里记下的
# 损失是 3.76 → 3.74 → 3.72。

# %%
g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g, requires_grad=True)
losses = []
for k in range(3):
    # forward pass
    xenc = F.one_hot(xs, num_classes=27).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(5), ys].log().mean()
    losses.append(loss.item())
    print(f"step {k}: loss {loss.item():.4f}")
    # backward pass
    W.grad = None
    loss.backward()
    if k == 0:
        net.zero_grad()
        net.loss(xs[:, None], ys).backward()          # the package's loss of the same W, through autograd
        L.check("W.grad", W.grad, net.W.grad)
    # update
    W.data += -0.1 * W.grad
L.figure("p1-gd", losses)
# %% [code zh]
g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g, requires_grad=True)
losses = []
for k in range(3):
    # 前向
    xenc = F.one_hot(xs, num_classes=27).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(5), ys].log().mean()
    losses.append(loss.item())
    print(f"第 {k} 步：损失 {loss.item():.4f}")
    # 反向
    W.grad = None
    loss.backward()
    if k == 0:
        net.zero_grad()
        net.loss(xs[:, None], ys).backward()          # 本包对同一个 W 的损失，经 autograd 求梯度
        L.check("W.grad", W.grad, net.W.grad)
    # 更新
    W.data += -0.1 * W.grad
L.figure("p1-gd", losses)

# %% [markdown]
# <!-- topic p1-full -->
# ## Every bigram: 228,146 examples, learning rate 50, and 0.01 · mean(W²)
#
# The same loop on the whole data set. The gradient of a mean over 228,146 examples is small and
# smooth, so the step can be large: 50. The term `0.01 * (W ** 2).mean()` pulls every weight
# towards 0, that is every row towards uniform: the neural net's version of smoothing. The
# one-hot matrix is made once, outside the loop. The package's loss (with `reg=0.01`) is the same
# number for the final W.
# %% [markdown zh]
# <!-- topic p1-full -->
# ## 全部二元组：228,146 个样本，学习率 50，加上 0.01 · mean(W²)
#
# 在整个数据集上跑同样的循环。228,146 个样本的平均损失，其梯度小而平滑，所以步长可以很大：50。
# `0.01 * (W ** 2).mean()` 这一项把每个权重拉向 0，也就是把每一行拉向均匀分布：这是神经网络版的平滑。
# one-hot 矩阵只在循环外生成一次。对最终的 W，本包的损失（`reg=0.01`）是同一个数。

# %%
xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs, ys = torch.tensor(xs), torch.tensor(ys)
num = xs.nelement()
print("number of examples:", num)

g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g, requires_grad=True)
xenc = F.one_hot(xs, num_classes=27).float()       # (228146, 27)
for k in range(L.steps(100, 10)):
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
    if k % 10 == 0:
        print(f"step {k:3d}: loss {loss.item():.4f}")
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad

with torch.no_grad():
    final = -(xenc @ W).log_softmax(1)[torch.arange(num), ys].mean() + 0.01 * (W ** 2).mean()
    net_reg = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=0.01)
    net_reg.W.copy_(W)
    L.check("loss", final, net_reg.loss(*everything.examples(1)[:2]))
L.figure("p1-full", final.item())
# %% [code zh]
xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs, ys = torch.tensor(xs), torch.tensor(ys)
num = xs.nelement()
print("样本数：", num)

g = torch.Generator().manual_seed(L.LECTURE_SEED)
W = torch.randn((27, 27), generator=g, requires_grad=True)
xenc = F.one_hot(xs, num_classes=27).float()       # (228146, 27)
for k in range(L.steps(100, 10)):
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
    if k % 10 == 0:
        print(f"第 {k:3d} 步：损失 {loss.item():.4f}")
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad

with torch.no_grad():
    final = -(xenc @ W).log_softmax(1)[torch.arange(num), ys].mean() + 0.01 * (W ** 2).mean()
    net_reg = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=0.01)
    net_reg.W.copy_(W)
    L.check("loss", final, net_reg.loss(*everything.examples(1)[:2]))
L.figure("p1-full", final.item())

# %% [markdown]
# <!-- topic p1-logn -->
# ## What W learns: log N, plus a constant per row
#
# The loss over the 228,146 examples only depends on how often each bigram occurs: it is
# −Σ N[i, j] · log softmax(W)[i, j] / Σ N, a sum over the 27 × 27 table (the first check below).
# Each row is minimized on its own when softmax(W[i]) is row i of the counts, normalized: when
# W[i, j] = log N[i, j] + c_i, whatever the constant c_i (softmax does not see it). So W learns the
# log-counts. To see it exactly, minimize on the table itself, with the add-1 counts (so that no log
# is −∞) and no penalty. Plain gradient descent gets there slowly: a rare bigram's gradient is
# about its tiny probability, while its logit has far to go. L-BFGS, a quasi-Newton method that
# torch ships, reaches the minimum in seconds. The figure plots the W of the loop above against log N.
# %% [markdown zh]
# <!-- topic p1-logn -->
# ## W 学到了什么：log N 加上每行一个常数
#
# 228,146 个样本上的损失只取决于每个二元组出现的次数：它等于 −Σ N[i, j] · log softmax(W)[i, j] / Σ N，
# 是在 27 × 27 的表上求和（下面第一项核对）。每一行单独取最小值的条件是 softmax(W[i]) 等于计数的第 i 行
# 归一化之后的结果，也就是 W[i, j] = log N[i, j] + c_i，常数 c_i 任意（softmax 看不到它）。所以 W 学到的
# 是对数计数。为了准确看到这一点，直接在这张表上求最小值：用加一后的计数（避免 log 为 −∞），不加惩罚项。
# 普通的梯度下降走得很慢：罕见二元组的梯度大约就是它那很小的概率，而它的 logit 还要走很远。L-BFGS
# 是 torch 自带的一种拟牛顿法，几秒钟就能到达最小值。图中画的是上面循环训练出的 W 与 log N 的对比。

# %%
def table_loss(W, counts):
    """The mean negative log-likelihood of every bigram, from the (27, 27) table of counts."""
    return -(counts * W.log_softmax(1)).sum() / counts.sum()


with torch.no_grad():
    L.check("table loss", table_loss(W, N.float()) + 0.01 * (W ** 2).mean(), final, atol=1e-5)

smoothed = (N + 1).double()
rows = smoothed / smoothed.sum(1, keepdim=True)                # each row's distribution, every row weighted alike
Wt = torch.zeros((27, 27), dtype=torch.float64, requires_grad=True)
opt = torch.optim.LBFGS([Wt], max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-16, line_search_fn="strong_wolfe")

def closure():
    opt.zero_grad()
    loss = table_loss(Wt, rows)
    loss.backward()
    return loss

opt.step(closure)
row_centered = lambda t: t - t.mean(1, keepdim=True)
L.check("W - row mean", row_centered(Wt.detach()), row_centered(smoothed.log()), atol=1e-3)
L.check("softmax(W)", Wt.detach().softmax(1), bigram.probs(), atol=1e-4)

plt.figure(figsize=(5, 4))
plt.scatter(row_centered((N + 1).float().log()).flatten(), row_centered(W.detach()).flatten(), s=4)
plt.xlabel("log(N + 1), minus its row mean")
plt.ylabel("W after the loop above, minus its row mean")
plt.show()
# %% [code zh]
def table_loss(W, counts):
    """由 (27, 27) 的计数表算出全部二元组的平均负对数似然。"""
    return -(counts * W.log_softmax(1)).sum() / counts.sum()


with torch.no_grad():
    L.check("计数表上的损失", table_loss(W, N.float()) + 0.01 * (W ** 2).mean(), final, atol=1e-5)

smoothed = (N + 1).double()
rows = smoothed / smoothed.sum(1, keepdim=True)                # 每一行的分布，各行权重相同
Wt = torch.zeros((27, 27), dtype=torch.float64, requires_grad=True)
opt = torch.optim.LBFGS([Wt], max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-16, line_search_fn="strong_wolfe")

def closure():
    opt.zero_grad()
    loss = table_loss(Wt, rows)
    loss.backward()
    return loss

opt.step(closure)
row_centered = lambda t: t - t.mean(1, keepdim=True)
L.check("W 减去行均值", row_centered(Wt.detach()), row_centered(smoothed.log()), atol=1e-3)
L.check("softmax(W)", Wt.detach().softmax(1), bigram.probs(), atol=1e-4)

plt.figure(figsize=(5, 4))
plt.scatter(row_centered((N + 1).float().log()).flatten(), row_centered(W.detach()).flatten(), s=4)
plt.xlabel("log(N + 1) 减去所在行的均值")
plt.ylabel("上面循环训练出的 W 减去所在行的均值")
plt.show()

# %% [markdown]
# <!-- topic p1-net-samples -->
# ## The net and the counts write the same names
#
# The same sampling loop, from the net's probabilities `softmax(W)` and the same seed: since the
# net learned (almost) the counts, it writes (almost) the same names.
# %% [markdown zh]
# <!-- topic p1-net-samples -->
# ## 网络和计数写出同样的名字
#
# 同样的采样循环，改用网络给出的概率 `softmax(W)`，种子不变：网络（几乎）学到了计数，所以它（几乎）
# 写出同样的名字。

# %%
names_net = sample_names(F.softmax(W.detach(), dim=1), 5, L.LECTURE_SEED)
for a, c in zip(names_net, names):
    print(f"{a:22s} {c:22s} {'same' if a == c else ''}")
L.figure("p1-net-samples", sum(a == c for a, c in zip(names_net, names)))
# %% [code zh]
names_net = sample_names(F.softmax(W.detach(), dim=1), 5, L.LECTURE_SEED)
for a, c in zip(names_net, names):
    print(f"{a:22s} {c:22s} {'相同' if a == c else ''}")
L.figure("p1-net-samples", sum(a == c for a, c in zip(names_net, names)))

# %% [markdown]
# <!-- topic p1-softmax -->
# ## Softmax: shifting the logits changes nothing, and why that matters
#
# softmax(x + c) = softmax(x) for any constant c: the e^c cancels between the numerator and the
# sum. That is why W's row constants above are free, and it is how softmax is computed safely:
# the logits of a confident net are large, e^x overflows float32 (e^89 already does) and gives
# inf / inf = nan; subtracting each row's maximum first changes nothing else, and every exponent is
# at most e^0 = 1.
# %% [markdown zh]
# <!-- topic p1-softmax -->
# ## Softmax：平移 logits 不改变结果，以及这为什么重要
#
# 对任意常数 c，softmax(x + c) = softmax(x)：e^c 在分子和求和里约掉了。所以上面 W 每行的常数是
# 自由的；这也是安全计算 softmax 的方法：一个很有把握的网络，logits 很大，e^x 会在 float32 里溢出
# （e^89 就已经溢出），得到 inf / inf = nan；先减去每行的最大值，别的什么都不变，而每个指数都不超过
# e^0 = 1。

# %%
def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)


x = torch.tensor([1.0, 2.0, 3.0])
L.check("softmax(x + 100)", softmax(x + 100), softmax(x))
big = x * 100                                        # the logits of a confident net
print("naive:", big.exp() / big.exp().sum(), "  shifted:", softmax(big))
L.check("softmax(100 x)", softmax(big), torch.softmax(big, dim=0))
# %% [code zh]
def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)


x = torch.tensor([1.0, 2.0, 3.0])
L.check("softmax(x + 100)", softmax(x + 100), softmax(x))
big = x * 100                                        # 很有把握的网络给出的 logits
print("naive:", big.exp() / big.exp().sum(), "  shifted:", softmax(big))
L.check("softmax(100 x)", softmax(big), torch.softmax(big, dim=0))


# %% [markdown]
# <!-- topic p1-blowup -->
# ## Longer contexts: the 27ⁿ blow-up
#
# Why not count longer contexts the same way? A table over the previous n − 1 characters has 27ⁿ
# cells (a trigram table already 27³ = 19,683) while the data stays 228,146 bigrams: most contexts
# are never seen, and most of those seen are seen a few times. Counting the contexts that occur,
# against the package's n-gram model, which stores only those:
# %% [markdown zh]
# <!-- topic p1-blowup -->
# ## 更长的上下文：27ⁿ 的爆炸
#
# 为什么不用同样的方法统计更长的上下文？以前 n − 1 个字符为上下文的表有 27ⁿ 格（三元表就已经有
# 27³ = 19,683 格），而数据始终只有 228,146 个二元组：大多数上下文从未出现，出现过的大多也只有几次。
# 数一数真正出现过的上下文，并与只存储这些上下文的本包 n 元模型核对：

# %%
for n in range(2, 7):
    seen = set()
    for w in words:
        chs = ["."] * (n - 1) + list(w) + ["."]
        for i in range(len(chs) - n + 1):
            seen.add(tuple(chs[i:i + n - 1]))
    ngram = mm.build_model("ngram", vocab.size, data.max_len + 1, n=n, method="add-k")
    ngram.fit(*everything.examples(n - 1))
    print(f"n = {n}: {27 ** n:>12,} cells, {27 ** (n - 1):>10,} possible contexts, {len(seen):>7,} seen "
          f"({len(seen) / 27 ** (n - 1):.2%})")
    L.check(f"contexts, n = {n}", len(seen), getattr(ngram, f"keys{n}").numel())
L.figure("p1-blowup", 27 ** 3)
# %% [code zh]
for n in range(2, 7):
    seen = set()
    for w in words:
        chs = ["."] * (n - 1) + list(w) + ["."]
        for i in range(len(chs) - n + 1):
            seen.add(tuple(chs[i:i + n - 1]))
    ngram = mm.build_model("ngram", vocab.size, data.max_len + 1, n=n, method="add-k")
    ngram.fit(*everything.examples(n - 1))
    print(f"n = {n}：{27 ** n:>12,} 格，{27 ** (n - 1):>10,} 种可能的上下文，出现过 {len(seen):>7,} 种"
          f"（{len(seen) / 27 ** (n - 1):.2%}）")
    L.check(f"contexts, n = {n}", len(seen), getattr(ngram, f"keys{n}").numel())
L.figure("p1-blowup", 27 ** 3)

# %% [markdown]
# <!-- topic p1-regularization -->
# ## Smoothing and regularization are one knob
#
# Adding k to every count pulls the probabilities towards uniform; so does `reg * mean(W²)`,
# which pulls every logit towards 0. Fitted on the training split and scored on val (the split the
# next lectures use), for several strengths: a little of either costs nothing, a lot of either
# makes train and val worse the same way. These fits call the package (its count model, and its
# training loop for the neural bigram: full-batch gradient descent at lr 50, as above).
# %% [markdown zh]
# <!-- topic p1-regularization -->
# ## 平滑与正则化是同一个旋钮
#
# 给每个计数加 k，会把概率拉向均匀分布；`reg * mean(W²)` 把每个 logit 拉向 0，效果一样。在训练集上
# 拟合、在验证集上评估（后面几讲用的就是这个划分），取几种强度：两者少量时几乎没有代价，多了则以
# 同样的方式让训练和验证损失都变差。这些拟合调用本包（计数模型，以及神经网络 bigram 的训练循环：
# 与上面一样的全批量梯度下降，学习率 50）。

# %%
smooth_rows, reg_rows = [], []
for k in [0.01, 0.1, 1, 10, 100, 1000]:
    m = mm.build_model("bigram", vocab.size, data.max_len + 1, smoothing=k).fit(*data.train.examples(1))
    smooth_rows.append((k, mm.evaluate(m, data.train), mm.evaluate(m, data.val)))
for reg in [0.001, 0.01, 0.1, 1, 10]:
    torch.manual_seed(L.LECTURE_SEED)
    m = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=reg)
    mm.train(m, data, mm.TrainConfig(optimizer="sgd", lr=50.0, batch_size=0, max_steps=L.steps(300, 20), schedule="constant",
                                     weight_decay=0.0, eval_interval=1000, log_interval=1000), progress=False)
    reg_rows.append((reg, mm.evaluate(m, data.train), mm.evaluate(m, data.val)))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, rows, name in [(axes[0], smooth_rows, "k (added to every count)"), (axes[1], reg_rows, "reg (weight of mean(W²))")]:
    ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="train")
    ax.plot([r[0] for r in rows], [r[2] for r in rows], "o-", label="val")
    ax.set_xscale("log"); ax.set_xlabel(name); ax.grid(alpha=0.3); ax.legend()
axes[0].set_ylabel("loss (nats per character)")
plt.show()
for k, tr, va in smooth_rows:
    print(f"k {k:>7}: train {tr:.4f}  val {va:.4f}")
for reg, tr, va in reg_rows:
    print(f"reg {reg:>5}: train {tr:.4f}  val {va:.4f}")
# %% [code zh]
smooth_rows, reg_rows = [], []
for k in [0.01, 0.1, 1, 10, 100, 1000]:
    m = mm.build_model("bigram", vocab.size, data.max_len + 1, smoothing=k).fit(*data.train.examples(1))
    smooth_rows.append((k, mm.evaluate(m, data.train), mm.evaluate(m, data.val)))
for reg in [0.001, 0.01, 0.1, 1, 10]:
    torch.manual_seed(L.LECTURE_SEED)
    m = mm.build_model("nnbigram", vocab.size, data.max_len + 1, reg=reg)
    mm.train(m, data, mm.TrainConfig(optimizer="sgd", lr=50.0, batch_size=0, max_steps=L.steps(300, 20), schedule="constant",
                                     weight_decay=0.0, eval_interval=1000, log_interval=1000), progress=False)
    reg_rows.append((reg, mm.evaluate(m, data.train), mm.evaluate(m, data.val)))
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, rows, name in [(axes[0], smooth_rows, "k（加到每个计数上）"), (axes[1], reg_rows, "reg（mean(W²) 的权重）")]:
    ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="训练")
    ax.plot([r[0] for r in rows], [r[2] for r in rows], "o-", label="验证")
    ax.set_xscale("log"); ax.set_xlabel(name); ax.grid(alpha=0.3); ax.legend()
axes[0].set_ylabel("损失（每字符奈特）")
plt.show()
for k, tr, va in smooth_rows:
    print(f"k {k:>7}：训练 {tr:.4f}  验证 {va:.4f}")
for reg, tr, va in reg_rows:
    print(f"reg {reg:>5}：训练 {tr:.4f}  验证 {va:.4f}")

# %% [markdown]
# ## The lecture's exercises
#
# The lecture ends with five exercises. Each is a `makemore exercise`: `show` prints the task and
# writes a file to fill in, `check` runs your code against the package and says what is off.
#
# - **p1-e01**: a trigram model (two characters in, the third out), by counting and as a neural net; does it beat the bigram?
# - **p1-e02**: split the names 80/10/10, train bigram and trigram on train only, evaluate on dev and test.
# - **p1-e03**: tune the trigram's smoothing on dev, then evaluate on test once.
# - **p1-e04**: replace the one-hot product by indexing the rows of W.
# - **p1-e05**: use `F.cross_entropy`, and see why it is preferred.
#
# ```
# makemore exercise list
# makemore exercise show p1-e01 --write e01.py
# makemore exercise check p1-e01 e01.py
# ```
#
# In a notebook cell: `from makemore import exercises; print(exercises.check("p1-e04", my_function))`.
# %% [markdown zh]
# ## 讲座的练习
#
# 讲座最后留了五道练习。每道都是一个 `makemore exercise`：`show` 打印题目并写出一个待填写的文件，
# `check` 用本包核对你的代码并指出哪里不对。
#
# - **p1-e01**：三元模型（输入两个字符，输出第三个），用计数和神经网络各做一遍；它比 bigram 好吗？
# - **p1-e02**：把名字按 80/10/10 划分，只在训练集上训练 bigram 和三元模型，在开发集和测试集上评估。
# - **p1-e03**：在开发集上调三元模型的平滑强度，然后只在测试集上评估一次。
# - **p1-e04**：不用 one-hot 乘法，直接按下标取 W 的行。
# - **p1-e05**：改用 `F.cross_entropy`，并想想为什么更推荐它。
#
# ```
# makemore exercise list
# makemore exercise show p1-e01 --write e01.py
# makemore exercise check p1-e01 e01.py
# ```
#
# 在笔记本单元格里：`from makemore import exercises; print(exercises.check("p1-e04", my_function))`。
