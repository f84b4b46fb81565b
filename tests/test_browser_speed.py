"""Browser, issue 13: the chars/s the sidebar shows is the rate the step counter gives.

steps x batch x window / elapsed, measured in the browser between two redraws of the sidebar about 10 s apart,
must match the chars/s shown at the second redraw within 10%. The text is Python source (long enough that the
batch and window are the configured 32 x 32, not shrunk to fit a short text).
"""

from __future__ import annotations

import pytest

from tests.test_browser_train import TIMEOUT_MS, no_exception, shot, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

B, T = 32, 32  # the defaults, which the link does not change

# resolves at the first redraw that shows a step other than `prev`: {step, cps, t (ms, the browser's clock)}
NEXT_REDRAW = """prev => new Promise(resolve => {
    const read = () => {
        const out = {};
        for (const m of document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stMetric"]')) {
            const label = m.querySelector('[data-testid="stMetricLabel"]').innerText.trim();
            const value = m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '');
            if (label === 'step') out.step = parseInt(value);
            if (label === 'chars / s')  // 99,999 in full, then 170k, 1.2M (charviz.ui.status.fmt_rate)
                out.cps = parseFloat(value) * (value.endsWith('k') ? 1e3 : value.endsWith('M') ? 1e6 : 1);
        }
        return out;
    };
    const poll = () => {
        const r = read();
        if (r.step !== undefined && r.step !== prev) { r.t = performance.now(); resolve(r); }
        else setTimeout(poll, 20);
    };
    poll();
})"""


def test_sidebar_speed_matches_the_step_counter(app_server, page):
    page.goto(f"{app_server}/?text=python&autostart=1", timeout=TIMEOUT_MS)
    wait_idle(page)
    start = wait_step_above(page, 20, timeout_ms=60_000)
    first = page.evaluate(NEXT_REDRAW, start)
    last = first
    while last["t"] - first["t"] < 10_000:  # bounded by the redraws (1 per second) for about 10 s
        last = page.evaluate(NEXT_REDRAW, last["step"])
    no_exception(page)
    shot(page, "speed")
    counter = (last["step"] - first["step"]) * B * T / ((last["t"] - first["t"]) / 1000)
    assert counter > 0
    assert abs(last["cps"] - counter) <= 0.10 * counter, (last, first, counter)
