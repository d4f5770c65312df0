"""The "building makemore" lectures, taught (docs/lectures/, one notebook per lecture).

Each notebook writes the lecture's steps out in plain torch, in cells a learner reads and
changes, and checks every step against this package, which is the reference:

    from makemore import lectures as L
    L.check("P", P, bigram.probs())          # the learner's tensor against the package's
    L.figure("p1-nll", nll)                  # our number beside the lecture's (topics.TOPICS)
    for step in range(L.steps(200_000, 1_000)):   # the lecture's steps, or a few under MAKEMORE_LECTURE_FAST=1

Heavy runs (the 200,000-step trainings) call the package (`trained`, `loss_log`), printing the
command line that does the same.
"""

from .checks import LECTURE_SEED, CheckFailed, check, fast, figure, language, plot_style, runs_dir, steps
from .topics import TOPICS, Topic
from .training import LOSS_LOG, loss_log, trained, whole

__all__ = ["LECTURE_SEED", "CheckFailed", "check", "fast", "figure", "language", "plot_style", "runs_dir", "steps",
           "TOPICS", "Topic", "LOSS_LOG", "loss_log", "trained", "whole"]
