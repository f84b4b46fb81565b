"""AppTest: the Lecture page. Every chapter: its text, its figures, the chapter in the URL, and a set-up button
that puts the session's run into the chapter's demo and starts it. Previous/Next walk the chapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import send_widget_state
from streamlit.testing.v1 import AppTest

from charviz import i18n, lecture

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/lecture.py"


def open_lecture(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def url_chapter(at) -> str:
    v = at.query_params["chapter"]
    return v[-1] if isinstance(v, list) else v


def ws(at):
    return at.session_state["charviz_workspace"]


def test_the_lecture_is_right_after_home():
    from charviz.ui.pages import PAGES

    assert [path for path, _, _ in PAGES][:3] == ["pages/home.py", "pages/lecture.py", "pages/train.py"]


@pytest.mark.parametrize("n", range(1, lecture.LAST + 1))
def test_each_chapter_opens_from_the_url_and_its_button_sets_up_and_starts_the_demo(n):
    at = open_lecture(chapter=str(n))
    assert at.header[0].value == i18n.t(f"lecture.c{n}_title")
    assert url_chapter(at) == str(n)
    body = i18n.t(f"lecture.c{n}_body", p10="", p20="", p100="", half20="", k="")
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    assert 1 <= len(paragraphs) <= 3
    ch = lecture.chapter(n)
    assert not ws(at).run.running
    at.button(key=f"lecture_setup_{n}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    w = ws(at)
    assert (w.source.name, w.source.k) == (ch.setup.corpus, ch.setup.k) and w.config == ch.setup.config
    if ch.race is None:
        assert w.run.running
        for _ in range(5):  # a few real training steps, then the figures of the trained model
            w.run.step_once()
    else:  # chapter 7: the race trains (its three models), the session's own run waits
        race = at.session_state["charviz_race"].race
        assert race.running and not w.run.running and race.settings == ch.race
        race.step_once()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) + len(at.metric) - 4 >= 1  # (the sidebar has 4 metrics)
    assert not [i for i in at.info if i.value == i18n.t("lecture.not_this_demo")]
    assert not [i for i in at.info if "needs" in i.value]


def test_chapter_6_numbers_come_from_the_one_neuron_model():
    at = open_lecture(chapter="6")
    text = " ".join(m.value for m in at.markdown)
    assert f"{3**10:,}" in text and f"{3**20:,}" in text and "5.15e+47" in text


def test_chapter_7_races_rnn_lstm_and_gru_and_a_set_up_elsewhere_pauses_the_race():
    at = open_lecture(chapter="7")
    at.button(key="lecture_setup_7").click().run()
    race = at.session_state["charviz_race"].race
    assert race.running
    names = {tr["name"] for c in at.get("plotly_chart") for tr in json.loads(c.proto.spec)["data"]}
    assert {"RNN", "LSTM", "GRU"} <= {n.split()[0].upper() for n in names if n}
    nav_button(at, "lecture_next_top").click().run()
    at.button(key="lecture_setup_8").click().run()  # one thing trains at a time
    assert not race.running and ws(at).run.running


def test_previous_and_next_walk_the_chapters_and_keep_the_url():
    at = open_lecture()
    assert url_chapter(at) == "1" and nav_button(at, "lecture_prev_top").disabled
    for n in range(2, lecture.LAST + 1):
        nav_button(at, "lecture_next_top").click().run()
        assert url_chapter(at) == str(n) and at.header[0].value == i18n.t(f"lecture.c{n}_title")
    assert nav_button(at, "lecture_next_bottom").disabled
    nav_button(at, "lecture_prev_bottom").click().run()
    assert url_chapter(at) == str(lecture.LAST - 1)


@pytest.mark.parametrize("bad", ["0", "9", "six"])
def test_a_bad_chapter_says_so_and_shows_chapter_1(bad):
    at = open_lecture(chapter=bad)
    assert at.header[0].value == i18n.t("lecture.c1_title") and url_chapter(at) == "1"
    assert any(bad in w.value for w in at.warning)


def test_the_lecture_in_korean():
    at = open_lecture(chapter="3", lang="ko")
    assert at.header[0].value == i18n.t("lecture.c3_title", lang="ko")
    assert at.button(key="lecture_setup_3").label == "이 데모 준비하기"


def nav_button(at, name: str):
    """The Lecture's Previous or Next button ("lecture_next_top" ...), keyed by the chapter it was drawn on."""
    found = [b for b in at.button if b.key is not None and b.key.startswith(f"{name}_")]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


@pytest.mark.parametrize("name, start, want", [("lecture_next_top", 3, 4), ("lecture_next_bottom", 3, 4),
                                               ("lecture_prev_top", 5, 4), ("lecture_prev_bottom", 5, 4)])
def test_a_nav_click_delivered_twice_moves_one_chapter(name, start, want):
    """Streamlit 1.67 can deliver a click again within the same interaction (tests/conftest.py send_widget_state):
    a Next clicked on chapter 3 goes to 4, never 5 (with one key for every chapter, the replay called what the
    chapter-4 drawing registered: go to 5)."""
    at = open_lecture(chapter=str(start))
    button = nav_button(at, name)
    button.click().run()
    assert url_chapter(at) == str(want)
    send_widget_state(at, button.id, trigger_value=True)
    assert not at.exception, [e.value for e in at.exception]
    assert url_chapter(at) == str(want) and at.header[0].value == i18n.t(f"lecture.c{want}_title")
