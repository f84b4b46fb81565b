"""The two kinds of training run behind one interface (charviz.run.TrainingRun: a thread in this process;
charviz.worker.ProcessRun: a worker process) carry the same rewind snapshots and the same divergence guard.

Every test here runs once per mode, and trains through the run's own background machinery (start, wait for
a step count, pause), not step by step in the test's thread, so the process mode's worker really does the
steps and its snapshots and kept states travel back as plain data. Waits are bounded by conditions, with
generous deadlines (the machine may be loaded).
"""

from __future__ import annotations

import math

import pytest
import torch
from test_core_worker import pool, wait_until  # noqa: F401 (the module's worker pool fixture)

from charviz.run import TrainingRun
from charviz.snapshots import SnapshotStore, thin
from charviz.train import TrainConfig, Trainer
from charviz.worker import ProcessRun, WorkerPool

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
CFG = TrainConfig(hidden_size=32, seq_len=16, batch_size=8, lr=3e-3, clip=None)


@pytest.fixture(params=["thread", "process"])
def make_run(request, pool):  # noqa: F811 (the fixture)
    made = []

    def make(trainer: Trainer, **kw):
        run = TrainingRun(trainer, **kw) if request.param == "thread" else ProcessRun(trainer, pool=pool, **kw)
        made.append(run)
        return run

    yield make
    for run in made:
        run.stop()


def train_to(run, n: int) -> int:
    """Start the run, let it train at least `n` steps in the background, pause; -> the step count."""
    run.start()
    wait_until(lambda: run.snapshot().step >= n, f"{n} steps")
    run.pause()
    assert run.state == "paused"
    return run.trainer.steps


def test_pause_without_waiting_then_settled_shows_the_step_training_stopped_at(make_run):
    """The sidebar's Pause: pause(wait=False), then wait_settled() for the last step; from then on the step
    drawn is final (no step moves it, in either mode: a worker's later reply cannot change it)."""
    run = make_run(Trainer(TEXT, CFG))
    for _ in range(3):
        n = run.snapshot().step
        run.start()
        wait_until(lambda n=n: run.snapshot().step >= n + 3, "3 more steps")
        run.pause(wait=False)
        assert run.state == "paused"  # the button says Resume at once
        assert run.wait_settled(60.0) and not run.busy
        drawn = run.snapshot().step
        assert drawn == run.trainer.steps
        run.pause()  # (waits for nothing more)
        assert run.snapshot().step == drawn == run.trainer.steps
    assert run.wait_settled(0.0)  # a paused run is settled at once


def replay_weights(config: TrainConfig, steps: list[int]) -> dict[int, dict[str, torch.Tensor]]:
    """The weights of a fresh Trainer with the same seed after each of `steps` updates (in this process)."""
    tr, out = Trainer(TEXT, config), {}
    for step in sorted(steps):
        while tr.steps < step:
            tr.step()
        out[step] = {k: v.clone() for k, v in tr.model.state_dict().items()}
    return out


def assert_same_weights(a: dict, b: dict, what) -> None:
    assert set(a) == set(b), what
    for name in a:
        assert torch.equal(a[name], b[name]), (what, name)


def test_rewind_snapshots_keep_the_same_steps_and_equal_a_replay(make_run):
    run = make_run(Trainer(TEXT, CFG))
    run.snapshots = SnapshotStore(max_snapshots=12)
    run.snapshots.add(0, run.trainer.model)
    n = train_to(run, 40)
    kept = run.snapshots.steps
    # the store chose as if it had been offered every step, whichever process took them
    assert kept == thin(list(range(n + 1)), 12) and len(kept) == 12 and kept[-1] == n
    replay = replay_weights(CFG, kept)
    for step in kept:
        assert_same_weights(run.snapshots.get(step).state, replay[step], step)
    # training on after a pause goes on thinning the same way (the worker gets the store's steps back)
    m = train_to(run, n + 20)
    assert run.snapshots.steps == thin(list(range(m + 1)), 12)
    for step, weights in replay_weights(CFG, run.snapshots.steps).items():
        assert_same_weights(run.snapshots.get(step).state, weights, step)


def test_the_guard_reports_divergence_and_restore_brings_back_exactly_the_kept_state(make_run):
    run = make_run(Trainer(TEXT, CFG))
    train_to(run, 75)  # a copy kept at step 50 becomes the last good state after 20 healthy steps
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.good_step is not None and snap.good_step >= 50
    good = run.guard.good
    assert good.step == snap.good_step
    assert_same_weights(good.model, replay_weights(CFG, [good.step])[good.step], "the kept state")
    run.set_lr(10.0)
    run.start()
    wait_until(lambda: run.snapshot().diverging_bits is not None, "the run to be reported diverging")
    run.pause()
    snap = run.snapshot()
    assert snap.diverging_bits > math.log2(len(snap.vocab)) + 1
    good = run.guard.good  # (a later state may have been promoted before the loss went up)
    kept = {k: v.clone() for k, v in good.model.items()}
    kept_moments = {i: s["exp_avg"].clone() for i, s in good.optimizer["state"].items()}
    kept_h = good.h.clone()
    at = run.trainer.steps
    restored = run.restore_last_good()
    assert restored is not None and restored.step == good.step < at
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.restores == [(at, good.step)] and snap.step == at
    assert snap.state == "paused" and snap.error == ""
    assert_same_weights(run.trainer.model.state_dict(), kept, "the trainer after restore")
    assert_same_weights(snap.model.state_dict(), kept, "the model the pages draw")
    moments = {i: s["exp_avg"] for i, s in run.trainer.optimizer.state_dict()["state"].items()}
    assert_same_weights(moments, kept_moments, "the optimizer's moments")
    assert torch.equal(run.trainer.h, kept_h)
    # and it trains on from there (with a sane rate again), the restore kept in the record
    run.set_lr(CFG.lr)
    train_to(run, at + 20)
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.restores == [(at, good.step)]
    assert snap.history[-1]["bits"] < math.log2(len(snap.vocab)) + 1


def test_the_app_trains_in_processes_by_default_and_in_a_thread_where_they_cannot_start(monkeypatch, pool):  # noqa: F811
    from charviz import serving, worker
    from charviz.ui import session

    monkeypatch.delenv("CHARVIZ_TRAINING", raising=False)
    monkeypatch.setattr(serving, "DEFAULT_TRAINING", "process")  # (conftest sets "thread" for the AppTests)
    monkeypatch.setattr(worker, "_pool", pool)
    monkeypatch.setattr(worker, "_unavailable", "")
    run = session.new_run(Trainer(TEXT, CFG))
    assert isinstance(run, ProcessRun)
    run.stop()

    def no_processes(self):
        raise OSError("Function not implemented")  # what a sandbox without POSIX semaphores says

    monkeypatch.setattr(WorkerPool, "fill", no_processes)
    run = session.new_run(Trainer(TEXT, CFG))
    assert isinstance(run, TrainingRun) and "Function not implemented" in worker._unavailable
    assert not worker.processes_available()  # decided once: no second attempt per session
    run.step_once()
    assert run.snapshot().step == 1
    run.stop()
    monkeypatch.setenv("CHARVIZ_TRAINING", "thread")
    assert isinstance(session.new_run(Trainer(TEXT, CFG)), TrainingRun)
