"""Browser: a click on a kept-snapshot diamond of the Train page's loss chart chooses that step (issue 9): the
Train page says so, and Predict draws the model as it was at that step.

Uses the `app_server` and `page` fixtures of conftest.py (a real `streamlit run app.py` and Debian's Chromium).
"""

import re

import pytest
from conftest import no_exception, shot
from test_browser_train import TIMEOUT_MS, nav, sidebar_button, sidebar_step, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

LOSS = ".st-key-loss_chart .js-plotly-plot"
# the kept-snapshot diamonds in page pixels, with their steps (plotly's own axis mappings)
MARKS_JS = f"""() => {{ const gd = document.querySelector('{LOSS}');
    if (!gd || !gd._fullData || !gd._fullLayout || !gd._fullLayout.xaxis) return [];
    const tr = gd._fullData.find(d => d.name === 'kept snapshots');
    if (!tr || !tr.x) return [];
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return Array.from(tr.x).map((x, k) => [box.left + fl.xaxis._offset + fl.xaxis.l2p(x),
                                           box.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[k]), Math.round(x)]); }}"""


def click_mark(page, skip=()) -> int:
    """Click the diamond farthest (in pixels) from its neighbours, the first and the latest excepted (the
    early ones sit a pixel apart); -> its step."""
    page.wait_for_function(f"() => ({MARKS_JS})().length > 5", timeout=TIMEOUT_MS)
    marks = page.evaluate(MARKS_JS)
    gaps = [(min(abs(marks[k][0] - marks[k - 1][0]), abs(marks[k + 1][0] - marks[k][0])), k)
            for k in range(1, len(marks) - 1) if marks[k][2] not in skip]
    gap, k = max(gaps)
    assert gap >= 9, f"no diamond stands apart: {marks}"  # (a diamond is 10 px wide)
    x, y, step = marks[k]
    wait_idle(page)
    page.mouse.move(x, y - 3)
    page.mouse.move(x, y)
    # plotly has the diamond under the pointer (its hover label names the step): a click now selects it
    page.wait_for_function(f"""() => Array.from(document.querySelectorAll('{LOSS} .hoverlayer .hovertext'))
        .some(h => h.textContent.includes('snapshot kept at step {step}'))""", timeout=TIMEOUT_MS)
    page.mouse.click(x, y)
    return step


def chosen(page, step: int):
    return page.get_by_text(re.compile(rf"show the model at step {step:,}\b"))


def test_clicking_a_snapshot_diamond_shows_that_step(app_server, page):
    page.goto(f"{app_server}/train")
    wait_idle(page)
    no_exception(page)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 60, timeout_ms=120_000)
    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    paused = sidebar_step(page)
    # a fresh script run of the page draws the paused run once, with no timer: the diamonds stay where drawn
    nav(page, "Home")
    nav(page, "Train")
    page.wait_for_selector(LOSS, timeout=60_000)
    wait_idle(page)
    step = click_mark(page)
    assert 0 < step < paused
    chosen(page, step).first.wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
    shot(page, "rewind-marks-1-chosen")

    # the other pages draw that step's model
    nav(page, "Predict")
    page.get_by_text(re.compile(rf"as it was at step {step:,}\b")).first.wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
    shot(page, "rewind-marks-2-predict")

    # back on Train, "Back to now" follows the training again
    nav(page, "Train")
    chosen(page, step).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Back to now").click()
    page.get_by_text(re.compile(r"^Diamonds: the \d+ kept snapshots")).first.wait_for(timeout=TIMEOUT_MS)
    assert chosen(page, step).count() == 0
    no_exception(page)
