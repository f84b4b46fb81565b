"""Browser: a class opening the address at once on a new server, and state that never goes stale.

- Several tabs opening page URLs at the same moment on a freshly started server must all get the app's
  navigation and a working sidebar (each session's first run starts in Streamlit's old-style pages/ mode;
  only the first to clear it used to be fixed).
- Reset while paused (no live timer on the Train page) must update the Train page and close its popover.
"""

from __future__ import annotations

import pytest
from conftest import running_server
from playwright.sync_api import expect
from test_browser_train import (
    TIMEOUT_MS,
    no_exception,
    shot,
    sidebar_button,
    sidebar_step,
    wait_idle,
    wait_step_above,
)

pytestmark = pytest.mark.browser

PAGES = ["train", "train", "hello", "predict", "gradients", ""]


@pytest.fixture
def fresh_server():
    with running_server("streamlit-server-class.log") as url:
        yield url


def test_a_class_opening_page_urls_at_once_all_get_the_app(fresh_server, browser):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in PAGES]
    try:
        tabs = [ctx.new_page() for ctx in contexts]
        for tab, path in zip(tabs, PAGES, strict=True):  # all requests go out before any page is drawn
            tab.goto(f"{fresh_server}/{path}", wait_until="commit")
        for i, (tab, path) in enumerate(zip(tabs, PAGES, strict=True)):
            nav = tab.locator("[data-testid='stSidebarNav']")
            nav.get_by_role("link", name="Train", exact=True).wait_for(timeout=60_000)
            sidebar_button(tab, "Start").wait_for(timeout=60_000)
            names = [a.inner_text().split()[-1] for a in nav.get_by_role("link").all()]  # after the icon
            assert "app" not in names and "Home" in names and "Gradients" in names, (path, names)
            no_exception(tab)
            shot(tab, f"class-{i}-{path or 'home'}")
        # and each tab's sidebar works: Start trains that tab's model
        tab = tabs[0]
        sidebar_button(tab, "Start").click()
        tab.wait_for_function(
            """() => document.querySelector('[data-testid="stSidebar"]').innerText.includes('Pause')""",
            timeout=60_000)
        wait_step_above(tab, 3, timeout_ms=60_000)
    finally:
        for ctx in contexts:
            ctx.close()


def test_reset_while_paused_updates_the_train_page_and_closes_the_popover(app_server, page):
    page.goto(f"{app_server}/train")
    wait_idle(page)
    for _ in range(3):
        # a click on the Step button of the drawing being replaced is ignored (it is keyed by the clicks acted on,
        # charviz/ui/sidebar.py), and while the sidebar is redrawn both are there: wait for the one
        wait_idle(page)
        expect(sidebar_button(page, "Step")).to_have_count(1, timeout=TIMEOUT_MS)
        n = sidebar_step(page)
        sidebar_button(page, "Step").click()
        page.wait_for_function(
            """n => { for (const m of document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stMetric"]'))
                        if (m.innerText.startsWith('step'))
                          return parseInt(m.querySelector('[data-testid="stMetricValue"]').innerText) > n;
                      return false; }""", arg=n, timeout=TIMEOUT_MS)
    main = page.locator("[data-testid='stMain']")
    main.get_by_role("heading", name="step 3", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    # the Reset popover by its label (the sidebar has other popovers, e.g. "watch a shared run")
    page.locator("[data-testid='stSidebar'] [data-testid='stPopover'] button").filter(has_text="Reset").first.click()
    confirm = page.get_by_role("button", name="Yes, reset the model")
    confirm.click()
    main.get_by_text("not started yet", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    assert sidebar_step(page) == 0
    assert main.get_by_role("heading", name="step 3", exact=False).count() == 0
    confirm.wait_for(state="hidden", timeout=TIMEOUT_MS)  # the popover closed: Start is not covered
    no_exception(page)


def test_you_changed_counts_the_steps_as_training_goes_on(app_server, page):
    page.goto(app_server)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Train", exact=True).click()
    page.get_by_text("You changed", exact=False).or_(page.locator("[data-testid='stMain'] [data-testid='stSlider']")
                                                      ).first.wait_for(timeout=60_000)
    sidebar_button(page, "Start").click()
    wait_step_above(page, 3, timeout_ms=60_000)
    main = page.locator("[data-testid='stMain']")
    # ask for another hidden size: the page warns what a reset would throw away
    slider = main.locator("[data-testid='stSlider']").filter(has_text="hidden size")
    slider.get_by_role("slider").focus()
    page.keyboard.press("ArrowRight")
    warning = main.locator("[data-testid='stAlert']").filter(has_text="You changed")
    warning.wait_for(timeout=TIMEOUT_MS)

    def count() -> int:
        import re
        return int(re.search(r"trained for ([\d,]+) steps", warning.inner_text()).group(1).replace(",", ""))

    first = count()
    page.wait_for_function(
        """n => { for (const a of document.querySelectorAll('[data-testid="stMain"] [data-testid="stAlert"]')) {
                    const m = a.innerText.match(/trained for ([\\d,]+) steps/);
                    if (m) return parseInt(m[1].replace(/,/g, '')) > n; } return false; }""",
        arg=first, timeout=60_000)
    assert count() > first
    sidebar_button(page, "Pause").click()
    sidebar_button(page, "Resume").wait_for(timeout=TIMEOUT_MS)
    no_exception(page)
