"""AppTest: the app with runs training in worker processes (CHARVIZ_TRAINING=process), and the training cap."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import charts

from charviz.cap import default_cap
from tests.test_app_train import app, start_pause, step, workspace

DEADLINE_S = 120


def tick_until(at, cond, what: str, timeout: float = DEADLINE_S) -> None:
    """Rerun the app (AppTest never fires run_every) until cond() holds."""
    t0 = time.monotonic()
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if cond():
            return
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def process_mode(monkeypatch):
    monkeypatch.setenv("CHARVIZ_TRAINING", "process")


def sidebar_text(at) -> str:
    return "\n".join([m.value for m in at.sidebar.markdown] + [e.value for e in at.sidebar.error]
                     + [w.value for w in at.sidebar.warning])


def test_start_pause_and_a_crashed_worker_in_process_mode(process_mode):
    from charviz.worker import ProcessRun

    at = app()
    run = workspace(at).run
    assert isinstance(run, ProcessRun)
    start_pause(at).click().run()
    assert run.running and run.worker_pid not in (None, os.getpid())
    tick_until(at, lambda: step(at) >= 5, "5 steps in the sidebar")
    start_pause(at).click().run()  # Pause (the click does not wait for the worker)
    assert run.state == "paused" and "paused" in at.sidebar.markdown[0].value
    tick_until(at, lambda: not run.busy, "the model to come back from the worker")
    n = step(at)
    assert n == run.trainer.steps
    at.run()
    assert step(at) == n  # paused means paused
    # a worker that dies is reported in the sidebar; Resume goes on from the model as last received
    start_pause(at).click().run()
    tick_until(at, lambda: step(at) > n + 3, "training after resume")
    os.kill(run.worker_pid, signal.SIGKILL)
    # (the sidebar drawn by one tick may predate the crash being noticed: wait for what it says)
    tick_until(at, lambda: not run.running and "ended unexpectedly" in sidebar_text(at), "the crash in the sidebar")
    assert step(at) >= n + 3
    kept = step(at)
    start_pause(at).click().run()  # Resume
    tick_until(at, lambda: step(at) > kept + 3, "training after the restart")
    assert "ended unexpectedly" not in sidebar_text(at)
    start_pause(at).click().run()


class _Busy:
    running = True


def test_start_beyond_the_cap_says_so_and_does_not_start(monkeypatch):
    limit = default_cap().training() + 2  # (a run another test left training still counts: the cap is per server)
    monkeypatch.setenv("CHARVIZ_MAX_TRAINING", str(limit))
    others = [_Busy(), _Busy()]  # two runs of other sessions, training
    for o in others:
        default_cap().register(o)
    try:
        at = app()
        start_pause(at).click().run()
        assert not workspace(at).run.running
        text = sidebar_text(at)
        assert f"**{limit} of {limit}** runs are training" in text and "watch a shared run" in text
        others[0].running = False  # one pauses: now there is room
        start_pause(at).click().run()
        assert workspace(at).run.running and "runs are training" not in sidebar_text(at)
        start_pause(at).click().run()
    finally:
        for o in others:
            default_cap().unregister(o)


# ---------------------------------------------------------------------------------------------------------
# sharing and watching


def test_share_panel_gives_a_code_and_stop_sharing_ends_it():
    from charviz.share import default_registry

    at = app()
    at.button(key="sb_share").click().run()
    run = workspace(at).run
    code = default_registry().code_of(run)
    assert code is not None
    assert code in [c.value for c in at.sidebar.code]
    assert f"?watch={code}" in "\n".join(c.value for c in at.sidebar.caption)
    assert "not a password" in "\n".join(c.value for c in at.sidebar.caption)
    at.button(key="sb_unshare").click().run()
    assert default_registry().code_of(run) is None and at.button(key="sb_share")


def test_watching_a_shared_run_from_the_address_is_read_only_and_leaving_gives_the_own_run_back():
    from charviz.share import default_registry
    from tests.test_core_share import small_run

    shared = small_run(7)
    code = default_registry().share(shared, {"label": "the lecturer's text", "sample": "the quick brown"})
    at = AppTest_with_watch(code)
    text = sidebar_text(at)
    assert f"Watching **{code}**" in text and step(at) == 7
    assert start_pause(at).disabled and at.button(key="sb_step").disabled
    assert "only its owner can start, pause, step, reset or change it" in "\n".join(
        c.value for c in at.sidebar.caption)
    own = at.session_state["charviz_workspace"]
    assert own.run is not shared and own.run.trainer.steps == 0 and not own.run.running
    shared.step_once()
    # follows the shared run (its watchers share one snapshot per charviz.share.SHARED_SNAPSHOT_S: the next one)
    tick_until(at, lambda: step(at) == 8, "the watcher's sidebar showing the shared run's new step")
    # the Train page: the owner's charts and sample, no settings
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert any("only its owner" in i.value for i in at.info)
    keys = [w.key for w in at.select_slider] + [w.key for w in at.selectbox] + [w.key for w in at.toggle]
    assert not {"set_lr", "set_hidden", "set_cell", "set_clip_on"} & set(keys)  # no settings for a watcher
    assert any(key == "loss_chart_live" and spec["data"] for key, spec, _ in charts(at))  # (the shared run's)
    # the Predict page: the shared model with the watcher's own prefix
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    assert "Model at step **8**" in "\n".join(c.value for c in at.caption)
    at.text_input(key="predict_prefix").input("the qu").run()
    assert not at.exception
    # the Gradients page
    at.switch_page("pages/gradients.py").run()
    assert not at.exception
    # the owner stops sharing: the watcher is told, with no error
    default_registry().unshare(code)
    at.run()
    assert not at.exception
    assert any("has ended" in i.value and "stopped sharing" in i.value for i in at.sidebar.info)
    at.button(key="sb_leave").click().run()
    assert not at.exception and step(at) == 0 and "Watching" not in sidebar_text(at)
    assert at.button(key="sb_share")  # the own run's sidebar again


def test_watchers_share_one_text_sample_and_its_caption_names_the_step_it_was_sampled_at(monkeypatch):
    """A class's watchers each redraw the sample every few seconds from whichever snapshot is current; they
    share one sample per SHARED_SAMPLE_S (charviz.memo.recent), and the caption names the step of the sample
    shown, not of the snapshot the redraw read."""
    from charviz import memo
    from charviz.share import default_registry
    from charviz.ui import train as train_ui
    from tests.test_core_share import small_run

    def sample_and_caption(at):
        sample = [c.value for c in at.main.code]
        caption = [c.value for c in at.main.caption if "characters sampled" in c.value]
        return sample, caption

    shared = small_run(7)
    code = default_registry().share(shared, {"label": "the lecturer's text", "sample": "the quick brown"})
    made = memo.recent.made
    watchers = [AppTest_with_watch(code) for _ in range(2)]
    for at in watchers:
        at.switch_page("pages/train.py").run()
        assert not at.exception
    (s1, c1), (s2, c2) = (sample_and_caption(at) for at in watchers)
    assert len(s1) == 1 and len(s1[0]) >= train_ui.SAMPLE_CHARS - 10 and s1 == s2  # one sample for both
    assert memo.recent.made == made + 1
    assert c1 == c2 and "at step 7 " in c1[0]
    shared.step_once()
    at = watchers[0]
    at.run()  # within SHARED_SAMPLE_S: the sample of step 7, still said to be of step 7
    assert sample_and_caption(at) == (s1, c1)
    monkeypatch.setattr(train_ui, "SHARED_SAMPLE_S", 0.0)  # (its time is up)
    tick_until(at, lambda: "at step 8 " in sample_and_caption(at)[1][0], "a sample of step 8")
    assert sample_and_caption(at)[0] != s1


def test_a_wrong_code_says_so_and_keeps_the_own_run():
    at = AppTest_with_watch("ZZZZ-ZZZZ")
    assert "Watching" not in sidebar_text(at)
    assert any("Cannot watch ZZZZ-ZZZZ" in w.value for w in at.sidebar.warning)


def AppTest_with_watch(code: str):  # noqa: N802
    from streamlit.testing.v1 import AppTest

    from tests.test_app_train import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["watch"] = code
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_watchers_redraw_slower_beyond_the_servers_full_rate_and_are_told(monkeypatch):
    """More watchers on one server than CHARVIZ_WATCHERS_FULL_RATE: every watcher's live fragments get a longer
    timer (the server's script runs for watchers stay about what that many cost), the sidebar says so, and when
    watchers leave the timers come back (a full rerun re-registers the fragments)."""
    from types import SimpleNamespace

    from charviz.share import default_registry
    from charviz.ui import classroom
    from charviz.ui.sidebar import REFRESH_S, live_every
    from tests.test_core_share import small_run

    monkeypatch.setenv("CHARVIZ_WATCHERS_FULL_RATE", "20")
    monkeypatch.setattr(classroom, "_here", {})
    assert [classroom.slowdown(n) for n in (0, 1, 20, 21, 30, 31, 40, 41, 100)] == [1, 1, 1, 1.5, 1.5, 2, 2, 2.5, 5]
    monkeypatch.setenv("CHARVIZ_WATCHERS_FULL_RATE", "5")
    assert classroom.slowdown(12) == 2.5
    monkeypatch.setenv("CHARVIZ_WATCHERS_FULL_RATE", "20")

    shared = small_run(3)
    code = default_registry().share(shared, {"label": "the lecturer's text", "sample": "the quick brown"})
    shared.start()
    try:
        at = AppTest_with_watch(code)
        watch_ws = at.session_state[classroom.WATCH_KEY]
        own_ws = at.session_state["charviz_workspace"]
        assert classroom.watchers_here() == 1 and live_every(watch_ws) == REFRESH_S
        assert not any("watching on this server" in c.value for c in at.sidebar.caption)
        for i in range(29):  # 29 more watchers redrawing on this server
            classroom._seen_here(f"another-{i}")
        at.run()
        assert not at.exception
        assert live_every(watch_ws) == 1.5 * REFRESH_S and live_every(watch_ws, 3.0) == 4.5
        captions = [c.value for c in at.sidebar.caption if "watching on this server" in c.value]
        assert captions == ["30 watching on this server (more than 20): to keep the run at full speed, the charts "
                            "redraw every 1.5 s instead of every second."]
        assert live_every(own_ws) is None  # (the watcher's own run waits, paused: no timer)
        assert live_every(SimpleNamespace(run=shared)) == REFRESH_S  # the owner's redraws are not slowed
        monkeypatch.setattr(classroom, "_here", {})  # the others left
        at.run()
        assert not at.exception
        assert live_every(watch_ws) == REFRESH_S
        assert not any("watching on this server" in c.value for c in at.sidebar.caption)
    finally:
        shared.stop()
