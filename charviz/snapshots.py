"""Rewind: copies of a run's weights at earlier steps, in bounded memory (dense early, thinning later).

The store is offered the weights after every applied step. It always keeps the first snapshot (the initial
weights, step 0) and the latest one; when it holds more than its budget it drops the interior snapshot whose
neighbours are closest on a log scale of steps (log(step + 1)). What stays is spaced roughly evenly in
log(step): every early step at first, then ever sparser: after 10,000 steps the 64 kept are steps 0-10, 12,
14, ... 94, 104, 116, ... 975, 1101, ... and near the end 7334, 8698, 10000 (gaps of about 13% of the step).

Budget: at most MAX_SNAPSHOTS = 64 snapshots and at most MAX_BYTES = 256 MB of weights, whichever is
smaller (a snapshot is an exact float32 copy of every parameter). For hidden size 512 on the Python corpus
(96 characters) one snapshot takes 1.4 MB (rnn), 5.0 MB (lstm) or 3.8 MB (gru): 64 snapshots are 88 MB for
an rnn and 241 MB for a gru; an lstm 512 keeps 51 (253 MB). `snapshot_bytes()` gives the exact figure.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass

import torch

MAX_SNAPSHOTS = 64
MAX_BYTES = 256 * 2**20
_ids = itertools.count(1)


@dataclass(frozen=True)
class WeightSnapshot:
    step: int
    state: dict[str, torch.Tensor]  # parameter name -> a copy (never the live tensor)


def state_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Exact copies of a model's weights (detached, own storage)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def snapshot_bytes(model: torch.nn.Module) -> int:
    """Bytes one snapshot of this model takes."""
    return sum(v.numel() * v.element_size() for v in model.state_dict().values())


def thin(steps: list[int], budget: int) -> list[int]:
    """The steps a store with room for `budget` keeps when offered `steps` (increasing) one by one: after
    each offer beyond the budget it drops the interior step whose neighbours are closest in log(step + 1).
    The first and the last are never dropped."""
    kept: list[int] = []
    for s in steps:
        kept.append(s)
        if len(kept) > max(budget, 2):
            kept.pop(_victim(kept))
    return kept


def _victim(steps: list[int]) -> int:
    """Index of the interior step that matters least: the smallest log-gap between its two neighbours (ties:
    the later one, so the early steps stay dense)."""
    best, best_gap = 1, math.inf
    for i in range(1, len(steps) - 1):
        gap = math.log1p(steps[i + 1]) - math.log1p(steps[i - 1])
        if gap <= best_gap:
            best, best_gap = i, gap
    return best


class SnapshotStore:
    """Bounded, thread-safe store of weight snapshots, keyed by training step."""

    def __init__(self, max_snapshots: int = MAX_SNAPSHOTS, max_bytes: int = MAX_BYTES):
        if max_snapshots < 2:
            raise ValueError("a snapshot store keeps at least the first and the latest snapshot")
        self.max_snapshots = max_snapshots
        self.max_bytes = max_bytes
        self.budget = max_snapshots  # lowered to fit max_bytes once the snapshot size is known
        self.bytes_each = 0
        self._snaps: list[WeightSnapshot] = []
        self._lock = threading.Lock()
        self.uid = next(_ids)  # unique for the process's life (unlike id()): names this store in a UI

    def add(self, step: int, model: torch.nn.Module) -> None:
        """Offer the weights at `step` (called after every applied update, and once at step 0). A step older
        than the latest kept one (a reset trainer) is refused."""
        with self._lock:
            if self._snaps and step <= self._snaps[-1].step:
                if step == self._snaps[-1].step:
                    return
                raise ValueError(f"step {step} is older than the latest snapshot ({self._snaps[-1].step})")
            if not self.bytes_each:
                self.bytes_each = snapshot_bytes(model)
                self.budget = max(2, min(self.max_snapshots, self.max_bytes // max(self.bytes_each, 1)))
            self._snaps.append(WeightSnapshot(step, state_copy(model)))
            while len(self._snaps) > self.budget:
                self._snaps.pop(_victim([s.step for s in self._snaps]))

    def apply(self, kept: list[int], new: list[tuple[int, dict[str, torch.Tensor]]]) -> None:
        """Take the decision of a store kept elsewhere (a worker process's, charviz.worker) over the same steps:
        add the `new` snapshots (step, weights: tensors this store may keep), then keep only the steps in
        `kept`. The first snapshot (step 0 of this store) stays whatever `kept` says."""
        keep = set(kept)
        with self._lock:
            for step, state in new:
                if step in keep and (not self._snaps or step > self._snaps[-1].step):
                    self._snaps.append(WeightSnapshot(step, state))
            self._snaps = [s for i, s in enumerate(self._snaps) if i == 0 or s.step in keep]

    @property
    def steps(self) -> list[int]:
        with self._lock:
            return [s.step for s in self._snaps]

    def get(self, step: int) -> WeightSnapshot:
        """The snapshot kept at exactly `step` (KeyError if it was not kept or has been thinned away)."""
        with self._lock:
            for s in self._snaps:
                if s.step == step:
                    return s
        raise KeyError(f"no snapshot kept at step {step}")

    def nearest(self, step: int) -> WeightSnapshot | None:
        """The kept snapshot closest to `step` (the earlier one on a tie), None when empty."""
        with self._lock:
            if not self._snaps:
                return None
            return min(self._snaps, key=lambda s: (abs(s.step - step), s.step))

    def __len__(self) -> int:
        return len(self._snaps)

    @property
    def nbytes(self) -> int:
        return len(self._snaps) * self.bytes_each
