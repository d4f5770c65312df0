# %% [markdown]
# # Beyond the lectures: recurrent nets, the Transformer, sampling through the cache, mixtures
#
# The rest of the ladder (the package's models from the simplest to the strongest) on the same
# split: an LSTM and a GRU written gate by gate, and a GPT-style Transformer; one LSTM step written
# out in plain torch and checked against the package's cell; sampling one character at a time
# through each model's cache (hidden state, key/value cache) checked against re-running the whole
# model; and a mixture of them. The trainings are the package's default recipes (the Transformer
# cut to a few minutes), each printed as the command that does the same; the full ladder is in
# docs/results.md. `MAKEMORE_LECTURE_FAST=1` shortens them all.
# %% [markdown zh]
# # 讲座之外：循环网络、Transformer、带缓存的采样与混合
#
# 在同一个数据划分上看完模型阶梯（本包从最简单到最强的一系列模型）的其余部分：逐个门手写的 LSTM 和 GRU，
# 以及 GPT 风格的 Transformer；用朴素的 torch 写出 LSTM 的一步，并与本包的单元核对；通过每个模型的缓存
# （隐藏状态、键/值缓存）逐字符采样，并与每步重跑整个模型的结果核对；最后把它们混合起来。训练用本包的默认
# 配方（Transformer 缩短到几分钟），每次训练都会打印出做同样事情的命令；完整的模型阶梯见 docs/results.md。
# 设 `MAKEMORE_LECTURE_FAST=1` 会把它们全部缩短。

# %%
import time
import torch
import makemore as mm
from makemore import lectures as L
from makemore.sampling import generate

RUNS = L.runs_dir() / "part6"
fast = {"max_steps": 100, "eval_interval": 100} if L.fast() else {}
lstm = L.trained(RUNS / "lstm", weights="best", type="lstm", **fast)
gru = L.trained(RUNS / "gru", weights="best", type="gru", **fast)
transformer = L.trained(RUNS / "transformer", weights="best", type="transformer", preset="small",
                        **(fast or {"max_steps": 4000, "eval_interval": 1000}))
for name, run in [("lstm", lstm), ("gru", gru), ("transformer", transformer)]:
    losses = run.evaluate(("val", "test"))
    print(f"{name:12s} {sum(p.numel() for p in run.model.parameters()):8,} parameters  "
          f"val {losses['val']:.4f}  test {losses['test']:.4f}")
# %% [code zh]
import time
import torch
import makemore as mm
from makemore import lectures as L
from makemore.sampling import generate

RUNS = L.runs_dir() / "part6"
fast = {"max_steps": 100, "eval_interval": 100} if L.fast() else {}
lstm = L.trained(RUNS / "lstm", weights="best", type="lstm", **fast)
gru = L.trained(RUNS / "gru", weights="best", type="gru", **fast)
transformer = L.trained(RUNS / "transformer", weights="best", type="transformer", preset="small",
                        **(fast or {"max_steps": 4000, "eval_interval": 1000}))
for name, run in [("lstm", lstm), ("gru", gru), ("transformer", transformer)]:
    losses = run.evaluate(("val", "test"))
    print(f"{name:12s} {sum(p.numel() for p in run.model.parameters()):8,} 个参数  "
          f"验证 {losses['val']:.4f}  测试 {losses['test']:.4f}")

# %% [markdown]
# ## One step of the LSTM, by hand
#
# An LSTM keeps a cell state c beside its hidden state h. From the input x and the previous h, four
# gates are computed at once: input i, forget f and output o (sigmoids, between 0 and 1) and a
# candidate g (tanh). Then c = f·c + i·g (keep part of the old memory, write part of the new) and
# h = o·tanh(c). Written out here with the trained model's own weights, against the package's cell.
# %% [markdown zh]
# ## 手写 LSTM 的一步
#
# LSTM 在隐藏状态 h 之外还保留一个细胞状态 c。由输入 x 和上一步的 h 一次算出四个门：输入门 i、遗忘门 f 和输出门
# o（sigmoid，取值在 0 到 1 之间），以及候选值 g（tanh）。然后 c = f·c + i·g（保留一部分旧记忆，写入一部分新
# 内容），h = o·tanh(c)。这里用训练好的模型自己的权重写出这一步，并与本包的单元核对。

# %%
cell = lstm.model.cells[0]
H = cell.h2h.weight.shape[1]
x = torch.randn(4, cell.x2h.weight.shape[1])
h0, c0 = torch.randn(4, H), torch.randn(4, H)
with torch.no_grad():
    gates = cell.x2h(x) + cell.h2h(h0)                      # (4, 4H): the four gates' pre-activations
    i, f, g, o = gates.chunk(4, dim=1)
    c1 = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
    h1 = torch.sigmoid(o) * torch.tanh(c1)
    h_ref, c_ref = cell.step(cell.x2h(x), (h0, c0))
