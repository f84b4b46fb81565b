"""A training run in the background: TrainingRun (a daemon thread stepping a Trainer), its bounded History,
and the Snapshot it hands to readers (plain copies, never aliased with the live model)."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field, replace

from charviz import lifecycle, limits
from charviz.config import TrainConfig, check_clip, check_lr
from charviz.data import Vocab
from charviz.errors import Msg, reason
from charviz.guard import DivergenceGuard, GoodState
from charviz.model import CharRNN
from charviz.snapshots import SnapshotStore
from charviz.train import StepStats, Trainer
from charviz.units import to_bits, uniform_bits

COPY_WAIT_S = 0.05  # a reader waits at most this long for the copy after the step in progress


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


def refused(stats: StepStats) -> Msg:
    """A run's `error` after a refused step (charviz.train): its reason, in the reader's language when drawn."""
    return Msg("errors.step_refused", reason=Msg(stats.refusal) if stats.refusal else stats.reason)


def stopped(e: BaseException) -> Msg:
    """A run's `error` after a step raised `e`."""
    return Msg("errors.training_stopped", error=reason(e))


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
    error: Msg | str = ""  # why training stopped by itself, if it did (a Msg: rendered in the reader's language)
    chars_per_sec: float = 0.0  # characters trained per second of wall-clock time over the last RATE_WINDOW_S
    val_bits: float | None = None
    diverging_bits: float | None = None  # median train loss of the last steps while diverging (charviz.guard)
    good_step: int | None = None  # the step of the last good state that restore_last_good() would load
    restores: list[tuple[int, int]] = field(default_factory=list)  # (at step, restored the state of step)


