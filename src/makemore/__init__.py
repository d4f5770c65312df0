"""makemore: learn to generate more items like the ones in a text file.

The Python API mirrors the command line:

    import makemore as mm
    words = mm.read_words()                          # the bundled names.txt, or a path
    data = mm.build_dataset(words)                   # vocab + the lectures' 80/10/10 split, encoded
    model = mm.build_model("mlp", data.vocab.size, data.max_len + 1)
    mm.train(model, data, mm.TrainConfig(max_steps=2000, batch_size=256, lr=3e-3))
    mm.evaluate(model, data.val)                     # nats per character
    mm.sample_items(model, data.vocab, 10, data.max_len, seed=0)
    mm.score_items(model, data.vocab, ["emma"], data.max_len)
"""

__version__ = "0.1.0"

from .data import DataError, Vocab, build_dataset, read_words, split_words  # noqa: E402
from .models import MODELS, build_model  # noqa: E402
from .models.ensemble import Ensemble, fit_weights  # noqa: E402
from .sampling import novelty, sample_items, score_items  # noqa: E402
from .train import TrainConfig, evaluate, train  # noqa: E402
from .checkpoint import RunDir, load_model_from_run  # noqa: E402


def load_run(path, which: str = "best", device="cpu"):
    """(model, config dict, vocab) of a run directory (an ensemble directory gives its mixture)."""
    model, cfg = load_model_from_run(RunDir(path), which, device)
    return model, cfg, Vocab(cfg["data"]["vocab"])
