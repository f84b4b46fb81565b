"""Demo links: every parameter parsed, every bad value listed and ignored, and a setup survives a round trip."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from charviz import links
from charviz.config import TrainConfig
from charviz.links import Setup, parse, query, to_params


def test_no_parameters_is_a_new_sessions_setup():
    setup, problems = parse({})
    assert problems == [] and setup == Setup()
    assert setup.config == TrainConfig() and not setup.autostart and setup.inputs == {}


@pytest.mark.parametrize("params, attr, want", [
    ({"cell": "lstm"}, "cell", "lstm"),
    ({"cell": "GRU"}, "cell", "gru"),
    ({"hidden": "64"}, "hidden_size", 64),
    ({"window": "100"}, "seq_len", 100),
    ({"batch": "8"}, "batch_size", 8),
    ({"opt": "sgd"}, "optimizer", "sgd"),
    ({"lr": "0.5"}, "lr", 0.5),
    ({"lr": "2e-3"}, "lr", 0.002),
    ({"clip": "1"}, "clip", 1.0),
    ({"clip": "off"}, "clip", None),
    ({"carry": "0"}, "carry_hidden", False),
    ({"carry": "on"}, "carry_hidden", True),
    ({"seed": "42"}, "seed", 42),
])
def test_each_config_parameter(params, attr, want):
    setup, problems = parse(params)
    assert problems == []
    assert getattr(setup.config, attr) == want
    others = {f: getattr(TrainConfig(), f) for f in ("cell", "hidden_size", "seq_len", "batch_size", "optimizer",
                                                     "lr", "clip", "carry_hidden", "seed") if f != attr}
    assert all(getattr(setup.config, f) == v for f, v in others.items())  # nothing else moved


def test_text_k_autostart_and_page_inputs():
    setup, problems = parse({"text": "long-range", "k": "30", "autostart": "1", "prefix": "def main(",
                             "probe": "hello world", "gtext": "B xzy:B"})
    assert problems == []
    assert (setup.corpus, setup.k, setup.autostart) == ("long-range", 30, True)
    assert setup.inputs == {"prefix": "def main(", "probe": "hello world", "gtext": "B xzy:B"}
    assert parse({"text": "long-range"})[0].k == links.DEFAULT_K
    assert parse({"text": "python"})[0].corpus == "python"


@pytest.mark.parametrize("name, value, reason", [
    ("cell", "transformer", "choice"),
    ("text", "shakespeare", "choice"),
    ("opt", "lbfgs", "choice"),
    ("hidden", "0", "range"),
    ("hidden", "513", "range"),
    ("hidden", "12.5", "integer"),
    ("window", "-3", "range"),
    ("batch", "many", "integer"),
    ("seed", "-1", "range"),
    ("seed", str(2**31), "range"),
    ("k", "65", "range"),
    ("lr", "0", "range"),
    ("lr", "-0.1", "range"),
    ("lr", "11", "range"),
    ("lr", "nan", "range"),
    ("lr", "inf", "range"),
    ("lr", "fast", "number"),
    ("clip", "-1", "range"),
    ("clip", "5000", "range"),
    ("clip", "big", "number"),
    ("carry", "maybe", "flag"),
    ("autostart", "2", "flag"),
    ("prefix", "x" * (links.MAX_TEXT + 1), "long"),
    ("colour", "red", "unknown"),
])
def test_bad_values_are_listed_and_ignored(name, value, reason):
    params = {name: value, "text": "long-range", "cell": "gru"} if name not in ("text", "cell") else {name: value}
    setup, problems = parse(params)
    assert [(p.name, p.value, p.reason) for p in problems] == [(name, value, reason)]
    want = Setup("long-range", None, TrainConfig(cell="gru")) if name not in ("text", "cell") else Setup()
    assert setup == want  # the bad one kept its default, the good ones applied


def test_k_without_the_long_range_text_is_ignored_and_said():
    setup, problems = parse({"k": "5"})
    assert setup.k is None and [(p.name, p.reason) for p in problems] == [("k", "k_needs_long_range")]


def test_app_parameters_are_neither_setup_nor_unknown():
    setup, problems = parse({"lang": "ko", "chapter": "6", "projector": "1"})
    assert problems == [] and setup == Setup()


def test_a_list_value_takes_the_last_one():
    assert parse({"cell": ["rnn", "lstm"]})[0].config.cell == "lstm"


def test_round_trip_and_short_links():
    s = Setup("long-range", 30, TrainConfig(cell="lstm", hidden_size=64, seq_len=64, batch_size=16, lr=0.01,
                                            optimizer="rmsprop", clip=None, carry_hidden=False, seed=7),
              autostart=True, inputs={"prefix": "a&b=c ?", "gtext": "ÄB:B"})
    q = query(s, lang="ko")
    parts = urlsplit(q)
    params = dict(parse_qsl(parts.query))
    assert params.pop("lang") == "ko"
    back, problems = parse(params)
    assert problems == [] and back == s
    assert to_params(Setup()) == {} and query(Setup()) == ""
    assert to_params(Setup(config=TrainConfig(cell="gru"))) == {"cell": "gru"}