L.check("h", h1, h_ref, atol=1e-6)
L.check("c", c1, c_ref, atol=1e-6)
# %% [code zh]
cell = lstm.model.cells[0]
H = cell.h2h.weight.shape[1]
x = torch.randn(4, cell.x2h.weight.shape[1])
h0, c0 = torch.randn(4, H), torch.randn(4, H)
with torch.no_grad():
    gates = cell.x2h(x) + cell.h2h(h0)                      # (4, 4H)：四个门激活前的值
    i, f, g, o = gates.chunk(4, dim=1)
    c1 = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
    h1 = torch.sigmoid(o) * torch.tanh(c1)
    h_ref, c_ref = cell.step(cell.x2h(x), (h0, c0))
L.check("h", h1, h_ref, atol=1e-6)
L.check("c", c1, c_ref, atol=1e-6)

# %% [markdown]
# ## Sampling through the cache
#
# Each new character costs one step of the model with its state (the LSTM's hidden and cell
# state, the Transformer's keys and values), instead of a forward pass over everything so far.
# Same generator, same items either way; the cache is faster, and more so the longer the items.
# %% [markdown zh]
# ## 带缓存的采样
#
# 每生成一个新字符，只需带着状态（LSTM 的隐藏状态与细胞状态、Transformer 的键和值）让模型走一步，而不必对
# 目前为止的全部内容重新前向计算。用同一个生成器，两种方式得到的结果完全相同；缓存更快，条目越长快得越多。

# %%
for name, run in [("lstm", lstm), ("transformer", transformer)]:
    timings, items, n = {}, {}, L.steps(500, 50)
    for cached in (True, False):
        t0 = time.perf_counter()
        items[cached] = generate(run.model, n, run.max_len, generator=torch.Generator().manual_seed(0), cached=cached)
        timings[cached] = time.perf_counter() - t0
    L.check(f"{name}: cached = full", items[True], items[False])
    print(f"{name:12s} the same {n} items; cached {timings[True]:.2f} s, full re-run {timings[False]:.2f} s "
          f"({timings[False] / timings[True]:.1f}x)")
print([s["item"] for s in transformer.sample(8, seed=1)])
# %% [code zh]
for name, run in [("lstm", lstm), ("transformer", transformer)]:
    timings, items, n = {}, {}, L.steps(500, 50)
    for cached in (True, False):
        t0 = time.perf_counter()
        items[cached] = generate(run.model, n, run.max_len, generator=torch.Generator().manual_seed(0), cached=cached)
        timings[cached] = time.perf_counter() - t0
    L.check(f"{name}：缓存 = 重跑", items[True], items[False])
    print(f"{name:12s} 得到同样的 {n} 个条目；用缓存 {timings[True]:.2f} 秒，每步重跑 {timings[False]:.2f} 秒 "
          f"（{timings[False] / timings[True]:.1f} 倍）")
print([s["item"] for s in transformer.sample(8, seed=1)])

# %% [markdown]
# ## A mixture of the three
#
# Models that err differently mix well: the mixture's weights are fitted on val, and on a full run
# it scores below each member on test.
# %% [markdown zh]
# ## 三个模型的混合
#
# 犯错方式不同的模型混合效果好：混合权重在验证集上拟合，完整训练时它在测试集上的损失低于每个成员。

# %%
mix = mm.ensemble(RUNS / "mix", [RUNS / "lstm", RUNS / "gru", RUNS / "transformer"], force=True)
scores = {name: r.evaluate(("val", "test")) for name, r in [("lstm", lstm), ("gru", gru), ("transformer", transformer), ("mixture", mix)]}
print("weights:", [round(w, 3) for w in mix.model.weights])
for name, s in scores.items():
    print(f"{name:12s} val {s['val']:.4f} test {s['test']:.4f}")
if not L.fast():
    L.check("the mixture below every member", scores["mixture"]["test"] < min(s["test"] for n, s in scores.items() if n != "mixture"), True)
# %% [code zh]
mix = mm.ensemble(RUNS / "mix", [RUNS / "lstm", RUNS / "gru", RUNS / "transformer"], force=True)
scores = {name: r.evaluate(("val", "test")) for name, r in [("lstm", lstm), ("gru", gru), ("transformer", transformer), ("mixture", mix)]}
print("权重：", [round(w, 3) for w in mix.model.weights])
for name, s in scores.items():
    print(f"{name:12s} 验证 {s['val']:.4f} 测试 {s['test']:.4f}")
if not L.fast():
    L.check("混合低于每个成员", scores["mixture"]["test"] < min(s["test"] for n, s in scores.items() if n != "mixture"), True)
