"""charviz.train: truncated BPTT, the non-finite guard, determinism, learning, the background run."""

import math
import threading
import time

import pytest
import torch

from charviz.data import load_corpus
from charviz.train import History, TrainConfig, Trainer, TrainingRun

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _manual_sgd_step(trainer, weights, x, y, h0):
    """Reference: what one plain SGD step on window (x, y) from state h0 should give."""
    ref = Trainer(TEXT, trainer.config)
    ref.model.load_state_dict(weights)
    _, loss, _ = ref.model(x, y, h0)
    loss.backward()
    lr = trainer.config.lr
    return {n: p.detach() - lr * p.grad for n, p in ref.model.named_parameters()}


@pytest.mark.parametrize("carry", [True, False])
def test_truncated_bptt_carries_state_but_not_gradient(carry):
    cfg = TrainConfig(hidden_size=16, seq_len=8, batch_size=4, optimizer="sgd", lr=0.5, clip=None,
                      carry_hidden=carry)
    tr = Trainer(TEXT, cfg)
    w0 = _weights(tr.model)
    # window 1 by hand: its final state is what window 2 must start from (if carried)
    probe = Trainer(TEXT, cfg)
    x1, y1, _ = probe.batches.next()
    x2, y2, _ = probe.batches.next()
    with torch.no_grad():
        _, _, h1 = tr.model(x1)
    tr.step()
    if carry:
        torch.testing.assert_close(tr.h, h1)
        assert tr.h.grad_fn is None and not tr.h.requires_grad  # detached: the gradient stops here
    w1 = _weights(tr.model)
    tr.step()
    # the step-2 update equals a plain SGD step on window 2 from the carried state held CONSTANT
    # (no gradient flowing into window 1), or from zeros when not carrying
    expected = _manual_sgd_step(tr, w1, x2, y2, h1 if carry else None)
    for n, p in tr.model.named_parameters():
        torch.testing.assert_close(p.detach(), expected[n], rtol=1e-5, atol=1e-6)
    # and the carried state matters: starting window 2 from zeros would give another update
    if carry:
        other = _manual_sgd_step(tr, w1, x2, y2, None)
        assert any(not torch.allclose(other[n], expected[n]) for n in expected)
    assert not torch.equal(w0["head.bias"], w1["head.bias"])


def test_step_stats_report_loss_bits_and_clipping():
    cfg = TrainConfig(hidden_size=16, seq_len=8, batch_size=4, clip=1e-3)
    tr = Trainer(TEXT, cfg)
    s = tr.step()
    assert s.step == 1 and s.applied
    assert s.bits == pytest.approx(s.loss / math.log(2))
    assert s.loss == pytest.approx(math.log(len(tr.vocab)), rel=0.2)  # near a uniform guess at init
    assert s.clipped and s.grad_norm > 1e-3 and s.grad_norm_clipped == pytest.approx(1e-3)
    assert s.chars_per_sec > 0
    tr.set_clip(None)
    s2 = tr.step()
    assert not s2.clipped and s2.grad_norm_clipped == s2.grad_norm


def test_deterministic_for_a_seed():
    cfg = TrainConfig(hidden_size=16, seq_len=8, batch_size=4, seed=3)
    a = [Trainer(TEXT, cfg) for _ in range(2)]
    la = [[t.step().loss for _ in range(5)] for t in a]
    assert la[0] == la[1]
    b = Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4, seed=4))
    assert [b.step().loss for _ in range(5)] != la[0]


def test_optimizer_is_made_on_first_use_with_the_latest_learning_rate():
    """A new Trainer makes no optimizer (torch's first one costs ~1.5 s of imports); a learning rate set
    before the first step is the one the optimizer uses, and the first step equals an eager optimizer's."""
    cfg = TrainConfig(hidden_size=16, seq_len=8, batch_size=4, optimizer="sgd", lr=0.1, clip=None)
    lazy, eager = Trainer(TEXT, cfg), Trainer(TEXT, cfg)
    assert lazy._optimizer is None
    lazy.set_lr(0.5)
    assert lazy._optimizer is None and lazy.config.lr == 0.5
    assert eager.optimizer.param_groups[0]["lr"] == 0.1
    eager.set_lr(0.5)  # an existing optimizer gets the new rate
    assert eager.optimizer.param_groups[0]["lr"] == 0.5
    lazy.step(), eager.step()
    assert lazy.optimizer.param_groups[0]["lr"] == 0.5
    for a, b in zip(lazy.model.parameters(), eager.model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad"])
def test_huge_learning_rate_never_leaves_a_nan_weight(optimizer):
    cfg = TrainConfig(hidden_size=32, seq_len=16, batch_size=8, lr=1e6, optimizer=optimizer, clip=None)
    tr = Trainer(TEXT, cfg)
    stats = [tr.step() for _ in range(30)]
    for p in tr.model.parameters():
        assert torch.isfinite(p).all()
    for s in stats:
        assert s.applied or s.reason  # a refused step says why
    tr.evaluate()  # evaluating such a model must not raise


def test_absurd_learning_rate_is_refused_not_raised():
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4, lr=1e39, optimizer="adam"))
    before = _weights(tr.model)
    s = tr.step()
    assert not s.applied and s.reason
    for n, p in tr.model.named_parameters():
        assert torch.equal(p.detach(), before[n])


