"""Messages that used to reach a Korean reader in English: a run's own error (a refused step, a step that
raised, a worker process that ended), the training cap, a worker that did not start, the race's thread, the
vocabulary, the Hidden page's regular expression, Redis. Each is kept by key and parameters (charviz.errors)
and rendered when drawn: English by str(), Korean by message(e, "ko"), the same through pickle and Redis."""

from __future__ import annotations

import pickle
import re
import time

import pytest
import torch

from charviz import errors
from charviz.cap import CapReached, TrainingCap
from charviz.data import TextError, Vocab
from charviz.errors import KeyedError, Msg, message
from charviz.hidden import PropertyError, regex_feature
from charviz.race import Race, RaceSettings
from charviz.run import TrainingRun
from charviz.train import TrainConfig, Trainer
from tests.test_core_errors import ENGLISH, HANGUL

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _wait(cond, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.01)


def _both(e) -> tuple[str, str]:
    en, ko = message(e, "en"), message(e, "ko")
    for text in (en, ko):
        assert "{" not in text and "}" not in text, text
    assert not HANGUL.search(en), en
    assert HANGUL.search(ko), ko
    return en, ko


def _nonfinite_trainer() -> Trainer:
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4))
    with torch.no_grad():
        tr.model.rnn.weight_hh_l0[0, 0] = float("inf")
    return tr


def test_a_refused_step_reads_in_both_languages_and_keeps_the_trainers_reason():
    run = TrainingRun(_nonfinite_trainer())
    stats = run.step_once()
    assert not stats.applied and stats.refusal.startswith("errors.refused_")
    assert stats.reason == message(Msg(stats.refusal), "en")  # StepStats.reason: the English words, as before
    en, ko = _both(run.snapshot().error)
    assert en == f"step refused: {stats.reason}"
    assert ko == f"스텝이 거부되었습니다: {message(Msg(stats.refusal), 'ko')}" and not ENGLISH.search(ko)


def test_a_step_that_raises_stops_training_with_a_message_in_the_readers_language(monkeypatch):
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4)))

    def fails():
        raise TextError("errors.text_empty")

    monkeypatch.setattr(run.trainer, "step", fails)
    run.start()
    _wait(lambda: not run.running and run.error)
    run.stop()
    en, ko = _both(run.snapshot().error)
    assert en == "training stopped: the text is empty: there is nothing to learn from"
    assert ko == f"학습이 멈췄습니다: {message(TextError('errors.text_empty'), 'ko')}" and not ENGLISH.search(ko)


def test_a_python_errors_own_words_are_a_detail_apart_from_the_readers_sentence():
    """Python's and torch's messages exist in English only: the sentence says what happened in the reader's
    language; the exception's type and text are kept as a technical detail (shown under it, charviz.ui.alerts)."""
    err = Msg("errors.training_stopped", error=errors.reason(RuntimeError("boom")))
    en, ko = _both(err)
    assert en == "training stopped: an unexpected error in the program"
    assert ko == "학습이 멈췄습니다: 프로그램에서 예상하지 못한 오류가 발생했습니다" and not ENGLISH.search(ko)
    assert errors.details(err) == ["RuntimeError: boom"]
    assert errors.details(errors.from_plain(errors.to_plain(err))) == ["RuntimeError: boom"]  # (through Redis)
    assert errors.details(pickle.loads(pickle.dumps(err))) == ["RuntimeError: boom"]  # (from a worker process)
    assert errors.details(Msg("errors.text_empty")) == [] and errors.details("") == []


def test_a_worker_that_ended_is_reported_in_both_languages():
    for how, en_how, ko_how in [(Msg("errors.exit_signal", signal=9), "signal 9", "시그널 9"),
                                (Msg("errors.exit_code", code=1), "exit code 1", "종료 코드 1"),
                                (Msg("errors.exit_none"), "no exit code", "종료 코드 없음")]:
        err = Msg("errors.worker_died", how=how, step="1,234")
        en, ko = _both(err)
        assert en == (f"the training process ended unexpectedly ({en_how}); the model is kept as of step 1,234: "
                      "press Resume to continue from there")
        assert f"({ko_how})" in ko and "1,234" in ko and "계속" in ko  # (계속: the sidebar's Resume in Korean)


def test_worker_and_cap_refusals_are_keyed_errors_that_survive_pickling():
    from charviz.worker import WorkerDied

    for e in (WorkerDied("errors.worker_no_start"), WorkerDied("errors.worker_pipe", detail="BrokenPipeError: x"),
              CapReached(3, 2)):
        assert isinstance(e, KeyedError) and isinstance(e, RuntimeError)  # (callers catch RuntimeError too)
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and message(back, "ko") == message(e, "ko")
        _both(e)
    back = pickle.loads(pickle.dumps(CapReached(3, 2)))
    assert (back.training, back.limit) == (3, 2)
    assert str(CapReached(3, 2)) == "3 runs are training on this server; the limit is 2"
    assert message(CapReached(3, 2), "ko") == "이 서버에서 3개의 실행이 학습 중이며, 한도는 2개입니다"


