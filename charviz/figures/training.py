"""Training figures: loss, gradient norm and speed against the training step (redrawn every second)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charviz.figures.gradients import decade_step
from charviz.figures.style import (
    COLORS,
    FONT_SIZE,
    _line,
    _log10_span,
    _margin_hline,
    f32,
    figure,
)
from charviz.i18n import t
from charviz.units import uniform_bits

# ---- training figures
# Redrawn every second while training, in the server thread that shares the GIL with the training thread:
# each figure is built from plain dicts in one `figure` call (incremental add_*/update_* calls cost ~4x more).

MAX_POINTS = 1500  # points per curve sent to the browser; History already keeps at most 4000 rows


def _rows(history: list[dict], key: str, applied_only: bool = True):
    """(steps, values) of one metric from TrainingRun history rows; non-finite values become NaN (gaps)."""
    rows = [r for r in history if r.get("applied", True)] if applied_only else list(history)
    stride = max(1, -(-len(rows) // MAX_POINTS))
    rows = rows[::stride]
    steps = f32([r["step"] for r in rows])
    vals = f32([r[key] for r in rows])
    vals[~np.isfinite(vals)] = np.nan
    return steps, vals


def smooth(values, alpha: float = 0.1) -> np.ndarray:
    """Exponential moving average (NaN-tolerant): the trend line drawn over a noisy per-step curve."""
    out = np.empty(len(values), dtype=np.float32)
    acc = np.nan
    for i, v in enumerate(values):
        if np.isfinite(v):
            acc = v if not np.isfinite(acc) else (1 - alpha) * acc + alpha * v
        out[i] = acc
    return out




def loss_figure(history: list[dict], val_history: list[dict], vocab_size: int, height: int = 440,
                baseline=None, marks=None, restores: list[tuple[int, int]] = ()) -> go.Figure:
    """Train (per step, and smoothed) and validation loss in bits/char against steps, with log2(V) marked.

    history rows carry "step" and "bits"; val_history rows "step" and "val_bits". log2(V) is the loss of a
    uniform guess over the V characters of the vocabulary: a model that learned anything is below it.
    `baseline` (a charviz.ngram.Baseline) adds the n-gram model's held-out bits/char as a second line;
    `marks` (steps) puts a marker on the smoothed train curve at each kept snapshot (see charviz.snapshots).
    The y axis stops at 2.5 log2(V): values above it (a diverging run) are drawn as markers on the top edge,
    with their true value on hover and in the legend, never left out. `restores` (at step, restored step)
    are drawn as vertical lines.
    """
    steps, bits = _rows(history, "bits")
    uniform = uniform_bits(vocab_size)
    finite = bits[np.isfinite(bits)]
    top = min(max(uniform * 1.12, float(finite.max()) * 1.05 if finite.size else 0.0), uniform * 2.5)
    edge = top * 0.985  # where values above the range are marked
    data, above_x, above_y = [], [], []
    trend = smooth(bits)
    trend = np.where(trend > top, np.nan, trend)
    # the snapshot diamonds sit on the train curves: with diamonds drawn, the lines give up hover, so that a
    # click at a diamond picks the diamond (a line point wins the tie and selects nothing); the diamonds' hover
    # gives the smoothed loss instead. The validation curve too: late in a run its points sit among the
    # diamonds, and a pointer resting there while the chart was redrawn hovered a validation point, whose click
    # chose nothing (1 of 5 browser runs)
    skip = {"hoverinfo": "skip"} if marks is not None and len(marks) > 0 else {}
    if len(steps):
        over = np.isfinite(bits) & (bits > top)
        above_x.append(steps[over])
        above_y.append(bits[over])
        data.append(_line(steps, np.where(over, np.nan, bits), t("figures.train_each"), COLORS["train"], 1,
                          opacity=0.35, **skip))
        data.append(_line(steps, trend, t("figures.train_smoothed"), COLORS["train"], 3, **skip))
    if val_history:
        vs, vb = _rows(val_history, "val_bits", applied_only=False)
        over = np.isfinite(vb) & (vb > top)
        above_x.append(vs[over])
        above_y.append(vb[over])
        data.append(_line(vs, np.where(over, np.nan, vb), t("figures.validation"), COLORS["val"], 3,
                          mode="lines+markers", marker={"size": 7}, **skip))
    if marks is not None and len(marks) and len(steps):
        data.append(_snapshot_marks(steps, trend, marks))
    ax = np.concatenate(above_x) if above_x else f32([])
    ay = np.concatenate(above_y) if above_y else f32([])
    if ax.size:
        order = np.argsort(ax)[-MAX_POINTS:]
        data.append({"type": "scatter", "mode": "markers", "x": ax[order], "y": np.full(order.size, edge, np.float32),
                     "text": [f"{v:,.1f}" for v in ay[order].tolist()],  # (no customdata: a click there is
                     "name": t("guard.above_chart", bits=f"{float(ay.max()):,.0f}"),  # not a snapshot step)
                     "hovertemplate": t("guard.above_hover") + "<extra></extra>",
                     "marker": {"color": COLORS["clipped"], "symbol": "triangle-up", "size": 11}})
    # the reference lines' labels in the right margin: the curves start at the uniform guess and cross the
    # baseline, inside the plot they would cover the labels
    shape, label, right = _margin_hline(uniform, COLORS["reference"],
                                        t("figures.uniform", v=vocab_size, bits=f"{uniform:.2f}"))
    shapes, labels = [shape], [label]
    if baseline is not None:
        shape, low, right_b = _margin_hline(baseline.bits, COLORS["ngram"], t("baseline.line", n=baseline.n,
                                                                             bits=f"{baseline.bits:.2f}"))
        shapes.append(shape)
        labels.append(low)
        right = max(right, right_b)
        # however close the two lines: the upper one's label above its line, the lower one's below
        high, low = (label, low) if uniform >= baseline.bits else (low, label)
        high["yanchor"], low["yanchor"] = "bottom", "top"
    for at, frm in restores:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": at, "x1": at, "y0": 0, "y1": 1,
                       "line": {"color": COLORS["val"], "width": 2, "dash": "dot"}})
        labels.append({"x": at, "xref": "x", "y": 0, "yref": "paper", "yanchor": "bottom", "xanchor": "left",
                       "text": t("guard.restored_line", step=f"{frm:,}"), "showarrow": False,
                       "font": {"size": FONT_SIZE - 4, "color": COLORS["val"]}})
    return figure(data, t("figures.loss_title"), t("figures.training_step"), t("figures.bits_per_char"), height,
                  {"yaxis": {"range": [0, top]}, "shapes": shapes, "annotations": labels, "margin": {"r": right}})


def _snapshot_marks(steps: np.ndarray, values: np.ndarray, marks) -> dict:
    """Diamonds on a curve at the kept snapshot steps (at the curve's value of the nearest recorded step);
    each point's customdata is its step, so a click (plotly selection) names the snapshot."""
    marks = np.asarray(sorted(marks), dtype=np.int64)
    i = np.clip(np.searchsorted(steps, marks), 0, len(steps) - 1)
    return {"type": "scatter", "mode": "markers", "name": t("rewind.marks"), "x": f32(marks),
            "y": f32(values[i]), "customdata": marks.tolist(),
            "hovertemplate": t("rewind.mark_hover") + "<extra></extra>",
            "marker": {"color": COLORS["snapshot"], "symbol": "diamond", "size": 10,
                       "line": {"color": COLORS["outline"], "width": 1}}}


def grad_norm_figure(history: list[dict], clip: float | None, height: int = 440) -> go.Figure:
    """Global gradient norm per step before and after clipping (log scale), the threshold, and clip events.

    A clip event is a step whose norm exceeded the threshold: the update used the gradient scaled down to it.
    Refused steps (non-finite loss or gradient) are marked too: they are where training paused itself.
    """
    steps, before = _rows(history, "grad_norm")
    data = [_line(steps, before, t("figures.before_clipping"), COLORS["grad"], 2)]
    shapes, annotations, margin = [], [], {}
    if clip is not None:
        _, after = _rows(history, "grad_norm_clipped")
        data.append(_line(steps, after, t("figures.after_clipping"), COLORS["train"], 2, line={"dash": "dot"}))
        # (its label in the right margin: the clipped norms lie on this line, they would cover it)
        shape, label, right = _margin_hline(clip, COLORS["clipped"], t("figures.clip_threshold", clip=f"{clip:g}"),
                                            log=True)
        shapes, annotations, margin = [shape], [label], {"margin": {"r": right}}
    fired = [r for r in history if r.get("clipped")]
    if fired:
        data.append({"type": "scatter", "mode": "markers", "name": t("figures.clipping_fired", n=f"{len(fired):,}"),
                     "x": f32([r["step"] for r in fired[-MAX_POINTS:]]),
                     "y": f32([r["grad_norm"] for r in fired[-MAX_POINTS:]]),
                     "marker": {"color": COLORS["clipped"], "symbol": "x", "size": 9}})
    refused = [r for r in history if not r.get("applied", True)]
    if refused:
        finite = before[np.isfinite(before)]
        top = float(finite.max()) if finite.size else 1.0
        ys = [r["grad_norm"] if np.isfinite(r["grad_norm"]) else top for r in refused]
        data.append({"type": "scatter", "mode": "markers", "name": t("figures.refused"),
                     "x": f32([r["step"] for r in refused]), "y": f32(ys),
                     "marker": {"color": COLORS["refused"], "symbol": "triangle-down", "size": 14}})
    # whole decades, at least two, threshold included: one label per power of ten, never a clutter of 2..9
    lo, hi = _log10_span(before) or (-1.0, 1.0)
    if clip is not None:
        lo, hi = min(lo, np.log10(clip)), max(hi, np.log10(clip))
    lo, hi = np.floor(lo), np.ceil(hi + 0.15)
    hi = max(hi, lo + 2)  # (every power of ten labelled while they fit: decade_step)
    yaxis = {"type": "log", "exponentformat": "power", "dtick": decade_step(hi - lo), "range": [lo, hi]}
    return figure(data, t("figures.grad_norm_title"), t("figures.training_step"), t("figures.grad_norm_axis"),
                  height, {"yaxis": yaxis, "shapes": shapes, "annotations": annotations, **margin})


def speed_figure(history: list[dict], height: int = 300) -> go.Figure:
    """Training throughput: characters processed per second at each step (and smoothed)."""
    steps, cps = _rows(history, "chars_per_sec", applied_only=False)
    data = [_line(steps, cps, t("figures.each_step"), COLORS["reference"], 1, opacity=0.4),
            _line(steps, smooth(cps), t("figures.smoothed"), COLORS["reference"], 3)]
    return figure(data, t("figures.speed_title"), t("figures.training_step"), t("figures.chars_per_sec"), height,
                  {"yaxis": {"rangemode": "tozero"}, "showlegend": False})
