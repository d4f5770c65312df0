# %% [markdown]
# # Part 2: the MLP (Bengio et al. 2003)
#
# A companion to "building makemore" part 2, on the package: the dataset of contexts, the
# embedding lookup, the learning-rate search, the split, the bigger embedding, the 2-D embedding
# figure, samples, and the lecture's exercises E01–E03, each answered with a measured number.
# `MAKEMORE_LECTURE_FAST=1` shortens the trainings.
# %% [markdown zh]
# # 第二部分：多层感知机 MLP（Bengio 等，2003）
#
# 配合 "building makemore" 第二讲：上下文数据集、嵌入查表、学习率搜索、数据划分、更大的嵌入、
# 二维嵌入图、采样，以及讲座的练习 E01–E03，每一题都给出实测数字。设 `MAKEMORE_LECTURE_FAST=1`
# 会缩短训练。

# %%
import torch
import torch.nn.functional as F
import makemore as mm
from makemore import lectures as L
from makemore.diagnostics import embedding_points, lr_sweep
from makemore.evaluation import uniform_loss
from makemore.plots import embeddings_plot, lr_find_plot
from IPython.display import Image

RUNS = L.runs_dir() / "part2"
words = mm.read_words()
data = mm.build_dataset(words)
vocab = data.vocab

# %% [markdown]
# ## The dataset: every context of 3 characters and the character after it
#
# For "emma", the five examples the lecture prints. The training split holds one such example per
# character of every name (its end included): 182,625 of them.
# %% [markdown zh]
# ## 数据集：每个 3 字符上下文及其后的字符
#
# "emma" 的五个样本，正是讲座打印的那五行。训练集里每个名字的每个字符（含结尾）都是一个这样的
# 样本：共 182,625 个。

# %%
for context, nxt in L.contexts("emma", vocab, block_size=3):
    print(context, "--->", nxt)
X, Y = data.train.examples(3)                          # stored compactly (int8): .long() to index with
X, Y = X.long(), Y.long()
print(X.shape, Y.shape)
assert X.shape == (182625, 3)

# %% [markdown]
# ## The embedding lookup
#
# `C[ix]` picks rows of the embedding table: the same as one-hot(ix) @ C. The model's `wte` is
# the lecture's C.
# %% [markdown zh]
# ## 嵌入查表
#
# `C[ix]` 取出嵌入表的行，与 one-hot(ix) @ C 相同。模型的 `wte` 就是讲座里的 C。

# %%
torch.manual_seed(L.LECTURE_SEED)
model = mm.build_model("mlp", vocab.size, data.max_len + 1, n_embd=2, n_hidden=100)
C = model.wte.weight                                    # (27, 2)
ix = vocab.encode("e")[0]
print(C[ix], F.one_hot(torch.tensor(ix), vocab.size).float() @ C)
emb = model.wte(X[:32])                                 # (32, 3, 2)
print(emb.shape, "->", emb.view(32, -1).shape, "-> hidden -> logits", model.logits(X[:32]).shape)

# %% [markdown]
# ## Finding a good learning rate
#
# One step at each rate, the rates growing exponentially from 0.001 to 1: the loss falls, bottoms
# out and blows up. The lecture reads 0.1 off this curve.
# %% [markdown zh]
# ## 寻找合适的学习率
#
# 每个学习率只走一步，学习率从 0.001 指数增长到 1：损失先降、到底、再爆炸。讲座从这条曲线上
# 读出 0.1。

# %%
torch.manual_seed(L.LECTURE_SEED)
fresh = mm.build_model("mlp", vocab.size, data.max_len + 1)     # the lecture's sizes: 10-d embeddings, 200 hidden
res = lr_sweep(fresh, data, steps=L.steps(1000, 100))
print(f"suggested lr {res['suggested_lr']:.3g} (lowest smoothed loss at {res['min_loss_lr']:.3g})")
Image(lr_find_plot(res["lrs"], res["losses"], res["smoothed"], res["suggested_lr"], "lr_find.png"))

# %% [markdown]
# ## Train, dev and test
#
# The lectures' split: `random.seed(42)`, shuffle, 80 / 10 / 10. Every number here compares 1:1
# with theirs.
# %% [markdown zh]
# ## 训练集、开发集与测试集
#
# 讲座的划分：`random.seed(42)`、打乱、80 / 10 / 10。这里的每个数字都能与讲座一一对照。

# %%
for name in ("train", "val", "test"):
    split = data.split(name)
    print(f"{name:5s} {len(split.words):6,} names {split.n_targets:8,} characters")
assert [data.split(s).n_targets for s in ("train", "val", "test")] == [182625, 22655, 22866]

# %% [markdown]
# ## The bigger embedding, trained as the lecture trains it
#
# 10-dimensional embeddings, 200 hidden units, 200,000 SGD steps of 32 examples, lr 0.1 then
# 0.01 (`--recipe lecture`). The lecture reached val 2.17; this net, with torch.nn's
# initialization, does better.
# %% [markdown zh]
# ## 更大的嵌入，照讲座的方式训练
#
# 10 维嵌入、200 个隐藏单元、200,000 步每批 32 个样本的 SGD，学习率 0.1 后降为 0.01
# （`--recipe lecture`）。讲座的验证损失是 2.17；这个网络用 torch.nn 的初始化，结果更好。

