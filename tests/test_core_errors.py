"""The library's messages (charviz.errors): raised with a key and parameters, English as str(), Korean when
rendered in Korean, nested messages (a checkpoint's budget refusal, a list of what is over) in one language."""

from __future__ import annotations

import io
import pickle
import re

import pytest

from charviz import checkpoint, limits
from charviz.config import TrainConfig
from charviz.data import TextError, check_text, decode_upload
from charviz.errors import KeyedError, Msg, message
from charviz.race import RaceSettings, check_budget
from charviz.train import Trainer

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH = re.compile(r"\b(the|would|need|limit|file|text|its|this|not|memory|characters?|checkpoint|and)\b")

BIG = TrainConfig(cell="lstm", hidden_size=512, seq_len=512, batch_size=512)


def _ckpt(**changes) -> bytes:
    import torch

    payload = torch.load(io.BytesIO(checkpoint.to_bytes(Trainer("hello" * 50, TrainConfig(hidden_size=8)))),
                         weights_only=True)
    payload["config"].update(changes)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


CASES = {
    "empty text": lambda: check_text(""),
    "one character": lambda: check_text("aaaa"),
    "short": lambda: check_text("ab"),
    "NUL": lambda: check_text("ab\x00cd"),
    "big upload": lambda: decode_upload(b"x" * 2000, max_bytes=1000),
    "not UTF-8": lambda: decode_upload("café".encode("latin-1")),
    "over budget": lambda: limits.check(BIG, 96),
    "huge vocabulary": lambda: limits.check(TrainConfig(), 20_000),
    "config range": lambda: limits.config_from_untrusted({**TrainConfig().to_dict(), "hidden_size": 2**40}),
    "config type": lambda: limits.config_from_untrusted({**TrainConfig().to_dict(), "seed": "7"}),
    "config cell": lambda: limits.config_from_untrusted({**TrainConfig().to_dict(), "cell": "tcn"}),
    "not a checkpoint": lambda: checkpoint.load(io.BytesIO(bytes(range(256)) * 4)),
    "empty file": lambda: checkpoint.load(io.BytesIO(b"")),
    "pickle": lambda: checkpoint.load(io.BytesIO(pickle.dumps({"a": 1}))),
    "checkpoint settings": lambda: checkpoint.load(io.BytesIO(_ckpt(seq_len=1000))),
    "checkpoint too large": lambda: checkpoint.load(io.BytesIO(_ckpt(hidden_size=512, seq_len=512, batch_size=512,
                                                                     cell="lstm"))),
    "race over budget": lambda: check_budget(RaceSettings(hidden_size=128, seq_len=256),
                                             limits.Budget(max_memory_mb=100)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_refusal_reads_in_english_and_in_korean(name):
    with pytest.raises(KeyedError) as info:
        CASES[name]()
    e = info.value
    en, ko = str(e), message(e, "ko")
    assert e.key.startswith("errors.") and message(e, "en") == en
    for text in (en, ko):
        assert "{" not in text and "}" not in text, text  # every placeholder filled
    assert not HANGUL.search(en), en
    assert HANGUL.search(ko) and not ENGLISH.search(ko), ko


def test_english_messages_are_the_ones_the_app_always_showed():
    with pytest.raises(TextError) as e:
        check_text("aaaa")
    assert str(e.value) == ("the text has only one distinct character ('a'): the next character is always the "
                            "same, so there is nothing to predict")
    with pytest.raises(limits.BudgetError) as e:
        limits.check(BIG, 96)
    assert str(e.value).startswith("LSTM 512 with window 512 and batch 512 on a vocabulary of 96 would need about "
                                   "11,655 MB of memory (the limit is 300 MB) and about ")


def test_nested_messages_render_in_one_language():
    with pytest.raises(checkpoint.CheckpointError) as e:
        checkpoint.load(io.BytesIO(_ckpt(hidden_size=512, seq_len=512, batch_size=512, cell="lstm")))
    ko = message(e.value, "ko")
    assert ko.startswith("모델이 이 서버에는 너무 큽니다: ") and "메모리 (한도 300 MB) 및 스텝당" in ko
    assert str(e.value).startswith("its model is too large for this server: ") and " and about " in str(e.value)


def test_a_keyed_error_survives_pickling_with_its_parameters():
    e = pickle.loads(pickle.dumps(TextError("errors.text_short", n=3)))
    assert type(e) is TextError and e.params == {"n": 3}
    assert message(e, "ko") == "텍스트가 너무 짧습니다: 최소 3자가 필요합니다"


def test_other_exceptions_are_shown_as_they_are():
    assert message(ValueError("plain")) == "plain"
    assert Msg("errors.ms", n="5").render("ko") == "5 ms" and str(Msg("errors.s", n="1.5")) == "1.5 s"


def test_race_budget_adds_the_three_models():
    s = RaceSettings(hidden_size=128, seq_len=256)
    est = check_budget(s)
    text = s.text()
    one = [limits.estimate(s.config(c), len(set(text)), len(text), snapshots=False) for c in ("rnn", "lstm", "gru")]
    assert est.memory_mb == pytest.approx(sum(e.memory_mb for e in one))
    assert est.step_s == pytest.approx(sum(e.step_s for e in one)) and est.snapshot_mb == 0
    with pytest.raises(limits.BudgetError) as e:
        check_budget(s, limits.Budget(max_step_s=0.01))
    assert "per step (the limit is 10 ms)" in str(e.value) and "k = 30" in str(e.value)
