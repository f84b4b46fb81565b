"""Hidden-state figures: valid plotly figures that carry exactly the numbers given, readable labels, and
escaped HTML."""

import numpy as np
import plotly.graph_objects as go
import pytest
from test_app_predict import arr

from charviz.data import show_char
from charviz.figures import hidden as fh
from charviz.hidden import gate_saturation, hidden_pca


def valid(fig) -> dict:
    """The figure as plotly validates it (raises on any invalid property)."""
    d = go.Figure(fig.to_dict()).to_dict()
    for trace in d["data"]:
        for k in ("x", "y", "z", "customdata"):
            if isinstance(trace.get(k), dict):
                trace[k] = arr(trace[k])
    return d


def test_heatmap_rows_are_units_in_order_and_columns_are_characters():
    rng = np.random.default_rng(0)
    chars = list("ab c\nd")
    v = rng.uniform(-1, 1, size=(6, 4)).astype(np.float32)
    order = np.array([2, 0, 3, 1])
    r = np.array([0.5, np.nan, -0.9, 0.1])
    d = valid(fh.unit_heatmap(v, chars, order, "h", selected=3, strip=r, strip_title="r (x)"))
    heat, strip, picks = d["data"]
    assert heat["y"] == ["unit 2", "unit 0", "unit 3", "unit 1"]
    np.testing.assert_array_equal(np.asarray(heat["z"], dtype=np.float32), v[:, order].T)
    assert (heat["zmin"], heat["zmax"], heat["zmid"]) == (-1, 1, 0)
    assert heat["x"] == ["0: a", "1: b", "2: ␣", "3: c", "4: ⏎", "5: d"]  # hover: step and visible character
    assert d["layout"]["xaxis"]["ticktext"] == ["a", "b", "␣", "c", "⏎", "d"]
    assert "%{y}" in heat["hovertemplate"] and "%{x}" in heat["hovertemplate"] and "%{z" in heat["hovertemplate"]
    np.testing.assert_allclose(np.asarray(strip["z"], dtype=np.float64).ravel(), r[order], rtol=1e-6)
    assert list(picks["customdata"]) == [2, 0, 3, 1] and picks["text"][3] == "constant"
    assert d["layout"]["shapes"][0]["y0"] == 1.5  # unit 3 sits in row 2


def test_heatmap_scales_per_view():
    v = np.array([[0.2, -3.0], [0.1, 2.0]], dtype=np.float32)
    c = valid(fh.unit_heatmap(v, "ab", view="c"))["data"][0]
    assert (c["zmin"], c["zmax"]) == (-3.0, 3.0)  # symmetric, its own range
    g = valid(fh.unit_heatmap(np.clip(v, 0, 1), "ab", view="f"))["data"][0]
    assert (g["zmin"], g["zmax"]) == (0, 1)


def test_many_characters_and_units_are_thinned_not_overlapping():
    T, H = 1200, 512
    chars = [chr(97 + i % 26) for i in range(T)]
    v = np.zeros((T, H), dtype=np.float32)
    d = valid(fh.unit_heatmap(v, chars, view="h"))
    assert len(d["data"][0]["y"]) == H and len(d["data"][0]["x"]) == T
    ticks = d["layout"]["xaxis"]["ticktext"]
    assert len(ticks) <= fh.MAX_TICKS
    plot_px = d["layout"]["height"] - 120
    assert plot_px / len(d["layout"]["yaxis"]["tickvals"]) >= 20  # unit labels >= 20 px apart
    assert d["layout"]["height"] <= 620


def test_unit_curve_and_property():
    vals = np.array([0.1, -0.5, 0.9], dtype=np.float32)
    d = valid(fh.unit_curve(vals, "a(b", 4, "h", feature=np.array([0.0, 1.0, 1.0]), feature_name="in"))
    np.testing.assert_array_equal(np.asarray(d["data"][0]["y"], dtype=np.float32), vals)
    assert d["data"][1]["yaxis"] == "y2" and d["layout"]["yaxis2"]["tickvals"] == [0, 1]
    assert "unit 4" in d["layout"]["title"]["text"]


def test_saturation_and_pca_figures():
    rng = np.random.default_rng(3)
    gates = {"i": rng.random((50, 8)), "f": rng.random((50, 8)) ** 0.1}
    sat = {k: gate_saturation(g) for k, g in gates.items()}
    d = valid(fh.saturation_figure(sat))
    np.testing.assert_allclose(np.asarray(d["data"][1]["x"], dtype=np.float64), sat["f"][0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(d["data"][1]["y"], dtype=np.float64), sat["f"][1], rtol=1e-6)
    h = rng.normal(size=(40, 6))
    p = hidden_pca(h)
    chars = [chr(97 + i % 26) for i in range(40)]
    d = valid(fh.pca_figure(p, chars))
    np.testing.assert_allclose(np.asarray(d["data"][1]["x"], dtype=np.float64), p.coords[:, 0], rtol=1e-5)
    assert f"{100 * p.explained[0]:.1f}%" in d["layout"]["xaxis"]["title"]["text"]
    assert sum(bool(s) for s in d["data"][1]["text"]) <= fh.PATH_LABELS


def test_unit_text_html_escapes_and_colours():
    text = "<b>&\n'x\""
    vals = np.array([1.0, -1.0, 0.0, 0.5, -0.5, np.nan, 0.2, 0.3])
    out = fh.unit_text_html(text, vals)
    assert "<b>" not in out and "&lt;" in out and "&amp;" in out and "&#x27;" in out and "&quot;" in out
    assert out.count("<span") == len(text) and out.count("<br>") == 1
    assert "rgba(214,39,40,0.85)" in out and "rgba(31,119,180,0.85)" in out  # +1 red, -1 blue, full
    assert fh.value_color(0.5, 0.0, 1.0) == "rgba(214,39,40,0.42)"
    assert fh.value_color(float("nan"), -1, 1) == "transparent"
    assert show_char("\n") in out


@pytest.mark.parametrize("view", ["h", "c", "i", "g"])
def test_view_scale(view):
    s = fh.view_scale(view, np.array([[0.5, -2.0]]))
    if view == "i":
        assert (s["zmin"], s["zmax"]) == (0.0, 1.0)
    elif view == "c":
        assert (s["zmin"], s["zmax"]) == (-2.0, 2.0)
    else:
        assert (s["zmin"], s["zmax"]) == (-1.0, 1.0)


def test_every_hidden_figure_is_in_the_house_style():
    from charviz.figures import style

    rng = np.random.default_rng(4)
    v = rng.uniform(-1, 1, size=(30, 5))
    chars = list("def f(x):\n    return x + 1\n  ab")[:30]
    figs = [fh.unit_heatmap(v, chars, strip=rng.uniform(-1, 1, 5), selected=2), fh.unit_curve(v[:, 0], chars, 0),
            fh.saturation_figure({"f": gate_saturation(rng.random((30, 5)))}), fh.pca_figure(hidden_pca(v), chars)]
    for f in figs:
        lay = go.Figure(f.to_dict()).layout
        assert lay.template.layout.plot_bgcolor == style.PALETTE["white"]
        assert lay.uirevision == style.UIREVISION and lay.font.size == style.FONT_SIZE
