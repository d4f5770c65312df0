"""The topics of the study notes the lecture notebooks cover, as plain data: for each, the
notebook that runs it, its name in English and in Chinese, and the number the notes or the
lecture give, where there is one, with how close ours must come.

A notebook marks the cell that runs a topic with `<!-- topic KEY -->` in the text cell before it,
and prints the topic's number with `L.figure(KEY, ours)`. The notebook builder checks that every
topic has its cell, and benchmarks/lectures.py writes the coverage table of docs/lectures/README.md
from the figures of the full runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .training import LOSS_LOG


@dataclass(frozen=True)
class Topic:
    key: str
    notebook: str
    en: str
    zh: str
    figure: float | int | str | tuple | None = None   # the notes' or the lecture's number; None: nothing to compare
    tol: float = 0.0                                   # how far ours may be from it
    source: str = "lecture"                            # who gives the figure: "lecture" or "notes"
    long: bool = False                                 # reached only by a full training: checked by benchmarks/lectures.py


P1, P2, P3, P4, P5 = "part1-bigram", "part2-mlp", "part3-batchnorm", "part4-backprop", "part5-wavenet"

TOPICS = {t.key: t for t in [
    Topic("p1-dict", P1, "bigram counts in a dict, with <S> and <E>: ('a', 'n')", "用字典统计二元组（带 <S> 与 <E>）：('a', 'n')", 5438),
    Topic("p1-28", P1, "the 28 × 28 table with <S> and <E>, its empty row and column", "带 <S> 与 <E> 的 28 × 28 表及其空行空列"),
    Topic("p1-27", P1, "one '.' token: the 27 × 27 table", "只用一个 '.'：27 × 27 的表"),
    Topic("p1-tensor", P1, "torch.tensor against torch.Tensor", "torch.tensor 与 torch.Tensor 的区别"),
    Topic("p1-broadcast", P1, "P = N / N.sum(1, keepdim=True) and the broadcasting rules", "P = N / N.sum(1, keepdim=True) 与广播规则"),
    Topic("p1-keepdim", P1, "the keepdim=False bug: columns divided by row sums", "keepdim=False 的错误：各列被行和去除"),
    Topic("p1-sample", P1, "sampling with the lecture's generator: five names", "用讲座的生成器采样：五个名字",
          ("cexze.", "momasurailezitynn.", "konimittain.", "llayn.", "ka.")),
    Topic("p1-uniform", P1, "sampling from a uniform table, for comparison", "从均匀分布的表采样，作为对比"),
    Topic("p1-nll", P1, "the average negative log-likelihood of every bigram", "全部二元组的平均负对数似然", 2.4544, 1e-4),
    Topic("p1-smoothing", P1, "'andrejq': infinite without smoothing, its loss with add-1", "'andrejq'：不平滑时为无穷，加一平滑后的损失",
          27.8672, 1e-3),
    Topic("p1-emma", P1, "the five bigrams of 'emma' as xs and ys", "'emma' 的五个二元组：xs 与 ys"),
    Topic("p1-onehot", P1, "one-hot encoding of the inputs", "输入的 one-hot 编码"),
    Topic("p1-gd", P1, "forward, backward and update by hand on emma (lr 0.1): the losses", "在 emma 上手写前向、反向与更新（学习率 0.1）：损失",
          (3.76, 3.74, 3.72), 0.01, "notes"),
    Topic("p1-full", P1, "228,146 bigrams, lr 50, + 0.01 · mean(W²): the loss after 100 steps", "228,146 个二元组，学习率 50，加 0.01 · mean(W²)：100 步后的损失",
          2.48, 0.015, long=True),
    Topic("p1-logn", P1, "W tends to log N plus a constant per row", "W 趋近于 log N 加每行一个常数"),
    Topic("p1-net-samples", P1, "the net and the counts sample the same names from one seed (of 5)", "同一种子下网络与计数采样出相同的名字（5 个中）",
          4, 1, long=True),
    Topic("p1-softmax", P1, "softmax's shift invariance and the overflow at large logits", "softmax 的平移不变性与大 logits 的溢出"),
    Topic("p1-blowup", P1, "the 27ⁿ blow-up of longer count contexts: trigram cells", "更长计数上下文的 27ⁿ 爆炸：三元表的格数", 19683),
    Topic("p1-regularization", P1, "smoothing and regularization, one knob: train and val against the strength", "平滑与正则化是同一个旋钮：训练与验证损失随强度的变化"),
    Topic("p2-dataset", P2, "the dataset: contexts of 3 characters ('...' -> 'e' for emma)", "数据集：3 个字符的上下文（emma 的 '...' -> 'e'）"),
    Topic("p2-embedding", P2, "the lookup table C: C[5] is one_hot(5) @ C, C[X] at once", "查找表 C：C[5] 等于 one_hot(5) @ C，C[X] 一次查完"),
    Topic("p2-view", P2, "view against cat and unbind, and the tensor's storage", "view 与 cat、unbind 的对比，以及张量的存储"),
    Topic("p2-small", P2, "the small net (3,481 parameters): its loss at initialization, the first 32 examples",
          "小网络（3,481 个参数）：初始化时前 32 个样本上的损失", 17.7697, 1e-3),
    Topic("p2-cross-entropy", P2, "F.cross_entropy against softmax + NLL by hand: the same number, and why it is preferred",
          "F.cross_entropy 与手写 softmax + NLL：同一个数，以及为什么更推荐前者"),
    Topic("p2-overfit", P2, "overfitting one batch of 32", "在一个 32 样本的批次上过拟合"),
    Topic("p2-lr", P2, "the learning-rate sweep, 10^-3 to 10^0: the rate it suggests", "学习率扫描，10^-3 到 10^0：给出的学习率",
          0.1, 0.05, long=True),
    Topic("p2-split", P2, "train, dev and test: 80/10/10 after random.seed(42)", "训练、开发、测试：random.seed(42) 之后按 80/10/10 划分"),
    Topic("p2-300", P2, "300 hidden units on 2-d embeddings: train, dev", "2 维嵌入上的 300 个隐藏单元：训练、开发",
          (2.23, 2.24), 0.03, "notes", long=True),
    Topic("p2-embeddings", P2, "the 2-d embeddings, drawn", "画出 2 维嵌入"),
    Topic("p2-final", P2, "the lecture's final net (11,897 parameters, 200,000 steps): train, dev", "讲座最后的网络（11,897 个参数，200,000 步）：训练、开发",
          (2.1260, 2.1701), 0.03, long=True),
    Topic("p2-sample", P2, "sampling from the MLP", "从 MLP 采样"),
    Topic("p2-e02", P2, "E02: the loss of a uniform prediction", "E02：均匀预测的损失", 3.2958, 1e-4),
    Topic("p2-e03", P2, "E03: the paper's direct connections, measured on dev", "E03：论文中的直连，在开发集上实测"),
    Topic("p3-init", P3, "the loss at initialization, against -ln(1/27): after W2 * 0.01, b2 * 0", "初始化时的损失与 -ln(1/27)：W2 * 0.01、b2 * 0 之后",
          3.32, 0.05),
    Topic("p3-tanh", P3, "saturated tanh units: the histogram and the |h| > 0.97 image", "饱和的 tanh 单元：直方图与 |h| > 0.97 的图像"),
    Topic("p3-kaiming", P3, "Kaiming initialization: (5/3) / sqrt(30)", "Kaiming 初始化：(5/3) / sqrt(30)", 0.3043, 1e-4),
    Topic("p3-batchnorm", P3, "BatchNorm: batch statistics, gamma and beta, b1 made useless, Bessel's n - 1",
          "BatchNorm：批统计量、gamma 与 beta、失去作用的 b1、贝塞尔校正的 n - 1"),
    Topic("p3-running", P3, "train and eval mode: running mean and std against calibration; train, val", "训练与评估模式：滑动均值与标准差对比校准值；训练、验证",
          (2.0668, 2.1048), 0.01, long=True),
    Topic("p3-loss-log", P3, "the loss log: five stages, train and val each", "损失记录：五个阶段，各自的训练与验证损失",
          tuple(x for *_, tr, va in LOSS_LOG for x in (tr, va)), 0.01, long=True),
    Topic("p3-layers", P3, "the deep net as Linear, BatchNorm1d and Tanh classes: parameters", "把深层网络写成 Linear、BatchNorm1d、Tanh 类：参数个数", 47024),
    Topic("p3-diagnostics", P3, "the four diagnostic figures, at a constant lr of 0.1: each tanh layer's saturated % after 1,000 steps",
          "四张诊断图，恒定学习率 0.1：1,000 步后各 tanh 层的饱和百分比", (2.78, 2.56, 2.25, 1.69, 1.88), 0.01, long=True),
    Topic("p3-gain", P3, "a gain sweep: without BatchNorm the scale decides, with it the statistics do not move", "增益扫描：不带 BatchNorm 时尺度决定一切，带 BatchNorm 时统计量不变"),
    Topic("p3-e01", P3, "E01: all-zero initialization: only b2 learns", "E01：全零初始化：只有 b2 在学习"),
    Topic("p3-e02", P3, "E02: BatchNorm folded into the linear layer, the same outputs in eval mode", "E02：把 BatchNorm 折叠进线性层，评估模式下输出相同"),
    Topic("p4-data", P4, "the lecture's net and its initialization: parameters", "讲座的网络及其初始化：参数个数", 4137),
    Topic("p4-forward", P4, "the forward in small steps: the loss of the first batch", "切成小步的前向计算：第一个批次的损失",
          3.3377, 0.005),
    Topic("p4-e01", P4, "every intermediate gradient by hand: the largest difference from autograd",
          "手工算出每个中间梯度：与 autograd 的最大差值", 0.0, 1e-7),
    Topic("p4-e02", P4, "the cross-entropy's backward in one expression", "交叉熵的反向传播，一个表达式"),
    Topic("p4-e03", P4, "BatchNorm's backward in one expression", "BatchNorm 的反向传播，一个表达式"),
    Topic("p4-e04", P4, "200,000 steps with the hand-written gradients only: train, val", "只用手写梯度训练 200,000 步：训练、验证",
          (2.0705, 2.1099), 0.02, long=True),
    Topic("p5-layers", P5, "Embedding, FlattenConsecutive and Sequential, like torch.nn's", "仿照 torch.nn 的 Embedding、FlattenConsecutive 与 Sequential"),
    Topic("p5-hierarchy", P5, "the hierarchy, pairs fused level by level: parameters", "层级结构，逐层两两融合：参数个数", 76579),
    Topic("p5-bug", P5, "the BatchNorm bug: statistics over dim 0 only, fixed over dims (0, 1)", "BatchNorm 的错误：只在第 0 维取统计量，改为在第 (0, 1) 维"),
    Topic("p5-train", P5, "200,000 steps, the lecture's recipe: train, val", "200,000 步，讲座的配方：训练、验证",
          (1.7690, 1.9937), 0.03, long=True),
    Topic("p5-sample", P5, "samples, and the convolution hiding in the model", "采样，以及模型里隐藏的卷积"),
]}