def test_nonfinite_loss_applies_no_update():
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4))
    with torch.no_grad():
        tr.model.head.bias[0] = float("nan")
    before = _weights(tr.model)
    s = tr.step()
    assert not s.applied and "not finite" in s.reason
    assert s.step == 0 and tr.steps == 0
    after = _weights(tr.model)
    for n in before:
        assert torch.equal(before[n].nan_to_num(7.0), after[n].nan_to_num(7.0))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_learns_hello_within_seconds(cell):
    cfg = TrainConfig(cell=cell, hidden_size=16, seq_len=10, batch_size=8, lr=1e-2)
    tr = Trainer(load_corpus("hello"), cfg)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 20:
        for _ in range(50):
            tr.step()
        preds = [tr.sample(p, 1, temperature=0) for p in ("h", "he", "hel", "hell")]
        if preds == ["e", "l", "l", "o"]:
            break
    assert preds == ["e", "l", "l", "o"]
    assert tr.evaluate() < 0.2


def test_evaluate_and_sample():
    tr = Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4))
    v = tr.evaluate()
    assert v == pytest.approx(math.log(len(tr.vocab)), rel=0.2)
    s = tr.sample("the ", 40, temperature=1.0, seed=1)
    assert len(s) == 40 and set(s) <= set(tr.vocab.itos)
    assert s == tr.sample("the ", 40, temperature=1.0, seed=1)


def test_history_stays_bounded_and_keeps_the_whole_run():
    h = History(capacity=100)
    for i in range(1, 100_001):
        h.add({"step": i})
    assert len(h) <= 100
    steps = [r["step"] for r in h.copy()]
    assert steps[0] == 1 and steps == sorted(steps)
    assert steps[-1] > 90_000  # recent steps are still there


def _charviz_threads():
    return [t for t in threading.enumerate() if t.name == "charviz-train"]


def test_training_run_start_pause_resume_stop():
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)), eval_every_s=0.05)
    assert run.state == "idle"
    run.start()
    deadline = time.time() + 10
    while run.snapshot().step < 5 and time.time() < deadline:
        time.sleep(0.01)
    assert run.state == "running" and run.snapshot().step >= 5
    run.pause()
    time.sleep(0.1)
    s1 = run.snapshot().step
    time.sleep(0.3)
    assert run.snapshot().step == s1 and run.state == "paused"
    run.resume()
    deadline = time.time() + 10
    while run.snapshot().step <= s1 and time.time() < deadline:
        time.sleep(0.01)
    assert run.snapshot().step > s1
    stats = run.step_once()
    assert run.state == "paused" and stats.step == run.snapshot().step
    t0 = time.time()
    run.stop()
    assert time.time() - t0 < 2 and not run.alive and run.state == "stopped"
    assert _charviz_threads() == []


def test_snapshot_is_a_frozen_copy():
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)))
    run.step_once()
    snap = run.snapshot()
    frozen = {n: p.clone() for n, p in snap.model.named_parameters()}
    run.step_once()
    for n, p in snap.model.named_parameters():
        assert torch.equal(p, frozen[n]) and not p.requires_grad
    assert run.snapshot().step == snap.step + 1
    assert snap.val_history and snap.val_history[-1]["val_bits"] > 0
    assert "step 1" in snap.message


def test_run_pauses_itself_on_a_nonfinite_step():
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4))
    with torch.no_grad():
        tr.model.rnn.weight_hh_l0[0, 0] = float("inf")
    run = TrainingRun(tr)
    run.start()
    deadline = time.time() + 5
    while run.state == "running" and time.time() < deadline:
        time.sleep(0.01)
    assert run.state == "paused"
    assert "not finite" in run.snapshot().error
    run.stop()
    assert _charviz_threads() == []
