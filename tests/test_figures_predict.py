"""Prediction figures, tables and the hello trainer: shapes, labels, scales, true-next markers, and the
numbers checked against an independent numpy forward pass (no streamlit)."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from charviz import figures as F
from charviz import tables
from charviz.data import Vocab
from charviz.hello import (
    BLOG_ORDER,
    HELLO_LR,
    HELLO_SEED,
    TARGET,
    hello_trace,
    hello_trainer,
    learned_at,
    predictions,
    score,
)
from charviz.inspect import forward_trace, prediction_columns, rest_probability
from charviz.model import seeded_model

TEXT = "hello world, the quick brown fox\tjumps\nover the lazy dog"


@pytest.fixture(scope="module")
def small():
    vocab = Vocab.from_text("hello")
    return seeded_model(len(vocab), 6), vocab


@pytest.fixture(scope="module")
def big():
    vocab = Vocab.from_text(TEXT)
    return seeded_model(len(vocab), 16, seed=1), vocab


def numpy_forward(model, vocab, text):
    """Independent reference: the Elman RNN by hand in float64 numpy -> hidden (T,H), logits (T,V), probs."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    h = np.zeros(model.hidden_size)
    hs, logits = [], []
    for c in text:
        x = np.zeros(len(vocab))
        x[vocab.stoi[c]] = 1.0
        h = np.tanh(p["rnn.weight_ih_l0"] @ x + p["rnn.bias_ih_l0"] + p["rnn.weight_hh_l0"] @ h + p["rnn.bias_hh_l0"])
        hs.append(h)
        logits.append(p["head.weight"] @ h + p["head.bias"])
    logits = np.array(logits)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.array(hs), logits, e / e.sum(axis=1, keepdims=True)


def heat(fig, i=0):
    return fig.data[i]


def boxes(fig, xref="x", yref="y"):
    """Centres (col, row) of the rectangles drawn around true next characters."""
    return [((s.x0 + s.x1) / 2, (s.y0 + s.y1) / 2) for s in fig.layout.shapes if s.xref == xref and s.yref == yref]


# ---- the numbers under the figures ---------------------------------------------------------------------------


def test_trace_matches_numpy_reference(big):
    model, vocab = big
    tr = forward_trace(model, vocab, TEXT)
    hs, logits, probs = numpy_forward(model, vocab, TEXT)
    np.testing.assert_allclose(tr.hidden, hs, atol=1e-5)
    np.testing.assert_allclose(tr.logits, logits, atol=1e-4)
    np.testing.assert_allclose(tr.probs, probs, atol=1e-6)
    ids = [vocab.stoi[c] for c in TEXT[1:]]
    np.testing.assert_allclose(tr.losses[:-1], -np.log(probs[np.arange(len(ids)), ids]), rtol=1e-5)
    assert math.isnan(tr.losses[-1]) and tr.targets[-1] is None
    np.testing.assert_array_equal(tr.predicted_ids, probs.argmax(axis=1))


