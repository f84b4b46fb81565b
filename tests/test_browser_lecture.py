"""Browser: a demo link opened as a first visit sets the run up and trains it; the Lecture page's Previous/Next
walk the chapters (the chapter in the URL); the language switch turns the page Korean, and Chromium draws the
Hangul glyphs (not tofu boxes: a CJK font is installed, see .ci/run)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from charviz import i18n, lecture
from tests.test_browser_train import no_exception, shot, sidebar_button, wait_step_above

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
FIRST_PAGE_MS = 180_000  # a new server loads torch in its first seconds; a loaded CI machine is slow
LINK = "lecture?chapter=1&text=long-range&k=8&cell=gru&hidden=32&window=16&autostart=1&colour=red"

GLYPHS = """text => {
  // a string drawn in the page's font vs. codepoints no font has: equal pixels mean tofu boxes
  const font = getComputedStyle(document.querySelector('h2')).fontFamily;
  const draw = s => { const c = document.createElement('canvas'); c.width = 200; c.height = 40;
    const g = c.getContext('2d'); g.font = '24px ' + font; g.fillText(s, 2, 30);
    return Array.from(g.getImageData(0, 0, 200, 40).data).join(','); };
  const missing = draw('\\u0378\\u0379\\u0378');
  return draw(text) !== missing && draw(text) !== draw('');
}"""


def wait_idle(page, timeout_ms: int = TIMEOUT_MS) -> None:
    """The page is drawn (the sidebar's numbers are there) and Streamlit is not running a script."""
    page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stMetric']", timeout=timeout_ms)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def nav_button(page, name: str):
    """The Lecture's `name` button ("lecture_next_top" ...) once its container holds one: the buttons are keyed
    by their chapter (charviz/ui/lecture.py), and while a slow browser redraws, the previous chapter's may
    still be there beside the new one (a click on it names no button of the new drawing)."""
    page.wait_for_function(f"() => document.querySelectorAll('.st-key-{name} button').length === 1",
                           timeout=TIMEOUT_MS)
    return page.locator(f".st-key-{name} button")


def chapter_in_url(page) -> str:
    return parse_qs(urlsplit(page.url).query).get("chapter", [""])[0]


def header(page) -> str:
    return page.locator("[data-testid='stMain'] h2").first.inner_text()


def test_demo_link_lecture_walk_and_korean(page, app_server):
    page.goto(f"{app_server}/{LINK}", timeout=FIRST_PAGE_MS)
    wait_idle(page, FIRST_PAGE_MS)
    no_exception(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text(re.compile(r"long-range \(k=8\).*GRU 32")).wait_for(timeout=TIMEOUT_MS)
    step = wait_step_above(page, 0, TIMEOUT_MS)  # autostart=1: it trains without a click
    wait_step_above(page, step, TIMEOUT_MS)  # and keeps training
    body = page.locator("[data-testid='stMain']")
    body.get_by_text("colour=red").wait_for(timeout=TIMEOUT_MS)  # the unknown parameter is named
    assert header(page) == i18n.t("lecture.c1_title")
    shot(page, "lecture-link")
    # the chapters are walked WHILE the run trains: the live fragments redraw every second, and each click moves
    # exactly one chapter (a click delivered twice once went two; the buttons are keyed by their chapter)
    for n in range(2, lecture.LAST + 1):
        nav_button(page, "lecture_next_top").click()
        page.wait_for_function("t => document.querySelector('[data-testid=\"stMain\"] h2')?.innerText === t",
                               arg=i18n.t(f"lecture.c{n}_title"), timeout=TIMEOUT_MS)
        page.wait_for_function(f"() => new URL(location.href).searchParams.get('chapter') === '{n}'",
                               timeout=TIMEOUT_MS)
        no_exception(page)
        assert sidebar_button(page, "Pause").count() == 1, "the run must train on while the chapters change"
    nav_button(page, "lecture_prev_bottom").click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('chapter') === '7'", timeout=TIMEOUT_MS)
    page.wait_for_function("t => document.querySelector('[data-testid=\"stMain\"] h2')?.innerText === t",
                           arg=i18n.t("lecture.c7_title"), timeout=TIMEOUT_MS)
    step = wait_step_above(page, step, TIMEOUT_MS)  # it trained all along
    sidebar.locator(".st-key-sb_start_pause button").click()
    sidebar.get_by_text("paused").wait_for(timeout=TIMEOUT_MS)

    sidebar.get_by_text("한국어", exact=True).click()
    ko = i18n.t("lecture.c7_title", lang="ko")
    page.wait_for_function("t => document.querySelector('[data-testid=\"stMain\"] h2')?.innerText === t",
                           arg=ko, timeout=TIMEOUT_MS)
    page.wait_for_function("() => new URL(location.href).searchParams.get('lang') === 'ko'", timeout=TIMEOUT_MS)
    assert chapter_in_url(page) == "7"
    assert page.evaluate(GLYPHS, ko), "Hangul drawn as tofu: no CJK font"
    no_exception(page)
    shot(page, "lecture-korean")
