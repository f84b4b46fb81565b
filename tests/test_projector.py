"""Projector mode: figure fonts scaled (hand-checked), the toggle and ?projector=1, the hidden controls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import charts
from streamlit.testing.v1 import AppTest

from charviz import display, figures
from charviz.figures.style import FONT_SIZE, TITLE_SIZE, scale_fonts
from charviz.ui.projector import CUT_KEY, SCALE

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def test_scale_fonts_scales_every_font_size_and_nothing_else():
    d = {"font": {"size": 10, "color": "red"}, "height": 300, "xaxis": {"tickfont": {"size": 8}, "range": [0, 5]},
         "annotations": [{"text": "a", "font": {"size": 12}}], "textfont": {"size": 20}, "marker": {"size": 7}}
    out = scale_fonts(d, 1.5)
    assert out["font"] == {"size": 15, "color": "red"} and out["xaxis"] == {"tickfont": {"size": 12}, "range": [0, 5]}
    assert out["annotations"][0]["font"]["size"] == 18 and out["textfont"]["size"] == 30
    assert out["height"] == 300 and out["marker"] == {"size": 7}  # not text
    assert d["font"]["size"] == 10  # a copy


def test_figures_follow_the_font_scale_resolver():
    flow_like = {"a": 1.0, "b": 0.1}
    plain = figures.param_grad_figure(flow_like).to_dict()["layout"]
    try:
        display.set_font_scale_resolver(lambda: 1.5)
        big = figures.param_grad_figure(flow_like).to_dict()["layout"]
        topk = figures.topk_figure(np.array([0.5, 0.3, 0.2]), ["a", "b", "c"], 2, "t").to_dict()
    finally:
        display.set_font_scale_resolver(lambda: 1.0)
    assert plain["font"]["size"] == FONT_SIZE and big["font"]["size"] == FONT_SIZE * 1.5
    assert big["height"] > plain["height"]
    assert topk["layout"]["title"]["font"]["size"] == TITLE_SIZE * 1.5
    assert topk["data"][0]["textfont"]["size"] == FONT_SIZE * 1.5
    assert display.font_scale() == 1.0


def app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def font_sizes(at) -> set:
    """The font sizes of every chart on the page (the live charts' too: conftest.charts)."""
    found = charts(at)
    assert len(found) >= 3  # loss, gradient norm, training speed
    return {spec["layout"]["font"]["size"] for _, spec, _ in found}


def has_css(at) -> bool:
    return any(CUT_KEY in h.proto.body for h in at.get("html"))


def test_projector_from_the_url_and_the_toggle():
    at = app(projector="1")
    assert at.toggle(key="projector_toggle").value is True
    assert font_sizes(at) == {round(FONT_SIZE * SCALE, 1)} and has_css(at)
    at.toggle(key="projector_toggle").set_value(False).run()
    assert "projector" not in at.query_params and font_sizes(at) == {FONT_SIZE} and not has_css(at)
    at.toggle(key="projector_toggle").set_value(True).run()
    assert at.query_params["projector"] in ("1", ["1"]) and font_sizes(at) == {round(FONT_SIZE * SCALE, 1)}


def test_off_by_default_and_the_train_page_marks_its_setup_controls():
    at = app()
    assert at.toggle(key="projector_toggle").value is False and font_sizes(at) == {FONT_SIZE}
    assert not has_css(at)
    # the marker sits right before the settings, which projector mode hides; the live controls come before it
    src = (ROOT / "charviz/ui/train.py").read_text(encoding="utf-8")
    assert src.index("live_controls(ws)") < src.index("projector.cut()") < src.index("text_controls()")
