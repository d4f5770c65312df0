"""The measured tables in docs/results.md are the benchmarks' saved results, as the script that
measured them renders them: no table is edited by hand, none is left behind its JSON."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "common")


def load(name):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_has_saved_results():
    assert len(SCRIPTS) >= 8
    assert {p.stem for p in (BENCH / "results").glob("*.json")} == set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_results_table_is_the_saved_results(name):
    common = load("common")
    script = load(name)
    assert script.table(common.load_results(name)).strip() == common.results_section(name, getattr(script, "DOC", "results.md"))


def test_the_grouped_lstm_of_the_stacked_benchmark_is_the_library_lstm_per_member():
    """benchmarks/stacked.py times K LSTMs as one batched computation: each member's logits, and its
    clipped gradients, must be those of the library's LSTM with the same weights."""
    import torch
    from makemore.models.rnn import LSTM, RecurrentConfig
    stacked = load("stacked")
    torch.manual_seed(0)
    c = RecurrentConfig(vocab_size=11, seq_len=9, n_embd=6, n_hidden=10, dropout=0.2)
    models = [LSTM(c).eval() for _ in range(3)]
    for m in models:
        with torch.no_grad():
            m.start.normal_()                            # a start state that is not zero
    g = stacked.GroupedLSTM.from_models(models).eval()
    x, y = torch.randint(11, (3, 4, 7)), torch.randint(11, (3, 4, 7))
    y[:, :, 5:] = -1                                      # positions without a target
    y[1, 0, 2:] = -1                                      # members with different numbers of targets
    torch.testing.assert_close(g(x), torch.stack([m(x[k])[0] for k, m in enumerate(models)]))
    g.loss(x, y).backward()
    stacked.clip_per_member(list(g.parameters()), 0.05)
    for k, m in enumerate(models):
        m(x[k], y[k])[1].backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 0.05)
    torch.testing.assert_close(g.w_h.grad, torch.stack([m.cells[0].h2h.weight.grad.T for m in models]))
    torch.testing.assert_close(g.wte.grad, torch.stack([m.wte.weight.grad for m in models]))
    torch.testing.assert_close(g.start.grad, torch.stack([m.start.grad[0][:, None] for m in models]))
