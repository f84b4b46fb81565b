"""Training figures: values above the loss chart's range are marked on its edge, never left out."""

import math

import numpy as np
import pytest

from charviz.figures import loss_figure


def _rows(bits_list):
    return [{"step": i + 1, "bits": b, "applied": True} for i, b in enumerate(bits_list)]


def _visible_points(fig):
    """(trace name, x, y) of every point drawn inside the y range."""
    lo, hi = fig.layout.yaxis.range
    out = []
    for tr in fig.data:
        for x, y in zip(np.asarray(tr.x, float), np.asarray(tr.y, float), strict=True):
            if math.isfinite(y) and lo <= y <= hi:
                out.append((tr.name, x, y))
    return out


def test_a_run_far_above_the_range_is_marked_not_an_empty_chart():
    # the case: a diverged run at ~4,381 bits/char on a 96-character vocabulary
    fig = loss_figure(_rows([4381.0] * 30), [{"step": 30, "val_bits": 1250.0}], 96)
    pts = _visible_points(fig)
    assert len(pts) == 31, "every step and the validation point must be visible"
    marker = [tr for tr in fig.data if tr.name and tr.name.startswith("above the chart")]
    assert len(marker) == 1 and "4,381" in marker[0].name
    assert sorted(float(v.replace(",", "")) for v in marker[0].text) == [1250.0] + [4381.0] * 30  # true values


def test_values_inside_the_range_are_drawn_where_they_are_and_only_outliers_marked():
    bits = [6.5, 5.0, 4.0, 3.0, 900.0, 3.0]
    fig = loss_figure(_rows(bits), [], 96)
    top = fig.layout.yaxis.range[1]
    assert top == 2.5 * math.log2(96)
    raw = next(tr for tr in fig.data if tr.name == "train (each step)")
    assert np.isnan(np.asarray(raw.y, float)[4]) and np.asarray(raw.y, float)[0] == 6.5
    marker = next(tr for tr in fig.data if tr.name.startswith("above the chart"))
    assert np.asarray(marker.x, float).tolist() == [5.0]


def test_restores_are_drawn_as_lines_with_the_step_restored():
    fig = loss_figure(_rows([3.0] * 10), [], 20, restores=[(8, 5)])
    assert any(s.x0 == 8 and s.yref == "paper" for s in fig.layout.shapes)
    assert any("restored step 5" in a.text for a in fig.layout.annotations)


def _label(fig, start: str):
    return next(a for a in fig.layout.annotations if a.text.replace("<br>", " ").startswith(start))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_reference_line_labels_sit_in_the_right_margin_where_no_data_can_cover_them(lang):
    """The uniform guess's, the n-gram baseline's and the clip threshold's labels: right of the plot area (paper
    x = 1, anchored at their left edge), at their line's height, in a right margin wide enough for their longest
    line of text; two labels of one chart on either side of their lines (they never overlap)."""
    from types import SimpleNamespace

    from charviz import i18n
    from charviz.figures import grad_norm_figure
    from charviz.figures.style import CHAR_W, text_width

    try:
        i18n.set_language_resolver(lambda: lang)
        rows = [{"step": i, "bits": 6.0 - i / 40, "grad_norm": 3.0 + i % 7, "grad_norm_clipped": 5.0,
                 "clipped": i % 7 > 2, "applied": True} for i in range(1, 200)]
        loss = loss_figure(rows, [], 65, baseline=SimpleNamespace(bits=2.31, n=3))
        grad = grad_norm_figure(rows, 5.0)
        starts = {"uniform": i18n.t("figures.uniform", v=65, bits="6.02").split(":")[0],
                  "baseline": i18n.t("baseline.line", n=3, bits="2.31").split(" ")[0],
                  "clip": i18n.t("figures.clip_threshold", clip="5").split(" ")[0]}
        no_clip, alone = grad_norm_figure(rows, None), loss_figure(rows, [], 65)
    finally:
        i18n.set_language_resolver(lambda: i18n.DEFAULT_LANGUAGE)
    uniform = math.log2(65)
    cases = [("uniform", loss, uniform, "bottom"), ("baseline", loss, 2.31, "top"),
             ("clip", grad, math.log10(5.0), "middle")]
    for what, fig, y, anchor in cases:
        a = _label(fig, starts[what])
        assert (a.xref, a.x, a.xanchor) == ("paper", 1, "left") and a.xshift > 0, what  # outside the plot area
        assert a.y == pytest.approx(y) and a.yanchor == anchor, what  # at its line, on its side of it
        widest = max(text_width(line) for line in a.text.split("<br>")) * CHAR_W * a.font.size
        assert fig.layout.margin.r >= a.xshift + widest, (what, fig.layout.margin.r, a.text)  # not cut off
        assert fig.layout.margin.r <= 130, what  # (short lines: the plot keeps most of its width at 1280 px)
        assert any(s.y0 == pytest.approx(10 ** y if what == "clip" else y) for s in fig.layout.shapes), what
    # the uniform guess's label alone sits level with its line; without clipping no margin is taken from the plot
    a = _label(alone, starts["uniform"])
    assert (a.xref, a.x, a.xanchor, a.yanchor) == ("paper", 1, "left", "middle")
    assert no_clip.layout.margin.r == 30 and not no_clip.layout.annotations


