"""Race figures: the three cells' loss, recall and gradient-norm curves, and recall against the distance k.

Every number is read from a charviz.race.RaceSnapshot / SweepSnapshot; these functions only arrange and label.
Redrawn every second while the race trains: built from plain dicts in the house style.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charviz.figures.gradients import decade_step
from charviz.figures.style import COLORS, _line, _log10_span, _margin_hline, f32, figure
from charviz.figures.training import MAX_POINTS, smooth
from charviz.i18n import t

CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _thin(rows: list[dict]) -> list[dict]:
    stride = max(1, -(-len(rows) // MAX_POINTS))
    return rows[::stride]


def race_loss_figure(history: dict[str, list[dict]], vocab_size: int, height: int = 400) -> go.Figure:
    """Each cell's training loss (bits/char, smoothed; the raw steps faint) with the uniform-guess level."""
    data = []
    top = 0.0
    for cell, rows in history.items():
        rows = _thin(rows)
        x = f32([r["step"] for r in rows])
        y = f32([r["bits"] for r in rows])
        if len(x):
            data.append(_line(x, y, "", COLORS[cell], 1, opacity=0.25, showlegend=False, hoverinfo="skip"))
            # (one step so far draws no line: a dot, so that a race paused after its first step shows each cell)
            one = {"mode": "lines+markers", "marker": {"size": 8}} if len(x) == 1 else {}
            data.append(_line(x, smooth(y), CELL_NAMES[cell], COLORS[cell], 3, **one))
            finite = y[np.isfinite(y)]
            top = max(top, float(finite.max()) if finite.size else 0.0)
    uniform = float(np.log2(max(vocab_size, 2)))
    # (the reference lines' labels in the right margin: the curves start at the uniform guess and cross chance)
    shape, label, right = _margin_hline(uniform, COLORS["reference"],
                                        t("race.uniform", v=vocab_size, bits=f"{uniform:.2f}"))
    yaxis = {"range": [0, min(max(uniform * 1.15, top * 1.05), uniform * 2.5)]}
    return figure(data, t("race.loss_title"), t("race.step_axis"), t("race.bits_axis"), height,
                  {"yaxis": yaxis, "shapes": [shape], "annotations": [label], "margin": {"r": right}})


def race_recall_figure(evals: dict[str, list[dict]], chance: float, height: int = 400) -> go.Figure:
    """Each cell's recall accuracy over training, against chance (a uniform guess among the keys)."""
    data = []
    for cell, rows in evals.items():
        rows = _thin(rows)
        data.append(_line(f32([r["step"] for r in rows]), f32([r["recall"] for r in rows]), CELL_NAMES[cell],
                          COLORS[cell], 3, mode="lines+markers", marker={"size": 5}))
    shape, label, right = _margin_hline(chance, COLORS["reference"], t("race.chance", chance=f"{100 * chance:.0f}%"))
    yaxis = {"range": [0, 1.05], "tickformat": ".0%"}
    return figure(data, t("race.recall_title"), t("race.step_axis"), t("race.recall_axis"), height,
                  {"yaxis": yaxis, "shapes": [shape], "annotations": [label], "margin": {"r": right}})


def race_grad_figure(probe: dict[str, np.ndarray], height: int = 400) -> go.Figure:
    """||dL_T/dh_t|| of each cell on the probe line against steps back from the recall step, one log axis."""
    data = []
    for cell, g in probe.items():
        g = np.asarray(g, dtype=np.float64)
        if g.size == 0:
            continue
        back = np.arange(len(g) - 1, -1, -1)  # t = 0 .. T-1  ->  T-1-t steps back
        y = np.where(g > 0, g, np.nan)
        data.append(_line(f32(back), f32(y), CELL_NAMES[cell], COLORS[cell], 3))
    span = _log10_span(*[np.asarray(g) for g in probe.values() if len(g)]) if any(len(g) for g in probe.values()) \
        else None
    lo, hi = span or (-3.0, 0.0)
    lo, hi = np.floor(lo), np.ceil(hi + 0.15)
    hi = max(hi, lo + 2)  # (every power of ten labelled while they fit: decade_step)
    yaxis = {"type": "log", "exponentformat": "power", "dtick": decade_step(hi - lo), "range": [lo, hi]}
    return figure(data, t("race.grad_title"), t("race.back_axis"), t("race.grad_axis"), height,
                  {"yaxis": yaxis, "xaxis": {"autorange": "reversed"}})


def sweep_figure(done: dict[int, dict[str, float]], budget: int, chance: float, height: int = 400) -> go.Figure:
    """Final recall accuracy of each cell against the distance k (after `budget` steps at each k)."""
    ks = sorted(done)
    data = []
    for cell in CELL_NAMES:
        ys = [done[k].get(cell, np.nan) for k in ks]
        data.append(_line(f32(ks), f32(ys), CELL_NAMES[cell], COLORS[cell], 3, mode="lines+markers",
                          marker={"size": 10}))
    shape, label, right = _margin_hline(chance, COLORS["reference"], t("race.chance", chance=f"{100 * chance:.0f}%"))
    yaxis = {"range": [0, 1.05], "tickformat": ".0%"}
    return figure(data, t("race.sweep_title", budget=f"{budget:,}"), t("race.k_axis"), t("race.recall_axis"),
                  height, {"yaxis": yaxis, "shapes": [shape], "annotations": [label], "margin": {"r": right}})
