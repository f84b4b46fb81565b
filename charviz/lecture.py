"""The Lecture page's chapters: the story of the app in eight steps, each with the run setup that shows it.

Each chapter has a catalogue section (lecture.c<N>_title, lecture.c<N>_body: the text), the figures the page
draws for it from the session's live model (names of charviz.figures builders, drawn by charviz.ui.lecture),
and a demo Setup that the "Set up this demo" button puts the session's run into. The setups were checked
headless with the Trainer (tests/test_lecture.py keeps the cheap checks): each shows its chapter's point
within the first few hundred steps on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from charviz.config import TrainConfig
from charviz.links import Setup
from charviz.race import RaceSettings


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    setup: Setup
    figures: tuple[str, ...]  # what charviz.ui.lecture draws, in order
    race: RaceSettings | None = None  # chapter 7: the Race page's race (RNN, LSTM, GRU) is the demo
    probe: str = ""  # the text the chapter's figures read (empty: from the session's own text)


def _hello(hidden: int, prefix: str = "hell") -> Setup:
    return Setup("hello", None, TrainConfig(cell="rnn", hidden_size=hidden, seq_len=16, batch_size=16, lr=0.01,
                                            clip=5.0, seed=0), inputs={"prefix": prefix})


def _python(cell: str = "rnn", hidden: int = 64, window: int = 32, lr: float = 3e-3, clip: float | None = 5.0,
            prefix: str = "def main(") -> Setup:
    return Setup("python", None, TrainConfig(cell=cell, hidden_size=hidden, seq_len=window, batch_size=32, lr=lr,
                                             clip=clip, seed=0), inputs={"prefix": prefix})


RACE = RaceSettings()  # the Race page's measured race: k = 30, window 64 (an LSTM and a GRU recall, an RNN not)
LONG_K = RACE.k


def _long(cell: str) -> Setup:
    """The session's own run on the race's task, with the race's settings for `cell`."""
    return Setup("long-range", RACE.k, RACE.config(cell))


MEMORY_PROBE = (
    "def area(shape, scale=1.0):\n"
    '    if shape.kind in ("circle", "disc"):\n'
    "        return scale * (pi * shape.r ** 2)\n"
    "    return scale * (shape.w * shape.h)\n"
)


CHAPTERS = (
    Chapter(1, "predict_next", _hello(16), ("steps_probs", "topk"), probe="hello"),
    Chapter(2, "one_hot", _hello(8), ("hello",), probe="hello"),
    Chapter(3, "softmax_loss", _python("gru", 128), ("steps_probs", "loss"), probe="def main(args):"),
    Chapter(4, "bptt", _python("rnn", 64, 32), ("flow", "grad_norm")),
    Chapter(5, "truncation", _python("rnn", 64, 8), ("flow", "loss")),
    Chapter(6, "vanishing", _python("rnn", 128, 32, lr=0.01, clip=1.0), ("scalar", "flow")),
    Chapter(7, "long_range", _long("lstm"), ("race_recall", "race_loss"), race=RACE),
    # an LSTM on Python source: within a few minutes a unit tracks "inside brackets" (docs: the Hidden page)
    Chapter(8, "memory", _python("lstm", 128, 64), ("hidden_units", "hidden_unit_text"), probe=MEMORY_PROBE),
)
FIRST, LAST = 1, len(CHAPTERS)


def chapter(n: int) -> Chapter:
    return CHAPTERS[n - 1]


def parse_chapter(raw) -> int | None:
    """A chapter number from the URL (?chapter=6), or None when it is not one."""
    try:
        n = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return n if FIRST <= n <= LAST else None
