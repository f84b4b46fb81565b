"""The n-gram baseline against hand computations and a plain-Python reference."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from charviz.data import Vocab, load_corpus, split_text
from charviz.ngram import fit_ngram, ngram_baseline


def test_bigram_by_hand():
    # "aabab": bigrams aa, ab, ba, ab -> c(a,a)=1 c(a,b)=2 c(b,a)=1; contexts a:3, b:1; add-1 over V=2
    m = fit_ngram("aabab", Vocab(("a", "b")), n=2, k=1.0)
    assert m.probs("a") == pytest.approx([2 / 5, 3 / 5])
    assert m.probs("b") == pytest.approx([2 / 3, 1 / 3])
    assert m.probs("bba") == pytest.approx([2 / 5, 3 / 5])  # only the last n-1 = 1 character counts
    # the empty context is the unigram: a:3, b:2 of 5 -> (3+1)/(5+2), (2+1)/(5+2)
    assert m.probs("") == pytest.approx([4 / 7, 3 / 7])
    # scored text "aab": p(a|a) = 2/5, p(b|a) = 3/5
    assert m.bits("aab") == pytest.approx(-(math.log2(2 / 5) + math.log2(3 / 5)) / 2)


def test_unknown_context_falls_back_to_its_longest_seen_suffix():
    vocab = Vocab(("a", "b", "c"))
    m = fit_ngram("aabab", vocab, n=3, k=0.5)
    # context "ab" was seen (followed by a once: "aba"; "aab" -> b? no: trigrams aab, aba, bab) -> order 3
    assert m.order_used("ab") == 3
    assert m.probs("ab") == pytest.approx([(1 + 0.5) / (1 + 1.5), 0.5 / 2.5, 0.5 / 2.5])
    # "cb": never seen -> the bigram context "b" (seen once, followed by a)
    assert m.order_used("cb") == 2
    assert m.probs("cb") == pytest.approx([(1 + 0.5) / (1 + 1.5), 0.5 / 2.5, 0.5 / 2.5])
    # "bc": neither "bc" nor "c" seen -> the unigram a:3 b:2 c:0 of 5
    assert m.order_used("bc") == 1
    assert m.probs("bc") == pytest.approx([3.5 / 6.5, 2.5 / 6.5, 0.5 / 6.5])


def _reference_probs(text: str, vocab: Vocab, n: int, k: float, context: str) -> list[float]:
    """Plain Python: longest suffix of the context (<= n-1 chars) seen followed by a character, add-k."""
    V = len(vocab)
    for m in range(min(n - 1, len(context)), -1, -1):
        ctx = context[len(context) - m :] if m else ""
        follow = Counter(text[i + m] for i in range(len(text) - m) if text[i : i + m] == ctx)
        total = sum(follow.values())
        if total:
            return [(follow[c] + k) / (total + k * V) for c in vocab.itos]
    raise AssertionError("the empty context is always seen")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_matches_a_plain_python_reference_and_sums_to_one(n):
    rng = random.Random(n)
    text = "".join(rng.choice("abcd") for _ in range(400))
    vocab = Vocab(("a", "b", "c", "d", "e"))  # 'e' never occurs: only smoothing gives it mass
    m = fit_ngram(text, vocab, n=n, k=0.1)
    for _ in range(30):
        ctx = "".join(rng.choice("abcde") for _ in range(rng.randint(0, 5)))
        p = m.probs(ctx)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert p == pytest.approx(_reference_probs(text, vocab, n, 0.1, ctx), abs=1e-12)
    held = "".join(rng.choice("abcd") for _ in range(100))
    ref = -np.mean([math.log2(_reference_probs(text, vocab, n, 0.1, held[:i])[vocab.stoi[held[i]]])
                    for i in range(1, len(held))])
    assert m.bits(held) == pytest.approx(ref, abs=1e-12)


def test_baseline_chooses_on_the_training_split_and_beats_uniform():
    text = load_corpus("hello")
    vocab = Vocab.from_text(text)
    train, val = split_text(text, 0.1)
    b = ngram_baseline(train, val, vocab)
    # "hello" is fully determined by the last 2 characters (l after e, l after el, o after ll, ...)
    assert b.n >= 3 and b.scored_on == "validation"
    assert b.bits < 0.1 < math.log2(len(vocab))
    assert set(b.selection) == {(n, k) for n in range(1, 6) for k in (0.01, 0.1, 1.0)}
    assert (b.n, b.k) == min(b.selection, key=b.selection.get)
    # a random text over 4 symbols: nothing beats ~2 bits
    rng = random.Random(0)
    noise = "".join(rng.choice("wxyz") for _ in range(5000))
    tr, va = split_text(noise, 0.1)
    b = ngram_baseline(tr, va, Vocab.from_text(noise))
    assert 1.95 < b.bits < 2.2


def test_bad_arguments():
    with pytest.raises(ValueError):
        fit_ngram("abab", Vocab(("a", "b")), n=0)
    with pytest.raises(ValueError):
        fit_ngram("abab", Vocab(("a", "b")), n=2, k=0)
    with pytest.raises(ValueError):
        fit_ngram("abxb", Vocab(("a", "b")), n=2)
