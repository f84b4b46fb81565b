"""What one session may ask of the server: the settings' ranges, and a memory / step-time budget.

A configuration's cost is estimated BEFORE anything is built (`estimate`), from its shapes alone:

- parameters P = G*H*(V + H) + 2*G*H + H*V + V  (G = 1 rnn, 3 gru, 4 lstm gates; V vocabulary, H hidden),
  held as weights, gradients, the optimizer's state (Adam 2 per weight, RMSprop/Adagrad 1, SGD 0), the
  UI's frozen copy, the step's backup and a checkpoint copy, and the rewind snapshots (at most 64, at most
  SNAPSHOT_BYTES);
- activations kept for backpropagation through the window, per character of a (B, T) batch: about
  A_cell*H + 8*V floats (A = 8 rnn, 15 gru, 20 lstm: the fused module's saved gates and states; 8*V: the
  one-hot input, logits, log-softmax and their gradients), fitted to the peak memory of real steps;
- the text as int64 ids;
- step time: 6 flops per multiply-add of the forward pass (forward + backward) at FLOPS, plus memory traffic
  for the activations and a fixed cost per time step of the recurrence (torch's CPU loop).

`check(estimate)` refuses, with the estimate in its message, what exceeds the per-session budget
(`Budget.from_env()`: CHARVIZ_MAX_MEMORY_MB, CHARVIZ_MAX_STEP_S). No torch import: the UI reads this while
torch loads, and checkpoint validation runs before torch allocates anything.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from charviz.config import CELLS, OPTIMIZERS, TrainConfig
from charviz.errors import KeyedError, Msg

# the settings' ranges (the Train page's widgets use these; a checkpoint's config must lie within them)
HIDDEN_CHOICES = (8, 16, 32, 64, 128, 256, 512)
HIDDEN_MAX = HIDDEN_CHOICES[-1]
SEQ_LEN_MAX = 512
BATCH_MAX = 512
SEED_MAX = 2**31 - 1
LR_MIN, LR_MAX = 1e-6, 10.0
CLIP_MAX = 1e6
VOCAB_MAX = 10_000  # distinct characters (an uploaded text or a checkpoint's vocabulary)
STEP_MAX = 10**12  # a checkpoint's step counter

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
ACT_PER_H = {"rnn": 8, "gru": 15, "lstm": 20}  # floats kept per character and hidden unit (fitted)
ACT_PER_V = 8  # floats per character and vocabulary entry (one-hot as int64 and float, logits, softmax, grads)
OPT_SLOTS = {"adam": 2, "rmsprop": 1, "adagrad": 1, "sgd": 0}
PARAM_COPIES = 5  # weights, gradients, frozen copy for the UI, the step's backup, a checkpoint copy
FIXED_MB = 12.0  # allocator and workspace overhead of any step (measured: 12-16 MB for the smallest)
FLOPS = 80e9  # float32 multiply-adds x 2 per second, one torch thread (measured 44-104e9 on this machine)
NS_PER_H_FLOAT = 2.0  # memory traffic per activation float (hidden-sized tensors)
NS_PER_V_FLOAT = 4.0  # ... vocabulary-sized ones (one-hot, softmax)
STEP_OVERHEAD_S = {"rnn": 40e-6, "gru": 250e-6, "lstm": 10e-6}  # per time step of the recurrence (fwd + bwd)

SNAPSHOT_BYTES = 64 * 1_000_000  # a run's rewind snapshots (charviz.snapshots) take at most this much
MAX_SNAPSHOTS = 64

DEFAULT_MAX_MEMORY_MB = 300.0
DEFAULT_MAX_STEP_S = 0.5
MB = 1e6


class BudgetError(KeyedError):
    """A configuration that would take more memory or time than a session may use; the message says so."""


class ConfigError(KeyedError):
    """A configuration value outside the app's own limits (e.g. from a checkpoint file)."""


