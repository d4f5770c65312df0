"""Training settings by model type, as plain dicts over TrainConfig's fields.

TRAIN[type] are the defaults of `makemore train --type TYPE` (chosen for wall time on a laptop CPU);
LECTURE[type] reproduce the "building makemore" lectures' recipes with `--recipe lecture`.
Model sizes live with each model class as MODEL_CLASS.PRESETS (`--preset NAME`).
"""

_SGD_LECTURE = dict(optimizer="sgd", lr=0.1, schedule="step", decay_factor=0.1, max_steps=200_000,
                    batch_size=32, weight_decay=0.0, warmup_steps=0, eval_interval=10_000, log_interval=1000)

TRAIN = {
    "bigram": dict(max_steps=0),
    "ngram": dict(max_steps=0),
    "nnbigram": dict(optimizer="sgd", lr=50.0, batch_size=0, max_steps=300, schedule="constant",
                     weight_decay=0.0, eval_interval=100, log_interval=10),
    "mlp": dict(batch_size=256, lr=3e-3, max_steps=10_000, warmup_steps=200, weight_decay=0.01,
                eval_interval=2000),
    "bnmlp": dict(batch_size=256, lr=3e-3, max_steps=15_000, warmup_steps=200, weight_decay=0.01,
                  eval_interval=2500),
    # the WaveNet trains best by the lecture's own recipe (small SGD batches regularize it), cut to
    # 130k steps, its step decay smoothed into a cosine down to lr 0.001, with the lecture's BatchNorm
    # calibration: val 1.9888 (step decay at 75%: 1.9921; the lecture's 200k steps: 1.9924 in 519 s;
    # runs differ by ~0.005 with the seed); AdamW at batch 256 stopped at 1.9925-2.0007
    "wavenet": dict(_SGD_LECTURE, max_steps=130_000, schedule="cosine", min_lr_ratio=0.01, calibrate=True),
    # recurrent nets loop over time steps, so length buckets save the most there (LSTM: val 1.9262 ->
    # 1.9186 in 10% less time); the Transformer ends 0.018 worse after its steps with them (2 seeds), so
    # it packs its batches instead: the same loss as plain rows, on about 25% fewer positions
    "rnn": dict(batch_size=64, lr=3e-3, max_steps=6000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "gru": dict(batch_size=64, lr=3e-3, max_steps=5000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "lstm": dict(batch_size=64, lr=3e-3, max_steps=8000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "bow": dict(batch_size=64, lr=3e-3, max_steps=6000, warmup_steps=200, eval_interval=1000),
    # the Transformer (its default preset: 96 wide, rope, dropout 0.15): lr 4e-3, 20k steps with a cosine
    # down to 1% of it, weight decay 0.3 (at makemore's size: lr 2e-3 val 1.981 at 10k steps, 5e-3 1.961,
    # 1e-2 1.973; 20k steps to 10%: 1.929, to 1%: 1.925; at 96 wide, two seeds: weight decay 0.1
    # 1.9187 / 1.9237, 0.3 1.9198 / 1.9221), scored on a moving average of its weights over about the
    # last 2,000 steps (seeds 1337 / 3, val: none 1.9198 / 1.9199, ema 0.999 1.9173 / 1.9161, 0.9995
    # 1.9147 / 1.9133, 0.9998 1.9292 / 1.9290)
    "transformer": dict(batch_size=64, lr=4e-3, max_steps=20_000, warmup_steps=200, min_lr_ratio=0.01,
                        weight_decay=0.3, ema=0.9995, eval_interval=2000, log_interval=200, pack=True),
}

LECTURE = {
    "nnbigram": dict(optimizer="sgd", lr=50.0, batch_size=0, max_steps=200, schedule="constant",
                     weight_decay=0.0, eval_interval=50, log_interval=10),
    "mlp": dict(_SGD_LECTURE, decay_at=0.5),       # 100k steps at 0.1, then 0.01
    # the BatchNorm lecture evaluates this net with statistics over the whole training set (first
    # computed after training, then kept as running averages at momentum 0.001): --calibrate; the
    # running statistics at momentum 0.1 of the later layers read about 0.002 worse
    "bnmlp": dict(_SGD_LECTURE, decay_at=0.5, calibrate=True),
    "wavenet": dict(_SGD_LECTURE, decay_at=0.75, calibrate=False),  # decay at step 150k; running statistics
}

RECIPES = {"lecture": LECTURE}

# `makemore best`: members trained side by side, then mixed into an ensemble with weights fitted on
# val. Models that err differently mix best: LSTMs of different seeds average away each other's
# noise, the GRU errs a little differently, and the count model remembers rare exact contexts. (The
# default Transformer earned a weight of 0.05 next to four LSTMs and was swapped out.) Longest first,
# so the parallel jobs finish together.
BEST = {
    "lstm": ["--type", "lstm"],
    "lstm-seed2": ["--type", "lstm", "--seed", "2"],
    "lstm-seed3": ["--type", "lstm", "--seed", "3"],
    "lstm-seed4": ["--type", "lstm", "--seed", "4"],
    "lstm-seed5": ["--type", "lstm", "--seed", "5"],
    "lstm-seed6": ["--type", "lstm", "--seed", "6"],
    "gru": ["--type", "gru"],
    "ngram": ["--type", "ngram", "--n", "6"],
}
