"""Measure the Hidden page's server-side cost: `python scripts/measure_hidden.py [--repeats 30]`.

One redraw of the page's live panel = charviz.hidden.probe (memory_trace: h, c and the gates; the text
properties; the ranking by r; the saturation; the PCA) + the four figures and the two coloured texts, for an
LSTM with 256 hidden units on a 500-character probe of the Python text (its validation part). Timed idle
and while a TrainingRun trains in a background thread (as in the app), for the three orders of the rows.
Also the time to serialise the figures to JSON (what st.plotly_chart sends) and their size. Prints medians
and the load average.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from charviz.data import load_corpus  # noqa: E402
from charviz.figures import hidden as fig  # noqa: E402
from charviz.hidden import default_probe, probe  # noqa: E402
from charviz.train import TrainConfig, Trainer, TrainingRun  # noqa: E402
from charviz.ui.session import configure_torch  # noqa: E402


def redraw(model, vocab, text: str, order: str):
    """What one redraw of the panel computes and builds (charviz.ui.hidden._draw without streamlit)."""
    res = probe(model, vocab, text, "h", "in_brackets", "", order)
    unit = res.ranking.best or 0
    chars = list(text)
    scale = fig.view_scale(res.view, res.values)
    figs = [
        fig.unit_heatmap(res.values, chars, res.order, res.view, unit, res.ranking.r, "r"),
        fig.unit_curve(res.values[:, unit], chars, unit, res.view, res.feature, "in"),
        fig.saturation_figure(res.saturation),
        fig.pca_figure(res.pca, chars),
    ]
    html = [fig.unit_text_html(text, res.values[:, u], scale["zmin"], scale["zmax"]) for u in (unit, unit)]
    return figs, html


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
    return out


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--chars", type=int, default=500)
    args = ap.parse_args()
    configure_torch()  # the app's thread settings
    text = load_corpus("python")
    trainer = Trainer(text, TrainConfig(cell="lstm", hidden_size=256))
    for _ in range(20):  # a few updates: not the initial weights
        trainer.step()
    model, vocab = trainer.frozen_model(), trainer.vocab
    val = trainer.val_text
    p = default_probe(val, text, n=args.chars + 200)[: args.chars]
    assert len(p) == args.chars, len(p)
    print(f"LSTM 256, probe of {len(p)} characters, {args.repeats} repeats; load average before: {load()}")
    for order in ("index", "correlation", "similarity"):
        redraw(model, vocab, p, order)  # warm-up
        ms = timed(lambda o=order: redraw(model, vocab, p, o), args.repeats)
        print(f"  idle, rows by {order:<11}: median {statistics.median(ms):6.1f} ms  "
              f"(p90 {sorted(ms)[int(0.9 * len(ms))]:6.1f}, min {min(ms):6.1f})  load {load()}")
    parts = {
        "probe (trace, gates, properties, r, saturation, PCA)": lambda: probe(model, vocab, p, "h", "in_brackets"),
        "figures + coloured texts": lambda: redraw(model, vocab, p, "index"),
    }
    res_ms = timed(parts["probe (trace, gates, properties, r, saturation, PCA)"], args.repeats)
    print(f"  of which probe(): median {statistics.median(res_ms):6.1f} ms")
    figs, _ = redraw(model, vocab, p, "index")
    js = timed(lambda: [f.to_json() for f in figs], max(5, args.repeats // 3))
    size = sum(len(f.to_json()) for f in figs)
    print(f"  figures to JSON (sent by st.plotly_chart, not included above): median {statistics.median(js):6.1f} ms,"
          f" {size / 1e3:.0f} kB")
    run = TrainingRun(Trainer(load_corpus("python"), TrainConfig(cell="lstm", hidden_size=256)))
    run.start()
    try:
        time.sleep(2.0)  # let it get going
        ms = timed(lambda: redraw(model, vocab, p, "index"), args.repeats)
        print(f"  while an LSTM-256 trains in a thread: median {statistics.median(ms):6.1f} ms  "
              f"(p90 {sorted(ms)[int(0.9 * len(ms))]:6.1f})  load {load()}")
    finally:
        run.stop()


if __name__ == "__main__":
    main()
