"""Browser: a real Chromium against `streamlit run app.py` (fixtures in conftest.py).

Open the app, start training, see the sidebar step counter and the loss chart change, switch pages while
training continues, come back, pause. No element with data-testid="stException" may appear at any point.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from conftest import ARTIFACTS, no_exception, shot  # noqa: F401 (the browser tests import them from here too)

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def wait_idle(page) -> None:
    """Streamlit finished its script run (its running-man status widget is gone)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=TIMEOUT_MS)
    page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stMetric']", timeout=TIMEOUT_MS)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS)


def sidebar_metric(page, label: str) -> str:
    metric = page.locator("[data-testid='stSidebar'] [data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=re.compile(f"^{re.escape(label)}$")))
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def sidebar_step(page) -> int:
    return int(sidebar_metric(page, "step").replace(",", ""))


def wait_step_above(page, n: int, timeout_ms: int = TIMEOUT_MS) -> int:
    page.wait_for_function(
        """n => { const ms = document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stMetric"]');
                  for (const m of ms) { if (m.innerText.startsWith('step')) {
                      const v = m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '');
                      return parseInt(v) > n; } } return false; }""",
        arg=n, timeout=timeout_ms)
    return sidebar_step(page)


LOSS_POINTS_JS = """() => { let n = -1;
    for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
        if (!(gd.layout && gd.layout.title && gd.layout.title.text === 'loss')) continue;
        const d = gd._fullData && gd._fullData[0];  // decoded traces (gd.data holds base64 arrays)
        n = Math.max(n, d ? d._length || 0 : 0); }
    return n; }"""


def loss_points(page) -> int:
    """Points of the loss chart's first curve as drawn by plotly in the page (-1: no loss chart yet)."""
    return page.evaluate(LOSS_POINTS_JS)


def wait_loss_points_above(page, n: int) -> int:
    page.wait_for_function(f"() => ({LOSS_POINTS_JS})() > {int(n)}", timeout=TIMEOUT_MS)
    return loss_points(page)


def nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    wait_idle(page)


def sidebar_button(page, name: str):
    return page.locator("[data-testid='stSidebar']").get_by_role("button", name=name, exact=True)


def test_train_switch_pages_come_back_pause(app_server, page):
    page.goto(app_server)
    wait_idle(page)
    no_exception(page)
    page.get_by_role("heading", name=re.compile("charviz")).first.wait_for(timeout=TIMEOUT_MS)
    assert sidebar_step(page) == 0
    shot(page, "1-home")

    nav(page, "Train")
    page.get_by_text("not started yet").first.wait_for(timeout=TIMEOUT_MS)
    wait_loss_points_above(page, -1)
    assert loss_points(page) == 0
    no_exception(page)

    sidebar_button(page, "Start").click()
    first = wait_step_above(page, 0)
    points = wait_loss_points_above(page, 0)
    later = wait_step_above(page, first + 5)
    wait_loss_points_above(page, points)  # the chart grows while training
    assert later > first
    assert "training" in page.locator("[data-testid='stSidebar']").inner_text()
    no_exception(page)
    shot(page, "2-training")

    # training goes on while another page is open, and that page's sidebar counts along
    other = "Gradients" if page.locator("[data-testid='stSidebarNav']").get_by_role(
        "link", name="Gradients").count() else "Home"
    nav(page, other)
    on_other = wait_step_above(page, later)
    wait_step_above(page, on_other + 5)
    no_exception(page)
    shot(page, "3-other-page")

    nav(page, "Train")
    back = wait_step_above(page, on_other + 5)
    no_exception(page)

    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    paused = sidebar_step(page)
    assert paused >= back
    assert "paused" in page.locator("[data-testid='stSidebar']").inner_text()
    # the sidebar that says Resume was drawn after pause() returned, when no step ran and none would: a new
    # script run (another page) shows the same step
    nav(page, "Home")
    assert sidebar_step(page) == paused, "the step counter moved after Pause"
    no_exception(page)
    shot(page, "4-paused")


def test_two_tabs_have_their_own_models(app_server, browser):
    """Each browser session has its own run: training in one leaves the other at step 0."""
    ctx_a = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx_b = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        a, b = ctx_a.new_page(), ctx_b.new_page()
        for p in (a, b):
            p.goto(app_server)
            wait_idle(p)
        sidebar_button(a, "Step").click()
        wait_step_above(a, 0)
        sidebar_button(a, "Step").click()
        wait_step_above(a, 1)
        b.reload()
        wait_idle(b)
        assert sidebar_step(a) == 2 and sidebar_step(b) == 0
        no_exception(a)
        no_exception(b)
    finally:
        ctx_a.close()
        ctx_b.close()
