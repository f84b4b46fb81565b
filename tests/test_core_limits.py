"""charviz.limits: the budget's estimates against measured steps, the refusals, the config checks; and a
memory test: hostile checkpoints and refused configurations leave the process's peak memory flat."""

from __future__ import annotations

from pathlib import Path

import pytest

from charviz import limits
from charviz.config import TrainConfig
from charviz.limits import Budget, BudgetError

ROOT = Path(__file__).resolve().parents[1]


def test_num_params_matches_the_model():
    from charviz.model import CharRNN

    for cell in ("rnn", "lstm", "gru"):
        for V, H in ((4, 8), (65, 128), (300, 17)):
            assert limits.num_params(cell, V, H) == sum(p.numel() for p in CharRNN(V, H, cell).parameters())


def test_estimate_by_hand():
    # rnn, V=4, H=8, B=2, T=3, sgd: P = 8*(4+8) + 2*8 + 8*4 + 4 = 148
    e = limits.estimate(TrainConfig(hidden_size=8, batch_size=2, seq_len=3, optimizer="sgd"), 4, text_chars=100)
    assert e.params == 148
    assert e.param_mb == pytest.approx(4 * 148 * limits.PARAM_COPIES / 1e6)
    assert e.snapshot_mb == pytest.approx(64 * 4 * 148 / 1e6)  # 64 rewind snapshots
    assert e.activation_mb == pytest.approx(4 * 6 * (8 * 8 + 8 * 4) / 1e6)
    assert e.text_mb == pytest.approx(800 / 1e6)
    macs = 8 * 12 + 8 * 4
    assert e.step_s == pytest.approx(6 * 6 * macs / limits.FLOPS + 6 * (64 * 2 + 32 * 4) * 1e-9 + 3 * 40e-6)


def test_estimate_grows_with_every_size_and_adam_costs_more_than_sgd():
    base = TrainConfig(hidden_size=64, batch_size=16, seq_len=16)
    e0 = limits.estimate(base, 65)
    for change in ({"hidden_size": 128}, {"batch_size": 32}, {"seq_len": 32}, {"cell": "lstm"}):
        e = limits.estimate(TrainConfig(**{**base.to_dict(), **change}), 65)
        assert e.memory_mb > e0.memory_mb and e.step_s > e0.step_s, change
    assert limits.estimate(base, 200).memory_mb > e0.memory_mb
    sgd = limits.estimate(TrainConfig(**{**base.to_dict(), "optimizer": "sgd"}), 65)
    assert sgd.param_mb < e0.param_mb


def test_default_config_fits_and_the_maxima_are_refused_with_the_estimate():
    limits.check(TrainConfig(), 65, 1_500_000, Budget())
    for cell in ("rnn", "lstm", "gru"):
        cfg = TrainConfig(cell=cell, hidden_size=512, seq_len=512, batch_size=512)
        with pytest.raises(BudgetError, match=r"would need about [\d,]+ MB of memory \(the limit is 300 MB\)"):
            limits.check(cfg, 65, budget=Budget())
    with pytest.raises(BudgetError, match="distinct characters"):
        limits.check(TrainConfig(), limits.VOCAB_MAX + 1, budget=Budget())


def test_budget_from_env(monkeypatch):
    monkeypatch.setenv("CHARVIZ_MAX_MEMORY_MB", "1000")
    monkeypatch.setenv("CHARVIZ_MAX_STEP_S", "nonsense")
    b = Budget.from_env()
    assert b.max_memory_mb == 1000 and b.max_step_s == limits.DEFAULT_MAX_STEP_S


def test_trainer_with_a_budget_refuses_before_building():
    from charviz.train import Trainer

    text = "abcdefgh" * 100
    with pytest.raises(BudgetError):
        Trainer(text, TrainConfig(cell="lstm", hidden_size=512, seq_len=512, batch_size=512), budget=Budget())
    Trainer(text, TrainConfig(), budget=Budget())


@pytest.mark.parametrize("shape", [("rnn", 512, 64, 64, 65), ("lstm", 64, 128, 128, 65),
                                   ("gru", 256, 32, 64, 65), ("rnn", 32, 64, 64, 1000)])
def test_memory_estimate_is_close_to_the_measured_peak(shape):
    from charviz.bench import step_memory

    cell, H, B, T, V = shape
    cfg = TrainConfig(cell=cell, hidden_size=H, batch_size=B, seq_len=T)
    measured = step_memory(cfg, 2, vocab=V, chars=B * (T + 2) * 2, timeout=300)["peak_mb"]  # a fresh process
    est = limits.estimate(cfg, V, B * (T + 2) * 2)
    trainer_only = est.memory_mb - est.snapshot_mb  # the measured process keeps no rewind snapshots
    assert 0.8 * measured <= trainer_only <= 2.5 * measured, (measured, est)


def test_measure_script_picks_the_largest_allowed_settings():
    """scripts/measure_limits.py measures at the edge of the budget: each configuration it picks fits, and one
    step larger (the square ones: batch and window + 1; window 512: batch + 1) does not."""
    import importlib.util
    from dataclasses import replace

    spec = importlib.util.spec_from_file_location("measure_limits", ROOT / "scripts" / "measure_limits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for cell in ("rnn", "gru", "lstm"):
        picked = mod.configs(cell, 96, 1_500_000)
        assert len(picked) == 4
        for i, (_name, cfg) in enumerate(picked[:3]):
            limits.check(cfg, 96, 1_500_000)
            bigger = replace(cfg, batch_size=cfg.batch_size + 1, seq_len=cfg.seq_len + (1 if i < 2 else 0))
            with pytest.raises(BudgetError):
                limits.check(bigger, 96, 1_500_000)