def test_last_n_is_the_tail_of_the_full_trace(big):
    model, vocab = big
    full = forward_trace(model, vocab, TEXT)
    tail = forward_trace(model, vocab, TEXT, last_n=10)
    assert tail.offset == len(TEXT) - 10 and tail.chars == list(TEXT[-10:])
    np.testing.assert_allclose(tail.probs, full.probs[-10:], atol=1e-6)
    np.testing.assert_allclose(tail.hidden, full.hidden[-10:], atol=1e-5)
    np.testing.assert_allclose(tail.losses, full.losses[-10:], atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(tail.next_probs, full.next_probs, atol=1e-6)
    assert forward_trace(model, vocab, TEXT, last_n=500).offset == 0  # shorter than last_n: everything
    empty_tail = forward_trace(model, vocab, TEXT, last_n=0)
    assert len(empty_tail.chars) == 0
    np.testing.assert_allclose(empty_tail.next_probs, full.next_probs, atol=1e-6)
    with pytest.raises(ValueError, match="'Z'"):
        forward_trace(model, vocab, "Z" + TEXT, last_n=5)  # an unknown char before the tail still counts


def test_window_keeps_targets_and_predictions(small):
    model, vocab = small
    full = forward_trace(model, vocab, "hello")
    w = full.window(0, 4)
    assert w.chars == list("hell") and w.targets == list("ello") and w.offset == 0
    np.testing.assert_allclose(w.next_probs, full.probs[3])
    np.testing.assert_allclose(w.losses, full.losses[:4])
    w2 = full.window(2)
    assert w2.offset == 2 and w2.chars == list("llo")
    np.testing.assert_allclose(w2.next_probs, full.next_probs)


def test_drop_unknown_keeps_the_rest_and_their_positions():
    v = Vocab.from_text("hello")
    assert v.drop_unknown("hello") == ("hello", [])
    assert v.drop_unknown("heZlQo") == ("helo", [2, 4])
    assert v.drop_unknown("ZZ") == ("", [0, 1])
    assert v.drop_unknown("") == ("", [])


# ---- top-k ---------------------------------------------------------------------------------------------


def test_topk_bars_sorted_with_rest_and_visible_chars():
    itos = (" ", "\n", "a", "b", "c")
    p = np.array([0.4, 0.25, 0.2, 0.1, 0.05])
    fig = F.topk_figure(p, itos, k=3)
    bar = fig.data[0]
    assert bar.orientation == "h" and fig.layout.yaxis.autorange == "reversed"  # most likely on top
    assert list(bar.y) == ["␣", "⏎", "a", "rest (2)"]
    np.testing.assert_allclose(bar.x, [0.4, 0.25, 0.2, 0.15], atol=1e-7)
    assert list(bar.text) == ["0.40", "0.25", "0.20", "0.15"]
    assert fig.layout.yaxis.type == "category"
    assert tuple(fig.layout.xaxis.range) == (0, 1.18)
    assert fig.layout.xaxis.title.text == "probability" and "top 3 of 5" in fig.layout.yaxis.title.text
    assert fig.layout.uirevision == F.UIREVISION
    full = F.topk_figure(p, itos, k=10)  # k > V: all of them, no rest
    assert len(full.data[0].y) == 5 and "rest" not in " ".join(full.data[0].y)


# ---- step heatmaps -------------------------------------------------------------------------------------


def test_prob_heatmap_shape_labels_scale_and_true_next_boxes(small):
    model, vocab = small
    tr = forward_trace(model, vocab, "hello")
    fig = F.step_heatmap(tr, "probs")
    h = heat(fig)
    assert h.z.shape == (5, 4)
    np.testing.assert_allclose(h.z, tr.probs, atol=1e-7)
    assert (h.zmin, h.zmax) == (0.0, 1.0)
    assert h.colorbar.title.text == "p"
    assert list(h.y) == ["0: h", "1: e", "2: l", "3: l", "4: o"]
    assert list(h.x) == ["e", "h", "l", "o"] and fig.layout.xaxis.type == "category"
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    # a box at each row's true next character (e, l, l, o), none on the last row (no next character)
    assert boxes(fig) == [(vocab.stoi[c], t) for t, c in enumerate("ello")]
    # the side panel lists each step's loss -log2 p(true) in bits and p(true)
    side = fig.data[-1]
    np.testing.assert_allclose(side.x[:4], -np.log2(tr.target_probs[:4]), rtol=1e-5)
    assert side.text[1] == f"p={tr.target_probs[1]:.2f}" and side.text[4] == ""
    # hover: step and input char (y), candidate (x), probability (z) and logit (customdata)
    for part in ("step %{y}", "candidate %{x}", "p = %{z", "logit = %{customdata"):
        assert part in h.hovertemplate
    np.testing.assert_allclose(h.customdata, tr.logits, atol=1e-6)
    np.testing.assert_allclose(side.customdata[:4, 0], tr.target_probs[:4], rtol=1e-6)
    assert h.texttemplate  # a small grid prints its numbers


def test_logit_heatmap_is_centred_at_zero(small):
    model, vocab = small
    tr = forward_trace(model, vocab, "hell")
    fig = F.step_heatmap(tr, "logits")
    h = heat(fig)
    assert h.zmid == 0 and h.zmin == -h.zmax
    np.testing.assert_allclose(h.z, tr.logits, atol=1e-6)
    np.testing.assert_allclose(h.customdata, tr.probs, atol=1e-7)
    assert "logit = %{z" in h.hovertemplate and "p = %{customdata" in h.hovertemplate
    assert h.colorbar.title.text == "logit"
    assert boxes(fig) == [(vocab.stoi[c], t) for t, c in enumerate("ell")]


def test_large_vocabulary_gets_top_columns_and_rest(big):
    model, vocab = big
    tr = forward_trace(model, vocab, TEXT, last_n=12)
    cols = prediction_columns(tr, max_cols=8)
    assert len(cols) == 8 and list(cols) == sorted(cols)
    fig = F.step_heatmap(tr, "probs", max_cols=8)
    h, rest = fig.data[0], fig.data[1]
    # 9 columns in a chart a column wide at 1280 px: 30 px a column, too narrow for "rest", so it is named Σ
    assert h.z.shape == (12, 8) and list(rest.x) == ["Σ"] and rest.z.shape == (12, 1)
    assert list(fig.layout.xaxis.categoryarray)[-1] == "Σ" and "summed in Σ" in fig.layout.xaxis.title.text
    wide = F.step_heatmap(tr, "probs", max_cols=4)  # 5 columns of 54 px: "rest" fits
    assert list(wide.data[1].x) == ["rest"] and "summed in 'rest'" in wide.layout.xaxis.title.text
    np.testing.assert_allclose(h.z.sum(axis=1) + rest.z[:, 0], 1.0, atol=1e-5)  # shown + rest = everything
    assert list(h.y[:4]) == [f"{len(TEXT) - 12 + i}: {c}" for i, c in enumerate("the␣")]  # "...the lazy dog"
    lfig = F.step_heatmap(tr, "logits", max_cols=8)
    assert lfig.data[0].z.shape == (12, 8) and not {"rest", "Σ"} & set(lfig.layout.xaxis.categoryarray)
    # every true next character is boxed: in its own column when shown, else in 'rest' (probabilities)
    col_of = {int(v): j for j, v in enumerate(cols)}
    expect = [(col_of.get(int(i), 8), t) for t, i in enumerate(tr.target_ids) if i >= 0]
    assert boxes(fig) == expect
    assert boxes(lfig) == [(c, t) for c, t in expect if c < 8]


def test_rest_probability_is_what_the_shown_columns_leave_out():
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_allclose(rest_probability(probs, [1, 3]), [0.1 + 0.3, 0.5])
    np.testing.assert_allclose(rest_probability(probs[0], [0, 1, 2, 3]), 0.0)
    assert rest_probability(probs[0], np.array([2])) == pytest.approx(0.7)


def test_columns_prefer_targets_and_guesses():
    V = 30
    probs = np.full((3, V), 0.01)
    probs[:, 5] = 0.5  # a column that is everyone's guess
    target_ids = np.array([20, 21, -1])

    class T:
        chars = ["a", "b", "c"]
        itos = tuple(chr(65 + i) for i in range(V))
        predicted_ids = probs.argmax(axis=1)

    T.probs, T.target_ids = probs, target_ids
    cols = prediction_columns(T, max_cols=4)
    assert {5, 20, 21} <= set(cols.tolist())


def test_whitespace_is_visible_everywhere(big):
    model, vocab = big
    tr = forward_trace(model, vocab, "a b\tc\nd")
    fig = F.step_heatmap(tr, "probs")
    labels = " ".join(fig.data[0].y) + " ".join(fig.data[0].x)
    assert "␣" in labels and "⇥" in labels and "⏎" in labels
    assert " " not in "".join(fig.data[0].x)


# ---- hello ---------------------------------------------------------------------------------------------


def test_hello_figure_blocks_order_and_numbers(small):
    model, vocab = small
    tr = forward_trace(model, vocab, "hello").window(0, 4)
    fig = F.hello_figure(tr, BLOG_ORDER)
    onehot, hidden, logits, probs = fig.data[:4]
    assert onehot.z.shape == (4, 4) and hidden.z.shape == (6, 4)  # rows = units/characters, cols = steps
    assert list(fig.layout.yaxis.ticktext) == list(BLOG_ORDER)
    perm = [vocab.stoi[c] for c in BLOG_ORDER]
    np.testing.assert_allclose(onehot.z, tr.onehot[:, perm].T)
    np.testing.assert_allclose(hidden.z, tr.hidden.T, atol=1e-7)
    np.testing.assert_allclose(logits.z, tr.logits[:, perm].T, atol=1e-6)
    np.testing.assert_allclose(probs.z, tr.probs[:, perm].T, atol=1e-7)
    assert logits.zmid == 0 and (probs.zmin, probs.zmax) == (0.0, 1.0)
    assert all(d.texttemplate for d in fig.data[:4])  # numbers printed in every cell
    # target boxes in the logits (x3, y3) and probabilities (x4, y4) blocks at e, l, l, o
    want = [(t, BLOG_ORDER.index(c)) for t, c in enumerate("ello")]
    assert boxes(fig, "x3", "y3") == want and boxes(fig, "x4", "y4") == want
    notes = [a.text for a in fig.layout.annotations if a.xref == "x4"]  # under each step: predicted, p, target
    assert len(notes) == 4 and all(n.count("<br>") == 2 for n in notes)
    assert notes[3].endswith("<br><b>o</b>")
    words = [a.text for a in fig.layout.annotations if a.xref == "paper" and "predicted" in a.text]
    assert words == ["predicted<br>p<br>target"]  # said once, at the left


def test_hello_trains_to_ello():
    torch.manual_seed(123)
    tr = hello_trainer(4, seed=0)
    before = hello_trace(tr.model, tr)
    assert predictions(before) != "ello"
    sc = score(before)  # by hand: count the letters equal to "ello", average -log2 p(target) over the 4 steps
    assert sc.predicted == predictions(before)
    assert sc.right == sum(a == b for a, b in zip(sc.predicted, "ello", strict=True)) < 4
    p_target = [before.probs[i, before.itos.index(c)] for i, c in enumerate("ello")]
    assert sc.mean_bits == pytest.approx(float(np.mean(-np.log2(p_target))), rel=1e-5)
    for _ in range(300):
        tr.step()
    trace = hello_trace(tr.model, tr)
    assert predictions(trace) == "ello" == TARGET
    assert trace.chars == list("hell") and trace.targets == list("ello")
    assert trace.bits.mean() < sc.mean_bits / 3
    assert score(trace).right == 4


def test_hello_defaults_learn_visibly_not_at_once():
    # issue 12: at the old learning rate (0.05) the page's model was right after 6-31 updates, nothing to
    # watch. With the defaults no seed the page offers (New random weights: HELLO_SEED, +1, ...) is right
    # within the first 60 updates, and every one is within 300 (bounded by steps, deterministic seeds).
    assert HELLO_LR < 0.05
    default = learned_at(hello_trainer(4, seed=HELLO_SEED), 300)
    assert default is not None and 60 < default <= 200
    at = [learned_at(hello_trainer(4, seed=HELLO_SEED + i), 300) for i in range(1, 6)]
    assert all(a is not None and 60 < a <= 300 for a in at), at
    # the old rate, for contrast: right within 60 updates
    fast = learned_at(hello_trainer(4, seed=HELLO_SEED, lr=0.05), 60)
    assert fast is not None and fast < 60


def test_learned_at_counts_steps_and_stops():
    tr = hello_trainer(4, seed=HELLO_SEED)
    assert learned_at(tr, 5) is None and tr.steps == 5  # not yet: the trainer is left at its 5 steps
    n = learned_at(tr, 300)
    assert n == tr.steps and score(hello_trace(tr.model, tr)).right == 4
    tr.step()
    prev = hello_trainer(4, seed=HELLO_SEED)
    for _ in range(n - 1):
        prev.step()
    assert score(hello_trace(prev.model, prev)).right < 4  # one update earlier it was not all right yet
    assert learned_at(tr, 0) == tr.steps  # already right: no update


# ---- tables and HTML -----------------------------------------------------------------------------------


def test_tables_hold_the_trace_numbers(big):
    model, vocab = big
    tr = forward_trace(model, vocab, TEXT, last_n=6)
    st_ = tables.step_table(tr)
    assert list(st_["t"]) == list(range(tr.offset, tr.offset + 6))
    np.testing.assert_allclose(st_["p(true next)"], tr.target_probs, equal_nan=True)
    np.testing.assert_allclose(st_["loss −log₂ p (bits)"], -np.log2(tr.target_probs), rtol=1e-5, equal_nan=True)
    assert st_["true next"].iloc[-1] == ""
    m = tables.matrix_table(tr, "probs", max_cols=8)
    assert m.shape == (6, 9)
    np.testing.assert_allclose(m.to_numpy().sum(axis=1), 1.0, atol=1e-6)
    lg = tables.matrix_table(tr, "logits", max_cols=8)
    cols = prediction_columns(tr, 8)
    np.testing.assert_allclose(lg.to_numpy(), tr.logits[:, cols])


def test_prefix_and_sample_html_escape_and_mark():
    html = tables.prefix_html("a<Z b", [1, 2])
    assert "&lt;" in html and "<mark" in html and "␣" in html and "<Z" not in html
    msg = tables.unknown_message("heZlo", [2])
    assert msg.startswith("'Z' never appears in the training text") and "other 4 characters" in msg
    assert "never appear " in tables.unknown_message("QheZ", [0, 3])
    s = tables.sample_html("he", [("l", 0.9), ("\n", 0.1), ("<", 0.5)])
    assert "⏎" in s and "&lt;" in s and 'title="l: p = 0.900"' in s
    long = tables.sample_html("x" * 500 + "END", [("a", 0.5)], max_prefix=10)
    assert "…xxxxxxxEND" in long and "x" * 11 not in long


def test_library_modules_do_not_import_streamlit():
    code = "import sys, charviz.figures, charviz.tables, charviz.hello; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_prediction_figure_is_valid_plotly(small, big):
    """The figures are built unvalidated for speed: plotly's own validation must accept every one."""
    import plotly.graph_objects as go

    model, vocab = small
    bm, bv = big
    hello = forward_trace(model, vocab, "hello")
    tr = forward_trace(bm, bv, TEXT, last_n=20)
    figs = [
        F.topk_figure(hello.next_probs, vocab.itos, 3, "a<br>b"),
        F.step_heatmap(hello, "probs"), F.step_heatmap(hello, "logits"),
        F.step_heatmap(tr, "probs", 8), F.step_heatmap(tr, "logits", 8),
        F.step_heatmap(forward_trace(model, vocab, ""), "probs"),
        F.hello_figure(hello.window(0, 4), BLOG_ORDER),
    ]
    for fig in figs:
        checked = go.Figure(fig.to_dict())  # raises on any invalid property
        assert checked.layout.uirevision == F.UIREVISION
        assert checked.layout.template.layout.plot_bgcolor == F.PALETTE["white"]  # the house template is applied
        assert checked.layout.font.size == F.FONT_SIZE
        for d in fig.to_dict()["data"]:  # plotly.js knows no '_r' names: scales go out as explicit lists
            assert not isinstance(d.get("colorscale", []), str)
