# %% [markdown]
# # Part 3: activations, gradients and BatchNorm
#
# A companion to "building makemore" part 3, on the package. First the lecture's loss log,
# reproduced stage by stage from its own seed and batches; then why each fix helps, seen at
# initialization; then the deep net's activation, gradient, grad:data and update:data figures,
# with and without BatchNorm. `MAKEMORE_LECTURE_FAST=1` shortens the trainings (and skips the
# comparisons with the lecture, which need its 200,000 steps).
# %% [markdown zh]
# # 第三部分：激活值、梯度与 BatchNorm
#
# 配合 "building makemore" 第三讲。先用讲座自己的随机种子和批次，逐阶段复现讲座的损失记录；
# 再在初始化时看每一处修正为什么有用；最后是深层网络在有无 BatchNorm 时的激活值、梯度、
# grad:data 与 update:data 图。设 `MAKEMORE_LECTURE_FAST=1` 会缩短训练（并跳过与讲座数字的比较，
# 那需要完整的 200,000 步）。

# %%
import torch
import makemore as mm
from makemore import lectures as L
from makemore.diagnostics import health, report
from makemore.plots import diagnose_plot
from makemore.presets import MODEL_PRESETS
from IPython.display import Image

RUNS = L.runs_dir() / "part3"
data = mm.build_dataset(mm.read_words())

# %% [markdown]
# ## The loss log, reproduced
#
# The lecture's net: 10-dimensional embeddings of 3 characters, 200 tanh units. Each stage is
# one preset of the `mlp` type, and each fix one option, so every row is also one command:
#
# ```
# makemore train -o runs/p3-tanh --type mlp --preset part3-tanh --recipe part3
# makemore train -o runs/p3-tanh --type mlp --init randn --w1-scale 0.2 --b1-scale 0.01 --w2-scale 0.01 --b2-scale 0 --recipe part3
# ```
#
# `--recipe part3` is the lecture's run: `--seed 2147483647 --shared-rng` (one generator draws
# the weights and then every batch, as the lecture's `g` does), 200,000 SGD steps of 32 at lr 0.1,
# then 0.01, and BatchNorm evaluated on statistics over the whole training set. The weights after
# the first steps are the lecture's own, to float rounding (a test checks it).
# %% [markdown zh]
# ## 复现损失记录
#
# 讲座的网络：3 个字符、每个 10 维嵌入，200 个 tanh 单元。每个阶段是 `mlp` 类型的一个预设，每处
# 修正是一个选项，所以每一行也是一条命令（见上方英文版的命令示例）。
#
# `--recipe part3` 就是讲座的训练：`--seed 2147483647 --shared-rng`（同一个生成器先抽取权重、再抽取
# 每个批次，正如讲座里的 `g`），200,000 步、每批 32 的 SGD，学习率 0.1 后降为 0.01，BatchNorm 用整个
# 训练集的统计量评估。最初几步之后的权重与讲座自己的逐一相同（仅差浮点舍入；有测试检查）。

# %%
rows = L.loss_log(RUNS, steps=L.steps(None, 300))
print(f"{'stage':16s} {'train':>7s} {'val':>7s}   lecture: {'train':>7s} {'val':>7s}")
for r in rows:
    print(f"{r['stage']:16s} {r['train']:7.4f} {r['val']:7.4f}            {r['lecture_train']:7.4f} {r['lecture_val']:7.4f}")
for r in rows:
    print(L.close_to(r["train"], r["lecture_train"], 0.01, f"{r['stage']} train"))
    print(L.close_to(r["val"], r["lecture_val"], 0.01, f"{r['stage']} val"))

# %% [markdown]
# ## Why each fix helps: the net at initialization
#
# The initial loss against the uniform guess, -ln(1/27) = 3.2958, and the share of tanh outputs
# that start saturated (|h| > 0.97), where the gradient through the tanh is all but zero: the
# original net is confidently wrong (loss near 27) and most of its units are saturated.
# %% [markdown zh]
# ## 每处修正为什么有用：初始化时的网络
#
# 初始损失与均匀猜测 -ln(1/27) = 3.2958 的对比，以及一开始就饱和（|h| > 0.97）的 tanh 输出所占的
# 比例——饱和处通过 tanh 的梯度几乎为零：原始网络"自信地犯错"（损失接近 27），大多数单元饱和。

# %%
for preset, what, *_ in L.LOSS_LOG:
    torch.manual_seed(L.LECTURE_SEED)
    model = mm.build_model("mlp", data.vocab.size, data.max_len + 1,
                           **MODEL_PRESETS["mlp"][preset])
    stats = health(model, data)
    print(f"{preset:16s} initial loss {mm.evaluate(model, data.train):7.4f}   "
          f"saturated tanh outputs {stats['tanh'][0]['saturated_pct']:5.1f}%")

# %% [markdown]
# ## The deep net, without and with BatchNorm
#
# The lecture's second half stacks five tanh layers of 100 (`--type bnmlp --n-layer 5 --n-hidden
# 100`), initialized with the tanh gain 5/3, and trains it for 1,000 steps while recording the
# update:data ratio of every weight matrix (`--track-updates`). The four panels: tanh outputs,
# their gradients, the weights' gradients (with the grad:data ratio) and update:data over training,
# whose guide is about -3. Without BatchNorm the gain keeps every layer alive; with it, the
# statistics hold for any scale.
# %% [markdown zh]
# ## 深层网络：没有与有 BatchNorm
#
# 讲座后半部分堆叠了五层 100 个单元的 tanh 层（`--type bnmlp --n-layer 5 --n-hidden 100`），用 tanh
# 增益 5/3 初始化，训练 1,000 步并记录每个权重矩阵的 update:data 比值（`--track-updates`）。四幅图：
# tanh 输出、它们的梯度、权重的梯度（附 grad:data 比值），以及训练中的 update:data，参考线约为 -3。
# 没有 BatchNorm 时靠增益让每一层保持活跃；有了它，无论尺度如何，统计量都能保持。

# %%
figures = {}
for batchnorm in (False, True):
    name = "deep-batchnorm" if batchnorm else "deep-plain"
    run = mm.create_run(RUNS / name, type="bnmlp", preset="lecture", recipe="lecture", n_layer=5, n_hidden=100,
                        batchnorm=batchnorm, max_steps=L.steps(1000, 100), eval_interval=L.steps(1000, 100),
                        force=True)
    run.train(progress=False, track_updates=1)
    done = mm.load_run(RUNS / name, weights="last")
    stats = health(done.model, done.data)
    print(report(stats, done.dir.read_updates(), name))
    figures[name] = diagnose_plot(stats, done.dir.read_updates(), f"{name}.png")
Image(figures["deep-plain"])

# %%
Image(figures["deep-batchnorm"])
