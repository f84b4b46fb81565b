"""Browser: a click on a kept-snapshot diamond of the Train page's loss chart chooses that step (issue 9): the
Train page says so, and Predict draws the model as it was at that step.

Uses the `app_server` and `page` fixtures of conftest.py (a real `streamlit run app.py` and Debian's Chromium).
"""

import re
import time

import pytest
from conftest import no_exception, shot
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser_train import TIMEOUT_MS, nav, sidebar_button, sidebar_step, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

# the loss chart is a live chart (charviz.ui.live_chart): drawn in place while the run trains
LOSS = ".st-key-loss_chart .js-plotly-plot"
# the kept-snapshot diamonds in page pixels, with their steps (plotly's own axis mappings)
MARKS_JS = f"""() => {{ const gd = document.querySelector('{LOSS}');
    if (!gd || !gd._fullData || !gd._fullLayout || !gd._fullLayout.xaxis) return [];
    const tr = gd._fullData.find(d => d.name === 'kept snapshots');
    if (!tr || !tr.x) return [];
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return Array.from(tr.x).map((x, k) => [box.left + fl.xaxis._offset + fl.xaxis.l2p(x),
                                           box.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[k]), Math.round(x)]); }}"""
HOVER_JS = f"""() => Array.from(document.querySelectorAll('{LOSS} .hoverlayer .hovertext'))
    .map(h => h.textContent).join(' ')"""
DRAWN_JS = f"() => {{ const gd = document.querySelector('{LOSS}'); return gd ? Number(gd.dataset.drawn || 0) : 0; }}"


def _pick(marks, skip=()):
    """The diamond farthest (in pixels) from its neighbours, the first and the latest excepted (the early ones
    sit a pixel apart): (x, y, step)."""
    def apart(a, b):
        return max(abs(a[0] - b[0]), abs(a[1] - b[1]))

    gaps = [(min(apart(marks[k], marks[k - 1]), apart(marks[k], marks[k + 1])), k)
            for k in range(1, len(marks) - 1) if marks[k][2] not in skip]
    gap, k = max(gaps)
    assert gap >= 9, f"no diamond stands apart: {marks}"  # (a diamond is 10 px wide)
    return marks[k]


def named_step(label: str) -> int | None:
    m = re.search(r"snapshot kept at step ([\d,]+)", label)
    return int(m.group(1).replace(",", "")) if m else None


