"""Memory and step time at the largest settings the budget allows (issue 13): a measurement, not a test.

    python scripts/measure_limits.py [--steps 5] [--quick]

For each cell, the largest configurations charviz.limits lets a session build on the Python corpus's
vocabulary (hidden 512 with the largest square batch x window; the default hidden size 128 likewise; window 512
with the largest batch; the largest hidden size at the default batch and window). Each is measured in a fresh
process: peak resident memory growth from before the Trainer is built through `--steps` steps (VmHWM after
resetting it), the median step time, next to the estimate the budget used. The rewind snapshots a live run
keeps on top (at most charviz.limits.SNAPSHOT_BYTES) are in the estimate's own column.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from charviz import limits  # noqa: E402
from charviz.bench import step_memory  # noqa: E402
from charviz.config import TrainConfig  # noqa: E402


def largest(fits, lo: int = 1, hi: int = 512) -> int | None:
    """The largest n in [lo, hi] with fits(n) (fits is monotone: true up to some n), or None."""
    if not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def configs(cell: str, vocab: int, text_chars: int) -> list[tuple[str, TrainConfig]]:
    def ok(**kw) -> bool:
        try:
            limits.check(TrainConfig(cell=cell, **kw), vocab, text_chars)
            return True
        except limits.BudgetError:
            return False

    out = []
    for hidden in (limits.HIDDEN_MAX, 128):
        n = largest(lambda n, h=hidden: ok(hidden_size=h, batch_size=n, seq_len=n))
        if n:
            out.append((f"hidden {hidden}, largest square batch x window",
                        TrainConfig(cell=cell, hidden_size=hidden, batch_size=n, seq_len=n)))
    b = largest(lambda b: ok(hidden_size=128, batch_size=b, seq_len=limits.SEQ_LEN_MAX))
    if b:
        out.append(("window 512, largest batch (hidden 128)",
                    TrainConfig(cell=cell, hidden_size=128, batch_size=b, seq_len=limits.SEQ_LEN_MAX)))
    fitting = [h for h in limits.HIDDEN_CHOICES if ok(hidden_size=h)]
    if fitting:
        out.append(("largest hidden size at batch 32, window 32", TrainConfig(cell=cell, hidden_size=fitting[-1])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one configuration per cell, 2 steps")
    args = ap.parse_args()
    from charviz.data import load_corpus

    text = load_corpus("python")
    vocab = len(set(text))
    budget = limits.Budget.from_env()
    print(f"budget: {limits.describe_budget(budget)}; Python corpus, {len(text):,} chars, vocabulary {vocab}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'cell':5} {'setting':48} {'H':>4} {'B':>4} {'T':>4} | {'est MB':>7} {'(+snap)':>7} {'peak MB':>8} | "
          f"{'est step':>9} {'step':>8}")
    for cell in ("rnn", "gru", "lstm"):
        todo = configs(cell, vocab, len(text))
        for name, cfg in todo[:1] if args.quick else todo:
            est = limits.estimate(cfg, vocab, len(text))
            steps = 2 if args.quick else args.steps
            got = step_memory(cfg, steps, corpus="python")
            print(f"{cell:5} {name:48} {cfg.hidden_size:4} {cfg.batch_size:4} {cfg.seq_len:4} | "
                  f"{est.memory_mb - est.snapshot_mb:7.0f} {est.snapshot_mb:7.0f} {got['peak_mb']:8.0f} | "
                  f"{est.step_s * 1000:7.0f}ms {got['step_s'] * 1000:6.0f}ms", flush=True)


if __name__ == "__main__":
    main()
