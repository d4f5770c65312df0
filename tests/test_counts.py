"""Count models and the neural bigram against the first lecture's numbers."""

import torch

from makemore.data import Split, encode_words
from makemore.models import build_model
from makemore.evaluation import evaluate
from makemore.train import TrainConfig, train


def test_bigram_all_names_lecture_number(names, names_data):
    # the lecture: N + 1 over all 32,033 names; mean NLL over 228,146 bigrams = 2.454577 (float64)
    d = names_data
    everything = Split(names, *encode_words(names, d.vocab, d.max_len))
    assert everything.n_targets == 228146
    m = build_model("bigram", d.vocab.size, d.max_len + 1).fit(*everything.examples(1))
    assert abs(evaluate(m, everything) - 2.454577) < 2e-6
    assert m.counts.sum() == 228146
    # the lecture's famous counts: N[a, n] for the pair ('a', 'n') is 5438
    a, n = d.vocab.stoi["a"], d.vocab.stoi["n"]
    assert m.counts[a, n] == 5438


def test_bigram_on_the_split(names_data):
    d = names_data
    m = build_model("bigram", d.vocab.size, d.max_len + 1)
    train(m, d, TrainConfig(max_steps=0), progress=False)
    got = [round(evaluate(m, s), 4) for s in (d.train, d.val, d.test)]
    assert got == [2.4548, 2.4533, 2.4584]


def test_ngram_add_k_n2_is_the_bigram(names_data):
    d = names_data
    b = build_model("bigram", d.vocab.size, d.max_len + 1).fit(*d.train.examples(1))
    g = build_model("ngram", d.vocab.size, d.max_len + 1, n=2, method="add-k").fit(*d.train.examples(1))
    ctx = d.val.examples(1)[0][:500].long()
    torch.testing.assert_close(g.next_logits(ctx), b.next_logits(ctx), atol=1e-5, rtol=0)


def test_kneser_ney_is_a_distribution_and_beats_add_k(names_data):
    d = names_data
    for n in (3, 4):
        kn = build_model("ngram", d.vocab.size, d.max_len + 1, n=n).fit(*d.train.examples(n - 1))
        ak = build_model("ngram", d.vocab.size, d.max_len + 1, n=n, method="add-k").fit(*d.train.examples(n - 1))
        ctx = torch.randint(0, d.vocab.size, (200, n - 1))       # mostly unseen contexts too
        p = kn.next_logits(ctx).double().exp()
        torch.testing.assert_close(p.sum(1), torch.ones(200, dtype=torch.float64), atol=1e-5, rtol=0)
        assert evaluate(kn, d.val) < evaluate(ak, d.val) - 0.01
    assert evaluate(kn, d.val) < 2.08   # 4-gram KN; 6-gram KN reaches about 2.00


def test_neural_bigram_learns_the_counts(names_data):
    # the lecture: full-batch gradient descent, lr 50, reg 0.01 -> the count model's loss
    d = names_data
    torch.manual_seed(0)
    m = build_model("nnbigram", d.vocab.size, d.max_len + 1, reg=0.01)
    train(m, d, TrainConfig(optimizer="sgd", lr=50.0, batch_size=0, max_steps=200, schedule="constant",
                            weight_decay=0.0, eval_interval=200), progress=False)
    assert evaluate(m, d.train) <= 2.47
    counts = build_model("bigram", d.vocab.size, d.max_len + 1).fit(*d.train.examples(1))
    assert abs(evaluate(m, d.val) - evaluate(counts, d.val)) < 0.02
