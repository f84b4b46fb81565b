"""AppTest: the Hidden page (every cell type, views, row orders, unit choice, unknown characters, empty
probe, bad regex, freeze, following the training)."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app_predict import arr

from charviz.escape import md
from charviz.hidden import rank_units, similarity_order, text_features
from charviz.inspect import memory_trace

ROOT = Path(__file__).resolve().parents[1]
CODE = "def f(a, b):\n    return g(a, 'x(y') + [b, 2]\n\nclass C:\n    s = \"no\"\n"


def charts(at) -> dict:
    """The page's plotly figures by their element key (the proto id ends with the key)."""
    out = {}
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        key = next((k for k in ("hidden_heatmap", "hidden_curve", "hidden_saturation", "hidden_pca")
                    if c.proto.id.endswith(k)), c.proto.id)
        out[key] = spec
    return out


def _script(cell: str, hidden: int, corpus: str = "python"):
    import runpy
    from pathlib import Path

    from charviz.train import TrainConfig
    from charviz.ui import lang, session

    lang.install()  # as app.py does
    ws = session.get_workspace()
    if (ws.source.name, ws.config.cell, ws.config.hidden_size) != (corpus, cell, hidden):
        src = session.corpus_source(corpus, 4 if corpus == "long-range" else None)
        text = session.corpus_text(src.name, src.k)
        if corpus == "python":
            text = text[:60_000]  # a short Python text: the same characters matter, startup stays quick
        session.reset(text, TrainConfig(cell=cell, hidden_size=hidden, seq_len=16, batch_size=8), src)
    runpy.run_path(str(Path.cwd() / "pages" / "hidden.py"))


def run_page(monkeypatch, cell="lstm", hidden=12, corpus="python") -> AppTest:
    monkeypatch.chdir(ROOT)
    at = AppTest.from_function(_script, default_timeout=60, args=(cell, hidden, corpus))
    at.run()
    assert not at.exception, at.exception
    return at


def ws_of(at):
    return at.session_state["charviz_workspace"]


def set_probe(at, text):
    at.text_area(key="hidden_probe").set_value(text).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("cell,views", [("rnn", ["h"]), ("lstm", ["h", "c", "i", "f", "g", "o"]),
                                        ("gru", ["h", "r", "z", "n"])])
def test_each_cell_draws_the_models_own_numbers(monkeypatch, cell, views):
    at = run_page(monkeypatch, cell)
    ws = ws_of(at)
    for _ in range(3):
        ws.run.step_once()
    set_probe(at, CODE)
    assert at.button_group(key="hidden_view").options == views
    snap = ws.run.snapshot()
    mt = memory_trace(snap.model, snap.vocab, CODE)
    for view in views:
        at.button_group(key="hidden_view").set_value(view).run()
        assert not at.exception, at.exception
        cs = charts(at)
        heat = cs["hidden_heatmap"]["data"][0]
        assert len(heat["y"]) == 12  # one row per unit
        np.testing.assert_allclose(arr(heat["z"]), mt.view(view).T, atol=1e-6)
        if view in ("h", "g", "n"):
            assert (heat["zmin"], heat["zmax"]) == (-1, 1)
        elif view == "c":
            assert heat["zmax"] == -heat["zmin"] == pytest.approx(np.abs(mt.cell).max(), rel=1e-6)
        else:
            assert (heat["zmin"], heat["zmax"]) == (0, 1)
    assert ("hidden_saturation" in charts(at)) == (cell != "rnn")
    assert "hidden_pca" in charts(at)
    assert any("step **3**" in c.value for c in at.caption)


