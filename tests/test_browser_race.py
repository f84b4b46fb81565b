"""Browser: the race trains and its three loss curves move; the Predict page's "model at step" slider shows an
early step's prediction, different from now's.

Uses the `app_server` and `page` fixtures of conftest.py (a real `streamlit run app.py` and Debian's Chromium).
"""

import json
import re
from pathlib import Path

import pytest

from tests.test_browser_predict import TOPK_VALUES, model_step, no_exception, open_page, open_predict

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# the number of points of each named curve of the race's loss chart (the first plotly chart on the page)
CURVES = """() => { const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd.data) return null;
  const n = (x) => x == null ? 0 : (x.length !== undefined ? x.length : (x.bdata ? atob(x.bdata).length / 4 : 0));
  return JSON.stringify(gd.data.filter(d => d.name).map(d => [d.name, n(d.x)])); }"""


def race_step(page) -> int:
    text = page.get_by_text("for each model").first.inner_text()
    return int(re.search(r"step ([\d,]+) for each model", text).group(1).replace(",", ""))


def test_race_runs_and_three_curves_move(app_server, page):
    open_page(page, app_server, "Race")
    page.locator(".st-key-race_start_pause button").wait_for(timeout=60_000)
    no_exception(page)
    page.locator(".st-key-race_start_pause button").click()  # Start the race
    page.get_by_text("training", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_function(f"() => {{ const c = ({CURVES})(); return c && JSON.parse(c).length === 3 }}",
                           timeout=60_000)
    first = dict(json.loads(page.evaluate(CURVES)))
    assert sorted(first) == ["GRU", "LSTM", "RNN"]
    moved = False
    for _ in range(240):  # up to 60 s on a loaded machine; usually a few seconds
        page.wait_for_timeout(250)
        now = dict(json.loads(page.evaluate(CURVES) or "[]"))
        if len(now) == 3 and all(now[c] > first[c] for c in first):
            moved = True
            break
    assert moved, f"the three loss curves did not all grow: {first} -> {now}"
    assert len(set(now.values())) == 1, f"the curves have different lengths: {now}"
    no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "race-browser.png"), full_page=True)
    page.locator(".st-key-race_start_pause button").click()  # Pause
    page.get_by_text("paused", exact=False).first.wait_for(timeout=30_000)
    no_exception(page)


def test_predict_slider_shows_an_earlier_step(app_server, page):
    open_predict(page, app_server)
    page.locator(".st-key-sb_start_pause button").click()  # Start, in the sidebar
    for _ in range(240):  # until the model has trained a little (bounded)
        page.wait_for_timeout(250)
        if model_step(page) >= 40:
            break
    page.locator(".st-key-sb_start_pause button").click()  # Pause
    page.locator(".st-key-sb_start_pause button").filter(has_text="Resume").wait_for(timeout=30_000)
    # pausing reruns the page, so the slider lists the snapshots kept until now; wait until the step holds
    now_step = -1
    for _ in range(120):
        page.wait_for_timeout(500)
        step = model_step(page)
        if step == now_step:
            break
        now_step = step
    assert now_step >= 40
    now_values = page.evaluate(TOPK_VALUES)
    thumb = page.locator(".st-key-rewind_slider_predict input[type='range']")
    thumb.focus()
    thumb.press("Home")  # the first kept snapshot: step 0
    page.get_by_text("Showing the model as it was at").wait_for(timeout=30_000)
    banner = page.get_by_text("Showing the model as it was at").inner_text()
    assert "step 0" in banner and f"step {now_step:,}" in banner
    page.wait_for_function(f"() => ({TOPK_VALUES})() !== {json.dumps(now_values)}", timeout=30_000)
    no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "predict-rewind-browser.png"), full_page=True)
    thumb.focus()
    thumb.press("End")  # back to now
    page.get_by_text("Model at step").first.wait_for(timeout=30_000)
    assert page.evaluate(TOPK_VALUES) == now_values
    no_exception(page)

