"""TrainingRun, issue 13: the controls and the readers never wait for a step in progress, and the speed it
reports is the wall-clock rate (steps x batch x window / elapsed), not the step's own."""

from __future__ import annotations

import threading
import time

from charviz.run import TrainingRun
from charviz.train import TrainConfig, Trainer

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _run() -> TrainingRun:
    return TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)), eval_every_s=60)


def _in_thread(fn, timeout: float = 2.0):
    """Run fn in a thread; -> (finished within timeout, its result)."""
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", fn()), daemon=True)
    th.start()
    th.join(timeout)
    return not th.is_alive(), out.get("r")


def _wait(cond, timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not met in time"
        time.sleep(0.01)


class _LongStep:
    """Hold the run's lock as a long training step would, until released."""

    def __init__(self, run: TrainingRun):
        self.run, self.go, self.held = run, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        with self.run.lock:
            self.held.set()
            self.go.wait(30)

    def __enter__(self):
        self.thread.start()
        self.held.wait(5)
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(5)


def test_snapshot_pause_step_and_settings_never_wait_for_a_step_in_progress():
    run = _run()
    run.step_once()
    run.start()
    _wait(lambda: run.trainer.steps >= 3)
    with _LongStep(run):
        step_then = run.trainer.steps
        done, snap = _in_thread(run.snapshot)
        assert done, "snapshot() waited for the step in progress"
        assert snap.step <= step_then and snap.model is not None and snap.state == "running"
        done, _ = _in_thread(lambda: run.pause(wait=False))
        assert done and run.state == "paused"
        done, stats = _in_thread(lambda: run.step_once(wait=False))
        assert done and stats is None  # handed to the training thread
        done, _ = _in_thread(lambda: run.set_lr(0.05))
        assert done
        done, _ = _in_thread(lambda: run.set_clip(None))
        assert done
        assert run.trainer.steps == step_then  # nothing happened yet: the "step" still holds the lock
    # the step in progress ended: the thread does the Step that was asked for (one), with the new settings
    _wait(lambda: run.trainer.steps == step_then + 1)
    assert run.trainer.config.lr == 0.05 and run.trainer.config.clip is None
    assert run.last.lr == 0.05
    _wait(lambda: run._parked.is_set())
    assert run.trainer.steps == step_then + 1 and run.state == "paused"
    snap = run.snapshot()  # no step in progress: a fresh copy
    assert snap.step == step_then + 1
    run.stop()


def test_snapshot_while_running_is_consistent_and_fresh_after_the_step():
    run = _run()
    run.start()
    _wait(lambda: run.trainer.steps >= 5)
    for _ in range(20):
        s = run.snapshot()
        assert s.history[-1]["step"] == s.step == s.last.step  # metrics and model of one step
    run.stop()


def test_speed_is_the_wall_clock_rate_not_the_steps_own():
    """Time spent outside Trainer.step (evaluation, the UI's copies, other threads) is training time too: the
    reported chars/s must equal steps x batch x window / elapsed (old code: the step's own rate, 39% to 2x
    higher)."""
    run = _run()
    real = run._maybe_evaluate

    def slow_evaluate(force=False):  # stands in for evaluation / the UI holding the GIL between steps
        real(force)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.01:
            pass

    run._maybe_evaluate = slow_evaluate
    run.start()
    _wait(lambda: run.trainer.steps >= 5)
    t0, s0 = time.monotonic(), run.trainer.steps
    _wait(lambda: run.trainer.steps >= s0 + 60)
    t1, s1 = time.monotonic(), run.trainer.steps
    shown = run.snapshot().chars_per_sec
    run.stop()
    B, T = run.trainer.batches.batch_size, run.trainer.batches.seq_len
    counter = (s1 - s0) * B * T / (t1 - t0)
    assert abs(shown - counter) <= 0.15 * counter, (shown, counter)
    hist = run.history.copy()[-10:]
    assert all(abs(r["chars_per_sec"] - counter) <= 0.25 * counter for r in hist), [r["chars_per_sec"] for r in hist]
    assert run.snapshot().chars_per_sec == 0.0  # not running: no speed
