"""charviz.inspect.memory_trace and charviz.hidden, against independent references: a float64 numpy loop
over the weights (torch's documented equations), np.corrcoef, np.linalg.svd and hand-written texts."""

import numpy as np
import pytest
import torch

from charviz.data import Vocab, long_range_text
from charviz.errors import details
from charviz.hidden import (
    FEATURES,
    PropertyError,
    code_state,
    default_probe,
    gate_saturation,
    hidden_pca,
    key_pending,
    line_position,
    rank_units,
    regex_feature,
    similarity_order,
    text_features,
    unit_order,
)
from charviz.inspect import forward_trace, memory_trace
from charviz.model import CharRNN

TEXT = "def f(x):\n    return 'a(b' + x\n"


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_reference(model: CharRNN, vocab: Vocab, text: str):
    """h, c and gates by a float64 loop over torch's documented equations (nn.LSTM / nn.GRU / nn.RNN docs)."""
    W = model.rnn.weight_ih_l0.detach().double().numpy()
    U = model.rnn.weight_hh_l0.detach().double().numpy()
    bi = model.rnn.bias_ih_l0.detach().double().numpy()
    bh = model.rnn.bias_hh_l0.detach().double().numpy()
    H = model.hidden_size
    h, c = np.zeros(H), np.zeros(H)
    out = {"h": [], "c": [], "i": [], "f": [], "g": [], "o": [], "r": [], "z": [], "n": []}
    for ch in text:
        x = np.zeros(len(vocab))
        x[vocab.stoi[ch]] = 1.0
        if model.cell == "rnn":
            h = np.tanh(W @ x + bi + U @ h + bh)
        elif model.cell == "lstm":
            a = W @ x + bi + U @ h + bh
            i, f, g, o = sig(a[:H]), sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sig(a[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            for k, v in zip("ifgoc", (i, f, g, o, c), strict=True):
                out[k].append(v)
        else:
            ax, ah = W @ x + bi, U @ h + bh
            r = sig(ax[:H] + ah[:H])
            z = sig(ax[H:2 * H] + ah[H:2 * H])
            n = np.tanh(ax[2 * H:] + r * ah[2 * H:])
            h = (1 - z) * n + z * h
            for k, v in zip("rzn", (r, z, n), strict=True):
                out[k].append(v)
        out["h"].append(h)
    return {k: np.array(v) for k, v in out.items() if v}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_memory_trace_equals_a_float64_numpy_loop(cell):
    vocab = Vocab.from_text(TEXT)
    torch.manual_seed(1)
    model = CharRNN(len(vocab), 7, cell)
    with torch.no_grad():  # larger weights than the default init, so gates reach both ends
        for p in model.rnn.parameters():
            p.mul_(4.0)
    mt = memory_trace(model, vocab, TEXT)
    ref = numpy_reference(model, vocab, TEXT)
    np.testing.assert_allclose(mt.hidden, ref["h"], atol=2e-5)
    names = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[cell]
    assert tuple(mt.gates) == names
    for k in names:
        np.testing.assert_allclose(mt.gates[k], ref[k], atol=2e-5, err_msg=k)
    if cell == "lstm":
        np.testing.assert_allclose(mt.cell, ref["c"], atol=5e-5)
        np.testing.assert_allclose(mt.cell, forward_trace(model, vocab, TEXT).cell, atol=1e-5)
        assert mt.view("c") is mt.cell
    else:
        assert mt.cell is None
        with pytest.raises(KeyError):
            mt.view("c")
    assert mt.hidden.shape == (len(TEXT), 7) and mt.hidden.dtype == np.float32
    if names:  # the weights were scaled so that the gates saturate somewhere: the test is not vacuous
        g = mt.gates[names[0]]
        assert g.min() < 0.1 and g.max() > 0.9


def test_memory_trace_empty_and_unknown():
    vocab = Vocab.from_text("abc")
    model = CharRNN(3, 5, "lstm")
    mt = memory_trace(model, vocab, "")
    assert mt.hidden.shape == (0, 5) and mt.cell.shape == (0, 5) and mt.gates["f"].shape == (0, 5)
    with pytest.raises(ValueError, match="'z'"):
        memory_trace(model, vocab, "abz")


# ---- text properties, on hand-written cases (values = the state after reading each character)

def as_str(a):
    return "".join(str(int(v)) for v in a)


def test_brackets_nested_and_unmatched():
    text = "a(b[c]{d})e)f("
    _, depth, _ = code_state(text)
    assert as_str(depth) == "01122122100001"
    f = text_features(text)
    assert as_str(f["in_brackets"]) == "01111111100001"
    np.testing.assert_array_equal(f["bracket_depth"], depth)


def test_strings_quotes_escapes_and_brackets_inside():
    text = "x='a(b'+\"c\\\"d\"#'q\ny"
    s, depth, comment = code_state(text)
    # x = ' a ( b ' + " c \ " d " # ' q \n y
    assert as_str(s) == "0" "0" "1111" "0" "0" "11111" "0" "0" "0" "0" "0" "0"
    assert depth.max() == 0  # the bracket inside the string does not count
    assert as_str(comment) == "0" * 14 + "111" + "00"


def test_triple_quoted_string_across_lines_and_single_quote_ending_at_newline():
    text = 'a"""b\n\'c"""d\n\'e\nf'
    s, _, _ = code_state(text)
    # a " " " b \n ' c " " " d \n ' e \n f
    assert as_str(s) == "0" "111" "1" "1" "1" "1" "000" "0" "0" "1" "1" "0" "0"


def test_escaped_backslash_then_quote_closes():
    text = "'a\\\\'b"  # 'a\\'b : the backslash is escaped, so the quote after it closes the string
    s, _, _ = code_state(text)
    assert as_str(s) == "111100"


def test_line_position_and_indentation():
    text = "ab\n  cd\n\tx"
    pos, ind = line_position(text)
    assert as_str(pos) == "012" "01234" "01"
    assert as_str(ind) == "000" "22222" "11"


def test_word_vowel_upper_digit():
    f = text_features("Hi a_b9 x")
    assert as_str(f["word_start"]) == "100100001"
    assert as_str(f["vowel"]) == "010100000"
    assert as_str(f["upper"]) == "100000000"
    assert as_str(f["digit"]) == "000000100"
    assert set(f) == set(FEATURES) - {"key_pending"}


def test_key_pending_on_the_long_range_format():
    assert as_str(key_pending(".Bxzy:B\nAx:A\n")) == "0111110" "0" "111" "0" "0"
    text = long_range_text(k=4, lines=20, seed=1)
    f = text_features(text)
    kp = f["key_pending"]
    for line_start in [0] + [i + 1 for i, c in enumerate(text[:-1]) if c == "\n"]:
        line = text[line_start:text.index("\n", line_start)]
        key_at = len(line) - len(line.lstrip("."))
        colon = line.index(":")
        assert kp[line_start + key_at:line_start + colon + 1].all()
        assert kp[line_start:line_start + key_at].sum() == 0 and kp[line_start + colon + 1] == 0
    assert key_pending("def f(x): pass\n") is None


def test_regex_feature_and_bad_patterns():
    assert as_str(regex_feature("ab1cd22", r"\d+")) == "0010011"
    assert as_str(regex_feature("ab\ncd", r"^c")) == "00010"  # multiline
    with pytest.raises(PropertyError, match="not a valid regular expression: the problem is at position 0") as e:
        regex_feature("abc", "(a")
    assert details(e.value) == ["missing ), unterminated subpattern"]  # (Python's words: a detail)
    with pytest.raises(PropertyError, match="empty"):
        regex_feature("abc", "")


# ---- statistics against numpy's own

def test_rank_units_is_np_corrcoef_and_orders_by_abs_r():
    rng = np.random.default_rng(0)
    T = 200
    feat = rng.random(T)
    values = rng.normal(size=(T, 6))
    values[:, 2] = -3 * feat + 0.1 * rng.normal(size=T)  # strongly negative
    values[:, 4] = feat + 0.5 * rng.normal(size=T)
    values[:, 5] = 0.7  # constant
    rk = rank_units(values, feat)
    for u in range(5):
        np.testing.assert_allclose(rk.r[u], np.corrcoef(values[:, u], feat)[0, 1], rtol=1e-10, atol=1e-12)
    assert np.isnan(rk.r[5])
    assert rk.order[0] == 2 and rk.order[1] == 4 and rk.order[-1] == 5 and rk.best == 2
    absr = np.abs(rk.r[rk.order[:5]])
    assert np.all(np.diff(absr) <= 0)
    flat = rank_units(values, np.ones(T))  # a constant property: nothing is defined
    assert np.isnan(flat.r).all() and flat.best is None
    assert np.isnan(rank_units(values[:1], feat[:1]).r).all()


def test_gate_saturation_counts_fractions():
    g = np.array([[0.05, 0.95, 0.5], [0.05, 0.5, 0.99], [0.2, 0.91, 0.1], [0.01, 0.92, 0.9]])
    left, right = gate_saturation(g)
    np.testing.assert_allclose(left, [0.75, 0.0, 0.0])  # 0.1 itself is not < 0.1
    np.testing.assert_allclose(right, [0.0, 0.75, 0.25])  # 0.9 itself is not > 0.9
    left, right = gate_saturation(np.zeros((0, 3)))
    assert left.shape == right.shape == (3,)


def test_hidden_pca_against_svd():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(50, 8)) @ rng.normal(size=(8, 8))
    p = hidden_pca(h, k=2)
    x = h - h.mean(axis=0)
    s = np.linalg.svd(x, compute_uv=False)
    np.testing.assert_allclose(p.explained, s[:2] ** 2 / (s ** 2).sum(), rtol=1e-10)
    # the coordinates' variances are the top eigenvalues of the covariance
    ev = np.sort(np.linalg.eigvalsh(x.T @ x))[::-1]
    np.testing.assert_allclose((p.coords ** 2).sum(axis=0), ev[:2], rtol=1e-8)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(2), atol=1e-10)
    tiny = hidden_pca(np.ones((5, 3)), k=2)
    assert (tiny.explained == 0).all() and (tiny.coords == 0).all()
    assert hidden_pca(h[:1], k=2).coords.shape == (1, 2)


