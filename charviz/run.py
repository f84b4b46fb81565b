"""A training run in the background: TrainingRun (a daemon thread stepping a Trainer), its bounded History,
and the Snapshot it hands to readers (plain copies, never aliased with the live model)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from charviz.config import TrainConfig
from charviz.data import Vocab
from charviz.model import CharRNN
from charviz.snapshots import SnapshotStore
from charviz.train import StepStats, Trainer
from charviz.units import to_bits, uniform_bits


class History:
    """Bounded record of step metrics that keeps the whole run's shape.

    Holds at most `capacity` rows: when full it drops every other row and from then on records only every
    `stride`-th step, doubling the stride each time. Memory stays constant over hours of training.
    """

    def __init__(self, capacity: int = 4000):
        self.capacity = max(4, capacity)
        self.stride = 1
        self.rows: list[dict] = []
        self._count = 0

    def add(self, row: dict) -> None:
        self._count += 1
        if (self._count - 1) % self.stride:
            return
        self.rows.append(row)
        if len(self.rows) >= self.capacity:
            self.rows = self.rows[::2]
            self.stride *= 2

    def __len__(self) -> int:
        return len(self.rows)

    def copy(self) -> list[dict]:
        return list(self.rows)


def diverging(history: list[dict], vocab_size: int, window: int = 20) -> float | None:
    """The median train loss (bits/char) of the last `window` recorded steps if it is well above the uniform
    guess log2(V) (by more than 1 bit): the updates make the model worse than knowing nothing. Else None
    (also when fewer than window/2 of those steps were applied)."""
    rows = sorted(r["bits"] for r in history[-window:] if r.get("applied", True))
    if len(rows) < window // 2:
        return None
    median = rows[len(rows) // 2]
    return median if median > uniform_bits(vocab_size) + 1.0 else None


@dataclass
class Snapshot:
    """A consistent copy of a TrainingRun's state for the UI (never aliased with the live model)."""

    state: str  # idle | running | paused | stopped
    step: int
    chars_seen: int
    history: list[dict]  # step metrics (see TrainingRun._record), oldest first, possibly decimated
    val_history: list[dict]  # {"step", "val_loss", "val_bits"}
    last: StepStats | None
    model: CharRNN  # frozen copy, safe to use from any thread
    vocab: Vocab
    config: TrainConfig
    error: str = ""  # why training stopped by itself, if it did
    chars_per_sec: float = 0.0  # smoothed training throughput
    val_bits: float | None = None


