"""Demo links: a run's setup (and each page's own inputs) as URL query parameters, and back.

`parse(params)` reads a query (a mapping of name -> value, as `st.query_params` gives it) into a `Setup` and
a list of `Problem`s: every unknown parameter and every value that is out of range or unreadable is listed
and ignored, never raised. `to_params(setup)` writes the parameters that differ from a new session's defaults,
so a link stays short and `parse(to_params(s))` gives `s` back. Built-in texts only: a pasted or uploaded
text is not put in a URL (it may be long or private). No streamlit here: charviz.ui.links applies a Setup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from charviz import limits
from charviz.config import CELLS, DEFAULT_CORPUS, OPTIMIZERS, TrainConfig

CORPUS_NAMES = ("hello", "python", "long-range")  # charviz.data.CORPORA (which imports torch)
DEFAULT_K = 8  # charviz.ui.session.DEFAULT_K: the long-range task's distance when a link does not say
MAX_K = 64
MAX_CLIP = 1000.0
MAX_TEXT = 2000  # a page input (prefix, probe text) in a URL
PAGE_INPUTS = ("prefix", "probe", "gtext")  # Predict prefix, Hidden probe text, Gradients probe text
SETUP_KEYS = ("text", "k", "cell", "hidden", "window", "batch", "opt", "lr", "clip", "carry", "seed",
              "autostart", *PAGE_INPUTS)
# read elsewhere: not a setup, not unknown
APP_KEYS = ("lang", "chapter", "projector", "embed", "embed_options", "watch")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Problem:
    """One parameter that was ignored: its name, its value as given, and why (a catalogue key)."""

    name: str
    value: str
    reason: str  # links.bad_<reason>: unknown | choice | integer | range | number | flag | long | budget
    detail: object = None  # what the library said (e.g. the BudgetError with the estimate), shown after it


@dataclass
class Setup:
    """What a demo link sets up: the built-in text, the training config, autostart, and page inputs."""

    corpus: str = DEFAULT_CORPUS
    k: int | None = None  # long-range only
    config: TrainConfig = field(default_factory=TrainConfig)
    autostart: bool = False
    inputs: dict[str, str] = field(default_factory=dict)  # prefix / probe / gtext

    def __post_init__(self):
        if self.corpus == "long-range" and self.k is None:
            self.k = DEFAULT_K
        if self.corpus != "long-range":
            self.k = None


def _one(value) -> str:
    """st.query_params gives the last value of a repeated parameter; a plain dict may hold a list."""
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def _int(raw: str, lo: int, hi: int) -> int | str:
    try:
        v = int(raw)
    except ValueError:
        return "integer"
    return v if lo <= v <= hi else "range"


def _float(raw: str, lo: float, hi: float) -> float | str:
    try:
        v = float(raw)
    except ValueError:
        return "number"
    return v if math.isfinite(v) and lo < v <= hi else "range"


def _flag(raw: str) -> bool | str:
    low = raw.strip().lower()
    return True if low in TRUE else False if low in FALSE else "flag"


def parse(params: Mapping) -> tuple[Setup, list[Problem]]:
    """Query parameters -> (Setup, problems). Parameters that are missing keep a new session's defaults."""
    q = {str(k): _one(v) for k, v in params.items()}
    problems: list[Problem] = []
    cfg: dict = {}
    corpus, k, autostart, inputs = DEFAULT_CORPUS, None, False, {}

    def bad(name: str, reason: str) -> None:
        problems.append(Problem(name, q[name], reason))

    for name, raw in q.items():
        if name in APP_KEYS:
            continue
        if name not in SETUP_KEYS:
            bad(name, "unknown")
            continue
        if name == "text":
            if raw in CORPUS_NAMES:
                corpus = raw
            else:
                bad(name, "choice")
        elif name == "cell":
            if raw.lower() in CELLS:
                cfg["cell"] = raw.lower()
            else:
                bad(name, "choice")
        elif name == "opt":
            if raw.lower() in OPTIMIZERS:
                cfg["optimizer"] = raw.lower()
            else:
                bad(name, "choice")
        elif name in ("k", "hidden", "window", "batch", "seed"):
            lo, hi = {"k": (0, MAX_K), "seed": (0, limits.SEED_MAX), "hidden": (1, limits.HIDDEN_MAX),  # one source
                      "window": (1, limits.SEQ_LEN_MAX), "batch": (1, limits.BATCH_MAX)}[name]
            v = _int(raw, lo, hi)
            if isinstance(v, str):
                bad(name, v)
            elif name == "k":
                k = v
            else:
                cfg[{"hidden": "hidden_size", "window": "seq_len", "batch": "batch_size", "seed": "seed"}[name]] = v
        elif name == "lr":
            v = _float(raw, 0.0, limits.LR_MAX)
            if isinstance(v, str):
                bad(name, v)
            else:
                cfg["lr"] = v
        elif name == "clip":
            if raw.strip().lower() in FALSE:
                cfg["clip"] = None
            else:
                v = _float(raw, 0.0, MAX_CLIP)
                if isinstance(v, str):
                    bad(name, v)
                else:
                    cfg["clip"] = v
        elif name in ("carry", "autostart"):
            v = _flag(raw)
            if isinstance(v, str):
                bad(name, v)
            elif name == "carry":
                cfg["carry_hidden"] = v
            else:
                autostart = v
        else:  # a page input
            if len(raw) > MAX_TEXT:
                bad(name, "long")
            else:
                inputs[name] = raw
    if k is not None and corpus != "long-range":
        problems.append(Problem("k", q["k"], "k_needs_long_range"))
        k = None
    return Setup(corpus, k, replace(TrainConfig(), **cfg), autostart, inputs), problems


def to_params(setup: Setup) -> dict[str, str]:
    """The query parameters of a setup: only what differs from a new session's defaults (short links)."""
    d, c = TrainConfig(), setup.config
    out: dict[str, str] = {}
    if setup.corpus != DEFAULT_CORPUS:
        out["text"] = setup.corpus
    if setup.corpus == "long-range" and setup.k is not None and setup.k != DEFAULT_K:
        out["k"] = str(setup.k)
    simple = (("cell", "cell"), ("hidden", "hidden_size"), ("window", "seq_len"), ("batch", "batch_size"),
              ("opt", "optimizer"), ("seed", "seed"))
    for name, attr in simple:
        if getattr(c, attr) != getattr(d, attr):
            out[name] = str(getattr(c, attr))
    if c.lr != d.lr:
        out["lr"] = f"{c.lr:g}"
    if c.clip != d.clip:
        out["clip"] = "off" if c.clip is None else f"{c.clip:g}"
    if c.carry_hidden != d.carry_hidden:
        out["carry"] = "1" if c.carry_hidden else "0"
    if setup.autostart:
        out["autostart"] = "1"
    for name in PAGE_INPUTS:
        if setup.inputs.get(name):
            out[name] = setup.inputs[name]
    return out


def query(setup: Setup, **extra: str) -> str:
    """The link's query string ("?text=long-range&cell=lstm..."), with extra app parameters (e.g. lang)."""
    params = {**to_params(setup), **{k: v for k, v in extra.items() if v}}
    return "?" + urlencode(params) if params else ""