def test_similarity_order_puts_alike_units_together():
    rng = np.random.default_rng(2)
    T = 300
    a, b, c = rng.normal(size=(3, T))
    cols = {0: a, 3: a, 5: a, 1: b, 6: b, 2: c, 4: c, 7: c}
    values = np.stack([cols[u] + 0.05 * rng.normal(size=T) for u in range(8)], axis=1)
    values = np.concatenate([values, np.full((T, 1), 0.3)], axis=1)  # unit 8 is constant
    order = list(similarity_order(values))
    assert sorted(order) == list(range(9)) and order[-1] == 8
    for group in ({0, 3, 5}, {1, 6}, {2, 4, 7}):
        pos = sorted(order.index(u) for u in group)
        assert pos[-1] - pos[0] == len(group) - 1, (group, order)
    np.testing.assert_array_equal(unit_order(values, "index"), np.arange(9))
    feat = b
    assert unit_order(values, "correlation", feat)[0] in (1, 6)


def test_default_probe_comes_from_the_validation_part():
    val = "tail of line\n" + "".join(f"line {i}\n" for i in range(100))
    p = default_probe(val, "whole text " * 100, n=100)
    assert p.startswith("line 0\n") and p.endswith("\n") and 50 <= len(p) <= 100
    assert default_probe("", "abc\ndefgh", n=10) == "defgh"
