"""AppTest: the Gradients page (scalar example, live gradient flow of the session's model)."""

from pathlib import Path

import pytest
import streamlit as st
from conftest import charts
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "gradients.py")


@pytest.fixture(autouse=True)
def _fresh_session():
    st.cache_resource.clear()  # AppTest runs share one session id: stop and drop the previous run
    yield
    st.cache_resource.clear()


def _charts(at):
    """The page's figures by element id: the scalar example's st.plotly_chart first, then the live model's
    live charts (charviz.ui.live_chart)."""
    return {cid: spec for _, spec, cid in charts(at)}


def test_page_renders_scalar_example_and_live_flow():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    charts = list(_charts(at).values())
    assert len(charts) == 5
    scalar = charts[0]
    assert scalar["layout"]["yaxis"]["type"] == "log"
    assert "w = 3" in scalar["data"][0]["name"]
    table = next(m.value for m in at.markdown if "|---|" in m.value)  # w = 3, T = 20: 3^k, k steps back
    for k in (1, 2, 3, 5, 10, 20):
        assert f"**{3 ** k:,}**" in table
    assert any("explodes" in i.value for i in at.info)
    values = [m.value for m in at.metric]
    assert len(values) == 3 and all(v != "–" for v in values)


def test_scalar_example_reaches_three_to_the_hundred():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.slider(key="g_T").set_value(100).run()
    assert not at.exception
    table = next(m.value for m in at.markdown if "steps back" in m.value or "step back" in m.value)
    assert f"{3.0 ** 100:.4g}" in table  # 5.154e+47, the story's 3^100, 100 steps back



def test_the_probe_box_keeps_newlines():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.text_area(key="g_text").placeholder  # a multi-line box (a one-line box collapses newlines)
    at.text_area(key="g_text").set_value("hello\nhello\n").run()
    assert not at.exception
    assert at.text_area(key="g_text").value == "hello\nhello\n"
    assert len(_charts(at)) == 5


def test_small_weight_vanishes():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.slider(key="g_w").set_value(0.5).run()
    assert not at.exception
    assert any("vanishes" in i.value for i in at.info)


def test_unknown_and_too_short_sequences_are_explained():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_area(key="g_text").set_value("hello Z").run()
    assert not at.exception
    assert any("'Z'" in w.value and "never" in w.value for w in at.warning)
    assert len(_charts(at)) == 5  # the known characters still give a gradient flow
    at.text_area(key="g_text").set_value("h").run()
    assert not at.exception
    assert any("at least two characters" in i.value for i in at.info)


def _long_range_script():
    import runpy
    from pathlib import Path

    from charviz.train import TrainConfig
    from charviz.ui import session

    ws = session.get_workspace()
    if ws.source.name != "long-range":
        src = session.corpus_source("long-range", 6)
        session.reset(session.corpus_text(src.name, src.k), TrainConfig(hidden_size=16, seq_len=4), src)
    runpy.run_path(str(Path.cwd() / "pages" / "gradients.py"))


def test_long_range_recall_is_scored_and_truncation_warned(monkeypatch):
    monkeypatch.chdir(Path(PAGE).parents[1])
    at = AppTest.from_function(_long_range_script, default_timeout=60).run()
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert "key recalled after k = 6 fillers" in labels
    assert labels["forgetting costs"] == "2 bits"
    bits = float(labels["loss at the recall step"].split()[0])
    assert 0.5 < bits < 6  # an untrained model is near a uniform guess, not near 0
    assert any("truncation window (4) is shorter" in w.value for w in at.warning)

def test_an_empty_box_unrolls_the_default_sequence():
    """The browser test's rare failure: on a new server under load the box came back empty on the rerun after
    Start, and the live view showed nothing. An empty box now unrolls the default (its placeholder)."""
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_area(key="g_text").set_value("").run()
    assert not at.exception
    assert at.text_area(key="g_text").placeholder and len(_charts(at)) == 5
    assert not any("at least two characters" in i.value for i in at.info)


def test_page_names_the_unit_of_the_loss_it_differentiates():
    # issue 12 "Units": the gradients here are of -ln p (nats, what training differentiates); the page says so
    # and gives the factor to bits, the unit every other page shows the loss in
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    intro = next(m.value for m in at.markdown if "backpropagation through time" in m.value)
    assert "−ln p" in intro and "nats" in intro and "ln 2" in intro
