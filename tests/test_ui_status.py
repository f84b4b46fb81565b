"""charviz.ui.status: a run's state in words (the Train page's status line) from a real run's snapshots."""

from charviz.run import TrainingRun
from charviz.train import TrainConfig, Trainer
from charviz.ui.status import STATE_ICONS, STATES, describe, fmt_bits, fmt_rate

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def test_status_line_follows_the_run():
    run = TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=8, seq_len=8, batch_size=4)))
    assert describe(run.snapshot()) == "not started yet · press Start"
    run.step_once()
    snap = run.snapshot()
    assert describe(snap) == (f"step 1 · {snap.last.bits:.2f} bits/char (train) · {snap.val_bits:.2f} (validation)"
                              " · ready")  # stepped by hand, never started
    run.error = "step refused: the loss is not finite"
    assert describe(run.snapshot()) == "step 1 · paused: step refused: the loss is not finite"
    run.stop()


def test_every_state_has_words_and_an_icon():
    assert set(STATES) == set(STATE_ICONS) == {"idle", "running", "paused", "stopped"}


def test_bits_format():
    assert fmt_bits(None) == "–"
    assert fmt_bits(1.23456) == "1.235"
    assert fmt_bits(12345.6) == "12,346"


def test_rate_format_fits_a_sidebar_column():
    assert fmt_rate(0) == "0"
    assert fmt_rate(99_999) == "99,999"
    assert fmt_rate(170_149) == "170k"
    assert fmt_rate(999_499) == "999k"
    assert fmt_rate(999_500) == "1.0M"
    assert fmt_rate(1_234_567) == "1.2M"
    assert all(len(fmt_rate(n)) <= 6 for n in (0, 9, 99_999, 100_000, 512_345, 999_999, 12_345_678))
