"""Browser: the Hidden page while the model trains. The heatmap has one row per unit; clicking a square of
its r column selects that unit; the probe text coloured by that unit changes as training goes on.

Uses the `app_server` and `page` fixtures of conftest.py (a real `streamlit run app.py` and Debian's
Chromium). Screenshots go to test-artifacts/.
"""

import re

import pytest
from conftest import no_exception, shot
from test_browser_train import TIMEOUT_MS, sidebar_button, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

HEATMAP = ".st-key-hidden_heatmap .js-plotly-plot"
ROWS_JS = f"""() => {{ const gd = document.querySelector('{HEATMAP}');
    return gd && gd.data && gd.data[0] ? gd.data[0].y.length : -1; }}"""
COLOURED_JS = """() => { const el = document.querySelector('.charviz-unit-text');
    return el ? Array.from(el.querySelectorAll('span')).map(s => s.getAttribute('title')).join('|') : null; }"""
# the centre of the r-column square of heatmap row `row`, in page pixels (plotly's own axis mappings)
SQUARE_JS = f"""row => {{ const gd = document.querySelector('{HEATMAP}');
    if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis2) return null;
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl.xaxis2._offset + fl.xaxis2.l2p(0), box.top + fl.yaxis._offset + fl.yaxis.l2p(row)]; }}"""


def model_caption(page) -> str:
    return page.get_by_text(re.compile(r"^(Model at step|Frozen at step)")).first.inner_text()


def test_hidden_page_follows_training_and_a_clicked_unit(app_server, page):
    # a demo link sets the session up: an LSTM with 64 units on the Python text (it keeps learning for long,
    # unlike 'hello', whose hidden states stop changing once it is learnt)
    page.goto(f"{app_server}/?text=python&cell=lstm&hidden=64")
    page.locator("[data-testid='stSidebar']").get_by_text("LSTM 64").first.wait_for(timeout=60_000)
    wait_idle(page)
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=re.compile("Hidden$"))
    link.wait_for(timeout=60_000)
    link.click()
    page.wait_for_selector(HEATMAP, timeout=60_000)
    no_exception(page)
    units = int(re.search(r"LSTM with (\d+) units", model_caption(page)).group(1))
    assert units == 64
    page.wait_for_function(f"() => ({ROWS_JS})() === {units}", timeout=TIMEOUT_MS)  # one row per unit

    # a property that varies over any probe, so that every unit has an r to click
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Property").locator("input").first
    box.click()
    box.fill("vowel")
    box.press("Enter")
    page.get_by_text("correlation r with “vowel”").first.wait_for(timeout=TIMEOUT_MS)

    sidebar_button(page, "Start").click()
    step = wait_step_above(page, 2, timeout_ms=60_000)
    page.get_by_text("the views follow the training").first.wait_for(timeout=TIMEOUT_MS)

    # Freeze holds the model (training goes on) so the figure stays still under the pointer: a click that
    # lands while a live redraw replaces the figure can be lost (measured: 1 of 5 clicks while training)
    page.locator(".st-key-hidden_freeze label").click()
    page.get_by_text(re.compile(r"^Frozen at step")).first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    # click the r square of row 5 (rows by index: unit 5); the unit box follows
    x, y = page.wait_for_function(f"() => ({SQUARE_JS})(5)", timeout=TIMEOUT_MS).json_value()
    page.mouse.click(x, y)
    unit_box = page.locator(".st-key-hidden_unit input")
    page.wait_for_function("() => document.querySelector('.st-key-hidden_unit input').value === '5'",
                           timeout=TIMEOUT_MS)
    page.get_by_text(re.compile(r"^Unit 5, h \(hidden state\)")).first.wait_for(timeout=TIMEOUT_MS)
    shot(page, "hidden-1-unit5")
    frozen = page.evaluate(COLOURED_JS)
    step = wait_step_above(page, step + 5, timeout_ms=60_000)  # the sidebar goes on counting
    assert page.evaluate(COLOURED_JS) == frozen  # ... while the frozen views stand still
    page.locator(".st-key-hidden_freeze label").click()
    page.get_by_text("the views follow the training").first.wait_for(timeout=TIMEOUT_MS)

    # the coloured text (each character's title carries the unit's value) changes as the model trains
    before = page.evaluate(COLOURED_JS)
    assert before and "h = " in before
    wait_step_above(page, step + 10, timeout_ms=60_000)
    page.wait_for_function(f"() => {{ const now = ({COLOURED_JS})(); return now && now !== {before!r}; }}",
                           timeout=TIMEOUT_MS)
    assert unit_box.input_value() == "5"  # the choice survives the live redraws
    no_exception(page)
    shot(page, "hidden-2-later")
