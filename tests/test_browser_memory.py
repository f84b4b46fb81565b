"""Browser (issue 13): tabs that trained and were closed leave no model behind in the server.

A server with the debug hook (charviz.ui.memdebug) and a short reconnect TTL; three tabs open the app with
?autostart=1, train, and close. Once Streamlit holds none of their sessions (the reaper shut them down), no
Workspace, run (thread or worker process), Trainer or CharRNN may be alive in the server process, no training
thread may run, and no worker process may be left but the pool's one spare.
Before the fix, Streamlit's event loop kept the last session it had flushed (a loop variable), and with it
that session's Workspace: its model, optimizer, history and rewind snapshots.
"""

from __future__ import annotations

import time

import pytest
from conftest import ARTIFACTS, running_server
from test_browser_train import wait_step_above

from charviz.ui.memdebug import ask, wait_gone

pytestmark = pytest.mark.browser

TABS = 3
APP = ("Workspace", "TrainingRun", "ProcessRun", "Trainer", "CharRNN")


def test_closed_tabs_leave_no_model_behind(browser, monkeypatch):
    folder = ARTIFACTS / "memdebug-test"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    # the server's environment only: with CHARVIZ_MEMDEBUG in this process's own environment, an app script run
    # here (the AppTests') starts a second debug hook on the same folder, which answered a request first with
    # this process's runs (none) in a CI run
    env = {"CHARVIZ_MEMDEBUG": str(folder), "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2",
           "CHARVIZ_MAX_TRAINING": str(TABS), "CHARVIZ_SPARE_WORKERS": "1"}
    with running_server("memory-server.log", env) as url:
        contexts = []
        for _ in range(TABS):
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            page = ctx.new_page()
            page.goto(f"{url}/?autostart=1", timeout=60_000)
            contexts.append((ctx, page))
        for _ctx, page in contexts:
            page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stMetric']", timeout=180_000)
            wait_step_above(page, 3, timeout_ms=180_000)
        during = ask(folder, "open")
        live = during["app_objects"]
        assert live["TrainingRun"] + live["ProcessRun"] >= TABS  # the hook sees the runs while the tabs train
        for ctx, _page in contexts:
            ctx.close()
        rep = wait_gone(folder, "closed", timeout=180)
        assert not rep.get("timed_out"), rep["streamlit"]
        left = {k: rep["app_objects"][k] for k in APP if rep["app_objects"][k]}
        assert left == {}, f"closed sessions left {left} behind, held by {rep.get('leftover_objects')}"
        assert "charviz-train" not in dict(rep["threads"]), rep["threads"]
        deadline = time.monotonic() + 60  # a stopped worker process may take a moment to exit
        while len(workers(rep)) > 1 and time.monotonic() < deadline:
            rep = ask(folder, "children")
        assert len(workers(rep)) <= 1, rep["child_processes"]  # worker processes end; the pool keeps one spare


def workers(rep: dict) -> list[str]:
    """The server's worker processes (multiprocessing's resource tracker is not one)."""
    return [c for c in rep["child_processes"] if "resource_tracker" not in c]
