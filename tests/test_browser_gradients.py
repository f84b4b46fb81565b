"""Browser: the Gradients page in a real Chromium against `streamlit run app.py` (fixtures in conftest.py).

The scalar example states 3^20 for w = 3, T = 20; the live model's gradient-flow plot is on a log scale; and
while the model trains, the page's gradient norms follow it (they change, from a later training step).
"""

from __future__ import annotations

import re

import pytest
from test_browser_train import (
    TIMEOUT_MS,
    nav,
    no_exception,
    shot,
    sidebar_button,
    sidebar_step,
    wait_idle,
    wait_step_above,
)

pytestmark = pytest.mark.browser

FLOW_METRIC = "‖∂L_T/∂h_T‖ at the last step"
# layouts of the page's plotly charts (gd.layout is the figure's layout as sent): title text and y-axis type
CHART_AXES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
    const t = gd.layout && gd.layout.title;
    return [t && (t.text || t) || '', gd.layout.yaxis && gd.layout.yaxis.type]; })"""


def main_metric(page, label: str) -> str:
    metric = page.locator("[data-testid='stMain'] [data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label))
    return metric.first.locator("[data-testid='stMetricValue']").inner_text()


def model_step(page) -> int:
    """The training step of the model the live gradient section draws (its caption: '... step 1,234 · ...')."""
    caption = page.get_by_text(re.compile(r"hidden size \d+, step [\d,]+")).first.inner_text()
    return int(re.search(r"step ([\d,]+)", caption).group(1).replace(",", ""))


def test_gradients_page_scalar_example_and_live_flow(app_server, page):
    page.goto(app_server)
    wait_idle(page)
    nav(page, "Gradients")
    page.get_by_role("heading", name=re.compile("Gradient flow through time")).wait_for(timeout=TIMEOUT_MS)
    no_exception(page)

    # one neuron, w = 3 (the default), 20 steps back: dh_T/dh_{T-20} = 3^20, written out in full
    page.wait_for_function("s => document.querySelector('[data-testid=stMain]').innerText.includes(s)",
                           arg=f"{3**20:,}", timeout=TIMEOUT_MS)

    # the live model: gradient norms per time step on a log scale
    page.get_by_text(FLOW_METRIC).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(f"() => ({CHART_AXES_JS})().filter(a => a[1] === 'log').length >= 2",
                           timeout=TIMEOUT_MS)  # the scalar example and the live model's flow
    before, step_before = main_metric(page, FLOW_METRIC), model_step(page)
    assert step_before == 0
    shot(page, "gradients-untrained")

    sidebar_button(page, "Start").click()
    wait_step_above(page, 0, timeout_ms=60_000)  # the model trains (the sidebar counts its steps)
    changed = None
    for _ in range(160):  # up to 40 s on a loaded machine; the section redraws every second while training
        page.wait_for_timeout(250)
        now = main_metric(page, FLOW_METRIC)
        if now != before and model_step(page) > 0:
            changed = now
            break
    if changed is None:
        shot(page, "gradients-failed")
        raise AssertionError(f"the gradient norm stayed {before} while the model trained (sidebar step "
                             f"{sidebar_step(page)}, section drawn at step {model_step(page)})")
    no_exception(page)
    shot(page, "gradients-training")

    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
