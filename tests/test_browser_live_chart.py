"""Browser: the Train page's live charts (charviz.ui.live_chart) are redrawn in place while the run trains: the
same plotly chart gets the new data each second, and a zoom made on it holds through the redraws (with
st.plotly_chart each redraw was a new element, and the zoom was lost within a second).

Uses the `app_server` and `page` fixtures of conftest.py (a real `streamlit run app.py` and Debian's Chromium).
"""

import pytest
from conftest import no_exception, shot
from test_browser_train import TIMEOUT_MS, sidebar_button, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

LOSS = ".st-key-loss_chart .js-plotly-plot"
STATE_JS = f"""() => {{ const gd = document.querySelector('{LOSS}'); if (!gd || !gd._fullData) return null;
    const d = gd._fullData[0]; if (!d || !d._length) return null;  // (drawn before its first step)
    return {{tag: gd.__testTag || null, drawn: Number(gd.dataset.drawn || 0), last: d.x[d._length - 1],
            range: gd._fullLayout.xaxis.range.slice(), charts: document.querySelectorAll('{LOSS}').length}}; }}"""


def test_a_zoom_on_the_loss_chart_holds_while_the_run_trains(app_server, page):
    page.goto(f"{app_server}/train")
    wait_idle(page)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 100, timeout_ms=120_000)
    page.wait_for_function(f"() => ({STATE_JS})() !== null", timeout=TIMEOUT_MS)
    first = page.evaluate(STATE_JS)
    # zoom in on the first 40 steps, as a drag on the chart does (plotly's relayout), and mark the chart element
    page.evaluate(f"""() => {{ const gd = document.querySelector('{LOSS}'); gd.__testTag = 'zoomed';
        return window.__charvizPlotly.then(P => P.relayout(gd, {{'xaxis.range': [0, 40]}})).then(() => true); }}""")
    page.wait_for_function(f"n => ({STATE_JS})().drawn >= n + 3", arg=first["drawn"], timeout=TIMEOUT_MS)
    now = page.evaluate(STATE_JS)
    assert now["tag"] == "zoomed" and now["charts"] == 1  # the same chart element, redrawn in place
    assert now["last"] > first["last"]  # with new data
    assert now["range"] == pytest.approx([0, 40])  # and the zoom held
    shot(page, "live-chart-zoom-held")
    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
