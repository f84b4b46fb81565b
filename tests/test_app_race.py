"""AppTest: the Race page (settings, Start/Pause, fair stepping, one thing trains at a time) and the sweep."""

from __future__ import annotations

import threading

from conftest import charts, send_widget_state

from charviz.race import CELLS
from tests.test_app_train import app, start_pause, texts, workspace

SMALL = {"race_k": 3, "race_window": 8}


def _holder(at):
    return at.session_state["charviz_race"]


def _charts(at) -> dict:
    """The page's charts by title (a long title is drawn in lines: read with spaces)."""
    return {spec["layout"]["title"]["text"].replace("<br>", " "): spec for _, spec, _ in charts(at)}


def race_button(at):
    """The race's Start/Resume or Pause button (one key per action, charviz/ui/race.py)."""
    found = [b for b in at.button if b.key in ("race_start", "race_pause")]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


def _small(at):
    for key, v in SMALL.items():
        at.number_input(key=key).set_value(v).run()
    at.select_slider(key="race_hidden").set_value(16).run()
    assert not at.exception


def test_race_page_steps_fairly_and_draws_three_curves():
    at = app("pages/race.py")
    _small(at)
    assert "differ from the race" in texts(at)
    at.button(key="race_reset").click().run()  # a new race with the small settings
    race = _holder(at).race
    assert race.settings.k == 3 and race.settings.seq_len == 8 and race.settings.hidden_size == 16
    for _ in range(3):
        at.button(key="race_step").click().run()
    assert not at.exception
    assert race.step_counts == {c: 3 for c in CELLS}
    assert "step **3** for each model" in texts(at)
    charts = _charts(at)
    loss = charts["training loss"]
    names = [d["name"] for d in loss["data"] if d.get("showlegend", True) is not False]
    assert names == ["RNN", "LSTM", "GRU"]
    assert "uniform guess" in loss["layout"]["annotations"][0]["text"].replace("<br>", " ")  # (in the margin)
    assert [d["name"] for d in charts["key recalled at the recall step"]["data"]] == ["RNN", "LSTM", "GRU"]
    grad = charts["‖∂L_T/∂h_t‖ for the probe line"]
    assert grad["layout"]["yaxis"]["type"] == "log" and len(grad["data"]) == 3
    assert "chance: 25%" in texts(at) or "(chance: 25%)" in texts(at)


def test_start_pauses_the_main_run_and_the_sidebar_pauses_the_race():
    at = app("pages/race.py")
    _small(at)
    at.button(key="race_reset").click().run()
    ws = workspace(at)
    ws.run.start()
    race = _holder(at).race
    race_button(at).click().run()
    assert not at.exception
    assert race.running and not ws.run.running
    ev = threading.Event()
    for _ in range(4000):  # bounded by checks, not by a fixed sleep
        if race.steps >= 2:
            break
        ev.wait(0.01)
    assert race.steps >= 2
    at.run()
    assert race_button(at).label == "Pause"
    start_pause(at).click().run()  # the main run's Start in the sidebar
    assert ws.run.running and not race.running
    race.pause()  # (the click does not wait for the round in progress; this does)
    counts = race.step_counts
    assert len(set(counts.values())) == 1 and counts["rnn"] == race.steps
    ws.run.pause()


def test_a_race_click_delivered_twice_does_what_the_clicked_button_said():
    """Streamlit 1.67 can deliver a click again within the same interaction (charviz/ui/sidebar.py): a Start
    delivered twice keeps the race training, a Pause delivered twice keeps it paused."""
    at = app("pages/race.py")
    _small(at)
    at.button(key="race_reset").click().run()
    race = _holder(at).race
    start = race_button(at)
    start.click().run()
    assert race.running
    ev = threading.Event()
    for _ in range(4000):  # the button says Resume once a step is done ("Start the race" before: CI paused at 0)
        if race.steps >= 1:
            break
        ev.wait(0.01)
    assert race.steps >= 1
    send_widget_state(at, start.id, trigger_value=True)
    assert not at.exception
    assert race.running, "a Start delivered twice paused the race"
    pause = race_button(at)
    assert pause.label == "Pause"
    pause.click().run()
    assert not race.running
    send_widget_state(at, pause.id, trigger_value=True)
    assert not race.running, "a Pause delivered twice started the race again"
    assert race_button(at).label == "Resume"
    race.pause()


def test_short_window_warns_and_sweep_mode_draws_recall_against_k():
    at = app("pages/race.py")
    at.number_input(key="race_window").set_value(10).run()
    at.number_input(key="race_k").set_value(20).run()
    assert "not longer than the dependency" in texts(at)
    at.segmented_control(key="race_mode").set_value("sweep").run()
    assert not at.exception
    at.multiselect(key="race_sweep_ks").set_value([2, 5]).run()
    at.number_input(key="race_window").set_value(8).run()
    at.select_slider(key="race_hidden").set_value(16).run()
    at.number_input(key="race_budget").set_value(10).run()
    at.button(key="sweep_start").click().run()
    sweep = _holder(at).sweep
    ev = threading.Event()
    for _ in range(20000):
        if sweep.state != "running":
            break
        ev.wait(0.01)
    at.run()
    assert sorted(sweep.done) == [2, 5]
    spec = _charts(at)["recall after 10 steps against the distance k"]
    assert [d["name"] for d in spec["data"]] == ["RNN", "LSTM", "GRU"]
    assert "Sweep finished" in texts(at)


def test_race_page_in_korean():
    from streamlit.testing.v1 import AppTest

    from tests.test_app_train import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "ko"
    at.run()
    at.switch_page("pages/race.py").run()
    assert not at.exception
    assert "경주" in at.title[0].value
