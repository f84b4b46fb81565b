"""charviz.train and charviz.run: truncated BPTT, the non-finite guard, determinism, learning, the background
run and its pause."""

import math
import threading
import time

import pytest
import torch

from charviz.data import load_corpus
from charviz.errors import message
from charviz.inspect import predict_next
from charviz.run import History, TrainingRun, diverging
from charviz.train import TrainConfig, Trainer

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
    t0 = time.perf_counter()
    s = tr.step()
    seconds = time.perf_counter() - t0
    assert s.step == 1 and s.applied
    assert s.bits == pytest.approx(s.loss / math.log(2))
    assert s.loss == pytest.approx(math.log(len(tr.vocab)), rel=0.2)  # near a uniform guess at init
    assert s.clipped and s.grad_norm > 1e-3 and s.grad_norm_clipped == pytest.approx(1e-3)
    # the step read batch x window = 32 characters, in less time than the call took from outside
    assert s.chars_per_sec >= 4 * 8 / seconds
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
    for _ in range(30):
        s = tr.step()
        for p in tr.model.parameters():
            assert torch.isfinite(p).all()
        if s.applied:  # only a finite loss and gradient are ever applied
            assert math.isfinite(s.loss) and math.isfinite(s.grad_norm)
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
def test_learns_hello_within_a_few_hundred_steps(cell):
    """Bounded by steps, not time (each cell gets it right after 50 steps; 300 leave room)."""
    cfg = TrainConfig(cell=cell, hidden_size=16, seq_len=10, batch_size=8, lr=1e-2)
    tr = Trainer(load_corpus("hello"), cfg)
    for _ in range(6):
        for _ in range(50):
            tr.step()
        preds = [predict_next(tr.model, tr.vocab, p, k=1)[0][0] for p in ("h", "he", "hel", "hell")]
        if preds == ["e", "l", "l", "o"]:
            break
    assert preds == ["e", "l", "l", "o"]
    assert tr.evaluate() < 0.2


def test_evaluate_is_the_held_out_cross_entropy():
    tr = Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4))
    v = tr.evaluate()
    assert v == pytest.approx(math.log(len(tr.vocab)), rel=0.2)  # untrained: near a uniform guess
    # reference: torch's cross-entropy of the model read once over the whole held-out text from a zero state
    ids = tr.val_ids
    with torch.no_grad():
        logits, _, _ = tr.model(ids[:-1].view(1, -1))
    ref = float(torch.nn.functional.cross_entropy(logits[0], ids[1:]))
    assert v == pytest.approx(ref, rel=0.05)  # evaluate() reads it in parallel streams (each from zero)


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


def _wait(condition, timeout: float = 30.0) -> None:
    """Wait until condition() holds (polling), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_training_run_start_pause_resume_stop():
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)), eval_every_s=0.05)
    assert run.state == "idle"
    run.start()
    _wait(lambda: run.snapshot().step >= 5)
    assert run.state == "running"
    run.pause()
    s1 = run.trainer.steps
    assert run.state == "paused"
    # the thread goes back to waiting for the run flag without taking another step
    assert run._parked.wait(30)
    assert run.trainer.steps == s1 == run.snapshot().step and len(run.history) == s1
    run.resume()
    _wait(lambda: run.snapshot().step > s1)
    stats = run.step_once()
    assert run.state == "paused" and stats.step == run.snapshot().step
    t0 = time.time()
    run.stop()
    assert time.time() - t0 < 2 and not run.alive and run.state == "stopped"
    assert _charviz_threads() == []


def test_pause_returns_only_when_no_step_runs_and_none_will():
    """pause() while a (slow) step is in progress waits for that step, and no step starts after it returns."""
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4))
    real_step = tr.step
    in_step, events = threading.Event(), []

    def slow_step():
        events.append("begin")
        in_step.set()
        time.sleep(0.05)  # a step that takes a while (a big model on a busy machine)
        out = real_step()
        events.append("end")
        return out

    tr.step = slow_step
    run = TrainingRun(tr, eval_every_s=1e9)
    run.start()
    for _ in range(5):  # pause at various moments: while a step runs, or between steps
        assert in_step.wait(30)
        run.pause()
        n = len(events)
        assert events[-1] == "end", "pause() returned while a step was running"
        assert run._parked.wait(30)  # the loop went back to waiting ...
        assert len(events) == n, "a step started after pause() returned"  # ... without another step
        in_step.clear()
        run.resume()
    run.stop()
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


def test_run_pauses_itself_on_a_nonfinite_step():
    tr = Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4))
    with torch.no_grad():
        tr.model.rnn.weight_hh_l0[0, 0] = float("inf")
    run = TrainingRun(tr)
    run.start()
    _wait(lambda: run.state != "running")
    assert run.state == "paused"
    err = run.snapshot().error
    assert "not finite" in str(err)  # English for logs; in the reader's language when drawn (charviz.errors)
    assert message(err, "ko").startswith("스텝이 거부되었습니다: ") and "유한한 값이 아닙니다" in message(err, "ko")
    run.stop()
    assert _charviz_threads() == []


def _rows(bits, applied=True):
    return [{"step": i, "bits": b, "applied": applied} for i, b in enumerate(bits)]


def test_diverging_is_the_recent_median_far_above_a_uniform_guess():
    """A 4-character vocabulary: a uniform guess costs log2(4) = 2 bits; diverging means a median > 3 bits."""
    assert diverging(_rows([40.0] * 20), 4) == 40.0
    assert diverging(_rows([2.9] * 20), 4) is None  # worse than uniform, but by less than a bit
    assert diverging(_rows([3.5] * 20), 4) == 3.5
    # the median of the last 20: 11 high and 9 low -> high; 9 high and 11 low -> low
    assert diverging(_rows([1.0] * 9 + [50.0] * 11), 4) == 50.0
    assert diverging(_rows([50.0] * 9 + [1.0] * 11), 4) is None
    assert diverging(_rows([1.0] * 100 + [50.0] * 20), 4) == 50.0  # only the last 20 count
    assert diverging(_rows([50.0] * 9), 4) is None  # too few steps to tell
    assert diverging(_rows([50.0] * 20, applied=False), 4) is None  # refused steps do not count
    assert diverging(_rows([7.0] * 20), 64) is None and diverging(_rows([7.1] * 20), 64) == 7.1  # log2(64) = 6


def test_uniform_guess_in_bits():
    from charviz.units import LN2, to_bits, uniform_bits

    assert uniform_bits(4) == 2.0 and uniform_bits(65) == pytest.approx(6.0224, abs=1e-4)
    assert uniform_bits(1) == 1.0  # a one-letter vocabulary is drawn as two (no zero-width axis)
    assert to_bits(math.log(8)) == pytest.approx(3.0) and LN2 == pytest.approx(0.693147, abs=1e-6)
