"""AppTest: the language switch (sidebar and ?lang=), and every page in Korean, without an exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import start_pause
from streamlit.testing.v1 import AppTest

from charviz import i18n
from charviz.ui.pages import available

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = [path for path, _, _ in available()]  # the app's page list (charviz/ui/pages.py)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def app(lang: str | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning")
             for e in getattr(at, kind)]
    parts += [b.label for b in at.button] + [m.label for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_korean(page):
    at = app("ko", page)
    title = at.title[0].value
    assert HANGUL.search(title), title
    assert [m.label for m in at.sidebar.metric] == [i18n.t(k, lang="ko") for k in (
        "status.metric_step", "status.train_bits", "status.chars_per_sec", "status.validation")]
    assert start_pause(at).label == "시작"
    english = app(None, page)
    assert english.title[0].value != title and not HANGUL.search(english.title[0].value)


def test_the_sidebar_switch_changes_the_language_and_the_url():
    at = app()
    switch = at.button_group(key="lang_switch")
    assert switch.value == "en" and "lang" not in at.query_params
    switch.set_value("ko").run()
    assert not at.exception
    assert at.query_params["lang"] == ["ko"] or at.query_params["lang"] == "ko"
    assert at.title[0].value == i18n.t("home.title", lang="ko")
    at.button_group(key="lang_switch").set_value("en").run()
    assert at.title[0].value == i18n.t("home.title", lang="en") and "lang" not in at.query_params


def test_a_link_with_lang_opens_in_that_language_and_keeps_it_on_other_pages():
    at = app("ko")
    assert at.button_group(key="lang_switch").value == "ko"
    at.switch_page("pages/train.py").run()
    assert at.title[0].value == i18n.t("train.title", lang="ko")
    assert HANGUL.search(shown_text(at))


def test_an_unknown_language_in_the_url_falls_back_to_english():
    at = app("xx")
    assert at.title[0].value == i18n.t("home.title", lang="en")
