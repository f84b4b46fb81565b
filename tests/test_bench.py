"""charviz.bench runs end to end, and its numpy reference computes what it claims (checked against torch).

Benchmarks are not tests: nothing here asserts a timing, only that every figure is produced.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from charviz.bench import format_table
from charviz.bench_ref import MinCharRNN

REPO = Path(__file__).resolve().parent.parent


def _small_text(n_chars: int = 12_000, seed: int = 0) -> str:
    """Generated pseudo-prose: a few hundred made-up words, lines of random length."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("etaoinshrdlcumwfgypbvk") for _ in range(rng.randint(1, 7))) for _ in range(300)]
    out, n = [], 0
    while n < n_chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))).capitalize() + ".\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:n_chars]


# ---------------------------------------------------------------------------------------------------------
# the whole bench, quick mode


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("bench") / "small.txt"
    corpus.write_text(_small_text(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "charviz.bench", "--corpus", str(corpus), "--quick", "--seconds", "0.2", "0.4",
           "--threads", "1", "--json"]  # 1 thread: robust when other tests load the machine
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def _finite_positive(x) -> bool:
    return isinstance(x, float | int) and math.isfinite(x) and x > 0


def test_bench_json_has_every_figure(quick_run):
    results, _ = quick_run
    assert results["corpus"]["name"] == "small.txt"
    assert results["env"]["torch_threads"] == 1 and results["env"]["quick"] is True
    for side in ("charviz", "plain", "numpy", "numpy_per_step"):  # 1-3: throughput of each side
        assert _finite_positive(results["throughput"][side]["chars_per_sec"])
        assert len(results["throughput"][side]["rounds"]) >= 1
    assert set(results["throughput"]["ratios"]) == {"plain", "numpy", "numpy_per_step"}
    quality = results["quality"]  # 4: equal-time quality, one entry per budget
    assert [q["seconds"] for q in quality] == [0.2, 0.4]
    for q in quality:
        for side in ("charviz", "numpy"):
            assert _finite_positive(q[side]["bits"])
            assert q[side]["train_seconds"] >= q["seconds"]
            assert q[side]["chars"] > 0
        assert q["heldout_chars"] == 1200  # the last 10% of 12,000
    assert _finite_positive(results["inspect"]["ms"]) and results["inspect"]["chars"] == 128  # 5
    checks = results["checks"]
    assert len(checks) == 3 + len(quality) + 1
    assert [c["key"] for c in checks] == ["vs_plain", "vs_numpy_per_step", "vs_numpy", "quality_0.2",
                                          "quality_0.4", "inspect"]
    for c in checks:
        assert isinstance(c["pass"], bool) and c["target"] and math.isfinite(c["value"])


def test_bench_table_shows_figures_targets_and_verdicts(quick_run):
    results, stderr = quick_run
    table = format_table(results)
    assert table in stderr  # --json still shows the table, on stderr
    for words in (
        "Trainer.step() throughput",
        "plain PyTorch loop throughput",
        "charviz lower by, after 0.4 s",
        "numpy min-char-rnn throughput, per step",
        "numpy min-char-rnn throughput, vectorized",
        "Trainer.step() vs plain loop",
        "Trainer.step() vs numpy reference, per step",
        "Trainer.step() vs numpy reference, vectorized",
        "after 0.2 s of training: charviz",
        "after 0.4 s of training: numpy reference",
        "forward_trace + gradient_flow",
        ">= 0.9x",
        ">= 10x",
        ">= 0.3",
        "< 30 ms",
    ):
        assert words in table, words
    rows = [line for line in table.splitlines() if line.startswith("| ") and line.endswith(" |")]
    verdicts = [r.split("|")[-2].strip() for r in rows[1:]]
    assert sum(v in ("PASS", "MISS") for v in verdicts) == len(results["checks"])


# ---------------------------------------------------------------------------------------------------------
# the numpy reference against torch autograd


def _tiny(V=5, H=4, T=7, seed=1, per_step=False):
    ref = MinCharRNN(V, hidden_size=H, seq_len=T, seed=seed, per_step=per_step)
    rng = np.random.default_rng(seed)
    # weights large enough that tanh is not linear and every gradient is far from zero
    ref.Wxh, ref.Whh, ref.Why = (rng.standard_normal(p.shape) * 0.7 for p in (ref.Wxh, ref.Whh, ref.Why))
    ref.bh, ref.by = rng.standard_normal(H) * 0.3, rng.standard_normal(V) * 0.3
    inputs = rng.integers(0, V, T)
    targets = rng.integers(0, V, T)
    hprev = rng.standard_normal(H) * 0.5
    return ref, inputs, targets, hprev


def _torch_loss(ref: MinCharRNN, inputs, targets, hprev, params):
    """The same network in torch (nn.RNN with the reference's weights) -> (summed loss, h_T)."""
    Wxh, Whh, Why, bh, by = params
    rnn = torch.nn.RNN(ref.vocab_size, ref.hidden_size, batch_first=True).double()
    weights = {"weight_ih_l0": Wxh, "weight_hh_l0": Whh, "bias_ih_l0": bh, "bias_hh_l0": torch.zeros_like(bh)}
    x = F.one_hot(torch.as_tensor(inputs), ref.vocab_size).double()  # (T, V)
    out, h_last = torch.func.functional_call(rnn, weights, (x[None], torch.as_tensor(hprev)[None, None]))
    logits = out[0] @ Why.T + by  # (T, V), out (1, T, H)
    return F.cross_entropy(logits, torch.as_tensor(targets), reduction="sum"), h_last[0, 0]


@pytest.mark.parametrize("per_step", [False, True], ids=["vectorized", "per_step"])
def test_reference_loss_and_gradients_match_torch_autograd(per_step):
    ref, inputs, targets, hprev = _tiny(per_step=per_step)
    loss, grads, h_last = ref.loss_and_grads(inputs, targets, hprev)
    params = [torch.tensor(p, requires_grad=True) for p in ref.params]
    t_loss, t_h = _torch_loss(ref, inputs, targets, hprev, params)
    t_loss.backward()
    assert loss == pytest.approx(float(t_loss.detach()), rel=1e-12)
    np.testing.assert_allclose(h_last, t_h.detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, g, p in zip(MinCharRNN.names, grads, params, strict=True):
        assert np.abs(g).max() > 1e-3, name
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("per_step", [False, True], ids=["vectorized", "per_step"])
def test_reference_gradients_match_finite_differences(per_step):
    ref, inputs, targets, hprev = _tiny(V=4, H=3, T=5, seed=2, per_step=per_step)
    _, grads, _ = ref.loss_and_grads(inputs, targets, hprev)
    eps = 1e-6
    for name, p, g in zip(MinCharRNN.names, ref.params, grads, strict=True):
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = ref.loss_and_grads(inputs, targets, hprev)[0]
            p[idx] = old - eps
            down = ref.loss_and_grads(inputs, targets, hprev)[0]
            p[idx] = old
            assert (up - down) / (2 * eps) == pytest.approx(g[idx], rel=1e-5, abs=1e-8), (name, idx)


def test_reference_heldout_bits_is_torch_cross_entropy_in_bits():
    ref, inputs, _, _ = _tiny(T=30)
    ids = np.concatenate([inputs, inputs[::-1]])
    params = [torch.tensor(p) for p in ref.params]
    loss, _ = _torch_loss(ref, ids[:-1], ids[1:], np.zeros(ref.hidden_size), params)
    assert ref.heldout_bits(ids) == pytest.approx(float(loss) / (len(ids) - 1) / math.log(2), rel=1e-12)


@pytest.mark.parametrize("per_step", [False, True], ids=["vectorized", "per_step"])
def test_reference_step_is_clipped_adagrad_and_carries_the_state(per_step):
    ref, _, _, _ = _tiny(V=5, H=4, T=7, per_step=per_step)
    data = np.random.default_rng(3).integers(0, 5, 40)
    before = [p.copy() for p in ref.params]
    loss, grads, h_last = ref.loss_and_grads(data[:7], data[1:8], np.zeros(4))
    mean_loss = ref.step(data)
    assert mean_loss == pytest.approx(loss / 7)
    np.testing.assert_allclose(ref.h, h_last)
    for p, p0, g in zip(ref.params, before, grads, strict=True):
        g = np.clip(g, -5, 5)
        np.testing.assert_allclose(p, p0 - 0.1 * g / np.sqrt(g * g + 1e-8), rtol=1e-12, atol=1e-15)
    for _ in range(4):  # windows at 0, 7, ..., 28 fit in 40 chars; the 6th wraps to 0 and resets the state
        ref.step(data)
    assert ref.pos == 35
    expected_h = ref.loss_and_grads(data[:7], data[1:8], np.zeros(4))[2]  # from a zero state
    ref.step(data)
    np.testing.assert_allclose(ref.h, expected_h)
    assert ref.pos == 7 and ref.steps == 6
    assert all(np.isfinite(p).all() for p in ref.params)


def test_reference_variants_learn_the_same():
    data = np.random.default_rng(4).integers(0, 6, 500)
    fast, loop = MinCharRNN(6, seed=5), MinCharRNN(6, seed=5, per_step=True)
    # Adagrad's first steps divide by sqrt(g^2 + 1e-8): rounding differences in tiny gradients grow, a little
    for _ in range(30):
        assert fast.step(data) == pytest.approx(loop.step(data), rel=1e-5)
    for a, b in zip(fast.params, loop.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_only_some_parts(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(_small_text(3000), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "charviz.bench", "--corpus", str(corpus), "--quick", "--threads", "1",
           "--only", "inspect"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "forward_trace + gradient_flow" in proc.stdout
    assert "throughput" not in proc.stdout and "held-out" not in proc.stdout