class TrainingRun:
    """Runs Trainer.step() in a daemon thread with start / pause / resume / step_once / stop.

    All access to the trainer goes through `self.lock`. The UI reads `snapshot()`, which copies. A step that
    refuses its update (non-finite loss or gradient) pauses the run and records why. `pause()` returns once no
    step runs and none will until the next start.
    """

    def __init__(
        self,
        trainer: Trainer,
        history_capacity: int = 4000,
        eval_every_s: float = 2.0,
        pause_on_nonfinite: bool = True,
    ):
        self.trainer = trainer
        self.lock = threading.RLock()
        self.history = History(history_capacity)
        self.val_history = History(history_capacity // 4)
        self.eval_every_s = eval_every_s
        self.pause_on_nonfinite = pause_on_nonfinite
        self.last: StepStats | None = None
        self.error = ""
        self._run = threading.Event()  # set while training should proceed
        self._stop = threading.Event()
        self._parked = threading.Event()  # set while the thread waits for the run flag (no step in flight)
        self._thread: threading.Thread | None = None
        self._last_eval = 0.0
        self._eval_step = -1
        self._eval_cost = 0.0  # seconds the last evaluation took
        self._frozen: tuple[int, CharRNN] | None = None
        self._cps = 0.0
        self.snapshots = SnapshotStore()  # the weights at earlier steps (rewind), bounded
        self.snapshots.add(trainer.steps, trainer.model)

    # -- control -------------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self._stop.is_set():
            return "stopped"
        if self._thread is None:
            return "idle"
        return "running" if self._run.is_set() else "paused"

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self) -> None:
        """Start (or resume) training in the background."""
        if self._stop.is_set():
            raise RuntimeError("this run was stopped; make a new one")
        self.error = ""
        self._run.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="charviz-train", daemon=True)
            self._thread.start()

    resume = start

    def pause(self) -> None:
        """Stop stepping. Returns when the step in progress (if any) is done; the thread takes no further step
        (it checks the run flag under the lock before every step)."""
        self._run.clear()
        with self.lock:
            pass

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (it finishes at most the step it is in)."""
        self._stop.set()
        self._run.set()  # wake it so it sees the stop
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._run.clear()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step_once(self) -> StepStats:
        """One update now, in the caller's thread (pauses a running run first)."""
        self.pause()
        with self.lock:
            stats = self._step_locked()
            self._maybe_evaluate(force=True)
        return stats

    def set_lr(self, lr: float) -> None:
        with self.lock:
            self.trainer.set_lr(lr)

    def set_clip(self, clip: float | None) -> None:
        with self.lock:
            self.trainer.set_clip(clip)

    def set_carry_hidden(self, carry: bool) -> None:
        with self.lock:
            self.trainer.set_carry_hidden(carry)

    # -- the loop --------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._run.is_set():
                self._parked.set()
                self._run.wait(timeout=0.2)
                continue
            self._parked.clear()
            try:
                with self.lock:
                    if self._stop.is_set() or not self._run.is_set():  # paused while waiting for the lock
                        continue
                    self._step_locked()
                    self._maybe_evaluate()
            except Exception as e:  # a failing step must not kill the thread silently
                self.error = f"training stopped: {type(e).__name__}: {e}"
                self._run.clear()
            time.sleep(0)  # let other threads (the UI) take the GIL between steps
        self._parked.set()

    def _step_locked(self) -> StepStats:
        stats = self.trainer.step()
        self.last = stats
        self._cps = stats.chars_per_sec if self._cps == 0 else 0.9 * self._cps + 0.1 * stats.chars_per_sec
        self.history.add(self._record(stats))
        if stats.applied:
            self.snapshots.add(self.trainer.steps, self.trainer.model)
        if not stats.applied and self.pause_on_nonfinite:
            self.error = f"step refused: {stats.reason}"
            self._run.clear()
        return stats

    @staticmethod
    def _record(s: StepStats) -> dict:
        return {
            "step": s.step,
            "loss": s.loss,
            "bits": s.bits,
            "grad_norm": s.grad_norm,
            "grad_norm_clipped": s.grad_norm_clipped,
            "clipped": s.clipped,
            "chars_per_sec": s.chars_per_sec,
            "applied": s.applied,
            "lr": s.lr,
        }

    def _maybe_evaluate(self, force: bool = False) -> None:
        now = time.monotonic()
        t = self.trainer
        if t.steps == self._eval_step:
            return
        # evaluate every eval_every_s, but never spend more than ~5% of the time on it (large held-out texts)
        if force or now - self._last_eval >= max(self.eval_every_s, 19 * self._eval_cost):
            t0 = time.perf_counter()
            v = t.evaluate()
            self._eval_cost = time.perf_counter() - t0
            self._last_eval, self._eval_step = now, t.steps
            self.val_history.add({"step": t.steps, "val_loss": v, "val_bits": to_bits(v)})

    # -- reading -------------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Copies of metrics and a frozen model (re-copied only when the step changed)."""
        with self.lock:
            t = self.trainer
            if self._frozen is None or self._frozen[0] != t.steps:
                self._frozen = (t.steps, t.frozen_model())
            hist, val = self.history.copy(), self.val_history.copy()
            last, step, seen = self.last, t.steps, t.chars_seen
            config = replace(t.config)
        return Snapshot(
            state=self.state,
            step=step,
            chars_seen=seen,
            history=hist,
            val_history=val,
            last=last,
            model=self._frozen[1],
            vocab=t.vocab,
            config=config,
            error=self.error,
            chars_per_sec=self._cps if self.state == "running" else 0.0,
            val_bits=val[-1]["val_bits"] if val else None,
        )