def test_the_cap_refuses_with_the_keyed_error():
    class Busy:
        running = True

    class Idle:
        running = False

    busy, idle = Busy(), Idle()
    cap = TrainingCap(1)
    cap.register(busy)
    with pytest.raises(CapReached) as info:
        cap.start(idle, lambda: None)
    assert info.value.key == "errors.cap_reached" and info.value.params == {"n": 1, "limit": 1}
    assert "1개의 실행이 학습 중" in message(info.value, "ko")


def test_an_error_in_the_races_thread_reads_in_the_readers_language(monkeypatch):
    race = Race(RaceSettings(k=2, seq_len=8, hidden_size=8, batch_size=4, lines=200))

    def fails():
        raise TextError("errors.text_short", n=3)

    monkeypatch.setattr(race, "_round", fails)
    race.start()
    _wait(lambda: not race.running and race.error)
    race.stop()
    snap = race.snapshot()
    en, ko = _both(snap.error)
    assert en == "the text is too short: it needs at least 3 characters"
    assert ko == message(TextError("errors.text_short", n=3), "ko")
    # a Python error (no Korean exists for its own words): "an unexpected error", its type and text a detail
    race2 = Race(RaceSettings(k=2, seq_len=8, hidden_size=8, batch_size=4, lines=200))
    monkeypatch.setattr(race2, "_round", lambda: 1 / 0)
    race2.start()
    _wait(lambda: not race2.running and race2.error)
    race2.stop()
    en, ko = _both(race2.snapshot().error)
    assert en == "an unexpected error in the program" and "ZeroDivision" not in ko
    assert errors.details(race2.snapshot().error) == ["ZeroDivisionError: division by zero"]


def test_vocab_encode_names_the_unknown_characters_in_both_languages():
    with pytest.raises(ValueError) as info:  # (still a ValueError for the library's callers)
        Vocab.from_text("abc").encode("abzcy")
    en, ko = _both(info.value)
    assert en == "not in the vocabulary: 'z', 'y'"
    assert ko == "어휘에 없는 문자: 'z', 'y'"


@pytest.mark.parametrize(("pattern", "ko_part"), [("", "비어 있습니다"), ("x" * 201, "200자보다"),
                                                  ("(a", "위치 0(0부터 셉니다)")])
def test_the_hidden_pages_regex_errors_read_in_both_languages(pattern, ko_part):
    with pytest.raises(PropertyError) as info:
        regex_feature("abc", pattern)
    en, ko = _both(info.value)
    assert ko_part in ko
    if pattern == "(a":  # Python's own words for what is wrong: a detail, not in the sentence
        assert en == "not a valid regular expression: the problem is at position 0 (counting from 0)"
        assert not ENGLISH.search(ko)
        assert errors.details(info.value) == ["missing ), unterminated subpattern"]


def test_the_hidden_probe_keeps_the_error_for_drawing():
    from charviz.hidden import REGEX, probe
    from charviz.model import CharRNN

    vocab = Vocab.from_text(TEXT)
    res = probe(CharRNN(len(vocab), 8, "rnn"), vocab, TEXT[:40], "h", REGEX, "(a", "index")
    assert isinstance(res.error, Msg) and re.search("정규 표현식", message(res.error, "ko"))


def test_a_runs_error_goes_through_redis_as_key_and_parameters():
    """A watcher on another server decodes the owner's snapshot: the message renders in the watcher's language."""
    from charviz.share import decode_snapshot, encode_snapshot

    run = TrainingRun(_nonfinite_trainer())
    run.step_once()
    snap = run.snapshot()
    back, _ = decode_snapshot(encode_snapshot(snap, {}))
    assert back.error == snap.error and message(back.error, "ko") == message(snap.error, "ko")
    nested = Msg("errors.training_stopped", error=Msg("errors.ckpt_too_large", error=Msg("errors.text_empty")))
    assert errors.from_plain(errors.to_plain(nested)) == nested
    assert errors.from_plain(errors.to_plain("plain words")) == "plain words"
    assert errors.to_plain(TextError("errors.text_empty")) == {"key": "errors.text_empty", "params": {}}


def test_redis_unreachable_says_so_in_both_languages():
    from charviz.share import RedisChannel, Share

    ch = RedisChannel("redis://127.0.0.1:1/0")  # nothing listens on port 1
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4)))
    ch.publish_now(Share("ABCD-EFGH", run, {}))
    en, ko = _both(ch.error)
    assert en == "Redis at redis://127.0.0.1:1/0 cannot be reached"
    assert ko == "redis://127.0.0.1:1/0의 Redis에 연결할 수 없습니다"
    assert errors.details(ch.error) and "Error" in errors.details(ch.error)[0]  # (the client's exception type)