def test_the_gradient_norm_axis_labels_every_decade_while_they_fit_and_every_few_when_diverging():
    """A diverging run's norm spans 10^-1..10^12: 14 labels in a 300 px axis overlap on a projector, so every
    2nd power of ten is labelled then (at most 8 labels); a normal run keeps one label per power of ten."""
    from charviz.figures import grad_norm_figure

    def history(norms):
        return [{"step": i + 1, "grad_norm": g, "grad_norm_clipped": min(g, 5.0), "applied": True}
                for i, g in enumerate(norms)]

    calm = grad_norm_figure(history(np.linspace(0.2, 8.0, 200)), 5.0).layout.yaxis
    assert calm.dtick == 1 and calm.type == "log"
    wild = grad_norm_figure(history(np.r_[np.linspace(0.2, 3.0, 100), 3e11, 2e3]), None).layout.yaxis
    lo, hi = wild.range
    assert hi - lo >= 12  # the whole span is shown ...
    assert wild.dtick >= 2 and (hi - lo) / wild.dtick + 1 <= 8  # ... with at most 8 labels


def test_with_diamonds_drawn_only_the_diamonds_take_the_pointer():
    """A click on the loss chart chooses a kept snapshot: with diamonds drawn, no line point (train, smoothed,
    validation) can be hovered, so the point a click lands on is always a diamond; without diamonds, the lines
    keep their hover."""
    hist = [{"step": i, "bits": 3 - i / 1000} for i in range(1, 600)]
    val = [{"step": i, "val_bits": 2.9 - i / 1000} for i in range(50, 600, 50)]
    fig = loss_figure(hist, val, 40, marks=[100, 200, 300, 400, 500])
    hoverable = [d.name for d in fig.data if d.hoverinfo != "skip"]
    assert hoverable == ["kept snapshots"], hoverable
    plain = loss_figure(hist, val, 40)
    assert all(d.hoverinfo != "skip" for d in plain.data)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_race_charts_reference_labels_sit_in_the_right_margin_too(lang):
    """The Race's uniform guess (the loss curves start on it) and chance (the recall curves cross it): labels
    right of the plot area at their line's height, in a margin wide enough for them."""
    from charviz import i18n
    from charviz.figures import race_loss_figure, race_recall_figure, sweep_figure
    from charviz.figures.style import CHAR_W, text_width

    try:
        i18n.set_language_resolver(lambda: lang)
        hist = {c: [{"step": i, "bits": 4.0 - i / 100} for i in range(1, 100)] for c in ("rnn", "lstm", "gru")}
        evals = {c: [{"step": i, "recall": min(1.0, i / 50)} for i in range(10, 100, 10)] for c in hist}
        figs = {"loss": (race_loss_figure(hist, 16), 4.0),
                "recall": (race_recall_figure(evals, 0.25), 0.25),
                "sweep": (sweep_figure({2: {"rnn": 0.9, "lstm": 1.0, "gru": 1.0}, 8: {"rnn": 0.3}}, 500, 0.25), 0.25)}
    finally:
        i18n.set_language_resolver(lambda: i18n.DEFAULT_LANGUAGE)
    for what, (fig, y) in figs.items():
        (a,) = fig.layout.annotations
        assert (a.xref, a.x, a.xanchor) == ("paper", 1, "left") and a.xshift > 0, what
        assert a.y == pytest.approx(y), what
        widest = max(text_width(line) for line in a.text.split("<br>")) * CHAR_W * a.font.size
        assert fig.layout.margin.r >= a.xshift + widest, (what, fig.layout.margin.r, a.text)


def test_a_race_after_its_first_step_shows_a_dot_per_cell_and_lines_after_that():
    """One point per cell draws no line in plotly: the first step of a race is a visible dot of each cell."""
    from charviz.figures import race_loss_figure

    for n, mode in ((1, "lines+markers"), (2, "lines"), (50, "lines")):
        hist = {c: [{"step": i, "bits": 2.0 - i / 100} for i in range(1, n + 1)] for c in ("rnn", "lstm", "gru")}
        named = [tr for tr in race_loss_figure(hist, 4).data if tr.name]
        assert [tr.name for tr in named] == ["RNN", "LSTM", "GRU"]
        assert all(tr.mode == mode and len(tr.x) == n for tr in named), (n, [tr.mode for tr in named])
