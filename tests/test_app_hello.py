"""AppTest: the hello page. Untrained the predictions are wrong; Train makes them e, l, l, o."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import send_widget_state
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "hello.py")


def predicted(at):
    """The predicted characters printed under each time step of the hello figure."""
    fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    notes = [a["text"] for a in fig["layout"]["annotations"] if a.get("xref") == "x4"]  # one under each step
    return "".join(n.split("<b>")[1][0] for n in notes)


def toggle(at):
    """The Start or Pause button (one key per action, charviz/ui/hello.py)."""
    found = [b for b in at.button if b.key in ("hello_start", "hello_pause")]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


def step_button(at):
    """The Step button (keyed by the step it was drawn at, charviz/ui/hello.py)."""
    found = [b for b in at.button if (b.key or "").startswith("hello_step_")]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_start_trains_at_a_fixed_pace_and_pause_stops():
    from charviz.ui.hello import HELLO_STEPS_PER_TICK, HELLO_TICK_S

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert metrics(at)["training steps"] == "0"
    assert predicted(at) == "hhhh"  # untrained: all four wrong
    assert metrics(at)["predictions right"] == "0 of 4"
    toggle(at).click().run()  # Start: the panel becomes a fragment redrawn every tick
    assert not at.exception
    assert toggle(at).label == "Pause"
    assert step_button(at).disabled
    assert metrics(at)["training steps"] == str(HELLO_STEPS_PER_TICK)
    for tick in range(2, 5):  # (AppTest has no timer: each run is one tick)
        at.run()
        assert metrics(at)["training steps"] == str(tick * HELLO_STEPS_PER_TICK)
    assert metrics(at)["predictions right"] != "4 of 4"  # 8 updates: too early
    toggle(at).click().run()  # Pause
    assert toggle(at).label == "Start"
    at.run()
    assert metrics(at)["training steps"] == str(4 * HELLO_STEPS_PER_TICK)  # no more ticks
    # the pace and the defaults: the class watches for tens of seconds (charviz.hello.learned_at: 120 updates)
    tr = at.session_state["hello_trainer"]
    from charviz.hello import learned_at

    n = learned_at(tr, 300)
    assert 10 <= n * HELLO_TICK_S / HELLO_STEPS_PER_TICK <= 60
    assert tr.config.lr == 0.003


def test_start_runs_until_the_predictions_are_e_l_l_o():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    toggle(at).click().run()
    for _ in range(150):  # bounded by ticks: 300 updates
        if metrics(at)["predictions right"] == "4 of 4":
            break
        at.run()
    assert not at.exception
    assert predicted(at) == "ello"
    steps = int(metrics(at)["training steps"].replace(",", ""))
    assert 60 < steps <= 300
    fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert sum(d["type"] == "heatmap" for d in fig["data"]) == 4
    assert fig["layout"]["yaxis"]["ticktext"] == ["h", "e", "l", "o"]


def test_step_reset_and_hidden_size():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    step_button(at).click().run()
    assert metrics(at)["training steps"] == "1"
    at.button(key="hello_reset").click().run()
    assert metrics(at)["training steps"] == "0"
    at.select_slider(key="hello_hidden").set_value(7).run()
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert fig["layout"]["yaxis2"]["ticktext"] == [f"h[{i}]" for i in range(7)]


def test_mean_loss_is_in_bits():
    # issue 12 "Units": the Hello page's mean loss is -log2 p(target) in bits, like the rest of the app
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    step_button(at).click().run()
    assert not at.exception
    tr = at.session_state["hello_trainer"]
    fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    softmax = next(d for d in fig["data"] if d.get("yaxis") == "y4")  # block 4: p_t, rows h, e, l, o
    z = softmax["z"]
    p = (np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.float32).reshape(4, 4)
         if isinstance(z, dict) else np.asarray(z))  # (rows h, e, l, o) x (steps)
    rows = {c: i for i, c in enumerate("helo")}
    want = float(np.mean([-np.log2(p[rows[c], i]) for i, c in enumerate("ello")]))
    m = next(m for m in at.metric if m.label == "mean loss −log₂ p(target)")
    assert m.value.endswith(" bits") and "nats" not in m.value
    assert float(m.value.split()[0]) == pytest.approx(want, abs=1.5e-3)
    assert tr.steps == 1


def test_a_click_delivered_twice_does_what_the_clicked_button_said():
    """Streamlit 1.67 can deliver a click again within the same interaction (charviz/ui/sidebar.py): a Start
    delivered twice keeps training, a Pause delivered twice stays paused, a Step delivered twice is one update.
    (With one key for Start and Pause, a body that read the button toggled back.)"""
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    start = toggle(at)
    start.click().run()
    send_widget_state(at, start.id, trigger_value=True)
    assert not at.exception
    assert at.session_state["hello_playing"] and toggle(at).label == "Pause", "a Start delivered twice paused"
    pause = toggle(at)
    pause.click().run()
    assert not at.session_state["hello_playing"]
    n = at.session_state["hello_trainer"].steps
    send_widget_state(at, pause.id, trigger_value=True)
    assert not at.session_state["hello_playing"] and toggle(at).label == "Start", "a Pause delivered twice started"
    assert at.session_state["hello_trainer"].steps == n
    step = step_button(at)
    step.click().run()
    send_widget_state(at, step.id, trigger_value=True)
    assert at.session_state["hello_trainer"].steps == n + 1, "one Step click, one update"
    assert metrics(at)["training steps"] == str(n + 1)