def test_unit_finder_ranks_by_the_models_correlation(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    ws = ws_of(at)
    for _ in range(2):
        ws.run.step_once()
    set_probe(at, CODE)
    at.selectbox(key="hidden_property").set_value("in_brackets").run()
    at.selectbox(key="hidden_order").set_value("correlation").run()
    assert not at.exception
    snap = ws.run.snapshot()
    mt = memory_trace(snap.model, snap.vocab, CODE)
    want = rank_units(mt.hidden, text_features(CODE)["in_brackets"])
    table = at.dataframe[0].value
    assert list(table["unit"]) == [int(u) for u in want.order[:10]]
    np.testing.assert_allclose(table["r"], want.r[want.order[:10]], rtol=1e-6)
    heat = charts(at)["hidden_heatmap"]["data"]
    assert heat[0]["y"][0] == f"unit {want.order[0]}"  # rows by |r|
    np.testing.assert_allclose(arr(heat[1]["z"]).ravel(), want.r[want.order], rtol=1e-6)  # the r column
    assert list(arr(heat[2]["customdata"])) == [int(u) for u in want.order]  # clickable markers
    at.selectbox(key="hidden_order").set_value("similarity").run()
    rows = charts(at)["hidden_heatmap"]["data"][0]["y"]
    assert rows == [f"unit {u}" for u in similarity_order(mt.hidden)]
    assert at.number_input(key="hidden_unit").value == want.best  # a new property shows its best unit
    # another unit chosen by hand; the best-unit button brings the best back, and the curve shows it
    at.number_input(key="hidden_unit").set_value(int(want.order[-1])).run()
    assert at.number_input(key="hidden_unit").value == int(want.order[-1])
    at.button(key="hidden_best").click().run()
    assert at.number_input(key="hidden_unit").value == want.best
    curve = charts(at)["hidden_curve"]["data"][0]
    np.testing.assert_allclose(arr(curve["y"]), mt.hidden[:, want.best], atol=1e-6)


def test_choosing_a_unit_colours_the_text_and_text_is_escaped(monkeypatch):
    at = run_page(monkeypatch, "gru")
    probe = "if a < b and c > d:\n    x = '&amp;'\n"
    set_probe(at, probe)
    at.number_input(key="hidden_unit").set_value(5).run()
    assert not at.exception
    snap = ws_of(at).run.snapshot()
    mt = memory_trace(snap.model, snap.vocab, probe)
    np.testing.assert_allclose(arr(charts(at)["hidden_curve"]["data"][0]["y"]), mt.hidden[:, 5], atol=1e-6)
    body = next(h.proto.body for h in at.get("html") if "charviz-unit-text" in h.proto.body)
    assert ">&lt;</span>" in body and ">&gt;</span>" in body and ">&amp;</span>" in body
    assert "<b" not in body.replace("<br", "") and "'&amp;'" not in body
    assert body.count("<span") == len(probe)


def test_heatmap_click_selects_the_unit(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    set_probe(at, CODE)
    # what the browser sends when a square of the r column is clicked (plotly selection event)
    at.session_state["hidden_heatmap"] = {"selection": {"points": [{"customdata": 7, "y": "unit 7"}],
                                                        "point_indices": [7], "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    assert at.number_input(key="hidden_unit").value == 7
    shapes = charts(at)["hidden_heatmap"]["layout"]["shapes"]
    assert shapes[0]["y0"] == 6.5  # the selected row is outlined (rows by index here)


def test_unknown_characters_are_shown_and_skipped(monkeypatch):
    at = run_page(monkeypatch, "rnn")
    set_probe(at, "def f(x):\n    return x€€ + ü\n")
    warnings = [w.value for w in at.warning]
    assert any("never appear in the training text" in w and "'€'" in w for w in warnings)
    assert any("<mark" in h.proto.body and "€" in h.proto.body for h in at.get("html"))
    heat = charts(at)["hidden_heatmap"]["data"][0]
    assert len(heat["x"]) == len("def f(x):\n    return x + \n")  # the known characters


def test_empty_probe(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    set_probe(at, "")
    assert any("probe text is empty" in i.value for i in at.info)
    assert charts(at) == {}


def test_bad_regex_gets_a_message_and_the_page_still_draws(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    set_probe(at, CODE)
    at.selectbox(key="hidden_property").set_value("regex").run()
    at.text_input(key="hidden_regex").set_value("(a[").run()
    assert not at.exception
    assert any("does not work" in e.value and "not a valid regular expression" in e.value for e in at.error)
    assert "hidden_heatmap" in charts(at)
    at.text_input(key="hidden_regex").set_value(r"return").run()
    assert not at.error
    assert len(at.dataframe) == 1
    assert "/return/" in at.markdown[-1].value or any("/return/" in c.value for c in at.caption)
    at.text_input(key="hidden_regex").set_value("(a[").run()
    at.session_state["charviz_lang"] = "ko"  # the same error, read in Korean (kept by key: charviz.errors)
    at.run()
    ko = [e.value for e in at.error]
    assert len(ko) == 1
    want = md("올바른 정규 표현식이 아닙니다: 위치 2(0부터 셉니다)에 문제가 있습니다")
    assert ko[0].startswith(f"이 정규 표현식은 쓸 수 없습니다: {want}"), ko[0]
    # Python's own words (English only) are a technical detail under the message, not the message
    assert "기술적 세부 사항: unterminated character set" in "\n".join(c.value for c in at.caption)


def test_constant_property_is_explained(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    set_probe(at, "abc def\n")
    at.selectbox(key="hidden_property").set_value("digit").run()
    assert any("same value on every character" in i.value for i in at.info)
    assert len(at.dataframe) == 0


def test_long_range_key_property(monkeypatch):
    at = run_page(monkeypatch, "lstm", corpus="long-range")
    assert "key seen, not yet recalled" in at.selectbox(key="hidden_property").options
    at.selectbox(key="hidden_property").set_value("key_pending").run()
    assert not at.exception and len(at.dataframe) == 1


def test_follows_training_and_freeze_holds(monkeypatch):
    at = run_page(monkeypatch, "lstm")
    set_probe(at, CODE)
    z0 = arr(charts(at)["hidden_heatmap"]["data"][0]["z"])
    ws = ws_of(at)
    for _ in range(5):
        ws.run.step_once()
    at.run()  # what the live fragment's timer does every second
    z1 = arr(charts(at)["hidden_heatmap"]["data"][0]["z"])
    assert not np.allclose(z0, z1)
    at.toggle(key="hidden_freeze").set_value(True).run()
    assert any("Frozen at step **5**" in c.value for c in at.caption)
    for _ in range(5):
        ws.run.step_once()
    at.run()
    np.testing.assert_array_equal(arr(charts(at)["hidden_heatmap"]["data"][0]["z"]), z1)
    assert any("now step 10" in c.value for c in at.caption)
    at.toggle(key="hidden_freeze").set_value(False).run()
    assert not np.allclose(arr(charts(at)["hidden_heatmap"]["data"][0]["z"]), z1)


def test_korean(monkeypatch):
    at = run_page(monkeypatch, "gru")
    at.session_state["charviz_lang"] = "ko"
    at.run()
    assert not at.exception
    assert any("유닛" in c.value for c in at.caption)