@dataclass(frozen=True)
class Budget:
    """What one session may use: estimated memory of a training step and estimated time of one step."""

    max_memory_mb: float = DEFAULT_MAX_MEMORY_MB
    max_step_s: float = DEFAULT_MAX_STEP_S

    @classmethod
    def from_env(cls) -> Budget:
        """The server's budget: CHARVIZ_MAX_MEMORY_MB and CHARVIZ_MAX_STEP_S, else the defaults."""
        return cls(_env_float("CHARVIZ_MAX_MEMORY_MB", DEFAULT_MAX_MEMORY_MB),
                   _env_float("CHARVIZ_MAX_STEP_S", DEFAULT_MAX_STEP_S))


def _env_float(name: str, default: float) -> float:
    try:
        v = float(os.environ.get(name, default))
    except ValueError:
        return default
    return v if v > 0 and math.isfinite(v) else default


@dataclass(frozen=True)
class Estimate:
    """A configuration's estimated cost (see the module docstring for the formulas)."""

    params: int
    param_mb: float  # every copy of the parameters and the optimizer state
    activation_mb: float  # kept for backpropagation through the window
    text_mb: float
    memory_mb: float  # the total
    step_s: float
    snapshot_mb: float = 0.0  # the rewind snapshots, once the run has kept as many as it may

    def describe(self, lang: str | None = None) -> str:
        return self.message().render(lang)

    def message(self) -> Msg:
        return Msg("errors.estimate", mb=f"{self.memory_mb:,.0f}", time=duration(self.step_s))


def duration(s: float) -> Msg:
    """A step time as a message: milliseconds under a second, else seconds."""
    return Msg("errors.ms", n=f"{s * 1000:,.0f}") if s < 1 else Msg("errors.s", n=f"{s:,.1f}")


def num_params(cell: str, vocab_size: int, hidden_size: int) -> int:
    """Weights of CharRNN(vocab_size, hidden_size, cell): the recurrent module's and the head's."""
    G, H, V = GATES[cell], hidden_size, vocab_size
    return G * H * (V + H) + 2 * G * H + H * V + V


def estimate(config: TrainConfig, vocab_size: int, text_chars: int = 0, snapshots: bool = True) -> Estimate:
    """Memory (MB) and step time (s) of training `config` on a text of `text_chars` characters with a
    vocabulary of `vocab_size`, computed from the shapes alone (nothing is allocated). `snapshots`: the run
    keeps rewind snapshots (a session's main run does, the race's models do not)."""
    cell, H, V = config.cell, config.hidden_size, vocab_size
    G = GATES[cell]
    N = config.batch_size * config.seq_len  # characters per step
    P = num_params(cell, V, H)
    slots = OPT_SLOTS[config.optimizer] * (2 if config.lr > 1.0 else 1)  # lr > 1: the step backs the state up
    param_mb = 4 * P * (PARAM_COPIES + slots) / MB
    snapshot_mb = min(MAX_SNAPSHOTS * 4 * P, SNAPSHOT_BYTES) / MB if snapshots else 0.0
    act_h, act_v = ACT_PER_H[cell] * H, ACT_PER_V * V
    activation_mb = 4 * N * (act_h + act_v) / MB
    text_mb = 8 * text_chars / MB
    macs = G * H * (H + V) + H * V  # per character, forward
    step_s = (N * 6 * macs / FLOPS + N * (act_h * NS_PER_H_FLOAT + act_v * NS_PER_V_FLOAT) * 1e-9
              + config.seq_len * STEP_OVERHEAD_S[cell])
    memory_mb = FIXED_MB + param_mb + snapshot_mb + activation_mb + text_mb
    return Estimate(P, param_mb, activation_mb, text_mb, memory_mb, step_s, snapshot_mb)


def check(config: TrainConfig, vocab_size: int, text_chars: int = 0, budget: Budget | None = None) -> Estimate:
    """The estimate, or BudgetError (with the estimate and the limit in its message) when over budget."""
    budget = budget or Budget.from_env()
    if vocab_size > VOCAB_MAX:
        raise BudgetError("errors.vocab_too_large", n=f"{vocab_size:,}", max=f"{VOCAB_MAX:,}")
    est = estimate(config, vocab_size, text_chars)
    over = over_budget(est, budget)
    if over:
        raise BudgetError("errors.over_budget", cell=config.cell.upper(), hidden=config.hidden_size,
                          window=config.seq_len, batch=config.batch_size, vocab=vocab_size, over=over)
    return est


