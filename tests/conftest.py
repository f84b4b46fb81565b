"""Fixtures for the app tests (AppTest) and the browser tests (a real `streamlit run` + Chromium).

- autouse: every test starts with empty `st.cache_resource` caches (AppTest runs all share one session id,
  so a session-scoped resource would leak from one test into the next) and no charviz training run left
  running when it ends (charviz.lifecycle.stop_runs: threads and worker processes).
- AppTest + st.navigation + a `pages/` folder (streamlit 1.67): AppTest resets
  `PagesManager.uses_pages_directory` before every run, so from the second run on it treats the app as an
  old-style `pages/` app and runs the page file alone, without the entry script (no sidebar, no
  navigation). The real server never does this (st.navigation clears the flag once and it stays cleared).
  `_apptest_navigation_fix` keeps the flag off, as in the real server.
- `app_server` (session scope): `streamlit run app.py` on a free loopback port, ready once
  /_stcore/health answers. `browser` / `page`: Debian's Chromium through Playwright (never downloads a
  browser). Without Chromium the browser tests skip, unless CHARVIZ_REQUIRE_BROWSER=1 (CI), then they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHARVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ---------------------------------------------------------------------------------------------------------
# AppTest


@pytest.fixture(autouse=True)
def _fresh_streamlit_state():
    """Empty Streamlit resource caches before and after each test; stop leftover training runs after."""
    import streamlit as st

    from charviz import lifecycle

    st.cache_resource.clear()
    yield
    st.cache_resource.clear()  # fires on_release: each session's run stops its thread
    lifecycle.stop_runs()  # and any run a test left training (thread, race or worker process)


@pytest.fixture(autouse=True)
def _thread_training_in_apptests(monkeypatch):
    """The AppTests train in a thread (they reach into the thread run: its lock, its live model), unless a test
    sets CHARVIZ_TRAINING=process itself. Servers started for the browser tests keep the app's default."""
    from charviz import serving

    monkeypatch.setattr(serving, "DEFAULT_TRAINING", "thread")


@pytest.fixture(scope="session", autouse=True)
def _ui_modules_loaded():
    """app.py draws a placeholder sidebar until its background loading of the torch-heavy UI modules is done
    (charviz.ui.boot); the AppTests expect the real app, so let that loading finish first."""
    from charviz.ui import boot

    assert boot.start_loading(wait_s=120), "the UI modules did not load"


@pytest.fixture(autouse=True)
def _apptest_navigation_fix(monkeypatch):
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False  # our entry script declares st.navigation

    monkeypatch.setattr(PagesManager, "__init__", init)


def send_widget_state(at, widget_id: str, **value):
    """Run the app as the browser does when it sends `value` for the element `widget_id` (with the page's other
    widget states): a click on a chart the server has redrawn since (a stale element id), or a click delivered
    again (`trigger_value=True` for a button's id): Streamlit 1.67 can deliver a click twice in one interaction,
    and then calls what the newest drawing registered for that id, or a body that reads the button sees it
    clicked again."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=widget_id, **value))
    return at._run(states)


def charts(at) -> list[tuple[str, dict, str]]:
    """Every chart of an AppTest run as (key, plotly figure dict, element id): st.plotly_chart's and the live
    charts' (charviz.ui.live_chart: a component whose args carry the figure's JSON)."""
    import json

    out = [(c.key or "", json.loads(c.proto.spec), c.proto.id) for c in at.get("plotly_chart")]
    for c in at.get("component_instance"):
        if c.proto.component_name.endswith("live_chart.live_chart"):
            out.append((c.proto.id.split("-", 2)[2], json.loads(json.loads(c.proto.json_args)["spec"]), c.proto.id))
    return out


def click_live_chart(at, element_id: str, step: int, click: str = "1"):
    """Run the app as the browser does after a click on a live chart's point whose customdata is `step` (the
    frame sends {"step", "click"}; `click` names the click: the same one sent again is not a new click)."""
    import json

    return send_widget_state(at, element_id, json_value=json.dumps({"step": step, "click": click}))


def start_pause(at):
    """The sidebar's Start/Resume or Pause button in an AppTest (one key per action, see charviz/ui/sidebar.py;
    a watcher's disabled one is "sb_start_pause")."""
    found = [b for b in at.button if b.key in ("sb_start", "sb_pause", "sb_start_pause")]
    assert len(found) == 1, [b.key for b in found]
    return found[0]


def sidebar_step(at):
    """The sidebar's Step button in an AppTest: keyed by the Step clicks made so far ("sb_step_3", see
    charviz/ui/sidebar.py); a watcher's or the loading sidebar's is "sb_step"."""
    found = [b for b in at.button if b.key == "sb_step" or (b.key or "").startswith("sb_step_")]
    assert len(found) == 1, [b.key for b in found]
    return found[0]


# ---------------------------------------------------------------------------------------------------------
# real server + real browser


# The live charts (charviz.ui.live_chart) are all drawn: each one's frame has put its chart into the page and
# plotly has drawn a figure there (a JS expression, true or false)
LIVE_DRAWN = """(() => {
    const frames = [...document.querySelectorAll('iframe')].filter(f => f.src.includes('live_chart'));
    const drawn = [...document.querySelectorAll('.charviz-live-chart > div')]
      .filter(gd => Number(gd.dataset.drawn || 0) > 0);
    return drawn.length >= frames.length; })()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> float:
    """Poll /_stcore/health until it answers 'ok'. Returns the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy within {timeout:.0f} s")


def start_server(port: int, log_path: Path, env: dict | None = None) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env=None if env is None else {**os.environ, **env})


@contextlib.contextmanager
def running_server(log_name: str, env: dict | None = None):
    """`streamlit run app.py` on a free loopback port (with `env` added to the environment), its output in
    test-artifacts/<log_name>; yields its URL once healthy, and stops it afterwards."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    proc = start_server(port, ARTIFACTS / log_name, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60, proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_server():
    """URL of a `streamlit run app.py` started for this test session (stopped at the end)."""
    with running_server("streamlit-server.log") as url:
        yield url


def shot(page, name: str) -> None:
    """A screenshot of the page in test-artifacts/browser-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"))


def no_exception(page) -> None:
    """Fail (with a screenshot and the traceback's start) when a Streamlit exception is on screen."""
    n = page.locator("[data-testid='stException']").count()
    if n:
        shot(page, "exception")
        text = page.locator("[data-testid='stException']").first.inner_text()
        raise AssertionError(f"{n} exception(s) on screen: {text[:500]}")


def _chromium_missing_reason() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHARVIZ_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _chromium_missing_reason()
    if reason:
        if os.environ.get("CHARVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CHARVIZ_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so that the `page` fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser, request):
    """A new browser context and page. When the test fails, the page as it was goes to
    test-artifacts/failed-<test>.png (and its text to .txt), to see what the browser showed."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = ctx.new_page()
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = "failed-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.txt").write_text(pg.locator("body").inner_text(timeout=5_000))
        except Exception as exc:  # the page may be gone; the test's own error is what matters
            (ARTIFACTS / f"{name}.txt").write_text(f"no screenshot: {exc}")
    ctx.close()
