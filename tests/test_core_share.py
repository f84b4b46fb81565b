"""charviz.share: codes, the registry of shared runs (grace period, stop sharing), snapshots as bytes."""

from __future__ import annotations

import re

import pytest
import torch

from charviz.config import TrainConfig
from charviz.run import TrainingRun
from charviz.share import (
    ALPHABET,
    ShareEnded,
    ShareNotFound,
    ShareRegistry,
    decode_snapshot,
    encode_snapshot,
    new_code,
    normalize_code,
)
from charviz.train import Trainer

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def small_run(steps: int = 3) -> TrainingRun:
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)))
    for _ in range(steps):
        run.step_once()
    return run


def test_codes_are_short_unambiguous_and_read_back_as_typed():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000  # no repeats among a big class's codes
    for c in list(codes)[:50]:
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", c) and not set(c.replace("-", "")) & set("01OIL")
        assert normalize_code(c.lower().replace("-", " ")) == c
        assert normalize_code(c.replace("-", "")) == c
    assert len(ALPHABET) ** 8 > 10**11  # ~40 bits
    assert normalize_code("hello") is None and normalize_code("K7PM-X2Q0") is None and normalize_code("") is None


def test_registry_shares_a_run_and_ends_it_with_a_reason():
    reg = ShareRegistry(grace_s=600)
    run = small_run()
    code = reg.share(run, {"label": "test", "sample": TEXT[:50]})
    assert reg.share(run, {}) == code and reg.code_of(run) == code  # sharing again: the same code
    snap, meta = reg.snapshot(code, watcher="w1")
    assert snap.step == 3 and meta["label"] == "test" and reg.watcher_count(code) == 1
    with pytest.raises(ShareNotFound):
        reg.snapshot("AAAA-BBBB")
    new = small_run(5)
    reg.rebind(run, new, {"label": "after reset", "sample": ""})  # the owner reset: watchers follow
    snap, meta = reg.snapshot(code)
    assert snap.step == 5 and meta["label"] == "after reset"
    reg.unshare(code)
    with pytest.raises(ShareEnded, match="stopped sharing"):
        reg.snapshot(code)
    assert reg.code_of(new) is None and new.state != "stopped"  # stopping sharing does not stop training
    reg.close()


def test_a_shared_run_outlives_its_owner_for_the_grace_period_then_stops():
    grace = [600.0]
    reg = ShareRegistry(grace_s=lambda: grace[0])
    run = small_run()
    run.start()
    code = reg.share(run, {"label": "x", "sample": ""})
    assert reg.owner_left(run)
    reg._tick()
    assert run.running and reg.snapshot(code)[0].state == "running"  # within the grace period: trains on
    reg.owner_here(run)  # the owner came back (a reconnect): no expiry
    reg.owner_left(run)
    grace[0] = 0.0
    with pytest.raises(ShareEnded, match="owner left"):
        reg.snapshot(code)  # (every read checks the grace period)
    assert run.state == "stopped"
    assert not reg.owner_left(small_run())  # an unshared run: the caller stops it as usual
    reg.close()


def test_snapshot_bytes_round_trip_without_pickle():
    run = small_run(4)
    snap = run.snapshot()
    data = encode_snapshot(snap, {"label": "l", "sample": "s"})
    assert b"pickle" not in data[:200]
    back, meta = decode_snapshot(data)
    assert meta == {"label": "l", "sample": "s"}
    assert (back.step, back.state, back.vocab, back.config) == (snap.step, snap.state, snap.vocab, snap.config)
    assert back.history == snap.history and back.val_history == snap.val_history and back.last == snap.last
    x = torch.tensor([snap.vocab.encode("the quick")])
    torch.testing.assert_close(back.model(x)[0], snap.model(x)[0], rtol=0, atol=0)
    with pytest.raises(ValueError):
        decode_snapshot(b"garbage")


def test_ended_shares_are_forgotten_after_a_while(monkeypatch):
    import charviz.share as share

    reg = ShareRegistry(grace_s=600)
    code = reg.share(small_run(), {"label": "x", "sample": ""})
    reg.unshare(code)
    monkeypatch.setattr(share, "ENDED_KEEP_S", -1.0)
    reg._tick()
    with pytest.raises(ShareNotFound):
        reg.snapshot(code)
    reg.close()


def test_watchers_asking_within_the_same_moment_get_one_snapshot(monkeypatch):
    """One snapshot object per SHARED_SNAPSHOT_S for all of a run's watchers: what is drawn from it is drawn once
    for the class (charviz.memo), and the newest one is never older than that."""
    import charviz.share as share

    reg = ShareRegistry(grace_s=600)
    run = small_run()
    code = reg.share(run, {"label": "test", "sample": ""})
    a, _ = reg.snapshot(code, watcher="w1")
    b, _ = reg.snapshot(code, watcher="w2")
    assert a is b and reg.watcher_count(code) == 2
    run.step_once()
    monkeypatch.setattr(share, "SHARED_SNAPSHOT_S", 0.0)  # (the moment has passed)
    c, _ = reg.snapshot(code, watcher="w1")
    assert c is not a and c.step == a.step + 1
    monkeypatch.setattr(share, "SHARED_SNAPSHOT_S", 600.0)
    new = small_run(5)
    reg.rebind(run, new, {"label": "after reset", "sample": ""})
    assert reg.snapshot(code)[0].step == 5  # a reset is seen at once, whatever the moment
    reg.unshare(code)
    assert reg._shares[code].seen is None  # an ended share keeps no model
