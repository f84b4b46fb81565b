"""The app's first page while torch loads.

Importing torch takes about 2 s, and a new server process does it in its first script run, so the first page
used to wait for it. app.py imports only this torch-free module, starts the torch-heavy UI modules loading in
a background thread (`start_loading`), and until they are loaded draws the sidebar from the defaults every
new session starts with, which are the true state of a new session: an untrained model at step 0. Start and
Step work at once: their callback waits for the loading (usually finished by then) and acts on the real run.
When the loading is done, the sidebar reruns the app, which draws the real status.
"""

from __future__ import annotations

import importlib
import threading
import time
from pathlib import Path

import streamlit as st

from charviz.config import DEFAULT_CORPUS, TrainConfig
from charviz.i18n import t
from charviz.ui.status import draw_head, draw_metrics

ENTRY_SCRIPT = "app.py"  # the file `streamlit run` is given
LOADING_POLL_S = 0.25  # the placeholder sidebar checks this often whether the loading is done

_loaded = threading.Event()
_start_lock = threading.Lock()
_loader: threading.Thread | None = None


# every module the pages import, loaded here one after another. When a class opens the address at once,
# several sessions' first script runs would otherwise import them concurrently, and Python can hand one of
# them a partially initialised module ("partially initialized module 'pandas' has no attribute 'Series'").
UI_MODULES = ("charviz.ui.sidebar", "pandas", "plotly.graph_objects", "plotly.tools", "charviz.figures",
              "charviz.inspect", "charviz.ui.settings", "charviz.ui.checkpoints")
UI_DIR = Path(__file__).resolve().parent


def _load() -> None:
    try:
        # charviz.ui.sidebar brings the session, the trainer and torch; then every page's charviz.ui module
        pages = [f"charviz.ui.{p.stem}" for p in sorted(UI_DIR.glob("*.py")) if not p.stem.startswith("_")]
        for name in (*UI_MODULES, *pages):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (the page that imports it shows the error in its own run)
                continue
        import plotly.graph_objects as go
        import plotly.tools

        fig = go.Figure([{"type": "scatter", "x": [1], "y": [1]}], {"title": "x"})
        plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)  # st.plotly_chart's path
    finally:
        _loaded.set()
    from charviz.train import warm_up

    warm_up()  # torch's first-optimizer imports, so that the first Start does not wait for them


def start_loading(wait_s: float = 0.1) -> bool:
    """Start loading the torch-heavy modules (once per process) and wait at most `wait_s` for them.
    True when they are loaded (always, after the first seconds of a server's life)."""
    global _loader
    if not _loaded.is_set():
        with _start_lock:
            if _loader is None:
                _loader = threading.Thread(target=_load, name="charviz-load", daemon=True)
                _loader.start()
    return _loaded.wait(wait_s)


def wait_loaded(timeout: float = 120.0) -> bool:
    """Wait for the loading (a page that needs torch waits here rather than import it in its own run)."""
    return start_loading(wait_s=timeout)


def loaded() -> bool:
    return _loaded.is_set()


_this_run = threading.local()  # per script thread: the run that went through app.py (see below)


def leave_pages_folder_mode(entry: bool = False) -> None:
    """Make sure this script run went through app.py's st.navigation; if not, rerun so that it does.

    Streamlit (1.67) guesses an app's kind at the server's first script run: an app with a `pages/` folder is
    taken for an old-style multipage app until some run calls st.navigation. If that first run asks for a
    page URL (a reloaded tab after a server restart: /train), Streamlit runs the page file alone, without
    app.py (no sidebar, wrong menu) and keeps doing so. Clearing the flag and rerunning runs app.py again.

    The flag is one per process, so when a class opens the address at once, several sessions' first runs
    start in that mode and only the first to get here sees the flag still set. A page therefore also checks
    that its own run went through app.py (app.py calls this with entry=True, marking its run) and reruns
    when it did not.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if entry and ctx is not None:
        _this_run.cursors = ctx.cursors  # a new dict for every script run: identifies this run
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    # this page runs alone: its run started in pages/ mode before another session cleared the flag (a test
    # may run a page file as its main script: then there is no app.py to go through)
    came_alone = ctx is not None and getattr(_this_run, "cursors", None) is not ctx.cursors
    if not entry and came_alone and Path(ctx.main_script_path).name == ENTRY_SCRIPT:
        st.rerun()


def _act(action: str, token: str) -> None:
    """Start or Step pressed before the loading finished: wait for it, then do it on the real run."""
    from charviz.ui.session import get_workspace  # waits for the loader's import to finish
    from charviz.ui.sidebar import start_or_pause, step_once

    ws = get_workspace()
    if action == "start":
        start_or_pause(ws, "start", token)
    else:
        step_once(ws, token)


def loading_status() -> None:
    """The sidebar of a new session while torch loads: the same status and controls as the real one."""

    @st.fragment(run_every=LOADING_POLL_S)
    def _status() -> None:
        if loaded():
            st.rerun()  # draw the real status
        draw_head("idle", DEFAULT_CORPUS, TrainConfig())
        draw_metrics(0, 0.0, None, None)
        token = f"boot:{time.monotonic_ns()}"
        b1, b2 = st.columns(2)
        with b1.container(key="sb_start_pause"):  # (the real sidebar's keys: charviz/ui/sidebar.py)
            st.button(t("sidebar.start"), key="sb_start", type="primary", use_container_width=True,
                      icon=":material/play_arrow:", on_click=_act, args=("start", token + "start"))
        b2.button(t("sidebar.step_button"), key="sb_step", use_container_width=True, on_click=_act,
                  args=("step", token + "step"), icon=":material/skip_next:", help=t("sidebar.step_help"))
        with st.popover(t("sidebar.reset"), icon=":material/restart_alt:", use_container_width=True):
            st.write(t("sidebar.nothing_to_reset"))

    with st.sidebar:
        _status()
