# %% [markdown]
# # Beyond the lectures: recurrent nets, the Transformer, sampling through the cache, ensembles
#
# The rest of the ladder on the same split: an LSTM and a GRU written gate by gate, and a GPT-style
# Transformer; sampling one character at a time through each model's cache (hidden state, KV cache)
# checked against re-running the whole model; and a mixture of them. The trainings here are the
# package's default recipes (the Transformer shortened to a few minutes); the full ladder is in
# docs/results.md. `MAKEMORE_LECTURE_FAST=1` shortens them all.
# %% [markdown zh]
# # 讲座之外：循环网络、Transformer、带缓存的采样与集成
#
# 在同一个数据划分上看阶梯的其余部分：逐个门手写的 LSTM 和 GRU，以及 GPT 风格的 Transformer；
# 通过每个模型的缓存（隐藏状态、KV 缓存）逐字符采样，并与每步重跑整个模型的结果核对；最后把它们
# 混合起来。这里的训练用本包的默认配方（Transformer 缩短到几分钟）；完整的阶梯见 docs/results.md。
# 设 `MAKEMORE_LECTURE_FAST=1` 会把它们全部缩短。

# %%
import time
import torch
import makemore as mm
from makemore import lectures as L
from makemore.sampling import generate

RUNS = L.runs_dir() / "part6"

def trained(name, **options):
    if L.FAST:
        options.update(max_steps=100, eval_interval=100)
    run = mm.create_run(RUNS / name, force=True, **options)
    t0 = time.perf_counter()
    run.train(progress=False)
    losses = run.evaluate(("val", "test"))
    print(f"{name:12s} {sum(p.numel() for p in run.model.parameters()):8,} parameters  "
          f"val {losses['val']:.4f} test {losses['test']:.4f}  {time.perf_counter() - t0:5.0f} s")
    return run

# %% [markdown]
# ## Recurrent nets and the Transformer
# %% [markdown zh]
# ## 循环网络与 Transformer

# %%
lstm = trained("lstm", type="lstm")
gru = trained("gru", type="gru")
transformer = trained("transformer", type="transformer", preset="small", max_steps=4000, eval_interval=1000)

# %% [markdown]
# ## Sampling through the cache
#
# Each new character costs one step of the model with its state (the LSTM's hidden and cell
# state, the Transformer's keys and values), instead of a forward pass over everything so far.
# Same generator, same items either way; the cache is faster, and more so the longer the items.
# %% [markdown zh]
# ## 带缓存的采样
#
# 每生成一个新字符，只需带着状态（LSTM 的隐藏状态与细胞状态、Transformer 的键和值）让模型走一步，
# 而不必对目前为止的全部内容重新前向计算。用同一个生成器，两种方式得到的结果完全相同；缓存更快，
# 条目越长快得越多。

# %%
for name, run in [("lstm", lstm), ("transformer", transformer)]:
    timings, items, n = {}, {}, L.steps(500, 50)
    for cached in (True, False):
        t0 = time.perf_counter()
        items[cached] = generate(run.model, n, run.max_len, generator=torch.Generator().manual_seed(0), cached=cached)
        timings[cached] = time.perf_counter() - t0
    assert torch.equal(items[True], items[False])
    print(f"{name:12s} the same {n} items; cached {timings[True]:.2f} s, full re-run {timings[False]:.2f} s "
          f"({timings[False] / timings[True]:.1f}x)")
print([s["item"] for s in transformer.sample(8, seed=1)])

# %% [markdown]
# ## A mixture of the three
#
# Models that err differently mix well: the mixture's weights are fitted on val, and it scores
# below each member on test.
# %% [markdown zh]
# ## 三个模型的混合
#
# 犯错方式不同的模型混合效果好：混合权重在验证集上拟合，它在测试集上的损失低于每个成员。

# %%
mix = mm.ensemble(RUNS / "mix", [RUNS / "lstm", RUNS / "gru", RUNS / "transformer"], force=True)
print(mix.members_table())
scores = {name: r.evaluate(("val", "test")) for name, r in [("lstm", lstm), ("gru", gru), ("transformer", transformer), ("mixture", mix)]}
for name, s in scores.items():
    print(f"{name:12s} val {s['val']:.4f} test {s['test']:.4f}")
if not L.FAST:
    assert scores["mixture"]["test"] < min(s["test"] for n, s in scores.items() if n != "mixture")
