"""Rewind: the snapshot store's thinning rule, its budget, and that a snapshot holds the weights of its step."""

from __future__ import annotations

import math
import random

import pytest
import torch

from charviz.data import load_corpus
from charviz.model import CharRNN, seeded_model
from charviz.run import TrainingRun
from charviz.snapshots import SnapshotStore, snapshot_bytes, thin
from charviz.train import TrainConfig, Trainer


def _model(seed: int = 0) -> CharRNN:
    return seeded_model(5, 8, seed=seed).train()


@pytest.mark.parametrize("budget,n", [(2, 10), (8, 100), (64, 3000)])
def test_thinning_stays_within_budget_keeps_first_and_latest(budget, n):
    store = SnapshotStore(max_snapshots=budget)
    m = _model()
    for step in range(n + 1):
        store.add(step, m)
        kept = store.steps
        assert len(kept) <= budget
        assert kept[0] == 0 and kept[-1] == step
        assert kept == sorted(set(kept))
    assert len(store) == min(budget, n + 1)


def test_thinning_is_dense_early_and_sparse_later():
    kept = thin(list(range(10_001)), 64)
    gaps = [b - a for a, b in zip(kept, kept[1:], strict=False)]
    assert kept[:11] == list(range(11))  # every one of the first steps
    assert sum(gaps[-10:]) > 100 * sum(gaps[:10])  # ever sparser
    assert 0.05 < gaps[-1] / 10_000 < 0.2
    # roughly even in log(step + 1): no log-gap is more than 3x another (beyond the first integer steps)
    logs = [math.log1p(s) for s in kept[10:]]
    lg = [b - a for a, b in zip(logs, logs[1:], strict=False)]
    assert max(lg) < 3 * min(lg)


def test_the_store_and_thin_agree_whatever_the_offers():
    rng = random.Random(1)
    steps = sorted(rng.sample(range(1, 5000), 400))
    store = SnapshotStore(max_snapshots=16)
    m = _model()
    for s in [0, *steps]:
        store.add(s, m)
    kept = store.steps
    assert kept == thin([0, *steps], 16)
    assert kept[0] == 0 and kept[-1] == steps[-1] and len(kept) == 16
    logs = [math.log1p(s) for s in kept[1:]]  # (the first offers after 0 come at random, e.g. step 13)
    assert max(b - a for a, b in zip(logs, logs[1:], strict=False)) < 1.0


def test_memory_budget_limits_the_count():
    m = CharRNN(96, 64, "lstm")
    each = snapshot_bytes(m)
    assert each == 4 * sum(p.numel() for p in m.parameters())
    store = SnapshotStore(max_snapshots=64, max_bytes=10 * each + 1)
    for s in range(50):
        store.add(s, m)
    assert len(store) == 10 and store.nbytes <= 10 * each + 1


def test_a_snapshot_is_a_copy_and_refuses_going_back():
    m = _model()
    store = SnapshotStore(4)
    store.add(0, m)
    with torch.no_grad():
        m.head.bias.add_(1.0)
    assert not torch.equal(store.get(0).state["head.bias"], m.head.bias)
    store.add(3, m)
    store.add(3, m)  # the same step again: ignored
    assert store.steps == [0, 3]
    with pytest.raises(ValueError):
        store.add(2, m)
    with pytest.raises(KeyError):
        store.get(1)
    assert store.nearest(1).step == 0 and store.nearest(2).step == 3


def test_snapshot_weights_equal_the_weights_at_that_step():
    """Train 60 steps in a run, then re-run the same seed to each kept step and compare every weight exactly."""
    text = load_corpus("hello")
    cfg = TrainConfig(hidden_size=16, seq_len=8, batch_size=4, lr=1e-2, seed=7)
    run = TrainingRun(Trainer(text, cfg))
    run.snapshots = SnapshotStore(max_snapshots=12)
    run.snapshots.add(0, run.trainer.model)
    for _ in range(60):
        run.step_once()
    kept = run.snapshots.steps
    assert kept[0] == 0 and kept[-1] == 60 and len(kept) == 12
    replay = Trainer(text, cfg)
    for step in kept:
        while replay.steps < step:
            replay.step()
        snap = run.snapshots.get(step).state
        live = replay.model.state_dict()
        assert set(snap) == set(live)
        for name in live:
            assert torch.equal(snap[name], live[name]), (step, name)
    # and a kept early step really differs from the end
    assert not torch.equal(run.snapshots.get(kept[1]).state["head.weight"], run.trainer.model.head.weight)


def test_a_training_run_keeps_snapshots_as_it_trains():
    run = TrainingRun(Trainer(load_corpus("hello"), TrainConfig(hidden_size=8, seq_len=5, batch_size=2)))
    assert run.snapshots.steps == [0]
    for _ in range(5):
        run.step_once()
    assert run.snapshots.steps == [0, 1, 2, 3, 4, 5]
