"""Divergence: tell when training makes the model worse than a uniform guess, and keep the last good state.

How divergence is detected: the median train loss of the last `window` applied steps is more than
`margin_bits` above log2(V), the loss of a uniform guess over the V characters of the vocabulary. A model
that learned anything is below that line; one that stays well above it for `window` steps is being made
worse by its updates (learning rate too large, or exploding gradients).

What is kept: every `keep_every` steps the guard copies the weights, the optimizer state and the carried
hidden state as a *candidate*. A candidate becomes the *last good state* only after the next `window` steps
were all healthy (each step's loss at most `margin_bits` above log2(V), and applied), because the loss of a
step measures the weights from before its update: an update that wrecks the weights shows only in the
following steps. `restore()` puts the last good state back into the trainer.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass

import torch

WINDOW = 20  # steps the loss must stay high before the run counts as diverging (and healthy before a keep)
MARGIN_BITS = 1.0  # how far above the uniform guess log2(V) counts as "far above"
KEEP_EVERY = 50  # steps between two candidate copies of the state


@dataclass
class GoodState:
    """A copy of everything a Trainer needs to continue from an earlier step."""

    step: int  # the trainer's step count when the copy was taken
    bits: float  # the median train loss (bits/char) of the `window` steps before the copy
    model: dict  # model.state_dict(), cloned
    optimizer: dict | None  # optimizer.state_dict(), deep-copied (None: the optimizer was not made yet)
    h: object  # the carried hidden state (tensor, tuple of tensors, or None), cloned


def _clone_h(h):
    if h is None:
        return None
    if isinstance(h, tuple):
        return tuple(t.detach().clone() for t in h)
    return h.detach().clone()


def take_state(trainer, bits: float = math.nan) -> GoodState:
    """Copy a Trainer's weights, optimizer state and carried hidden state (nothing aliased)."""
    opt = trainer._optimizer
    return GoodState(
        step=trainer.steps,
        bits=bits,
        model={k: v.detach().clone() for k, v in trainer.model.state_dict().items()},
        optimizer=copy.deepcopy(opt.state_dict()) if opt is not None else None,
        h=_clone_h(trainer.h),
    )


def put_state(trainer, good: GoodState) -> None:
    """Load a GoodState into a Trainer. The trainer's current learning rate stays (it is a live setting)."""
    with torch.no_grad():
        trainer.model.load_state_dict(good.model)
    if good.optimizer is not None:
        trainer.optimizer.load_state_dict(copy.deepcopy(good.optimizer))
        for group in trainer.optimizer.param_groups:
            group["lr"] = trainer.config.lr
    else:
        trainer._optimizer = None  # made afresh on first use, like a new trainer's
    trainer.h = _clone_h(good.h)


class DivergenceGuard:
    """Watches a Trainer's steps: `observe(trainer, stats)` after every step; `diverging` says whether the run
    is diverging (see the module docstring for how); `good` is the last good state, `restore()` loads it."""

    def __init__(self, vocab_size: int, window: int = WINDOW, margin_bits: float = MARGIN_BITS,
                 keep_every: int = KEEP_EVERY):
        self.uniform_bits = math.log2(max(vocab_size, 2))
        self.limit_bits = self.uniform_bits + margin_bits
        self.window = window
        self.keep_every = keep_every
        self.recent: deque[float] = deque(maxlen=window)  # bits of the last applied steps
        self.good: GoodState | None = None
        self._candidate: GoodState | None = None
        self._healthy_since_candidate = 0
        self.diverging_since: int | None = None  # the step at which the current divergence was detected

    @classmethod
    def for_trainer(cls, trainer, **kw) -> DivergenceGuard:
        """A guard whose first good state is the trainer as it is now (e.g. its initial weights)."""
        guard = cls(len(trainer.vocab), **kw)
        guard.good = take_state(trainer)
        return guard

    def median_bits(self) -> float | None:
        """The median train loss of the last `window` applied steps (None before `window // 2` steps)."""
        if len(self.recent) < max(1, self.window // 2):
            return None
        rows = sorted(self.recent)
        return rows[len(rows) // 2]

    @property
    def diverging(self) -> bool:
        return self.diverging_since is not None

    def observe(self, trainer, stats) -> None:
        """Record one step (a charviz.train.StepStats) of `trainer`; keep or promote a copy of its state."""
        healthy = stats.applied and math.isfinite(stats.bits) and stats.bits <= self.limit_bits
        if stats.applied:
            self.recent.append(stats.bits if math.isfinite(stats.bits) else math.inf)
        median = self.median_bits()
        if median is not None and median > self.limit_bits:
            if self.diverging_since is None:
                self.diverging_since = trainer.steps
        elif median is not None:
            self.diverging_since = None
        # a candidate becomes the last good state after `window` healthy steps; an unhealthy step drops it
        if not healthy:
            self._candidate, self._healthy_since_candidate = None, 0
            return
        if self._candidate is not None:
            self._healthy_since_candidate += 1
            if self._healthy_since_candidate >= self.window:
                self.good, self._candidate = self._candidate, None
        if self._candidate is None and stats.applied and trainer.steps % self.keep_every == 0:
            if len(self.recent) >= self.window and max(self.recent) <= self.limit_bits:
                self._candidate = take_state(trainer, median if median is not None else math.nan)
                self._healthy_since_candidate = 0

    def restore(self, trainer) -> GoodState | None:
        """Put the last good state back into `trainer` (None when there is none). The divergence is over:
        the record of recent losses starts again."""
        if self.good is None:
            return None
        put_state(trainer, self.good)
        self.recent.clear()
        self._candidate, self._healthy_since_candidate = None, 0
        self.diverging_since = None
        return self.good
