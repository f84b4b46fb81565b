"""charviz.guard: divergence is detected (loss far above the uniform guess for a while), and the last good
weights, optimizer state and carried hidden state from before the divergence come back on restore."""

import math

import torch

from charviz.guard import DivergenceGuard
from charviz.run import TrainingRun
from charviz.train import StepStats, TrainConfig, Trainer

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
CFG = TrainConfig(hidden_size=32, seq_len=16, batch_size=8, lr=3e-3, clip=None)


def _copy(trainer):
    """Independent record of a trainer's state: weights, Adam moments, carried state."""
    opt = trainer.optimizer.state_dict()["state"]
    return {
        "weights": {k: v.clone() for k, v in trainer.model.state_dict().items()},
        "moments": {i: s["exp_avg"].clone() for i, s in opt.items()},
        "h": trainer.h.clone(),
    }


def _stats(bits, applied=True):
    return StepStats(step=0, loss=bits * math.log(2), bits=bits, grad_norm=1.0, grad_norm_clipped=1.0,
                     clipped=False, chars_per_sec=1.0, applied=applied)


def test_healthy_training_is_not_diverging_and_keeps_a_recent_good_state():
    tr = Trainer(TEXT, CFG)
    guard = DivergenceGuard.for_trainer(tr, window=10, keep_every=20)
    assert guard.good.step == 0  # the initial weights are the first good state
    for _ in range(100):
        guard.observe(tr, tr.step())
        assert not guard.diverging
    # candidates at 20, 40, 60, 80 promoted 10 healthy steps later: the last good state is from step 80
    assert guard.good.step == 80


def test_a_large_learning_rate_is_detected_and_restore_brings_back_the_state_from_before():
    tr = Trainer(TEXT, CFG)
    guard = DivergenceGuard.for_trainer(tr, window=10, keep_every=20)
    record = {}
    for _ in range(100):
        guard.observe(tr, tr.step())
        record[tr.steps] = _copy(tr)
    uniform = math.log2(len(tr.vocab))
    tr.set_lr(10.0)  # Adam with lr 10: every update throws the weights far away
    for _ in range(200):
        guard.observe(tr, tr.step())
        if guard.diverging:
            break
    assert guard.diverging, "200 steps at lr 10 were not detected as diverging"
    assert guard.median_bits() > uniform + 1.0
    good = guard.good
    assert good.step <= 100  # from before the learning rate was raised
    tr.set_lr(3e-3)
    guard.restore(tr)
    assert not guard.diverging
    want = record[good.step]
    for k, v in tr.model.state_dict().items():
        torch.testing.assert_close(v, want["weights"][k], rtol=0, atol=0)
    for i, s in tr.optimizer.state_dict()["state"].items():
        torch.testing.assert_close(s["exp_avg"], want["moments"][i], rtol=0, atol=0)
    torch.testing.assert_close(tr.h, want["h"], rtol=0, atol=0)
    assert tr.optimizer.param_groups[0]["lr"] == 3e-3  # the live setting stays what it is now
    # and training goes on from there: below the uniform guess again within a bounded number of steps
    for _ in range(50):
        stats = tr.step()
    assert stats.bits < uniform


def test_a_candidate_is_not_kept_when_an_unhealthy_step_follows():
    tr = Trainer(TEXT, CFG)
    guard = DivergenceGuard.for_trainer(tr, window=4, keep_every=1)
    uniform = guard.uniform_bits
    for _ in range(4):
        tr.steps += 1
        guard.observe(tr, _stats(uniform - 0.5))
    assert guard._candidate is not None and guard._candidate.step == 4
    tr.steps += 1
    guard.observe(tr, _stats(uniform + 3.0))  # the update of step 4 wrecked the weights
    assert guard._candidate is None and guard.good.step == 0
    tr.steps += 1
    guard.observe(tr, _stats(math.nan, applied=False))  # refused steps are unhealthy too
    assert guard.good.step == 0


def test_diverging_needs_a_while_above_the_line_not_one_spike():
    tr = Trainer(TEXT, CFG)
    guard = DivergenceGuard(len(tr.vocab), window=10)
    uniform = guard.uniform_bits
    for bits in [uniform - 1] * 10 + [uniform + 50] * 4:
        guard.observe(tr, _stats(bits))
    assert not guard.diverging  # 4 of 10 above: the median is still fine
    for _ in range(2):
        guard.observe(tr, _stats(uniform + 50))
    assert guard.diverging
    assert guard.median_bits() == uniform + 50


def test_training_run_reports_divergence_and_restores_the_last_good_state():
    run = TrainingRun(Trainer(TEXT, CFG))
    for _ in range(120):
        run.step_once()
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.good_step == 100
    good_weights = run.guard.good.model
    run.set_lr(10.0)
    for _ in range(200):
        run.step_once()
        if run.snapshot().diverging_bits is not None:
            break
    snap = run.snapshot()
    assert snap.diverging_bits is not None and snap.diverging_bits > math.log2(len(snap.vocab)) + 1
    at = snap.step
    good = run.restore_last_good()
    assert good is not None and good.step == 100
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.restores == [(at, 100)] and snap.step == at
    assert snap.state != "running"
    for k, v in snap.model.state_dict().items():  # the frozen copy the pages draw is the restored model
        torch.testing.assert_close(v, good_weights[k], rtol=0, atol=0)
    run.stop()