def hover_a_diamond(page, skip=(), timeout_s: float = 120.0) -> int:
    """Move onto a diamond until plotly's hover names a kept step; -> that step. While the run trains the
    diamonds move as the axis grows: each attempt finds one where it is drawn now, bounded by `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_function(f"() => ({MARKS_JS})().length > 5", timeout=TIMEOUT_MS)
        x, y, step = _pick(page.evaluate(MARKS_JS), skip)
        page.mouse.move(x, y - 3)
        page.mouse.move(x, y)
        try:
            page.wait_for_function(f"() => /snapshot kept at step/.test(({HOVER_JS})())", timeout=3_000)
        except PlaywrightTimeout:
            continue  # redrawn meanwhile: the diamond moved
        hovered = named_step(page.evaluate(HOVER_JS))
        if hovered is not None:
            return hovered
    raise AssertionError(f"no diamond hovered in {timeout_s} s")


def chosen_now(page) -> int:
    """The step the Train page says is chosen (waits for its caption)."""
    caption = page.get_by_text(re.compile(r"show the model at step [\d,]+"))
    caption.first.wait_for(timeout=TIMEOUT_MS)
    return int(re.search(r"at step ([\d,]+)", caption.first.inner_text()).group(1).replace(",", ""))


def chosen(page, step: int):
    return page.get_by_text(re.compile(rf"show the model at step {step:,}\b"))


def train_pause_and_redraw(app_server, page) -> int:
    """Train a little, pause, and open the Train page again; -> the step paused at. A fresh script run of the
    page draws the paused run once, with no timer: the diamonds stay where drawn."""
    page.goto(f"{app_server}/train")
    wait_idle(page)
    no_exception(page)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 60, timeout_ms=120_000)
    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    paused = sidebar_step(page)
    nav(page, "Home")
    nav(page, "Train")
    page.wait_for_function(f"() => ({DRAWN_JS})() > 0", timeout=60_000)
    wait_idle(page)
    return paused


def test_clicking_a_snapshot_diamond_shows_that_step(app_server, page):
    paused = train_pause_and_redraw(app_server, page)
    step = hover_a_diamond(page)
    page.mouse.down()
    page.mouse.up()
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


def test_a_diamond_clicked_while_training_chooses_that_step(app_server, page):
    """While the run trains the loss chart is redrawn in place every second (charviz.ui.live_chart): a click on
    a diamond chooses that step, and the run trains on."""
    page.goto(f"{app_server}/train")
    wait_idle(page)
    no_exception(page)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 60, timeout_ms=120_000)
    drawn = page.evaluate(DRAWN_JS)
    page.wait_for_function(f"n => ({DRAWN_JS})() > n", arg=drawn, timeout=TIMEOUT_MS)  # redrawn in place
    # (this click chose nothing in 2 of about 12 runs while the frame took only the point drawn under the pointer
    # now: a redraw had just moved the newest diamonds; it also takes the one drawn there the drawing before,
    # test_a_click_where_a_diamond_was_drawn_just_before_a_redraw_chooses_it)
    hover_a_diamond(page)
    before = named_step(page.evaluate(HOVER_JS))
    page.mouse.down()
    page.mouse.up()
    step = chosen_now(page)
    after = named_step(page.evaluate(HOVER_JS))
    assert step in {before, after}, (before, after, step)  # the diamond under the pointer when it clicked
    chosen(page, step).first.wait_for(timeout=TIMEOUT_MS)
    at = sidebar_step(page)
    assert sidebar_button(page, "Pause").count() == 1, "the click must not pause the run"
    wait_step_above(page, at)  # and it trains on
    assert chosen(page, step).count() >= 1  # the choice holds through the redraws
    no_exception(page)
    shot(page, "rewind-marks-3-chosen-while-training")
    # Predict draws that step's model, though training goes on: the store thins its snapshots as it trains (the
    # diamond next to the latest goes within a few steps), and the chosen one is pinned for the session (in one CI
    # run Predict drew the nearest snapshot left instead, and never said "as it was at step N")
    nav(page, "Predict")
    page.get_by_text(re.compile(rf"as it was at step {step:,}\b")).first.wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
    nav(page, "Train")

    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)


def test_a_click_with_the_pointer_resting_through_redraws_chooses_a_step(app_server, page):
    """The pointer rests on a diamond while the chart is redrawn under it (in place, every second; the diamonds
    move a little as the axis grows, and the frame hovers the point under the resting pointer again after each
    drawing): a click then, without moving, chooses the step of the diamond hovered. (With st.plotly_chart each
    drawing was a new element and this click chose nothing in 2 of about 8 runs: a known bug until the live
    chart.)"""
    page.goto(f"{app_server}/train")
    wait_idle(page)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 60, timeout_ms=120_000)
    for _ in range(3):
        hover_a_diamond(page)
        drawn = page.evaluate(DRAWN_JS)
        page.wait_for_function(f"n => ({DRAWN_JS})() >= n + 2", arg=drawn, timeout=TIMEOUT_MS)  # two redraws
        label = page.evaluate(HOVER_JS)
        page.mouse.down()
        page.mouse.up()
        step = chosen_now(page)
        named = named_step(label)
        if named is not None:  # (hover names the diamond under the pointer: the one clicked, unless it moved)
            assert abs(step - named) <= max(named, 1), (label, step)
        page.get_by_role("button", name="Back to now").click()
        page.get_by_text(re.compile(r"^Diamonds: the \d+ kept snapshots")).first.wait_for(timeout=TIMEOUT_MS)

    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)


# widen the loss chart's x axis by a factor, as a growing axis does while the run trains (the diamonds move left)
WIDEN_JS = f"""async (f) => {{ const gd = document.querySelector('{LOSS}'); const P = await window.__charvizPlotly;
    const r = gd._fullLayout.xaxis.range;
    await P.relayout(gd, {{'xaxis.range': [r[0], r[0] + (r[1] - r[0]) * f]}}); }}"""


def test_a_click_where_a_diamond_was_drawn_just_before_a_redraw_chooses_it(app_server, page):
    """While the run trains the axis grows and the newest diamonds move about 10 px a redraw: a click where a
    diamond was drawn until less than half a second ago chooses it (the user aimed at it: the known issue of 2 in
    about 12 runs); a click there a second after the redraw, with no diamond under the pointer any more, chooses
    nothing. The redraw is made here by widening the x axis of the paused run's chart, as a growing axis does, so
    the test does not depend on when the training redraws."""
    train_pause_and_redraw(app_server, page)

    def aim():
        page.wait_for_function(f"() => ({MARKS_JS})().length > 5", timeout=TIMEOUT_MS)
        x, y, step = _pick(page.evaluate(MARKS_JS))
        page.mouse.move(x, y - 3)
        page.mouse.move(x, y)
        # (the hover's texts run together: "...step 180train 0.03 bits/char")
        page.wait_for_function(f"() => /snapshot kept at step {step:,}(?![\\d,])/.test(({HOVER_JS})())",
                               timeout=TIMEOUT_MS)
        return x, y, step

    def nothing_near(x, y):
        return all(max(abs(mx - x), abs(my - y)) > 12 for mx, my, _ in page.evaluate(MARKS_JS))

    x, y, step = aim()
    page.evaluate(WIDEN_JS, 1.6)
    assert nothing_near(x, y), "the diamond (and every other) moved away from under the pointer"
    page.mouse.down()
    page.mouse.up()
    chosen(page, step).first.wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
    page.get_by_role("button", name="Back to now").click()
    page.get_by_text(re.compile(r"^Diamonds: the \d+ kept snapshots")).first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)

    x, y, step = aim()
    page.evaluate(WIDEN_JS, 1.6)
    if nothing_near(x, y):  # (else another diamond slid under the pointer: clicking it would choose it)
        time.sleep(1.0)
        page.mouse.down()
        page.mouse.up()
        time.sleep(3.0)
        assert page.get_by_text(re.compile(r"show the model at step [\d,]+")).count() == 0
    no_exception(page)