def over_budget(est: Estimate, budget: Budget) -> list[Msg]:
    """What of `est` exceeds `budget` (memory, step time), as messages; empty when it fits."""
    over = []
    if est.memory_mb > budget.max_memory_mb:
        over.append(Msg("errors.over_memory", mb=f"{est.memory_mb:,.0f}", max=f"{budget.max_memory_mb:,.0f}"))
    if est.step_s > budget.max_step_s:
        over.append(Msg("errors.over_time", time=duration(est.step_s), max=duration(budget.max_step_s)))
    return over


def combine(estimates: list[Estimate]) -> Estimate:
    """The cost of several models trained in one session, one step of each in turn (e.g. the Race):
    memory adds up, and so does the step time (a round)."""
    return Estimate(sum(e.params for e in estimates), sum(e.param_mb for e in estimates),
                    sum(e.activation_mb for e in estimates), sum(e.text_mb for e in estimates),
                    sum(e.memory_mb for e in estimates), sum(e.step_s for e in estimates),
                    sum(e.snapshot_mb for e in estimates))


def describe_budget(budget: Budget | None = None, lang: str | None = None) -> str:
    budget = budget or Budget.from_env()
    return Msg("errors.budget", mb=f"{budget.max_memory_mb:,.0f}", time=duration(budget.max_step_s)).render(lang)


# ---------------------------------------------------------------------------------------------------------
# a config from outside (a checkpoint file): every value checked against the app's own limits


def _int_in(d: dict, key: str, lo: int, hi: int) -> int:
    v = d.get(key)
    if type(v) is not int:  # bool is an int subclass: refused too
        raise ConfigError("errors.config_not_int", field=key, value=_show(v))
    if not lo <= v <= hi:
        raise ConfigError("errors.config_range", field=key, value=_show(v), lo=f"{lo:,}", hi=f"{hi:,}")
    return v


def _float_in(d: dict, key: str, lo: float, hi: float, default=None, allow_none: bool = False):
    v = d.get(key, default)
    if v is None and allow_none:
        return None
    if type(v) not in (int, float) or not math.isfinite(v):
        raise ConfigError("errors.config_not_number", field=key, value=_show(v))
    if not lo <= v <= hi:
        raise ConfigError("errors.config_range", field=key, value=_show(v), lo=f"{lo:g}", hi=f"{hi:g}")
    return float(v)


def _show(v) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def config_from_untrusted(d) -> TrainConfig:
    """A TrainConfig from a dict read from a file, every value within the app's limits, else ConfigError."""
    if not isinstance(d, dict):
        raise ConfigError("errors.config_missing")
    cell, opt = d.get("cell"), d.get("optimizer", "adam")
    if cell not in CELLS:
        raise ConfigError("errors.config_choice", field="cell", value=_show(cell), known=", ".join(CELLS))
    if opt not in OPTIMIZERS:
        raise ConfigError("errors.config_choice", field="optimizer", value=_show(opt), known=", ".join(OPTIMIZERS))
    carry = d.get("carry_hidden", True)
    if type(carry) is not bool:
        raise ConfigError("errors.config_not_bool", field="carry_hidden", value=_show(carry))
    return TrainConfig(
        cell=cell,
        hidden_size=_int_in(d, "hidden_size", 1, HIDDEN_MAX),
        seq_len=_int_in(d, "seq_len", 1, SEQ_LEN_MAX),
        batch_size=_int_in(d, "batch_size", 1, BATCH_MAX),
        lr=_float_in(d, "lr", LR_MIN, LR_MAX),
        optimizer=opt,
        clip=_float_in(d, "clip", 1e-6, CLIP_MAX, default=5.0, allow_none=True),
        carry_hidden=carry,
        seed=_int_in(d, "seed", 0, SEED_MAX),
        val_fraction=_float_in(d, "val_fraction", 0.0, 0.5, default=0.1),
    )
