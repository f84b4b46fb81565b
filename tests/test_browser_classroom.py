"""Browser: a class on one server. The lecturer's tab trains and shares its run; a student's tab opens the link,
follows the run live, cannot control it, and is told when the lecturer stops sharing. Then the student leaves
watch mode and has their own (untrained) run back."""

from __future__ import annotations

import sys
import time

import pytest
from conftest import ROOT, running_server
from test_browser_train import TIMEOUT_MS, no_exception, sidebar_step, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

LONG_MS = 90_000  # a worker process may take a while to start on a loaded machine


def sidebar(page):
    return page.locator("[data-testid='stSidebar']")


def train_and_share(owner, url: str) -> str:
    """The owner's tab: open `url`, Start, Share with the class; -> the code its sidebar shows."""
    owner.goto(url, timeout=LONG_MS)
    wait_idle(owner)
    sidebar(owner).get_by_role("button", name="Start", exact=True).click()
    wait_step_above(owner, 3, LONG_MS)
    sidebar(owner).get_by_role("button", name="Share with the class").click()
    code_box = sidebar(owner).locator("[data-testid='stCode'] code")
    code_box.wait_for(timeout=TIMEOUT_MS)
    return code_box.inner_text().strip()


def test_a_shared_run_is_watched_live_and_read_only_from_another_tab(app_server, browser):
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        owner = owner_ctx.new_page()
        code = train_and_share(owner, app_server + "/train")
        assert len(code) == 9 and code[4] == "-"
        assert "?watch=" + code in sidebar(owner).inner_text()

        student = student_ctx.new_page()
        student.goto(f"{app_server}/train?watch={code}", timeout=LONG_MS)
        sidebar(student).get_by_text(f"Watching {code}").wait_for(timeout=LONG_MS)
        wait_idle(student)
        s0 = sidebar_step(student)
        wait_step_above(student, s0 + 3, LONG_MS)  # follows the lecturer's training live
        assert sidebar(student).get_by_role("button", name="Pause", exact=True).is_disabled()
        assert sidebar(student).get_by_role("button", name="Step", exact=True).is_disabled()
        assert "only its owner can" in sidebar(student).inner_text()
        assert student.get_by_text("learning rate (log scale)").count() == 0  # no settings for a watcher
        student.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=TIMEOUT_MS)
        no_exception(student)
        # the owner's Pause reaches the student
        sidebar(owner).get_by_role("button", name="Pause", exact=True).click()
        sidebar(student).get_by_text("paused").first.wait_for(timeout=LONG_MS)
        # the owner stops sharing: the student is told, without an error
        sidebar(owner).get_by_role("button", name="Stop sharing").click()
        sidebar(student).get_by_text("This shared run has ended").wait_for(timeout=LONG_MS)
        assert "stopped sharing" in sidebar(student).inner_text()
        no_exception(student)
        sidebar(student).get_by_role("button", name="Leave watch mode (back to my own run)").click()
        sidebar(student).get_by_role("button", name="Share with the class").wait_for(timeout=LONG_MS)
        wait_idle(student)
        assert sidebar_step(student) == 0 and "Watching" not in sidebar(student).inner_text()
        no_exception(owner)
    finally:
        owner_ctx.close()
        student_ctx.close()


def test_a_class_bigger_than_the_full_rate_redraws_slower_and_keeps_following(browser):
    """More watchers on a server than CHARVIZ_WATCHERS_FULL_RATE (1 here): the student's tab and 2 protocol
    watchers (scripts/watch_swarm.py: what a browser's frontend asks for, without drawing). Once the 3 are
    there, every watcher's live fragments get 3 times the timer (charts every 3 s) through a rerun the server
    starts itself, the sidebar says why, and every watcher still follows the run."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from watch_swarm import Swarm

    with running_server("streamlit-server-big-class.log", env={"CHARVIZ_WATCHERS_FULL_RATE": "1"}) as url:
        owner_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        student_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        swarm = None
        try:
            owner = owner_ctx.new_page()
            code = train_and_share(owner, url + "/")
            student = student_ctx.new_page()
            student.goto(f"{url}/train?watch={code}", timeout=LONG_MS)
            sidebar(student).get_by_text(f"Watching {code}").wait_for(timeout=LONG_MS)
            assert "watching on this server" not in sidebar(student).inner_text()  # 1 watcher: the full rate

            swarm = Swarm(url, code, 2)
            swarm.start()
            sidebar(student).get_by_text("3 watching on this server").wait_for(timeout=LONG_MS)
            assert "the charts redraw every 3 s" in sidebar(student).inner_text()
            # the protocol watchers' timers, as the server set them: live view 3 x 1 s, sidebar 3 x 2 s, sample
            # 3 x 3 s (their first timers were the full rate's)
            deadline = time.monotonic() + LONG_MS / 1000
            while sorted(sorted(w.intervals.values()) for w in swarm.watchers) != [[3.0, 6.0, 9.0]] * 2:
                assert time.monotonic() < deadline, [w.intervals for w in swarm.watchers]
                time.sleep(0.5)
            charts = [w.charts for w in swarm.watchers]
            s0 = sidebar_step(student)
            time.sleep(8)  # 2 or 3 redraws at 3 s
            assert all(b >= a + 2 for a, b in zip(charts, [w.charts for w in swarm.watchers], strict=True)), (
                charts, [w.charts for w in swarm.watchers])
            assert not any(w.errors for w in swarm.watchers), [w.errors for w in swarm.watchers]
            wait_step_above(student, s0 + 3, LONG_MS)  # the student's tab follows the run too
            assert sidebar(student).get_by_role("button", name="Pause", exact=True).is_disabled()
            no_exception(student)
            no_exception(owner)
        finally:
            if swarm is not None:
                swarm.stop()
            owner_ctx.close()
            student_ctx.close()
