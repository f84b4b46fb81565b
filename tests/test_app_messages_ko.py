"""AppTest: messages that used to stay English in Korean mode, now in the reader's language on the page, and the
Lecture's "Set up this demo" under a per-session budget tighter than the default (refused, nothing lost)."""

from __future__ import annotations

import re

import pytest
import torch

from charviz import i18n
from charviz.race import Race, RaceSettings
from tests.test_app_classroom import sidebar_text, tick_until
from tests.test_app_lecture import nav_button
from tests.test_app_train import app, start_pause, workspace

HANGUL = re.compile(r"[\uac00-\ud7a3]")
TIGHT_MB = "50"  # the session's default model (~21 MB) fits; chapter 8 (~88 MB) and the race (~65 MB) do not


@pytest.fixture
def reader(monkeypatch):
    """reader(lang): AppTest formats a widget's options (format_func -> t()) in the test's thread, where the
    language is the default: make that the session's language too (as tests/test_app_limits.py's `ko`)."""
    return lambda lang: monkeypatch.setattr(i18n, "DEFAULT_LANGUAGE", lang)


def _break(run) -> None:
    """One real step that the trainer refuses (a non-finite weight): the run pauses itself with an error."""
    with torch.no_grad():
        run.trainer.model.rnn.weight_hh_l0[0, 0] = float("inf")
    stats = run.step_once()
    assert not stats.applied and run.error


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_refused_step_reads_in_the_pages_language(lang, reader):
    reader(lang)
    at = app("pages/train.py", lang=lang)
    _break(workspace(at).run)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    paused = i18n.t("train.paused_itself", lang=lang, step="0", error="").split(":")[0]
    assert any(e.startswith(paused) for e in errors), errors
    page_error = next(e for e in errors if e.startswith(paused))
    side = [e.value for e in at.sidebar.error]
    if lang == "ko":
        assert "스텝이 거부되었습니다: " in page_error and "step refused" not in page_error
        assert side and "스텝이 거부되었습니다" in side[0] and not re.search(r"\b(step|refused|the)\b", side[0])
        status = [m.value for m in at.markdown if m.value.startswith("### 스텝 0 · 일시 정지: ")]  # (status.describe)
        assert status and "스텝이 거부되었습니다" in status[0]
    else:
        assert "step refused: " in page_error and not HANGUL.search(page_error)
        assert side and "step refused" in side[0]


def test_the_same_error_follows_a_language_switch():
    """Kept by key and rendered when drawn: switching to Korean shows the error already there in Korean."""
    at = app()  # (Home: the sidebar says it on every page)
    _break(workspace(at).run)
    at.run()
    assert "step refused" in at.sidebar.error[0].value
    at.button_group(key="lang_switch").set_value("ko").run()
    assert not at.exception
    assert "스텝이 거부되었습니다" in at.sidebar.error[0].value


