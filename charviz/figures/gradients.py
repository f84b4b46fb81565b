"""Gradient figures: backpropagation through time, on log axes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charviz.data import step_labels
from charviz.display import font_scale
from charviz.figures.style import (
    COLORS,
    FONT_SIZE,
    LEGEND_ABOVE,
    PLOT_W,
    SERIES,
    _hline,
    _log10_span,
    char_labels,
    f32,
    figure,
    fits,
    wrap,
)
from charviz.i18n import t

# ---- gradient figures (backpropagation through time)
# redrawn every second while training, so built from plain dicts with `figure` (no per-property validation);
# gradient magnitudes span 1e-25..1e2, so every gradient axis is logarithmic.

_LOG = {"type": "log", "exponentformat": "power"}


def _log_axis(*arrays, length_px: float = 300) -> dict:
    """A log axis labelled at powers of ten only (plotly's default also labels 2 and 5 in between, which is
    clutter on a projector): every decade when they fit along `length_px` (the plot's height or width) at
    the session's font size, else every few."""
    span = _log10_span(*arrays)
    if span is None:
        return dict(_LOG)
    return {**_LOG, "dtick": decade_step(span[1] - span[0], length_px)}


def decade_step(decades: float, length_px: float = 300) -> int:
    """Label every n-th power of ten on a log axis spanning `decades` along `length_px`: every one when their
    labels fit at the session's font size, else every few (a diverging run's gradient norm spans 13 decades)."""
    room = 1.9 * FONT_SIZE * font_scale()  # px a label like 10⁻¹⁰ needs along a vertical axis (with a gap)
    fit = max(2, int(length_px / room))
    return max(1, int(np.ceil((decades + 1) / fit)))
_TOP_LEGEND = {"legend": LEGEND_ABOVE}


def _positive(a) -> np.ndarray:
    """float32 copy with zeros -> nan, for log axes (a zero gradient has no place on a log scale). Values beyond
    float32's range (3^100 = 5e47 in the scalar example) stay float64, so they are drawn, not lost as inf."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = np.where(a > 0, a, np.nan)
    return a.astype(np.float32) if np.nanmax(a, initial=0.0) < 1e38 else a


def _char_ticks(chars, width_px: float, size: int = FONT_SIZE - 2) -> dict:
    """x-axis ticks labelled by (visible) input characters: every one when they fit side by side into
    `width_px` (the plot's width in a 1280 px window), else every k-th (hover names each); never rotated."""
    T = len(chars)
    if T == 0:
        return {}
    room = size * font_scale() + 6  # px a character's label needs (⏎ and ␣ are about a font size wide)
    k = max(1, int(np.ceil(T * room / width_px)))
    idx = list(range(0, T, k))
    return {"tickvals": idx, "ticktext": [char_labels(chars[i])[0] for i in idx], "tickfont": {"size": size},
            "tickangle": 0}


def scalar_bptt_figure(curves: dict[str, np.ndarray], height: int = 430) -> go.Figure:
    """|dh_T/dh_t| against t for several one-neuron RNNs (name -> g from inspect.scalar_bptt), log y."""
    data = []
    for i, (name, g) in enumerate(curves.items()):
        T = len(g) - 1
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": name, "x": np.arange(T + 1), "y": _positive(g),
            "line": {"width": 3, "color": SERIES[i % len(SERIES)]}, "marker": {"size": 7},
            "customdata": np.stack([T - np.arange(T + 1), np.asarray(g, dtype=np.float64)], axis=1),
            "hovertemplate": "t=%{x} (T−t=%{customdata[0]})<br>∂h_T/∂h_t = %{customdata[1]:.4g}"
                             f"<extra>{name}</extra>",
        })
    line, label = _hline(1.0, COLORS["reference"], t("figures.gradient_kept"), "left")
    return figure(data, "", t("figures.time_step_T"), t("figures.scalar_axis"), height,
                   {"yaxis": _log_axis(*curves.values(), 1.0, length_px=height - 150), "shapes": [line],
                    "annotations": [label], **_TOP_LEGEND})


