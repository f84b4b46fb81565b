"""AppTest, issue 13 (+ the bad-files part of 12): the budget on the Train page, hostile checkpoints, and
messages that say what happened to what the user typed, showing it as text."""

from __future__ import annotations

import io
import json
import re

import pytest
import torch
from streamlit.testing.v1 import AppTest

from charviz import i18n
from charviz.checkpoint import to_bytes
from charviz.escape import md
from charviz.train import TrainConfig, Trainer
from tests.test_app_train import app as open_app
from tests.test_app_train import workspace

TRAIN = "pages/train.py"


def app(page: str | None = TRAIN, **query: str) -> AppTest:
    return open_app(page, **query)


def alerts(at, kind: str) -> str:
    return "\n".join(a.value for a in getattr(at, kind))


def test_limits_are_shown_next_to_the_model_widgets_with_the_estimate():
    at = app()
    captions = "\n".join(c.value for c in at.caption)
    assert "Limits on this server" in captions and "300 MB" in captions and "500 ms per training step" in captions
    assert "These settings: about" in captions


def test_settings_over_the_budget_are_refused_with_the_estimate():
    at = app()
    run = workspace(at).run
    at.selectbox(key="set_cell").set_value("lstm").run()
    at.select_slider(key="set_hidden").set_value(512).run()
    at.number_input(key="set_seq_len").set_value(512).run()
    at.number_input(key="set_batch").set_value(512).run()
    assert not at.exception
    err = alerts(at, "error")
    assert "Not applied" in err and "MB of memory" in err and "the limit is 300 MB" in err
    ws = workspace(at)
    assert ws.config.batch_size * ws.config.seq_len * ws.config.hidden_size < 512**3  # never built
    assert ws.run is run or ws.config.seq_len < 512
    at.number_input(key="set_batch").set_value(4).run()  # back within the budget: applied (nothing trained)
    assert not at.error and workspace(at).config.batch_size == 4


def _hostile(**changes) -> bytes:
    tr = Trainer("hello" * 200, TrainConfig(hidden_size=16))
    payload = torch.load(io.BytesIO(to_bytes(tr)), weights_only=True)
    payload["config"].update(changes)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


@pytest.mark.parametrize("changes", [{"seed": 2**70}, {"hidden_size": 2**40}, {"hidden_size": 2e40},
                                     {"hidden_size": 16_384}, {"seq_len": 1000}, {"batch_size": 100_000},
                                     {"seed": 2**31}])
def test_hostile_checkpoint_configs_get_a_message_and_leave_the_session_alone(changes):
    at = app()
    at.file_uploader(key="ckpt_upload").upload("evil.pt", _hostile(**changes)).run()
    at.button(key="ckpt_load").click().run()
    assert not at.exception
    err = alerts(at, "error")
    assert "Cannot load evil.pt" in err and "outside this app" in err, err
    assert not at.warning  # no "You changed ..." inviting to throw the model away
    assert workspace(at).config == TrainConfig()
    assert [m.label for m in at.sidebar.metric][0] == "step"  # the sidebar is still there


def test_random_file_is_called_not_a_checkpoint_never_code():
    at = app()
    at.file_uploader(key="ckpt_upload").upload("random.pt", bytes(range(256)) * 40).run()
    at.button(key="ckpt_load").click().run()
    err = alerts(at, "error")
    assert "not a charviz checkpoint" in err and "weights_only" not in err and "code" not in err


def test_long_paste_is_cut_and_says_so():
    at = app()
    at.radio(key="set_kind").set_value("pasted").run()
    assert not at.error  # "paste your own" before anything was typed: no error
    at.text_area(key="set_paste").input("abcdefghij" * 25_000).run()
    assert not at.exception
    warn = alerts(at, "warning")
    assert "250,000 characters" in warn and "first 200,000" in warn
    assert len(workspace(at).text) == 200_000


def test_nul_characters_one_rule_for_paste_and_upload():
    at = app()
    at.radio(key="set_kind").set_value("pasted").run()
    at.text_area(key="set_paste").input("some text\x00with a NUL").run()
    pasted = alerts(at, "error")
    assert "NUL" in pasted
    at.radio(key="set_kind").set_value("upload").run()
    at.file_uploader(key="set_upload").upload("nul.txt", b"some text\x00with a NUL", "text/plain").run()
    uploaded = alerts(at, "error")
    assert "NUL" in uploaded
    assert pasted.split(":", 1)[1] == uploaded.split(":", 1)[1]  # the same reason, word for word
    assert workspace(at).source.name == "hello"


