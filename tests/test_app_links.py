"""AppTest: opening a demo link sets the session's run up; bad parameters get a message; the Train page's link."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from charviz import links
from charviz.config import TrainConfig
from tests.test_app_train import app, start_pause, workspace

open_link, ws = app, workspace  # a demo link is the app opened with query parameters


def test_a_link_sets_the_run_up_and_waits_for_start():
    at = open_link(text="long-range", k="30", cell="lstm", hidden="64", window="64", batch="16", opt="rmsprop",
                   lr="0.01", clip="1", carry="0", seed="7")
    w = ws(at)
    assert (w.source.name, w.source.k) == ("long-range", 30)
    assert w.config == TrainConfig(cell="lstm", hidden_size=64, seq_len=64, batch_size=16, optimizer="rmsprop",
                                   lr=0.01, clip=1.0, carry_hidden=False, seed=7)
    assert not w.run.running and w.run.snapshot().step == 0
    assert not at.warning
    at.switch_page("pages/train.py").run()  # the Train page's widgets show the link's setup
    assert at.selectbox(key="set_cell").value == "lstm" and at.number_input(key="set_seq_len").value == 64
    assert at.toggle(key="set_carry").value is False and at.select_slider(key="set_lr").value == 0.01
    at.run()
    assert ws(at).generation == w.generation  # applied once, not again on every run


def test_autostart_starts_the_run():
    at = open_link(cell="gru", autostart="1")
    w = ws(at)
    assert w.config.cell == "gru" and w.run.running
    assert start_pause(at).label == "Pause"


def test_bad_and_unknown_parameters_are_listed_and_the_rest_applies():
    at = open_link(cell="transformer", hidden="99999", lr="fast", colour="red", seed="3")
    w = ws(at)
    assert w.config.cell == "rnn" and w.config.hidden_size == TrainConfig().hidden_size and w.config.seed == 3
    text = " ".join(x.value for x in at.warning)
    for bit in ("cell=transformer", "hidden=99999", "lr=fast", "colour=red", "out of range", "not a number"):
        assert bit in text, bit
    assert "seed" not in text
    at.button(key="link_dismiss").click().run()
    assert not at.warning


def test_page_inputs_reach_their_pages():
    at = open_link("pages/predict.py", prefix="hel", gtext="hello hello")
    assert at.text_input(key="predict_prefix").value == "hel"
    at.switch_page("pages/gradients.py").run()
    assert not at.exception and at.text_area(key="g_text").value == "hello hello"


def test_the_train_page_offers_a_link_that_opens_the_same_setup():
    at = open_link("pages/train.py", text="long-range", cell="lstm", window="64", lang="ko")
    code = [c.value for c in at.code if "text=long-range" in c.value]
    assert len(code) == 1
    params = dict(parse_qsl(urlsplit(code[0]).query))
    assert params == {"text": "long-range", "cell": "lstm", "window": "64", "lang": "ko"}
    setup, problems = links.parse(params)
    assert problems == [] and setup.config == ws(at).config


def test_a_pasted_text_gets_no_link_and_says_why():
    at = open_link("pages/train.py")
    at.radio(key="set_kind").set_value("pasted").run()
    at.text_area(key="set_paste").set_value("the cat sat on the mat, the dog sat on the log").run()
    assert ws(at).source.kind == "pasted"
    assert not [c for c in at.code if "?" in c.value]
    assert any("not put in a URL" in i.value for i in at.info)