def _korean_watcher(code: str):
    """A new session opening ?watch=CODE&lang=ko, drawn once (no exception)."""
    from streamlit.testing.v1 import AppTest

    from tests.test_app_train import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["watch"] = code
    at.query_params["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_korean_watcher_reads_an_english_owners_error_in_korean(reader):
    from charviz.share import default_registry
    from tests.test_core_share import small_run

    owner_run = small_run(2)  # (an English session's run: its error is kept as key and parameters)
    _break(owner_run)
    assert str(owner_run.error).startswith("step refused: ")
    code = default_registry().share(owner_run, {"label": "hello", "sample": "hello"})
    reader("ko")
    try:
        at = _korean_watcher(code)
        text = sidebar_text(at)
        assert "소유자의 학습이 스스로 일시 정지했습니다: 스텝이 거부되었습니다: " in text, text
        assert "step refused" not in text
    finally:
        default_registry().unshare(code)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_training_process_that_did_not_start_is_said_in_the_readers_language(monkeypatch, lang, reader):
    from charviz.worker import WorkerDied

    reader(lang)
    at = app(lang=lang)
    run = workspace(at).run

    def no_worker():
        raise WorkerDied("errors.worker_no_start")

    monkeypatch.setattr(run, "start", no_worker)
    start_pause(at).click().run()
    assert not at.exception and not run.running
    got = [e.value for e in at.sidebar.error]
    want = i18n.t("classroom.start_failed", lang=lang, error=i18n.t("errors.worker_no_start", lang=lang))
    assert want in got, got
    if lang == "ko":
        assert got == ["학습을 시작할 수 없습니다: 학습 프로세스가 시작되지 않았습니다 (서버 로그를 보세요)."]


def test_the_cap_message_in_korean(monkeypatch, reader):
    from charviz.cap import default_cap

    reader("ko")
    class Busy:
        running = True

    limit = default_cap().training() + 1
    monkeypatch.setenv("CHARVIZ_MAX_TRAINING", str(limit))
    busy = Busy()
    default_cap().register(busy)
    try:
        at = app(lang="ko")
        start_pause(at).click().run()
        assert not workspace(at).run.running
        text = sidebar_text(at)
        assert f"**{limit}개 중 {limit}개**" in text and "runs are training" not in text
    finally:
        default_cap().unregister(busy)


# ---------------------------------------------------------------------------------------------------------
# the Lecture's "Set up this demo" under a tight per-session budget


def _lecture(lang: str, chapter: int):
    at = app("pages/lecture.py", lang=lang)
    at.session_state["lecture_chapter"] = chapter
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_demo_over_a_tight_budget_is_refused_with_the_reason_and_nothing_is_lost(monkeypatch, lang, reader):
    reader(lang)
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", TIGHT_MB)
    at = _lecture(lang, 8)
    ws = workspace(at)
    for _ in range(3):  # a model with some training: what a refusal must not throw away
        ws.run.step_once()
    before = (ws.run, ws.run.trainer.steps, ws.source, ws.config)
    at.button(key="lecture_setup_8").click().run()
    assert not at.exception, [e.value for e in at.exception]
    w = workspace(at)
    assert (w.run, w.run.trainer.steps, w.source, w.config) == before and not w.run.running
    assert not at.success  # no "Set up and training"
    refusal = [e.value for e in at.error if e.value.startswith(i18n.t("demo.refused", lang=lang, reason="",
                                                                         limits="").split(":")[0])]
    assert len(refusal) == 1, [e.value for e in at.error]
    if lang == "ko":
        assert "LSTM 128" in refusal[0] and "MB" in refusal[0] and "would need" not in refusal[0]
        assert "이 데모를 준비하지 않았습니다: " in refusal[0] and "최대 50 MB" in refusal[0]
    else:
        assert "This demo was not set up: LSTM 128 with window 64 and batch 32" in refusal[0]
        assert "at most 50 MB" in refusal[0] and not HANGUL.search(refusal[0])
    toasts = [x.value for x in at.toast]  # said once where the eye is too (the button may be at the bottom)
    assert toasts == [i18n.t("demo.refused_toast", lang=lang)]
    at.run()
    assert not at.toast and len([e for e in at.error if "LSTM 128" in e.value]) == 1  # the box stays, once
    # a chapter that fits clears the message and sets up as always
    nav_button(at, "lecture_prev_top").click().run()
    assert not [e for e in at.error if "LSTM 128" in e.value]
    at.button(key="lecture_setup_7").click().run()  # chapter 7: the session's LSTM fits, the race's 3 do not
    w = workspace(at)
    assert (w.run, w.run.trainer.steps, w.source, w.config) == before  # the race is checked first
    race_refusal = [e.value for e in at.error if "RNN, LSTM" in e.value]
    assert len(race_refusal) == 1 and (HANGUL.search(race_refusal[0]) is not None) == (lang == "ko")


def test_a_refused_race_keeps_the_sessions_race_and_a_raised_budget_sets_it_up(monkeypatch, reader):
    reader("ko")
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", TIGHT_MB)
    at = _lecture("ko", 7)
    holder = at.session_state["charviz_race"]
    mine = Race(RaceSettings(k=2, seq_len=8, hidden_size=8, batch_size=4, lines=200))
    mine.step_once()
    holder.race = mine
    at.button(key="lecture_setup_7").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert holder.race is mine and mine.state != "stopped" and mine.steps == 1  # kept, not stopped
    shown = [e.value.replace("\\", "") for e in at.error]  # (Markdown escapes of the library's text undone)
    want = "이 데모를 준비하지 않았습니다: 경주 (창 64, 배치 32, k = 30인 RNN, LSTM, GRU 64)에는 약 65 MB"
    assert any(e.startswith(want) and "(한도 50 MB)" in e for e in shown), shown
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", "300")  # the default again: the same click sets it up
    at.button(key="lecture_setup_7").click().run()
    assert not at.exception
    race = holder.race
    assert race is not mine and race.settings.k == 30 and race.running and mine.state == "stopped"
    race.pause()
    assert not [e for e in at.error if "이 데모를 준비하지 않았습니다" in e.value]
    assert at.success and "경주" in at.success[0].value
    tick_until(at, lambda: not race.running, "the race paused")


def test_a_korean_watcher_reads_an_english_owners_text_label_in_korean(reader):
    """The owner (English) trains on an uploaded file and shares; the label travels as key and parameters, so a
    Korean watcher reads "올린 파일: poem.txt" where the owner reads "upload: poem.txt"."""
    from charviz.escape import md
    from charviz.share import default_registry

    owner = app("pages/train.py", lang="en")
    owner.radio(key="set_kind").set_value("upload").run()
    owner.file_uploader(key="set_upload").upload("poem.txt", b"roses are red\nviolets are blue\n" * 20,
                                                  "text/plain").run()
    assert not owner.exception and workspace(owner).source.kind == "upload"
    owner.button(key="sb_share").click().run()
    code = default_registry().code_of(workspace(owner).run)
    assert code is not None
    assert "text: **upload: poem.txt**" in "\n".join(c.value for c in owner.sidebar.caption)
    reader("ko")
    try:
        at = _korean_watcher(code)
        captions = "\n".join(c.value for c in at.sidebar.caption)
        assert f"텍스트: **{md(f'공유: 올린 파일: poem.txt ({code})')}**" in captions, captions
        assert "upload" not in captions and "shared" not in captions
        at.switch_page("pages/train.py").run()  # the Train page's "now training" line too
        assert not at.exception
        page = "\n".join(c.value for c in at.caption)
        assert "올린 파일: poem.txt" in page and "upload:" not in page, page
    finally:
        default_registry().unshare(code)


# Python's and torch's own words (English only) that must not be what a Korean reader is told
PYTHON_WORDS = re.compile(r"Error\b|Traceback|codec|can't|cannot|PytorchStreamReader|nan\b|invalid|unexpected")


def _korean_sentence(text: str) -> str:
    assert HANGUL.search(text), text
    assert not PYTHON_WORDS.search(text), text
    return text


@pytest.mark.parametrize(("name", "data", "want"), [
    ("notes.txt", "café crème, naïve".encode("latin-1") * 20, "UTF-8 텍스트가 아닙니다"),
    ("model.pt", "truncated", "잘렸거나 손상되었습니다"),
    ("model.pt", "flipped", "손상되었습니다"),
])
def test_a_corrupt_upload_is_explained_in_korean(name, data, want, reader):
    """A text file in another encoding, a checkpoint whose download was cut short, one with a damaged byte: the
    reader is told what is wrong in Korean, with no exception's text in the sentence."""
    from charviz.checkpoint import to_bytes
    from charviz.train import TrainConfig, Trainer

    reader("ko")
    at = app("pages/train.py", lang="ko")
    if name.endswith(".txt"):
        at.radio(key="set_kind").set_value("upload").run()
        at.file_uploader(key="set_upload").upload(name, data, "text/plain").run()
    else:
        good = to_bytes(Trainer("hello world " * 50, TrainConfig(hidden_size=16)))
        if data == "truncated":
            data = good[: len(good) // 2]
        else:  # one byte of the weights changed (the archive's checksums catch it)
            data = bytearray(good)
            data[len(good) // 2] ^= 0xFF
            data = bytes(data)
        at.file_uploader(key="ckpt_upload").upload(name, data).run()
        at.button(key="ckpt_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and want in errs[0], errs
    _korean_sentence(errs[0].replace(name.replace(".", "\\."), "").replace(name, ""))


def test_a_nan_loss_is_explained_in_korean(reader):
    """A weight that became NaN: the step is refused (loss not finite) and the run pauses; the Train page and the
    sidebar say so in Korean."""
    reader("ko")
    at = app("pages/train.py", lang="ko")
    run = workspace(at).run
    with torch.no_grad():
        run.trainer.model.rnn.weight_hh_l0[0, 0] = float("nan")
    stats = run.step_once()
    assert not stats.applied and stats.refusal == "errors.refused_loss"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = [e.value for e in at.main.error]
    side = [e.value for e in at.sidebar.error]
    assert page and "스텝이 거부되었습니다: 손실이 유한한 값이 아닙니다" in page[0], page
    assert side and "스텝이 거부되었습니다: 손실이 유한한 값이 아닙니다" in side[0], side
    for text in page + side:
        _korean_sentence(text)


def test_an_exception_in_training_is_explained_in_korean_with_its_text_as_a_detail(reader):
    """A step that raised (torch's own English message): the sentence is Korean; the exception's type and text
    are a secondary caption ("기술적 세부 사항: ..."), never the message."""
    import time

    reader("ko")
    at = app("pages/train.py", lang="ko")
    run = workspace(at).run
    torch_words = "mat1 and mat2 shapes cannot be multiplied (4x65 and 64x128)"

    def boom():
        raise RuntimeError(torch_words)

    run.trainer.step = boom
    run.start()
    t0 = time.monotonic()
    while not run.error:
        assert time.monotonic() - t0 < 30, "the run did not stop"
        time.sleep(0.02)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    want = "학습이 멈췄습니다: 프로그램에서 예상하지 못한 오류가 발생했습니다"
    page = [e.value for e in at.main.error]
    side = [e.value for e in at.sidebar.error]
    assert page and want in page[0] and side and want in side[0], (page, side)
    for text in page + side:
        _korean_sentence(text)
        assert "mat1" not in text
    detail = "기술적 세부 사항: RuntimeError: mat1 and mat2 shapes cannot be multiplied"
    assert detail in "\n".join(c.value for c in at.main.caption)
    assert detail in "\n".join(c.value for c in at.sidebar.caption)
