"""Browser: the divergence guard and the checkpoint download end to end with training in a worker process
(CHARVIZ_TRAINING=process, the default, set explicitly here so the test keeps meaning it).

A demo link trains the Python source at learning rate 10 without clipping: the loss explodes, the sidebar
says *Diverging* and offers the last good weights (here the initial ones, step 0). Restore pauses the run and
puts them back; the checkpoint downloaded afterwards holds exactly those weights at the step the run reached
(computed here independently: a Trainer with the same seed, never stepped).
"""

from __future__ import annotations

import pytest
import torch
from conftest import running_server
from test_browser_train import TIMEOUT_MS, no_exception, shot, sidebar_button, sidebar_step, wait_idle

from charviz.checkpoint import load
from charviz.data import load_corpus
from charviz.train import Trainer

pytestmark = pytest.mark.browser

LONG_MS = 120_000  # a worker process may take a while to start on a loaded machine


@pytest.fixture
def process_server():
    with running_server("streamlit-server-process.log", {"CHARVIZ_TRAINING": "process"}) as url:
        yield url


def test_diverge_restore_and_download_with_training_in_a_worker_process(process_server, browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    try:
        page = ctx.new_page()
        page.goto(f"{process_server}/train?text=python&lr=10&clip=off&autostart=1", timeout=LONG_MS)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Diverging:").wait_for(timeout=LONG_MS)
        shot(page, "process-diverging")
        no_exception(page)
        sidebar.get_by_role("button", name="Restore the last good weights (step 0)").click()
        sidebar.get_by_text("Restored the weights of step 0").wait_for(timeout=LONG_MS)
        sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)  # paused
        wait_idle(page)
        assert "Diverging:" not in sidebar.inner_text()
        at = sidebar_step(page)
        assert at > 0 and f"(at step {at:,})" in sidebar.inner_text()  # the step count goes on
        shot(page, "process-restored")

        page.get_by_text("Save or load a checkpoint").click()
        with page.expect_download(timeout=LONG_MS) as dl:
            page.get_by_role("button", name="⬇ Download the current model").click()
        path = tmp_path / "model.pt"
        dl.value.save_as(path)
        assert dl.value.suggested_filename == f"charviz-rnn128-step{at}.pt"
        ckpt = load(path.read_bytes())
        assert ckpt.step == at and ckpt.config.lr == 10 and ckpt.config.clip is None
        initial = Trainer(load_corpus("python"), ckpt.config).model.state_dict()  # same seed, never stepped
        assert tuple(ckpt.vocab.itos) == tuple(Trainer(load_corpus("python"), ckpt.config).vocab.itos)
        for name, w in ckpt.model.state_dict().items():
            assert torch.equal(w, initial[name]), name
        no_exception(page)
    finally:
        ctx.close()
