"""Browser: the first seconds of a new server (its own `streamlit run app.py`, not the shared one).

A tab reloaded on a page URL after a server restart is that server's very first request: it must get the
app's navigation and sidebar (not Streamlit's bare `pages/` listing), and its Start button, pressed at once,
while torch may still be loading in the background (charviz.ui.boot), must start the real training run.
"""

from __future__ import annotations

import pytest
from conftest import running_server
from test_browser_train import TIMEOUT_MS, no_exception, shot, sidebar_button, sidebar_step, wait_step_above

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh_server():
    with running_server("streamlit-server-fresh.log") as url:
        yield url


def test_first_request_on_a_page_url_gets_the_app_and_starts_at_once(fresh_server, page):
    page.goto(f"{fresh_server}/hello")  # the server's first script run
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_role("link", name="Hello", exact=True).wait_for(timeout=TIMEOUT_MS)  # app.py's page titles
    page.get_by_role("heading", name="hello, step by step").wait_for(timeout=TIMEOUT_MS)
    for name in ("Home", "Train", "Predict", "Gradients"):
        assert nav.get_by_role("link", name=name, exact=True).count() == 1
    assert nav.get_by_role("link", name="app", exact=True).count() == 0  # not the bare pages/ listing

    start = sidebar_button(page, "Start")
    start.wait_for(timeout=TIMEOUT_MS)
    assert sidebar_step(page) == 0
    start.click()  # as soon as it is there
    wait_step_above(page, 5, timeout_ms=60_000)
    assert "training" in page.locator("[data-testid='stSidebar']").inner_text()
    no_exception(page)
    shot(page, "fresh-server-hello")
    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