def test_oversize_upload_reaches_the_server_and_says_why_it_was_not_taken():
    at = app()
    at.radio(key="set_kind").set_value("upload").run()
    assert at.get("file_uploader")[0].proto.max_upload_size_mb > 6  # the uploader does not refuse it silently
    at.file_uploader(key="set_upload").upload("big.txt", b"abc " * 1_500_000, "text/plain").run()
    err = alerts(at, "error")
    assert "6.0 MB" in err and "limit is 5 MB" in err


def test_file_names_are_shown_as_text_not_markdown():
    at = app()
    at.radio(key="set_kind").set_value("upload").run()
    name = "[x](javascript:alert(1)) ![i](http://e.x/a.png).txt"
    at.file_uploader(key="set_upload").upload(name, b"roses are red\nviolets are blue\n", "text/plain").run()
    assert not at.exception and workspace(at).source.name == name
    shown = "\n".join(c.value for c in at.caption) + "\n".join(c.value for c in at.sidebar.caption)
    assert "[x](javascript" not in shown and "![i](" not in shown
    assert md(name) in shown
    at.file_uploader(key="ckpt_upload").upload("**bold** <b>x</b>.pt", b"junk").run()
    at.button(key="ckpt_load").click().run()
    err = alerts(at, "error")
    assert "**bold**" not in err and "<b>" not in err and md("**bold** <b>x</b>.pt") in err


def _predict(prefix: str) -> AppTest:
    at = app("pages/predict.py")
    at.text_input(key="predict_prefix").set_value(prefix).run()
    assert not at.exception
    return at


def test_too_long_prefix_is_cut_and_says_so():
    at = app("pages/predict.py")
    assert at.get("text_input")[0].proto.max_chars >= 10_000  # the box takes the paste
    at.text_input(key="predict_prefix").set_value("hello" * 2000).run()
    warn = alerts(at, "warning")
    assert "10,000 characters" in warn and "last 2,000" in warn


def test_backslash_among_unknown_characters_is_shown():
    at = _predict("he\\\\xl")  # typed: he\\\\xl -> escapes read: he\\xl; the backslash is unknown on hello
    warn = alerts(at, "warning")
    assert "'\\\\'" in warn  # the backslash, escaped for Markdown: it shows (unescaped, Markdown ate it)


