"""AppTest: the n-gram line on the Train page's loss chart, and "the model at step N" (rewind) slider."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import charts, click_live_chart, sidebar_step

from tests.test_app_hello import step_button
from tests.test_app_train import app, texts, workspace


def _spec(at, title: str) -> dict:
    return next(spec for _, spec, _ in charts(at) if spec["layout"]["title"]["text"] == title)


def test_train_page_draws_the_ngram_baseline_and_the_kept_snapshots():
    from charviz.ui.baseline import ngram_for

    at = app("pages/train.py")
    for _ in range(4):
        sidebar_step(at).click().run()
    ws = workspace(at)
    fitted = ngram_for(ws.run.trainer, wait_s=60)  # the same cached fit the page draws
    at.run()
    spec = _spec(at, "loss")
    lines = [s["y0"] for s in spec["layout"]["shapes"]]
    assert lines[0] == pytest.approx(2.0)  # uniform guess log2(4) on hello
    assert lines[1] == pytest.approx(fitted.bits)
    labels = " ".join(a["text"] for a in spec["layout"]["annotations"]).replace("<br>", " ")  # (broken in lines)
    assert f"{fitted.n}-gram baseline" in labels
    assert f"{fitted.n}-gram" in texts(at)
    marks = next(d for d in spec["data"] if d["name"] == "kept snapshots")
    assert marks["customdata"] == [0, 1, 2, 3, 4] == ws.run.snapshots.steps


def _top_probs(at) -> list:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith("predict_topk")
                or "predict_topk" in c.proto.id)
    x = spec["data"][0]["x"]
    return x if isinstance(x, list) else x["bdata"]


def test_predict_slider_shows_an_earlier_step():
    at = app("pages/predict.py")
    for _ in range(30):
        sidebar_step(at).click().run()
    ws = workspace(at)
    at.run()
    slider = at.select_slider(key="rewind_slider_predict")
    assert slider.value == "now"
    assert 0 in slider.options or "step 0" in slider.options
    now_probs = _top_probs(at)
    assert "Model at step **30**" in texts(at)
    slider.set_value(0).run()
    assert not at.exception
    assert "step 0" in texts(at) and "not as it is now (step 30)" in texts(at)
    early_probs = _top_probs(at)
    assert early_probs != now_probs
    # the step-0 snapshot's prediction equals a fresh model with the same seed
    from charviz.inspect import forward_trace
    from charviz.train import Trainer

    fresh = Trainer(ws.text, ws.config)
    expect = forward_trace(fresh.model, fresh.vocab, "hell").next_probs
    view = ws.run.snapshots.get(0)
    assert all(np.array_equal(view.state[k].numpy(), v.detach().numpy())
               for k, v in fresh.model.state_dict().items())
    assert sorted(expect)[-1] == pytest.approx(max(_decoded(early_probs)), abs=1e-6)
    # back to now
    at.select_slider(key="rewind_slider_predict").set_value("now").run()
    assert "Model at step **30**" in texts(at)


def _decoded(x) -> list[float]:
    if isinstance(x, list):
        return [float(v) for v in x]
    import base64

    return np.frombuffer(base64.b64decode(x), dtype=np.float32).tolist()


def test_gradients_and_hello_have_the_slider():
    at = app("pages/gradients.py")
    for _ in range(3):
        sidebar_step(at).click().run()
    at.run()
    at.select_slider(key="rewind_slider_gradients").set_value(1).run()
    assert not at.exception
    assert "step 1" in texts(at) and "step 1 ·" in texts(at)
    at = app("pages/hello.py")
    step_button(at).click().run()
    step_button(at).click().run()
    at.run()
    at.select_slider(key="rewind_slider_hello").set_value(0).run()
    assert not at.exception
    assert "step 0" in texts(at)
    assert next(m.value for m in at.metric if m.label == "training steps") == "0"


def _heatmap_z(at) -> np.ndarray:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "hidden_heatmap" in c.proto.id)
    z = spec["data"][0]["z"]
    if isinstance(z, dict):  # plotly's base64 typed array
        import base64

        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    return np.asarray(z, dtype=np.float64).ravel()


def test_hidden_page_slider_draws_the_kept_model():
    at = app("pages/hidden.py")
    for _ in range(6):
        sidebar_step(at).click().run()
    at.run()
    now = _heatmap_z(at)
    at.select_slider(key="rewind_slider_hidden").set_value(0).run()
    assert not at.exception
    assert "step 0" in texts(at)  # the banner says which step is drawn
    early = _heatmap_z(at)
    assert early.shape == now.shape and not np.allclose(early, now)
    at.select_slider(key="rewind_slider_hidden").set_value("now").run()
    assert np.allclose(_heatmap_z(at), now)


def _loss_chart_id(at) -> str:
    return next(eid for _, spec, eid in charts(at) if spec["layout"]["title"]["text"] == "loss")


def test_a_diamond_click_chooses_its_step_once_on_the_chart_redrawn_in_place():
    """The loss chart is a live chart (charviz.ui.live_chart): while the run trains it keeps its element and is
    redrawn in place. A click on a diamond chooses its step (also when the chart has been redrawn since), once:
    the same click sent again by the browser does not choose it again after "now"."""
    from charviz.ui.rewind import CHOSEN_KEY

    def chosen_step(run):
        return at.session_state[CHOSEN_KEY].get(run.snapshots.uid) if CHOSEN_KEY in at.session_state else None

    at = app("pages/train.py")
    for _ in range(5):
        sidebar_step(at).click().run()
    seen = _loss_chart_id(at)  # the drawing on the user's screen
    before = _spec(at, "loss")["data"][0]
    sidebar_step(at).click().run()  # the run moves on: the server redraws the chart, in the same element
    assert _loss_chart_id(at) == seen and _spec(at, "loss")["data"][0] != before
    run = workspace(at).run
    assert 2 in run.snapshots.steps and chosen_step(run) is None
    click_live_chart(at, seen, 2, click="a-1")
    assert not at.exception
    assert chosen_step(run) == 2
    assert "show the model at **step 2**" in texts(at)
    at.button(key="rewind_now_train").click().run()
    assert chosen_step(run) is None
    click_live_chart(at, seen, 2, click="a-1")  # the same click, sent again: not a new one
    assert chosen_step(run) is None
    click_live_chart(at, seen, 3, click="a-2")  # the next click
    assert chosen_step(run) == 3
    click_live_chart(at, seen, 2, click="b-1")  # a click from the frame mounted anew (another page and back)
    assert chosen_step(run) == 2


def test_a_chosen_step_thinned_away_by_training_is_still_the_one_drawn():
    """While the run trains the store thins its snapshots: the diamond next to the latest goes within a few
    steps (charviz.snapshots). A step chosen then is pinned for the session: Predict draws the model as it was
    at that step (its banner, its slider, its numbers), not the nearest snapshot left (the diamond-while-training
    browser test saw Predict never say "as it was at step N")."""
    from charviz.inspect import forward_trace
    from charviz.model import CharRNN

    at = app("pages/train.py")
    run = workspace(at).run
    run.snapshots.budget = 5  # a small store: thinning starts at once
    for _ in range(6):
        sidebar_step(at).click().run()
    chosen = run.snapshots.steps[-2]  # (thinned away within a few steps)
    weights = run.snapshots.get(chosen).state
    click_live_chart(at, _loss_chart_id(at), chosen)
    assert f"show the model at **step {chosen}**" in texts(at)
    while chosen in run.snapshots.steps:  # training goes on until the store lets the chosen step go
        sidebar_step(at).click().run()
        assert run.trainer.steps < 100
    now = run.trainer.steps
    at.switch_page("pages/predict.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"as it was at **step {chosen}**" in texts(at) and f"(step {now})" in texts(at)
    assert at.select_slider(key="rewind_slider_predict").value == chosen
    model = CharRNN(run.trainer.model.vocab_size, run.trainer.model.hidden_size, run.trainer.model.cell)
    model.load_state_dict(weights)
    expect = forward_trace(model, run.trainer.vocab, "hell").next_probs
    assert max(_decoded(_top_probs(at))) == pytest.approx(float(max(expect)), abs=1e-6)
