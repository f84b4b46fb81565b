"""Training figures: values above the loss chart's range are marked on its edge, never left out."""

import math

import numpy as np

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