def test_markup_in_the_prefix_is_shown_as_text_in_the_chart_title():
    at = app()
    at.radio(key="set_kind").set_value("pasted").run()
    at.text_area(key="set_paste").input("<b>bold</b> and <i>it</i> " * 20).run()
    assert workspace(at).source.kind == "pasted"
    at.switch_page("pages/predict.py").run()
    at.text_input(key="predict_prefix").set_value("a <b>bo").run()
    title = next(json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")
                 if "Next character" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert "<b>" not in title and "&lt;b&gt;bo" in title


def test_demo_link_over_the_budget_is_refused_with_a_message_and_link_values_are_text():
    at = app(None, cell="lstm", hidden="512", window="512", batch="512", zz="[x](javascript:1)")
    warn = alerts(at, "warning")
    assert "more memory or time per step than this server allows" in warn
    assert "would need about" in warn and "the limit is 300 MB" in warn  # the estimate, as the Train page says
    assert "[x](javascript" not in warn and md("[x](javascript:1)") in warn
    assert workspace(at).config == TrainConfig()  # nothing built


# ---------------------------------------------------------------------------------------------------------
# the same refusals in Korean (?lang=ko): the library's messages (charviz.errors) in the session's language

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH_WORDS = re.compile(r"\b(the|would|need|limit|file|text|its|this|not|memory|characters?)\b")


@pytest.fixture
def ko(monkeypatch):
    """AppTest formats a widget's options (format_func -> t()) in the test's thread, outside the session, where
    the language is the default: make that Korean too, so that the Korean session's widgets can be set."""
    monkeypatch.setattr(i18n, "DEFAULT_LANGUAGE", "ko")


def korean(message: str) -> str:
    """The message, checked to be Korean sentences: Hangul, and none of the English messages' words."""
    assert HANGUL.search(message), message
    assert not ENGLISH_WORDS.search(message), message
    return message


def test_korean_budget_refusal_on_the_train_page(ko):
    at = app(lang="ko")
    at.selectbox(key="set_cell").set_value("lstm").run()
    at.select_slider(key="set_hidden").set_value(512).run()
    at.number_input(key="set_seq_len").set_value(512).run()
    err = korean(alerts(at, "error"))
    assert "적용하지 않았습니다" in err and "메모리" in err and "한도 300 MB" in err
    captions = "\n".join(c.value for c in at.caption)
    assert "최대 300 MB, 학습 스텝당 500 ms" in captions  # the limits next to the widgets, in Korean too


@pytest.mark.parametrize(("upload", "expect"), [
    (("evil.pt", _hostile(hidden_size=2**40)), "설정이 이 앱의 한도를 벗어납니다: hidden\\_size 값이"),
    (("big.pt", _hostile(hidden_size=512, seq_len=512, batch_size=512, cell="lstm")), "모델이 이 서버에는 너무 큽니다"),
    (("random.pt", bytes(range(256)) * 40), "charviz 체크포인트가 아닙니다"),
    (("empty.pt", b""), "파일이 비어 있습니다"),
])
def test_korean_checkpoint_refusals(upload, expect, ko):
    at = app(lang="ko")
    at.file_uploader(key="ckpt_upload").upload(*upload).run()
    at.button(key="ckpt_load").click().run()
    assert not at.exception
    err = alerts(at, "error")
    assert expect in err, err
    korean(err.replace(upload[0], ""))
    assert workspace(at).config == TrainConfig()


def test_korean_text_refusals(ko):
    at = app(lang="ko")
    at.radio(key="set_kind").set_value("pasted").run()
    at.text_area(key="set_paste").input("aaaa").run()
    assert "서로 다른 문자가 하나뿐입니다" in korean(alerts(at, "error"))
    at.text_area(key="set_paste").input("some text\x00with a NUL").run()
    assert "NUL 문자" in alerts(at, "error")
    at.radio(key="set_kind").set_value("upload").run()
    at.file_uploader(key="set_upload").upload("big.txt", b"abc " * 1_500_000, "text/plain").run()
    err = alerts(at, "error")
    assert "6.0 MB" in err and "한도는 5 MB" in err
    korean(err.replace("big.txt", ""))
    at.file_uploader(key="set_upload").upload("latin1.txt", "café crème".encode("latin-1"), "text/plain").run()
    assert "UTF-8 텍스트가 아닙니다" in alerts(at, "error")


def test_korean_demo_link_over_the_budget(ko):
    at = app(None, lang="ko", cell="lstm", hidden="512", window="512", batch="512")
    warn = alerts(at, "warning")
    assert "설정을 적용하지 않았습니다" in warn and "MB의 메모리" in warn and "한도 300 MB" in warn, warn
    assert "would need" not in warn


def test_race_over_the_budget_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", "120")
    at = app("pages/race.py")
    assert not at.error  # the default race (about 65 MB) fits
    at.select_slider(key="race_hidden").set_value(128).run()
    at.number_input(key="race_window").set_value(256).run()
    err = alerts(at, "error")
    assert "the race \\(RNN, LSTM and GRU 128 with window 256" in err and "the limit is 120 MB" in err, err
    assert at.button(key="race_apply").disabled and at.button(key="race_reset").disabled
    holder = at.session_state["charviz_race"]
    assert holder.race.settings.hidden_size == 64  # the refused race was never built
    at.number_input(key="race_window").set_value(64).run()  # within the budget again
    assert not at.error and not at.button(key="race_apply").disabled


def test_korean_race_refusal(monkeypatch, ko):
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", "120")
    at = app("pages/race.py", lang="ko")
    at.select_slider(key="race_hidden").set_value(128).run()
    at.number_input(key="race_window").set_value(256).run()
    err = korean(alerts(at, "error"))
    assert "경주" in err and "한도 120 MB" in err
