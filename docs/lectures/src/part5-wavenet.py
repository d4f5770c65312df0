# %% [markdown]
# # Part 5: WaveNet
#
# A companion to "building makemore" part 5, on the package: the hierarchy that fuses
# neighbouring characters pair by pair (van den Oord et al. 2016), the BatchNorm fix the lecture
# makes on the way (statistics over the batch *and* the positions), and the lecture's loss figure,
# reproduced with its recipe. `MAKEMORE_LECTURE_FAST=1` shortens the training.
# %% [markdown zh]
# # 第五部分：WaveNet
#
# 配合 "building makemore" 第五讲：把相邻字符两两融合的层级结构（van den Oord 等，2016），讲座途中
# 做的 BatchNorm 修正（统计量同时取自批次*和*位置），以及用讲座配方复现的损失曲线图。设
# `MAKEMORE_LECTURE_FAST=1` 会缩短训练。

# %%
import torch
import matplotlib.pyplot as plt
import makemore as mm
from makemore import lectures as L
from makemore.models.layers import BatchNorm1d

RUNS = L.runs_dir() / "part5"
data = mm.build_dataset(mm.read_words())

# %% [markdown]
# ## The hierarchy, layer by layer
#
# 8 characters of context; each level concatenates two neighbours (`FlattenConsecutive(2)`) and
# mixes them with Linear, BatchNorm and tanh. A batch of 4 contexts goes through, and every
# layer's output shape is printed, as the lecture does.
# %% [markdown zh]
# ## 层级结构，逐层查看
#
# 上下文为 8 个字符；每一层把相邻两个拼接起来（`FlattenConsecutive(2)`），再经过 Linear、BatchNorm
# 和 tanh 混合。送入 4 个上下文组成的批次，像讲座那样打印每一层输出的形状。

# %%
torch.manual_seed(42)
model = mm.build_model("wavenet", data.vocab.size, data.max_len + 1)     # the lecture's sizes
X, Y = data.train.examples(model.block_size)
x = X[:4].long()
print("input", tuple(x.shape))
for layer in model.net.layers:
    x = layer(x)
    print(f"{type(layer).__name__:20s} {tuple(x.shape)}")
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# ## The BatchNorm fix
#
# With inputs of shape (batch, positions, channels), the lecture's first BatchNorm took its
# statistics over dim 0 only: one mean per position and channel, (4, 68) running means instead of
# (68,). The fix takes them over every dim but the last, so each channel is normalized over all
# its examples and positions; the package's `BatchNorm1d` does that.
# %% [markdown zh]
# ## BatchNorm 的修正
#
# 输入形状为 (批次, 位置, 通道) 时，讲座最初的 BatchNorm 只在第 0 维上求统计量：每个位置、每个
# 通道各一个均值，运行均值的形状是 (4, 68) 而不是 (68,)。修正后在除最后一维之外的所有维上求，
# 每个通道在它所有的样本与位置上归一化；本包的 `BatchNorm1d` 就是这样做的。

# %%
h = torch.randn(32, 4, 68)
print("the bug: mean over dim 0     ", tuple(h.mean(0, keepdim=True).shape))
print("the fix: mean over dims (0, 1)", tuple(h.mean((0, 1), keepdim=True).shape))
bn = BatchNorm1d(68)
out = bn(h)
print("BatchNorm1d running mean", tuple(bn.running_mean.shape))
print("each channel normalized over batch and positions: mean", round(out.mean((0, 1)).abs().max().item(), 6),
      "std", round(out.std((0, 1), unbiased=False).mean().item(), 4))

# %% [markdown]
# ## The lecture's figure
#
# The lecture's recipe (`--recipe lecture`: 200,000 SGD steps of 32, lr 0.1 then 0.01 from step
# 150,000), and its plot: the training loss averaged over every 1,000 steps (the run logs exactly
# those means), with the drop where the learning rate decays. The lecture ends at train 1.7690 /
# val 1.9937.
# %% [markdown zh]
# ## 讲座中的图
#
# 讲座的配方（`--recipe lecture`：200,000 步、每批 32 的 SGD，学习率 0.1，从第 150,000 步起降为 0.01），
# 以及它的图：每 1,000 步平均一次的训练损失（运行日志记录的正是这些均值），学习率衰减处有一个
# 明显的下降。讲座的最终结果是训练 1.7690 / 验证 1.9937。

# %%
fast = {"max_steps": 500, "eval_interval": 500, "log_interval": 50} if L.FAST else {}
run = mm.create_run(RUNS / "wavenet-lecture", type="wavenet", recipe="lecture", force=True, **fast)
run.train(progress=False)
losses = run.evaluate()
log = [r for r in run.metrics if "loss" in r]
plt.figure(figsize=(8, 4))
plt.plot([r["step"] for r in log], [torch.tensor(r["loss"]).log10().item() for r in log])
plt.xlabel("step"); plt.ylabel("log10 training loss (mean over each 1,000 steps)"); plt.grid(alpha=0.3)
plt.title("WaveNet, the lecture's recipe")
plt.show()
print({k: round(v, 4) for k, v in losses.items()})
print(L.close_to(losses["val"], 1.9937, 0.01, "val"))
