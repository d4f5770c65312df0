"""makemore: learn to generate more items like the ones in a text file.

Runs (what the command line does, from Python):

    import makemore as mm
    run = mm.create_run("runs/mlp", type="mlp", max_steps=2000)   # input=None: the bundled names.txt
    run.train()                                    # checkpoints, metrics.jsonl, final scores
    run = mm.load_run("runs/mlp")                  # .model .vocab .data .config .metrics
    run.evaluate(); run.sample(10, seed=0); run.score(["emma"])
    mm.ensemble("runs/mix", ["runs/mlp", "runs/lstm"])

The layer below, for learners:

    words = mm.read_words()                        # the bundled names.txt, or a path
    data = mm.build_dataset(words)                 # vocab + the lectures' 80/10/10 split, encoded
    model = mm.build_model("mlp", data.vocab.size, data.max_len + 1)
    mm.train(model, data, mm.TrainConfig(max_steps=2000, batch_size=256, lr=3e-3))
    mm.evaluate(model, data.val)                   # nats per character
    mm.sample_items(model, data.vocab, 10, data.max_len, seed=0)
    mm.score_items(model, data.vocab, ["emma"], data.max_len)
"""

from .version import __version__
from .errors import DataError, RunError, UsageError
from .data import Vocab, build_dataset, read_words, split_words
from .models import MODELS, build_model
from .models.ensemble import Ensemble, TwoWay, fit_weights
from .evaluation import evaluate
from .sampling import novelty, sample_items, score_items
from .train import TrainConfig, train
from .runs import Run, best, create_run, ensemble, load_run, resume_run

__all__ = ["__version__", "DataError", "RunError", "UsageError", "Vocab", "build_dataset", "read_words",
           "split_words", "MODELS", "build_model", "Ensemble", "TwoWay", "fit_weights", "evaluate", "novelty",
           "sample_items", "score_items", "TrainConfig", "train", "Run", "best", "create_run", "ensemble",
           "load_run", "resume_run"]