# %%
run = mm.create_run(RUNS / "mlp-lecture", type="mlp", recipe="lecture", force=True,
                    **({"max_steps": 300, "eval_interval": 300} if L.FAST else {}))
run.train(progress=False)
losses = run.evaluate()
print({k: round(v, 4) for k, v in losses.items()})
if not L.FAST:
    assert losses["val"] < 2.17

# %% [markdown]
# ## The 2-D embedding figure
#
# With 2-dimensional embeddings the table can be drawn as it is: the vowels gather, '.' and 'q'
# stand apart.
# %% [markdown zh]
# ## 二维嵌入图
#
# 嵌入只有 2 维时可以原样画出来：元音聚在一起，'.' 和 'q' 远离其他字符。

# %%
run2 = mm.create_run(RUNS / "mlp-2d", type="mlp", n_embd=2, n_hidden=100, force=True,
                     **({"max_steps": 200, "eval_interval": 200} if L.FAST else {}))
run2.train(progress=False)
pts = embedding_points(run2.model, vocab, "mlp (2-d)")
Image(embeddings_plot(pts["points"], pts["chars"], "embeddings.png", pts["title"]))

# %% [markdown]
# ## Samples
#
# From the bigger model, each marked as new or as a name of the training set.
# %% [markdown zh]
# ## 采样
#
# 从较大的模型采样，并标出是新名字还是训练集里已有的名字。

# %%
for s in run.sample(12, seed=L.LECTURE_SEED):
    print(f"{s['item']:15s} {s['novelty']}")

# %% [markdown]
# ## E01: beat val 2.2
#
# The package's default MLP recipe (AdamW at batch 256, 10,000 steps, a cosine decay) does it in
# seconds; so does the lecture's recipe above.
# %% [markdown zh]
# ## E01：验证损失低于 2.2
#
# 本包的默认 MLP 配方（AdamW、批大小 256、10,000 步、余弦衰减）几秒钟就能做到；上面讲座的配方
# 也可以。

# %%
e01 = mm.create_run(RUNS / "mlp-default", type="mlp", force=True, **({"max_steps": 200, "eval_interval": 200} if L.FAST else {}))
e01.train(progress=False)
val = e01.evaluate(("val",))["val"]
print(f"E01: val {val:.4f} (target < 2.2)")
if not L.FAST:
    assert val < 2.2

# %% [markdown]
# ## E02: the loss at initialization
#
# Predicting every character with probability 1/27 costs -ln(1/27) = 3.2958 per character. The
# lecture's first net starts far above it, being confidently wrong. Output weights and bias set to
# 0 at initialization (`--init randn --w2-scale 0 --b2-scale 0`) make the net start exactly
# there.
# %% [markdown zh]
# ## E02：初始化时的损失
#
# 每个字符都以 1/27 的概率预测，每字符代价为 -ln(1/27) = 3.2958。讲座最初的网络起点远高于此：
# 它"自信地犯错"。初始化时把输出层权重和偏置设为 0（`--init randn --w2-scale 0 --b2-scale 0`），
# 网络就恰好从这里起步。

# %%
print(f"uniform: {uniform_loss(vocab.size):.4f}")
for name, options in [("the lecture's first init", dict(init="randn")),
                      ("output layer at 0", dict(init="randn", w2_scale=0.0, b2_scale=0.0))]:
    torch.manual_seed(L.LECTURE_SEED)
    m = mm.build_model("mlp", vocab.size, data.max_len + 1, **options)
    print(f"{name:26s} initial train loss {mm.evaluate(m, data.train):.4f}")
assert abs(mm.evaluate(m, data.train) - 3.2958) < 1e-4

# %% [markdown]
# ## E03: an idea from the paper, the mixture with an n-gram model
#
# Bengio et al. mix their network with an interpolated trigram. Here: the MLP of E01 and a
# Kneser-Ney n-gram, mixed with weights fitted on val (`makemore ensemble`). The mixture is
# better than either.
# %% [markdown zh]
# ## E03：论文里的一个想法——与 n 元语法模型混合
#
# Bengio 等人把他们的网络与插值三元语法模型混合。这里：E01 的 MLP 与 Kneser-Ney n 元语法模型，
# 用在验证集上拟合的权重混合（`makemore ensemble`）。混合模型比任何一个单独的都好。

# %%
kn = mm.create_run(RUNS / "kn5", type="ngram", n=5, force=True)
kn.train(progress=False)
mix = mm.ensemble(RUNS / "mix", [RUNS / "mlp-default", RUNS / "kn5"], force=True)
results = {name: r.evaluate(("val", "test")) for name, r in [("mlp", e01), ("5-gram", kn), ("mixture", mix)]}
for name, r in results.items():
    print(f"{name:8s} val {r['val']:.4f} test {r['test']:.4f}")
assert results["mixture"]["val"] < min(results["mlp"]["val"], results["5-gram"]["val"])
