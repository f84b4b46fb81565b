"""AppTest: the Predict page (prefix box, top-k, per-step heatmaps, unknown characters, sampling)."""

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from charviz.inspect import forward_trace, predict_next

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "predict.py")
DTYPES = {"f4": np.float32, "f8": np.float64, "i1": np.int8, "i2": np.int16, "i4": np.int32, "u1": np.uint8,
          "u2": np.uint16, "u4": np.uint32}


def arr(v):
    """A plotly JSON array (plain list or base64 typed array) -> numpy."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=DTYPES[v["dtype"]])
        if "shape" in v:
            a = a.reshape([int(s) for s in str(v["shape"]).split(",")])
        return a
    return np.asarray(v)


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def run_page(**kw):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def set_view(at, view):
    at.button_group(key="predict_view").set_value(view).run()
    assert not at.exception


def workspace(at):
    return at.session_state["charviz_workspace"]


def test_prefix_shows_topk_and_heatmaps_with_the_models_numbers():
    at = run_page()
    assert at.text_input(key="predict_prefix").value == "hell"  # the default for the hello corpus
    ws = workspace(at)
    for _ in range(30):
        ws.run.step_once()
    at.text_input(key="predict_prefix").set_value("hel").run()
    assert not at.exception
    topk, probs = charts(at)  # the probabilities view is the default
    set_view(at, "logits")
    assert charts(at)[0] == topk
    logits = charts(at)[1]
    snap = ws.run.snapshot()
    want = predict_next(snap.model, snap.vocab, "hel", k=4)
    bar = topk["data"][0]
    assert bar["y"] == [c for c, _ in want]
    np.testing.assert_allclose(arr(bar["x"]), [p for _, p in want], rtol=1e-6)
    assert "hel" in topk["layout"]["title"]["text"]
    tr = forward_trace(snap.model, snap.vocab, "hel")
    np.testing.assert_allclose(arr(probs["data"][0]["z"]), tr.probs, atol=1e-6)
    np.testing.assert_allclose(arr(logits["data"][0]["z"]), tr.logits, atol=1e-5)
    assert logits["data"][0]["zmid"] == 0
    assert probs["data"][0]["y"] == ["0: h", "1: e", "2: l"]
    assert any("step **30**" in c.value for c in at.caption)
    set_view(at, "table")
    assert len(charts(at)) == 1 and len(at.dataframe) == 2  # per-step summary and the matrix
    summary = at.dataframe[0].value
    np.testing.assert_allclose(summary["p(true next)"][:2], tr.target_probs[:2], rtol=1e-6)
    assert list(summary["true next"]) == ["e", "l", ""]


def test_prediction_follows_training():
    at = run_page()
    before = arr(charts(at)[0]["data"][0]["x"])
    for _ in range(20):
        workspace(at).run.step_once()
    at.run()  # what the live fragment's timer does every second
    after = arr(charts(at)[0]["data"][0]["x"])
    assert not np.allclose(before, after)


def test_unknown_characters_are_explained_and_the_rest_still_works():
    at = run_page()
    at.text_input(key="predict_prefix").set_value("heZlQ").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("'Z', 'Q' never appear in the training text") for w in warnings)
    assert any("<mark" in h.proto.body and "Z" in h.proto.body for h in at.get("html"))
    topk, probs = charts(at)
    assert probs["data"][0]["y"] == ["0: h", "1: e", "2: l"]  # the known characters


def test_escapes_and_whitespace():
    at = run_page()
    at.text_input(key="predict_prefix").set_value("hel\\nlo").run()
    assert not at.exception
    assert any("'⏎' never appears" in w.value for w in at.warning)  # the hello text has no newline


def test_empty_prefix_is_the_initial_state_prediction():
    at = run_page()
    at.text_input(key="predict_prefix").set_value("").run()
    assert not at.exception
    cs = charts(at)
    assert len(cs) == 1
    assert "initial hidden state" in cs[0]["layout"]["title"]["text"].replace("<br>", " ")  # (in lines)
    assert any("empty prefix" in i.value for i in at.info)
    snap = workspace(at).run.snapshot()
    want = predict_next(snap.model, snap.vocab, "", k=4)
    np.testing.assert_allclose(arr(cs[0]["data"][0]["x"]), [p for _, p in want], rtol=1e-6)


def test_long_prefix_is_capped_and_says_so():
    at = run_page()
    at.text_input(key="predict_prefix").set_value("hello" * 100).run()
    assert not at.exception
    assert any("last **20** of 500 time steps" in c.value for c in at.caption)
    probs = charts(at)[1]
    assert arr(probs["data"][0]["z"]).shape == (20, 4)
    assert probs["data"][0]["y"][0] == "480: h"
    at.select_slider(key="predict_steps").set_value(80).run()
    assert arr(charts(at)[1]["data"][0]["z"]).shape == (80, 4)


def test_sampling_is_repeatable_with_a_seed():
    at = run_page()
    at.button(key="predict_sample_go").click().run()
    assert not at.exception
    first = [h.proto.body for h in at.get("html")]
    assert any("title=" in b for b in first)
    at.button(key="predict_sample_go").click().run()
    assert [h.proto.body for h in at.get("html")] == first
    at.number_input(key="predict_sample_seed").set_value(7).run()
    at.button(key="predict_sample_go").click().run()
    assert [h.proto.body for h in at.get("html")] != first
    at.slider(key="predict_sample_temperature").set_value(0.0).run()
    at.button(key="predict_sample_go").click().run()
    assert any("argmax" in c.value for c in at.caption)


def test_through_the_app_entry_point():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    assert len(charts(at)) >= 2


def numpy_bits(model, vocab, text):
    """-log2 p(text[t+1] | text[:t+1]) for a vanilla RNN, computed in float64 numpy from the weights alone
    (an independent reference for the page's loss panel: no charviz.inspect, no torch arithmetic)."""
    w = {n: p.detach().double().numpy() for n, p in model.named_parameters()}
    h = np.zeros(w["rnn.weight_hh_l0"].shape[0])
    out = []
    for c, nxt in zip(text[:-1], text[1:], strict=True):
        x = np.zeros(len(vocab.itos))
        x[vocab.itos.index(c)] = 1.0
        h = np.tanh(w["rnn.weight_ih_l0"] @ x + w["rnn.bias_ih_l0"] + w["rnn.weight_hh_l0"] @ h + w["rnn.bias_hh_l0"])
        y = w["head.weight"] @ h + w["head.bias"]
        logp = y - y.max() - np.log(np.exp(y - y.max()).sum())
        out.append(-logp[vocab.itos.index(nxt)] / np.log(2.0))
    return np.array(out)


def test_loss_panel_and_table_are_bits_of_the_true_next_character():
    # issue 12 "Units": the Train page and the sidebar speak bits/char, so Predict's per-step loss must be
    # -log2 p(true next) in bits too, and say so (it was -ln p in nats, 0.69x the bits)
    at = run_page()
    ws = workspace(at)
    for _ in range(5):  # a little trained: the losses differ from step to step
        ws.run.step_once()
    at.text_input(key="predict_prefix").set_value("hello").run()
    assert not at.exception
    snap = ws.run.snapshot()
    assert snap.config.cell == "rnn"
    want = numpy_bits(snap.model, snap.vocab, "hello")  # 4 steps with a known next character
    probs = charts(at)[1]
    panel = next(d for d in probs["data"] if d["type"] == "bar")
    got = arr(panel["x"]).astype(np.float64)
    np.testing.assert_allclose(got[:4], want, rtol=1e-5)
    assert np.isnan(got[4])  # the last step has no known next character
    axis = probs["layout"]["xaxis2"]["title"]["text"]
    assert "log₂" in axis and "bits" in axis and "ln p" not in axis.replace("log₂", "")
    assert "bits" in panel["hovertemplate"] and "nats" not in panel["hovertemplate"]
    set_view(at, "table")
    summary = at.dataframe[0].value
    assert "loss −log₂ p (bits)" in summary.columns
    np.testing.assert_allclose(summary["loss −log₂ p (bits)"][:4], want, rtol=1e-5)
    words = " ".join(m.value for m in at.markdown)
    assert "−log₂ p" in words and "−ln p" not in words and "nats" not in words
