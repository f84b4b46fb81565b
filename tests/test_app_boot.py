"""The first page while torch loads (charviz.ui.boot): a torch-free entry script, a sidebar that tells the
true state of a new session, and Start / Step that act on the real run once loading is done."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import start_pause
from streamlit.testing.v1 import AppTest

from charviz.config import DEFAULT_CORPUS, TrainConfig
from charviz.ui import boot

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def test_entry_modules_do_not_import_torch():
    """What app.py imports before it draws the first page: no torch (about 2 s to import)."""
    code = (
        "import sys, streamlit, charviz, charviz.config, charviz.units, charviz.ui.boot, charviz.ui.status, "
        "charviz.ui.pages, charviz.ui.home\n"
        "assert 'torch' not in sys.modules\n"
        "from charviz import TrainConfig, Trainer\n"  # the package's names still load, on first use
        "assert 'torch' in sys.modules and Trainer.__module__ == 'charviz.train'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.fixture
def still_loading(monkeypatch):
    """Pretend the background loading has not finished (it finished long ago in this test process)."""
    event = threading.Event()
    monkeypatch.setattr(boot, "_loaded", event)
    monkeypatch.setattr(boot, "_loader", threading.Thread(target=lambda: None))  # "already started"
    return event


def sidebar_numbers(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.sidebar.metric}


def test_first_page_while_loading_shows_a_new_sessions_true_state(still_loading):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "ready" in at.sidebar.markdown[0].value
    cfg = TrainConfig()
    assert f"text: **{DEFAULT_CORPUS}** · {cfg.cell.upper()} {cfg.hidden_size}" in at.sidebar.caption[0].value
    assert sidebar_numbers(at) == {"step": "0", "chars / s": "0", "train bits/char": "–", "validation": "–"}
    assert "charviz_workspace" not in at.session_state  # no model made yet: nothing waited for torch
    assert f"**{DEFAULT_CORPUS}**" in "\n".join(m.value for m in at.markdown)  # the home page's text

    # the loading finishes: the same app draws the real sidebar, with the same numbers for a new model
    still_loading.set()
    at.run()
    assert not at.exception
    assert "ready" in at.sidebar.markdown[0].value
    assert sidebar_numbers(at) == {"step": "0", "chars / s": "0", "train bits/char": "–", "validation": "–"}
    assert "charviz_workspace" in at.session_state


def test_step_pressed_while_loading_trains_the_real_model(still_loading):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.button(key="sb_step").click().run()
    assert not at.exception
    ws = at.session_state["charviz_workspace"]
    assert ws.run.trainer.steps == 1
    still_loading.set()
    at.run()
    assert sidebar_numbers(at)["step"] == "1"


def test_start_pressed_while_loading_starts_the_real_run(still_loading):
    at = AppTest.from_file(APP, default_timeout=60).run()
    start_pause(at).click().run()
    assert not at.exception
    ws = at.session_state["charviz_workspace"]
    assert ws.run.running
    still_loading.set()
    at.run()
    assert "training" in at.sidebar.markdown[0].value
    ws.run.pause()