def gradient_flow_figure(flow, window: int | None = None, height: int = 460) -> go.Figure:
    """||dL_T/dh_t|| (last step's loss) and ||dL/dh_t|| (summed loss) against the time step, log y.

    With `window` (the training truncation length), steps more than `window` back from the end are shaded:
    truncated BPTT never sends a gradient that far.
    """
    T = len(flow.chars)
    x = np.arange(T)
    labels = step_labels(flow.chars)
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": t("figures.flow_last"), "x": x,
         "y": _positive(flow.grad_norm_last), "line": {"width": 3, "color": COLORS["clipped"]},
         "marker": {"size": 6}, "customdata": labels,
         "hovertemplate": t("figures.input_hover") + " %{customdata}<br>‖∂L_T/∂h_t‖ = %{y:.3g}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": t("figures.flow_total"), "x": x,
         "y": _positive(flow.grad_norm_total), "line": {"width": 2, "color": COLORS["train"], "dash": "dash"},
         "customdata": labels,
         "hovertemplate": t("figures.input_hover") + " %{customdata}<br>‖∂L/∂h_t‖ = %{y:.3g}<extra></extra>"},
    ]
    shapes, annotations = [], []
    if window is not None and window < T:
        edge = T - window - 0.5
        shapes = [
            {"type": "rect", "xref": "x", "yref": "paper", "x0": -0.5, "x1": edge, "y0": 0, "y1": 1,
             "fillcolor": COLORS["reference"], "opacity": 0.12, "line": {"width": 0}, "layer": "below"},
            {"type": "line", "xref": "x", "yref": "paper", "x0": edge, "x1": edge, "y0": 0, "y1": 1,
             "line": {"color": COLORS["reference"], "width": 2, "dash": "dash"}},
        ]
        # at the right of the shaded part when it is wide enough, else from the plot's left edge (in lines)
        text = t("figures.beyond_window", window=window).strip()
        room = (edge + 0.5) / T * PLOT_W  # px of the shaded part where the chart is narrowest (a column)
        inside = fits(len(text), room, FONT_SIZE - 2)
        annotations = [{"x": edge if inside else -0.5, "y": 0.02, "xref": "x", "yref": "paper", "showarrow": False,
                        "text": text if inside else wrap(text, 22), "xanchor": "right" if inside else "left",
                        "align": "left", "yanchor": "bottom",
                        "font": {"size": FONT_SIZE - 2, "color": COLORS["note"]}}]
    return figure(data, "", t("figures.time_step_input"), t("figures.grad_norm_log"), height,
                   {"yaxis": _log_axis(flow.grad_norm_last, flow.grad_norm_total, length_px=height - 150),
                    "xaxis": _char_ticks(flow.chars, 2 * PLOT_W - 60), "shapes": shapes,
                    "annotations": annotations, **_TOP_LEGEND})


def saliency_figure(flow, height: int = 320) -> go.Figure:
    """||dL_T/dx_t||: how much the last prediction depends on each input character (log y)."""
    T = len(flow.chars)
    bar = {"type": "bar", "x": np.arange(T), "y": _positive(flow.saliency), "marker": {"color": COLORS["grad"]},
           "customdata": step_labels(flow.chars),
           "hovertemplate": t("figures.input_hover") + " %{customdata}<br>‖∂L_T/∂x_t‖ = %{y:.3g}<extra></extra>"}
    return figure([bar], "", t("figures.time_step_input"), t("figures.saliency_axis"), height,
                   {"yaxis": _log_axis(flow.saliency, length_px=height - 130),
                    "xaxis": _char_ticks(flow.chars, PLOT_W - 60)})


def singular_values_figure(sv, cell: str = "rnn", height: int = 320) -> go.Figure:
    """Singular values of W_hh, largest first, with the line at 1 that separates shrinking from growing."""
    sv = np.asarray(sv, dtype=np.float64)
    bar = {"type": "bar", "x": np.arange(1, len(sv) + 1), "y": f32(sv),
           "marker": {"color": np.where(sv > 1, COLORS["clipped"], COLORS["train"]).tolist()},
           "hovertemplate": "σ_%{x} = %{y:.3f}<extra></extra>"}
    line, label = _hline(1.0, COLORS["text"], "σ = 1", "right")
    what = "W_hh" if cell == "rnn" else t("figures.gates_stacked", n=4 if cell == "lstm" else 3)
    return figure([bar], "", t("figures.singular_axis", what=what), "σ", height,
                   {"shapes": [line], "annotations": [label]})


def param_grad_figure(norms: dict[str, float], height: int = 320) -> go.Figure:
    """Gradient norm of every weight tensor (summed loss), log x."""
    names = list(norms)
    bar = {"type": "bar", "orientation": "h", "y": names, "x": _positive([norms[n] for n in names]),
           "marker": {"color": COLORS["grad"]}, "hovertemplate": "%{y}<br>‖∂L/∂W‖ = %{x:.3g}<extra></extra>"}
    return figure([bar], "", t("figures.param_axis"), "", height,
                   {"xaxis": _log_axis(list(norms.values()), length_px=PLOT_W), "yaxis": {"autorange": "reversed"},
                    "margin": {"l": 150}})
