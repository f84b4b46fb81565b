"""The race: fair stepping under any pause/resume interleaving, recall accuracy, the verdict, the sweep."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch

from charviz.data import Vocab, long_range_text
from charviz.inspect import long_range_recall
from charviz.model import CharRNN
from charviz.race import CELLS, Race, RaceSettings, Sweep, recall_accuracy, verdict
from charviz.train import Trainer

TINY = RaceSettings(k=3, seq_len=8, hidden_size=8, batch_size=4, lines=200)


def _wait(cond, what: str, rounds: int = 20000):
    """Wait for `cond` by yielding to the race thread, bounded by a number of checks (never a fixed sleep)."""
    ev = threading.Event()
    for _ in range(rounds):
        if cond():
            return
        ev.wait(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_fair_stepping_under_any_pause_resume_interleaving():
    race = Race(TINY)
    rng = random.Random(0)
    try:
        for _ in range(12):
            action = rng.choice(["start", "pause", "step", "pause", "start"])
            if action == "start":
                before = race.steps
                race.start()
                _wait(lambda b=before: race.steps > b, "a round")
            elif action == "pause":
                race.pause(wait=rng.random() < 0.5)
                if race.state != "running":
                    _wait(lambda: race.lock.acquire(blocking=False) and (race.lock.release() or True),
                          "the round in progress")
            else:
                race.step_once()
            if race.state != "running":
                counts = race.step_counts
                assert set(counts) == set(CELLS)
                assert len(set(counts.values())) == 1, counts
                assert counts["rnn"] == race.steps
            snap = race.snapshot()  # published between rounds: equal by construction
            assert {len(h) for h in snap.history.values()} == {len(snap.history["rnn"])}
        race.pause()
        assert len(set(race.step_counts.values())) == 1 and race.steps > 0
    finally:
        race.stop()


def test_the_three_models_differ_only_by_cell():
    race = Race(TINY)
    cfgs = {c: race.trainers[c].config for c in CELLS}
    for c in CELLS:
        assert cfgs[c].cell == c
        d = cfgs[c].to_dict()
        d.pop("cell")
        ref = cfgs["rnn"].to_dict()
        ref.pop("cell")
        assert d == ref
    assert len({race.trainers[c].text for c in CELLS}) == 1
    # same seed: each model equals a Trainer made alone with that config
    alone = Trainer(race.text, cfgs["gru"])
    for k, v in alone.model.state_dict().items():
        assert torch.equal(v, race.trainers["gru"].model.state_dict()[k])


def test_recall_accuracy_by_hand():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
    assert recall_accuracy(probs, np.array([1, 1, 2, 0])) == 0.5  # right, wrong, right, wrong
    with pytest.raises(ValueError):
        recall_accuracy(probs[:0], np.array([]))


def test_recall_of_a_model_that_always_says_A_is_the_share_of_A_keys():
    """A hand-made model: zero weights, head bias strongly on 'A'. It 'recalls' exactly the lines keyed A."""
    text = long_range_text(k=5, lines=40, seed=3)
    vocab = Vocab.from_text(text)
    m = CharRNN(len(vocab), 4, "rnn")
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        m.head.bias[vocab.stoi["A"]] = 10.0
    keys = [ln.lstrip(".")[0] for ln in text.split("\n") if ln]
    r = long_range_recall(m, vocab, text, max_lines=40)
    assert r.n == 40
    assert r.accuracy == pytest.approx(keys.count("A") / 40)
    assert 0 < keys.count("A") < 40


def test_verdict_is_computed_from_the_numbers():
    v = verdict({"rnn": 0.27, "lstm": 0.96, "gru": 0.91})
    assert "LSTM 96%" in v and "GRU 91%" in v and "RNN 27%" in v and "25%" in v
    assert v.index("LSTM") < v.index("RNN")  # those who recall come first
    v = verdict({"rnn": 0.5, "lstm": 0.3, "gru": 0.3})
    assert "RNN 50%" in v
    assert verdict({}) != verdict({"rnn": 0.3})


def test_race_learns_and_measures():
    race = Race(RaceSettings(k=2, seq_len=8, hidden_size=16, batch_size=8, lines=300, lr=2e-2))
    race.run_rounds(60)
    snap = race.snapshot()
    assert snap.steps == 60 and set(race.step_counts.values()) == {60}
    for c in CELLS:
        assert snap.evals[c][-1]["step"] == 60
        assert snap.evals[c][-1]["val_bits"] < snap.evals[c][0]["val_bits"]
        assert len(snap.probe[c]) == len(race.probe_text) - 1
        assert np.all(np.isfinite(snap.probe[c])) and snap.probe[c][-1] > 0
    assert snap.chars_per_sec > 0


def test_sweep_records_recall_at_every_k():
    sw = Sweep(TINY, ks=[4, 2], budget=6, chunk=4)
    while sw._unit() is False:
        pass
    snap = sw.snapshot()
    assert sorted(snap.done) == [2, 4]
    for k in (2, 4):
        assert set(snap.done[k]) == set(CELLS)
        assert all(0 <= a <= 1 for a in snap.done[k].values())
    with pytest.raises(ValueError):
        Sweep(TINY, ks=[], budget=5)
