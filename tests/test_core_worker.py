"""ProcessRun: training in a worker process, behind TrainingRun's interface (charviz.worker), and the cap.

The workers come from one pool for the module (a spawned process needs seconds to import torch). Waits are
bounded by conditions (steps reached, state changed) with generous deadlines: the machine may be loaded.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from charviz.cap import CapReached, TrainingCap
from charviz.config import TrainConfig
from charviz.errors import message
from charviz.run import TrainingRun
from charviz.train import Trainer
from charviz.worker import ProcessRun, WorkerPool, held_trainer, load_trainer_state, trainer_state

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
CFG = dict(hidden_size=16, seq_len=8, batch_size=4)
DEADLINE_S = 120


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(spare=1)
    p.fill()
    yield p
    p.close()


def wait_until(cond, what: str, timeout: float = DEADLINE_S) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_state_round_trip_as_plain_data():
    a = Trainer(TEXT, TrainConfig(**CFG, cell="lstm"))
    for _ in range(3):
        a.step()
    state = trainer_state(a)
    assert not any(isinstance(v, torch.Tensor) for v in state["model"].values())  # numpy, not torch
    b = Trainer(TEXT, TrainConfig(**CFG, cell="lstm"))
    load_trainer_state(b, state)
    assert (b.steps, b.chars_seen, b.batches.pos) == (a.steps, a.chars_seen, a.batches.pos)
    sa, sb = a.step(), b.step()  # same weights, optimizer moments, carried state and window: the same update
    assert sa.loss == sb.loss and sa.grad_norm == sb.grad_norm
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])


def test_process_run_trains_like_a_local_trainer_and_pauses_deterministically(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), eval_every_s=0.05, pool=pool)
    assert run.state == "idle"
    run.start()
    assert run.state == "running" and run.running
    pid = run.worker_pid
    assert pid is not None and pid != os.getpid()  # the steps happen in another process
    wait_until(lambda: run.snapshot().step >= 20, "20 steps")
    run.pause()
    snap = run.snapshot()
    n = run.trainer.steps
    assert run.state == "paused" and snap.state == "paused" and snap.step == n >= 20
    assert [r["step"] for r in snap.history] == list(range(1, n + 1))  # every step's row arrived, in order
    assert snap.val_history and snap.val_bits > 0
    # after pause() returns the model here is the trained one (and stays: the worker gave it back)
    assert run.snapshot().step == n and run._worker is None
    reference = Trainer(TEXT, TrainConfig(**CFG))  # the same seed, stepped n times in this process
    for _ in range(n):
        last = reference.step()
    for k, v in reference.model.state_dict().items():
        torch.testing.assert_close(run.trainer.model.state_dict()[k], v, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(snap.model.state_dict()[k], v, rtol=1e-4, atol=1e-5)
    assert snap.last.step == n and abs(snap.last.loss - last.loss) < 1e-4
    # Step works on the paused run here; Resume continues from it
    stats = run.step_once()
    assert stats.step == n + 1 and run.snapshot().step == n + 1 and run.state == "paused"
    run.resume()
    wait_until(lambda: run.snapshot().step > n + 3, "steps after resume")
    run.stop()
    assert run.state == "stopped" and not run.alive
    steps = [r["step"] for r in run.history.copy()]
    assert steps == list(range(1, steps[-1] + 1))


def test_live_settings_reach_the_worker(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.start()
    wait_until(lambda: run.snapshot().step >= 2, "2 steps")
    run.set_lr(0.02)
    run.set_clip(None)
    wait_until(lambda: any(r["lr"] == 0.02 for r in run.snapshot().history), "a step with the new lr")
    assert run.snapshot().config.lr == 0.02
    run.pause()
    assert run.trainer.config.lr == 0.02 and run.trainer.config.clip is None
    assert all(g["lr"] == 0.02 for g in run.trainer.optimizer.param_groups)
    with pytest.raises(ValueError):
        run.set_lr(-1.0)
    run.stop()


def test_a_killed_worker_is_reported_and_the_run_resumes_from_its_last_state(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.start()
    wait_until(lambda: run.snapshot().step >= 30, "30 steps")
    seen = run.snapshot().step
    os.kill(run.worker_pid, signal.SIGKILL)
    wait_until(lambda: run.state != "running", "the run to notice the dead worker")
    snap = run.snapshot()
    assert snap.state == "paused" and "ended unexpectedly" in str(snap.error) and "Resume" in str(snap.error)
    # kept by key: a reader in Korean reads it in Korean (charviz.errors)
    ko = message(snap.error, "ko")
    assert ko.startswith("학습 프로세스가 예기치 않게 끝났습니다 (시그널 9)") and f"{snap.step:,}" in ko
    assert snap.step >= seen and run.trainer.steps == snap.step  # kept as last heard from the worker
    assert run.crashes == 1
    kept = {k: v.clone() for k, v in run.trainer.model.state_dict().items()}
    for k, v in snap.model.state_dict().items():
        assert torch.equal(v, kept[k])
    run.resume()  # a new worker, from the kept state
    wait_until(lambda: run.snapshot().step > snap.step + 5, "steps after the restart")
    assert run.error == ""
    run.stop()
    steps = [r["step"] for r in run.history.copy()]
    assert steps == sorted(steps) and steps[-1] > snap.step + 5


def test_nonfinite_step_pauses_the_process_run_itself(pool):
    tr = Trainer(TEXT, TrainConfig(**CFG))
    with torch.no_grad():
        tr.model.rnn.weight_hh_l0[0, 0] = float("inf")
    run = ProcessRun(tr, pool=pool)
    run.start()
    wait_until(lambda: run.state != "running", "the run to pause itself")
    err = run.snapshot().error  # sent by the worker as key and parameters (pickled)
    assert run.state == "paused" and "not finite" in str(err)
    assert message(err, "ko").startswith("스텝이 거부되었습니다: ") and "유한한 값이 아닙니다" in message(err, "ko")
    run.stop()


def test_stop_ends_the_worker_process(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.start()
    wait_until(lambda: run.snapshot().step >= 1, "a step")
    w = run._worker
    run.stop()
    assert not w.proc.is_alive() and run.state == "stopped"
    with pytest.raises(RuntimeError):
        run.start()


def test_held_trainer_pauses_a_running_process_run_and_resumes_it(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.start()
    wait_until(lambda: run.snapshot().step >= 3, "3 steps")
    with held_trainer(run) as tr:
        n = tr.steps
        assert run.state == "paused" and n == run.snapshot().step >= 3
    assert run.state == "running"
    wait_until(lambda: run.snapshot().step > n, "training to go on")
    run.stop()
    thread_run = TrainingRun(Trainer(TEXT, TrainConfig(**CFG)))
    thread_run.step_once()
    with held_trainer(thread_run) as tr:
        assert tr is thread_run.trainer and tr.steps == 1


class _Fake:
    def __init__(self):
        self.running = False

    def start(self):
        self.running = True


def test_cap_counts_running_members_only_and_refuses_beyond_the_limit():
    cap = TrainingCap(2)
    a, b, c = _Fake(), _Fake(), _Fake()
    cap.start(a, a.start)
    cap.start(b, b.start)
    assert cap.training() == 2
    with pytest.raises(CapReached) as e:
        cap.start(c, c.start)
    assert (e.value.training, e.value.limit) == (2, 2) and not c.running
    cap.start(a, a.start)  # already training: allowed, still one
    b.running = False  # paused: does not count
    cap.start(c, c.start)
    assert c.running and cap.training() == 2
    limit = [1]
    cap2 = TrainingCap(lambda: limit[0])  # the limit is read at every check (a setting)
    cap2.register(a)
    with pytest.raises(CapReached):
        cap2.start(b, b.start)
    limit[0] = 2
    cap2.start(b, b.start)
    assert b.running and cap2.training() == 2 and cap2.room() == 0


def test_pause_without_waiting_reports_busy_until_the_model_is_back(pool):
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.start()
    wait_until(lambda: run.snapshot().step >= 3, "3 steps")
    run.pause(wait=False)
    assert run.state == "paused" and not run.running  # the button can say Resume at once
    wait_until(lambda: not run.busy, "the model to come back")
    n = run.snapshot().step
    assert n == run.trainer.steps and run._worker is None
    run.start()  # and Start right after a Pause that has not finished waits for it, then goes on
    run.pause(wait=False)
    run.start()
    wait_until(lambda: run.snapshot().step > n + 2, "training after the quick pause/start")
    run.stop()


def test_a_released_process_run_drops_its_model_copy_and_remakes_it(pool):
    """The session's on_release calls drop_copies() on whichever run it holds (thread or process)."""
    run = ProcessRun(Trainer(TEXT, TrainConfig(**CFG)), pool=pool)
    run.step_once()
    before = run.snapshot()
    run.drop_copies()
    assert run._frozen is None
    after = run.snapshot()
    assert after.step == before.step and after.model is not before.model
    for a, b in zip(before.model.parameters(), after.model.parameters(), strict=True):
        assert torch.equal(a, b)
    run.stop()