class ThreadState:
    """The state of a run trained by a background thread (TrainingRun here, Race and Sweep in charviz.race):
    idle until started, then running or paused, stopped for good; and the thread's start-up and end, written
    once. The subclass calls `_init_thread()` in its constructor and provides `_loop()`."""

    KIND = "run"  # what the error of a start after stop() calls it

    lock: threading.RLock
    _stop: threading.Event
    _run: threading.Event
    _thread: threading.Thread | None

    def _init_thread(self) -> None:
        self.lock = threading.RLock()
        self.error = ""
        self._run = threading.Event()  # set while training should proceed
        self._stop = threading.Event()
        self._thread = None

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

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start (or resume) training in the background thread (made on the first start)."""
        if self._stop.is_set():
            raise RuntimeError(f"this {self.KIND} was stopped; make a new one")
        self.error = ""
        self._run.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="charviz-train", daemon=True)
            lifecycle.track(self, lifecycle.RUNS)
            self._thread.start()

    def resume(self) -> None:
        self.start()

    def pause(self, wait: bool = True) -> None:
        """Stop after the unit of work in progress. With `wait`, return once it is done (the loop re-checks the
        run flag under the lock before every unit); without (the UI's Pause), at once."""
        self._run.clear()
        if wait:
            with self.lock:
                pass

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (it finishes at most the unit it is in)."""
        self._stop.set()
        self._run.set()  # wake it so it sees the stop
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._run.clear()

    def shutdown(self, timeout: float) -> None:
        """charviz.lifecycle: stop the thread, if it still runs, waiting at most `timeout` seconds."""
        if self.alive:
            self.stop(timeout)

    def _loop(self) -> None:
        raise NotImplementedError


class RunBase:
    """What every single-model training run shares (TrainingRun here, ProcessRun in charviz.worker): the
    constructor's arguments, the metric histories, the rewind snapshots (charviz.snapshots), the divergence
    guard (charviz.guard) with Restore, and the bookkeeping after each step. A subclass has `lock`, `pause()`
    and `_frozen` (the readers' model copy), and may extend `_restored()`."""

    lock: threading.RLock
    _frozen: object

    def __init__(
        self,
        trainer: Trainer,
        history_capacity: int = 4000,
        eval_every_s: float = 2.0,
        pause_on_nonfinite: bool = True,
    ):
        self.trainer = trainer
        self.history = History(history_capacity)
        self.val_history = History(history_capacity // 4)
        self.eval_every_s = eval_every_s
        self.pause_on_nonfinite = pause_on_nonfinite
        self.last: StepStats | None = None
        self.error = ""
        self._last_eval = 0.0
        self._eval_step = -1
        self._eval_cost = 0.0  # seconds the last evaluation took
        self.snapshots = SnapshotStore(max_bytes=limits.SNAPSHOT_BYTES)  # earlier weights (rewind), bounded
        self.snapshots.add(trainer.steps, trainer.model)
        self.guard = DivergenceGuard.for_trainer(trainer)  # divergence detection + the last good state
        self.restores: list[tuple[int, int]] = []

    def _after_step(self, stats: StepStats, rate: float) -> None:
        """Record a step the trainer just took: its row, the guard, the snapshot; a refused step sets `error`."""
        self.last = stats
        self.history.add(self._record(stats, rate))
        self.guard.observe(self.trainer, stats)
        if stats.applied:
            self.snapshots.add(self.trainer.steps, self.trainer.model)
        if not stats.applied and self.pause_on_nonfinite:
            self.error = refused(stats)

    @staticmethod
    def _record(s: StepStats, rate: float) -> dict:
        return {
            "step": s.step,
            "loss": s.loss,
            "bits": s.bits,
            "grad_norm": s.grad_norm,
            "grad_norm_clipped": s.grad_norm_clipped,
            "clipped": s.clipped,
            "chars_per_sec": rate or s.chars_per_sec,  # wall-clock rate (the step's own at the first steps)
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

    def _guard_fields(self) -> dict:
        """The Snapshot's divergence fields, from the guard as it is now."""
        g = self.guard
        return {
            "diverging_bits": g.median_bits() if g.diverging else None,
            "good_step": g.good.step if g.good is not None else None,
            "restores": list(self.restores),
        }

    def restore_last_good(self) -> GoodState | None:
        """Pause, and put back the last good weights, optimizer state and carried hidden state (from before the
        divergence started; see charviz.guard). The step count goes on (it counts updates done); the learning
        rate and clipping stay as they are now. -> the state restored, or None when there is none."""
        self.pause()
        with self.lock:
            good = self.guard.restore(self.trainer)
            if good is not None:
                self.restores.append((self.trainer.steps, good.step))
                self.error = ""
                self._frozen = None  # same step count, other weights
                self._eval_step = -1
                self._maybe_evaluate(force=True)
                self._restored()
        return good

    def _restored(self) -> None:
        """Called under the lock after a restore (readers' copies to remake)."""


class TrainingRun(RunBase, ThreadState):
    """Runs Trainer.step() in a daemon thread with start / pause / resume / step_once / stop.

    All access to the trainer goes through `self.lock`. The UI reads `snapshot()`, which copies. A step that
    refuses its update (non-finite loss or gradient) pauses the run and records why. `pause()` returns once no
    step runs and none will until the next start; `pause(wait=False)`, `step_once(wait=False)`, the setters
    and `snapshot()` never wait for a step in progress (the UI's controls and redraws): they act at once when
    no step runs, and otherwise hand their work to the training thread (which does it right after the step)
    or, for `snapshot()`, return the copy the thread made after its latest step.

    Speed: `chars_per_sec` is characters trained / wall-clock seconds over the last RATE_WINDOW_S of running
    (between step ends, everything included: evaluation, the UI's copies, other threads), the rate that
    steps x batch x window / elapsed gives.
    """

    RATE_WINDOW_S = 10.0  # "over any 10 s"

    def __init__(self, trainer: Trainer, **kw):  # (RunBase's arguments)
        self._init_thread()
        super().__init__(trainer, **kw)
        self._parked = threading.Event()  # set while the thread waits for the run flag (no step in flight)
        self._frozen: tuple[int, CharRNN] | None = None
        self._ends: collections.deque = collections.deque()  # (monotonic time, chars_seen) at step ends
        self._published: Snapshot | None = None  # the latest complete copy, for readers who cannot wait
        self._want_copy = threading.Event()  # a reader asked the thread for a fresh copy
        self._copied = threading.Event()  # ... and the thread made it
        self._pending_steps = 0  # Step pressed while a step was in progress: done by the thread
        self._pending: dict = {}  # settings changed while a step was in progress: applied before the next

    # -- control -------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Training, or still finishing a step (or a requested Step) after a Pause: the numbers still move."""
        if self.running:
            return True
        return self._thread is not None and self._thread.is_alive() and not self._parked.is_set()

    def start(self) -> None:
        """Start (or resume) training in the background."""
        if not self._stop.is_set():
            self._ends.clear()  # the speed counts from now: a pause is not training time
        ThreadState.start(self)

    def pause(self, wait: bool = True) -> None:
        """Stop stepping. With `wait`, return when the step in progress (if any) is done; the thread takes no
        further step (it checks the run flag under the lock before every step). Without (the UI's Pause): at
        once; the step in progress, if any, still finishes."""
        self._ends.clear()
        ThreadState.pause(self, wait)

    def wait_settled(self, timeout: float) -> bool:
        """After pause(wait=False): wait at most `timeout` seconds for the step in progress to end. -> not busy"""
        if self.busy:
            self._parked.wait(timeout)
        return not self.busy

    def step_once(self, wait: bool = True) -> StepStats | None:
        """One update (pauses a running run first). With `wait`: now, in the caller's thread. Without (the UI's
        Step): now if no step is in progress, else the training thread does it right after that step; None."""
        self.pause(wait=wait)
        if not self.lock.acquire(blocking=wait):
            self._pending_steps += 1
            if self._thread is None:  # no thread to hand it to (never started): wait after all
                self._pending_steps -= 1
                return self.step_once(wait=True)
            return None
        try:
            stats = self._step_locked()
            self._maybe_evaluate(force=True)
        finally:
            self.lock.release()
        return stats

    def _set(self, name: str, value) -> None:
        """Apply a live setting now if no step is in progress, else right before the next step."""
        if self.lock.acquire(blocking=False):
            try:
                getattr(self.trainer, name)(value)
            finally:
                self.lock.release()
        else:
            self._pending[name] = value

    def _restored(self) -> None:
        self._copy_locked()  # readers who cannot wait get the restored model, not the diverged one

    def set_lr(self, lr: float) -> None:
        check_lr(lr)  # a bad value raises here, in the caller's thread
        self._set("set_lr", lr)

    def set_clip(self, clip: float | None) -> None:
        check_clip(clip)
        self._set("set_clip", clip)

    def set_carry_hidden(self, carry: bool) -> None:
        self._set("set_carry_hidden", carry)

    def _apply_pending(self) -> None:
        while self._pending:
            name, value = self._pending.popitem()
            getattr(self.trainer, name)(value)

    # -- the loop --------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._run.is_set() and not self._pending_steps:
                self._parked.set()
                self._run.wait(timeout=0.05 if self._want_copy.is_set() else 0.2)
                continue
            self._parked.clear()
            try:
                with self.lock:
                    if self._stop.is_set():
                        continue
                    if self._run.is_set():
                        self._step_locked()
                        self._maybe_evaluate()
                    elif self._pending_steps:  # Step pressed while a step was in progress
                        self._pending_steps = 0
                        self._step_locked()
                        self._maybe_evaluate(force=True)
                    if self._want_copy.is_set() or self._published is None:
                        self._copy_locked()
            except Exception as e:  # a failing step must not kill the thread silently
                self.error = stopped(e)
                self._run.clear()
            time.sleep(0)  # let other threads (the UI) take the GIL between steps
        self._parked.set()

    def _step_locked(self) -> StepStats:
        self._apply_pending()
        stats = self.trainer.step()
        now = time.monotonic()
        ends = self._ends
        ends.append((now, self.trainer.chars_seen))
        while len(ends) > 2 and now - ends[1][0] >= self.RATE_WINDOW_S:
            ends.popleft()
        self._after_step(stats, self._rate())
        if not stats.applied and self.pause_on_nonfinite:
            self._run.clear()
        return stats

    def _rate(self) -> float:
        """Characters per wall-clock second between the oldest and the latest step end in the window (0 with
        fewer than two step ends since the last start)."""
        ends = self._ends
        if len(ends) < 2:
            return 0.0
        (t0, c0), (t1, c1) = ends[0], ends[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0

    # -- reading -------------------------------------------------------------------------------------------

    def snapshot(self, wait: bool = False) -> Snapshot:
        """Copies of metrics and a frozen model (re-copied only when the step changed), all of one step.

        Never waits for a step in progress (unless `wait`): if one runs, returns the copy the training thread
        made after an earlier step and asks it for a fresh one (made right after the current step)."""
        if self.lock.acquire(blocking=wait or self._published is None):
            try:
                snap = self._copy_locked()
            finally:
                self.lock.release()
        else:  # a step is in progress: ask for a copy right after it, wait for it briefly, else the last one
            self._copied.clear()
            self._want_copy.set()
            self._copied.wait(COPY_WAIT_S)
            snap = self._published
        running = self.state == "running"
        return replace(snap, state=self.state, error=self.error, chars_per_sec=self._rate() if running else 0.0)

    def drop_copies(self) -> None:
        """Forget the frozen model and the readers' copy (remade on the next snapshot()): a released run keeps
        only what cannot be remade."""
        with self.lock:
            self._frozen = None
            self._published = None

    def _copy_locked(self) -> Snapshot:
        t = self.trainer
        if self._frozen is None or self._frozen[0] != t.steps:
            self._frozen = (t.steps, t.frozen_model())
        val = self.val_history.copy()
        snap = Snapshot(
            state=self.state,
            step=t.steps,
            chars_seen=t.chars_seen,
            history=self.history.copy(),
            val_history=val,
            last=self.last,
            model=self._frozen[1],
            vocab=t.vocab,
            config=replace(t.config),
            error=self.error,
            chars_per_sec=0.0,
            val_bits=val[-1]["val_bits"] if val else None,
            **self._guard_fields(),
        )
        self._published = snap
        self._want_copy.clear()
        self._copied.set()
        return snap
