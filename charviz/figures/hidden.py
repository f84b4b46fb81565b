"""Hidden-state figures: units x time heatmap, one unit's curve, gate saturation, the PCA path of h_t, and
the probe text with each character's background coloured by one unit (HTML, the 2015 paper's print).

Every number drawn comes from charviz.inspect.memory_trace and charviz.hidden; these functions only choose,
arrange and label. The heatmap is redrawn every second while the model trains (up to 512 units x 1,000+
steps), so the figures are built from plain dicts in the house style (style.layout) without validation.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from charviz.data import show_char
from charviz.display import font_scale
from charviz.figures.style import (
    COLORS,
    FONT_SIZE,
    HIDDEN_SCALE,
    LOGIT_SCALE,
    PALETTE,
    PLOT_W,
    _scale,
    f32,
    layout,
    rgba,
    top_room,
)
from charviz.i18n import t

MAX_TICKS = 48  # character labels on a time axis; more characters -> every k-th is labelled (hover has all)
MAX_UNIT_TICKS = 32  # unit labels on the heatmap's unit axis
GATE_SCALE = "Viridis"  # 0..1 sigmoid gates: dark = closed, yellow = open
PATH_LABELS = 30  # characters written along the PCA path; the others are in the hover
SATURATION_COLORS = {"i": PALETTE["blue"], "f": PALETTE["red"], "o": PALETTE["green"], "r": PALETTE["purple"],
                     "z": PALETTE["orange"]}
TICK_FONT = FONT_SIZE - 2


def view_scale(view: str, values: np.ndarray) -> dict:
    """The colour scale of a view. h and the tanh gates (g, n): diverging, fixed -1..1; c: diverging,
    symmetric around 0 on its own range (max |c|); sigmoid gates: 0..1."""
    if view == "c":
        lim = float(np.nanmax(np.abs(values))) if values.size else 1.0
        lim = lim if np.isfinite(lim) and lim > 0 else 1.0
        return {"colorscale": _scale(LOGIT_SCALE), "zmin": -lim, "zmax": lim, "zmid": 0.0}
    if view in ("h", "g", "n"):
        return {"colorscale": _scale(HIDDEN_SCALE if view == "h" else LOGIT_SCALE), "zmin": -1.0, "zmax": 1.0,
                "zmid": 0.0}
    return {"colorscale": _scale(GATE_SCALE), "zmin": 0.0, "zmax": 1.0}


def time_labels(chars) -> list[str]:
    """Unique category names for the time axis, 't: c' (visible whitespace); the hover shows them whole."""
    return [f"{i}: {show_char(c)}" for i, c in enumerate(chars)]


def _time_ticks(cats: list[str], chars, max_ticks: int = MAX_TICKS, width_px: float = 0.85 * PLOT_W) -> dict:
    """Tick every character when there are few, else every k-th; the tick text is the character alone. At most
    as many as fit side by side along `width_px` (a chart in a column at 1280x720), never rotated."""
    T = len(cats)
    max_ticks = min(max_ticks, max(2, int(width_px / (TICK_FONT * font_scale() + 8))))
    k = max(1, -(-T // max_ticks))
    idx = list(range(0, T, k))
    return {"tickmode": "array", "tickvals": [cats[i] for i in idx], "ticktext": [show_char(chars[i]) for i in idx],
            "tickangle": 0, "tickfont": {"size": TICK_FONT if k == 1 or T <= 40 else TICK_FONT - 2}}


def view_title(view: str) -> str:
    return t(f"hidden.view_{view}")


def unit_heatmap(values, chars, order=None, view: str = "h", selected: int | None = None,
                 strip=None, strip_title: str = "", height: int | None = None) -> go.Figure:
    """Units (rows, in `order`) x time steps (columns, the characters as tick labels) of one view.

    values (T, H) from memory_trace (.hidden, .cell or a gate); order: unit indices top to bottom (default
    0..H-1); selected: a unit to outline. strip (H,): one number per unit drawn as a clickable column of
    squares at the right (e.g. r with the chosen property, -1..1): clicking a square selects that unit
    (plotly heatmaps send no selection events; scatter points do). Hover: unit, step, character, value.
    """
    v = np.asarray(values)
    T, H = v.shape
    order = np.arange(H) if order is None else np.asarray(order)
    rows = [f"{t('hidden.unit')} {u}" for u in order]
    cats = time_labels(chars)
    scale = view_scale(view, v)
    heat_end = 0.93 if strip is not None else 1.0
    data = [{
        "type": "heatmap", "z": f32(v[:, order].T), "x": cats, "y": rows, **scale,
        "hovertemplate": f"%{{y}}<br>{t('hidden.step')} %{{x}}<br>{view_title(view)} = %{{z:+.3f}}<extra></extra>",
        "colorbar": {"title": {"text": view, "side": "top", "font": {"size": FONT_SIZE}}, "thickness": 16,
                     "x": 1.01, "xanchor": "left", "len": 1.0},
    }]
    # rows of 18 / 9 / 3.5 px for small models, at most 620 px in all (a 1280x720 projector)
    height = height or int(min(620, max(300, 150 + (18 if H <= 24 else 9 if H <= 64 else 3.5) * H)))
    # unit labels at least 24 px apart
    n_ticks = max(1, -(-H // max(1, min(MAX_UNIT_TICKS, (height - 120) // 24))))
    lay = layout(t("hidden.heatmap_title", view=view_title(view), units=H, steps=T),
                     t("hidden.time_axis"), t("hidden.unit_axis"), height, showlegend=False, dragmode="zoom")
    lay["xaxis"].update({"type": "category", "domain": [0, heat_end], "showgrid": False, "zeroline": False,
                            **_time_ticks(cats, chars), "range": [-0.5, T - 0.5]})
    lay["yaxis"].update({"type": "category", "categoryorder": "array", "categoryarray": rows,
                            "range": [H - 0.5, -0.5], "showgrid": False, "zeroline": False, "tickmode": "array",
                            "tickvals": rows[::n_ticks], "ticktext": [str(u) for u in order[::n_ticks]],
                            "tickfont": {"size": TICK_FONT}})
    lay["margin"] = {"l": 80, "r": 90, "b": 60}
    top_room(lay, int(50 * font_scale()))  # the r column's title over the plot
    if strip is not None:
        s = np.asarray(strip, dtype=np.float64)[order]
        shown = [f"{x:+.2f}" if np.isfinite(x) else t("hidden.constant") for x in s]
        # the column drawn as a heatmap (visible at any number of rows) ...
        data.append({
            "type": "heatmap", "z": f32(s[:, None]), "x": [0.0], "y": rows, "xaxis": "x2", "yaxis": "y",
            "colorscale": _scale(LOGIT_SCALE), "zmin": -1.0, "zmax": 1.0, "showscale": False,
            "hoverinfo": "skip",
        })
        # ... under transparent markers, one per row, that plotly can select (heatmaps send no selection)
        data.append({
            "type": "scatter", "mode": "markers", "x": np.zeros(H, dtype=np.float32), "y": rows,
            "xaxis": "x2", "yaxis": "y", "customdata": order.astype(np.int32), "text": shown,
            "marker": {"symbol": "square", "size": float(np.clip(0.8 * (height - 120) / max(H, 1), 1, 18)),
                       "color": rgba(PALETTE["white"], 0.0), "line": {"width": 0}},
            "hovertemplate": f"%{{y}}<br>{strip_title} = %{{text}}<br>{t('hidden.click_to_select')}<extra></extra>",
        })
        lay["xaxis2"] = {"domain": [heat_end + 0.01, 1.0], "anchor": "y", "range": [-0.5, 0.5], "showgrid": False,
                            "zeroline": False, "showticklabels": False, "fixedrange": True,
                            "title": {"text": "r", "font": {"size": TICK_FONT}, "standoff": 4}, "side": "top"}
        lay["margin"]["r"] = 90
    if selected is not None and selected in set(order.tolist()):
        row = int(np.flatnonzero(order == selected)[0])
        lay["shapes"] = [{"type": "rect", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1,
                             "y0": row - 0.5, "y1": row + 0.5, "line": {"color": COLORS["box"], "width": 2}}]
    return go.Figure({"data": data, "layout": lay}, _validate=False)


def unit_curve(values, chars, unit: int, view: str = "h", feature=None, feature_name: str = "",
               height: int = 320) -> go.Figure:
    """One unit's value over time (values (T,)), characters as tick labels; with the chosen property
    (feature (T,)) as grey steps on a second axis, to compare by eye."""
    v = np.asarray(values, dtype=np.float32)
    cats = time_labels(chars)
    data = [{"type": "scatter", "mode": "lines", "x": cats, "y": v, "name": f"{view_title(view)}, "
             f"{t('hidden.unit')} {unit}", "line": {"color": COLORS["train"], "width": 2.5},
             "hovertemplate": f"{t('hidden.step')} %{{x}}<br>%{{y:+.3f}}<extra></extra>"}]
    scale = view_scale(view, np.asarray(values))
    lay = layout(t("hidden.curve_title", view=view_title(view), unit=unit), t("hidden.time_axis"),
                     view, height, showlegend=feature is not None)
    lay["xaxis"].update({"type": "category", **_time_ticks(cats, chars), "range": [-0.5, len(cats) - 0.5]})
    lay["yaxis"].update({"range": [scale["zmin"] * 1.05, scale["zmax"] * 1.05]})
    lay["legend"] = {"font": {"size": FONT_SIZE - 2}, "orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    lay["margin"] = {"l": 80, "r": 80 if feature is not None else 30, "b": 60}
    top_room(lay, int(40 * font_scale()))  # the legend over the plot
    if feature is not None:
        f = np.asarray(feature, dtype=np.float32)
        data.append({"type": "scatter", "mode": "lines", "x": cats, "y": f, "yaxis": "y2", "name": feature_name,
                     "line": {"color": COLORS["reference"], "width": 1.5, "shape": "hvh"}, "opacity": 0.8,
                     "hovertemplate": f"{feature_name} = %{{y:g}}<extra></extra>"})
        lo, hi = (float(f.min()), float(f.max())) if len(f) else (0.0, 1.0)
        pad = 0.08 * max(hi - lo, 1e-9)
        binary = set(np.unique(f).tolist()) <= {0.0, 1.0}
        lay["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False, "zeroline": False,
                            "range": [lo - pad, hi + pad], "nticks": 4,
                            **({"tickvals": [0, 1]} if binary else {}),
                            "title": {"text": feature_name, "font": {"size": TICK_FONT}},
                            "tickfont": {"size": TICK_FONT, "color": COLORS["reference"]}}
    return go.Figure({"data": data, "layout": lay}, _validate=False)


def saturation_figure(saturation: dict, height: int = 420) -> go.Figure:
    """The 2015 paper's gate figure: per gate unit, the fraction of steps it is left-saturated (< low) on x
    and right-saturated (> high) on y. saturation: gate name -> (left (H,), right (H,)) from
    charviz.hidden.gate_saturation. A forget gate near the top left never forgets."""
    data = []
    for name, (left, right) in saturation.items():
        H = len(left)
        data.append({
            "type": "scatter", "mode": "markers", "x": f32(left), "y": f32(right), "name": t(f"hidden.gate_{name}"),
            "customdata": np.arange(H, dtype=np.int32),
            "marker": {"size": 9, "opacity": 0.7, "color": SATURATION_COLORS.get(name, COLORS["reference"])},
            "hovertemplate": f"{view_title(name)}, {t('hidden.unit')} %{{customdata}}<br>"
                             f"{t('hidden.left_saturated')} %{{x:.0%}}<br>{t('hidden.right_saturated')} "
                             "%{y:.0%}<extra></extra>",
        })
    # the corner line x + y = 1: no unit can lie beyond it
    data.append({"type": "scatter", "mode": "lines", "x": [0, 1], "y": [1, 0], "showlegend": False,
                 "hoverinfo": "skip", "line": {"color": PALETTE["light grey"], "dash": "dot", "width": 1}})
    lay = layout("", t("hidden.saturation_x"), t("hidden.saturation_y"), height)
    lay["xaxis"].update({"range": [-0.03, 1.03], "tickformat": ".0%", "dtick": 0.25})
    lay["yaxis"].update({"range": [-0.03, 1.03], "tickformat": ".0%", "dtick": 0.25, "scaleanchor": None})
    lay["legend"] = {"font": {"size": FONT_SIZE - 2}, "orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}
    lay["margin"] = {"l": 90, "r": 30, "t": 50, "b": 70}
    return go.Figure({"data": data, "layout": lay}, _validate=False)


def _apart(xy: np.ndarray, size: float, height: int, candidates: list[int]) -> set[int]:
    """The candidates whose labels (at font size `size`, over the point) do not cover an earlier one's, in a
    chart PLOT_W px wide and `height` - 100 px high (its size in a column at 1280x720)."""
    if len(xy) == 0:
        return set()
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    px = (xy - lo) / span * np.array([PLOT_W * 0.9, (height - 100) * 0.9])  # autorange pads the data a little
    w, h = 1.1 * size * font_scale() + 4, 1.4 * size * font_scale() + 2  # a label's box (⏎ and ␣ are wide)
    kept: list[int] = []
    for i in candidates:
        if all(abs(px[i, 0] - px[j, 0]) >= w or abs(px[i, 1] - px[j, 1]) >= h for j in kept):
            kept.append(i)
    return set(kept)


def pca_figure(pca, chars, height: int = 460) -> go.Figure:
    """h_t projected on its first two principal components (pca: charviz.hidden.PCA), joined step by step
    and coloured by time; every character is in the hover, up to PATH_LABELS are written on the path."""
    xy = np.asarray(pca.coords, dtype=np.float32)
    T = len(chars)
    step = max(1, -(-T // PATH_LABELS))
    shown = _apart(xy, TICK_FONT - 2, height, [i for i in range(T) if i % step == 0])
    labels = [show_char(c) if i in shown else "" for i, c in enumerate(chars)]
    cats = time_labels(chars)
    data = [
        {"type": "scatter", "mode": "lines", "x": xy[:, 0], "y": xy[:, 1], "hoverinfo": "skip", "showlegend": False,
         "line": {"color": PALETTE["light grey"], "width": 1}},
        {"type": "scatter", "mode": "markers+text", "x": xy[:, 0], "y": xy[:, 1], "text": labels,
         "textposition": "top center", "textfont": {"size": TICK_FONT - 2, "color": COLORS["note"]},
         "hovertext": cats, "hovertemplate": f"{t('hidden.step')} %{{hovertext}}<br>PC1 %{{x:+.3f}}<br>"
                                             "PC2 %{y:+.3f}<extra></extra>", "showlegend": False,
         "marker": {"size": 7, "color": np.arange(T, dtype=np.float32), "colorscale": _scale("Viridis"),
                    "colorbar": {"title": {"text": t("hidden.step"), "side": "top",
                                           "font": {"size": TICK_FONT}}, "thickness": 14}}},
    ]
    e = pca.explained
    lay = layout("",
                     t("hidden.pca_axis", n=1, pct=f"{100 * float(e[0]):.1f}"),
                     t("hidden.pca_axis", n=2, pct=f"{100 * float(e[1]) if len(e) > 1 else 0:.1f}"), height)
    lay["margin"] = {"l": 90, "r": 30, "t": 30, "b": 70}
    return go.Figure({"data": data, "layout": lay}, _validate=False)


# ---- the probe text coloured by one unit (HTML)

_POS, _NEG = PALETTE["red"], PALETTE["blue"]  # positive values red, negative ones blue


def value_color(v: float, lo: float, hi: float) -> str:
    """Background for a value on a scale lo..hi: diverging around 0 (blue < 0 < red) when lo < 0, else
    white (lo) to red (hi). Transparent for nan."""
    return value_colors([v], lo, hi)[0]


def value_colors(values, lo: float, hi: float) -> list[str]:
    """value_color for every value at once (vectorised: the coloured text is redrawn every second)."""
    v = np.asarray(values, dtype=np.float64)
    if lo < 0:
        a = np.clip(v / max(hi, -lo, 1e-12), -1.0, 1.0)
        pos = a >= 0
        a = np.abs(a)
    else:
        a = np.clip((v - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
        pos = np.ones(len(v), dtype=bool)
    red, blue = (rgba(c, 1.0).rsplit(",", 1)[0] + "," for c in (_POS, _NEG))  # 'rgba(r,g,b,'
    return [f"{red if p else blue}{0.85 * x:.2f})" if np.isfinite(x) else "transparent"
            for p, x in zip(pos.tolist(), a.tolist(), strict=True)]


def unit_text_html(text: str, values, lo: float = -1.0, hi: float = 1.0, label: str = "") -> str:
    """The text with each character's background coloured by one unit's value after reading it (values
    (T,), scale lo..hi as value_color). Every character is HTML-escaped; newlines show as ⏎ and break the
    line, other whitespace is kept; the title attribute (hover) gives step, character and value."""
    v = np.asarray(values, dtype=np.float64)
    colors = value_colors(v, lo, hi)
    label = html.escape(label, quote=True)
    out = []
    for i, (c, x, col) in enumerate(zip(text, v.tolist(), colors, strict=True)):
        shown = "⏎" if c == "\n" else ("⇥" if c == "\t" else c)
        tip = html.escape(show_char(c), quote=True)
        out.append(f'<span title="{i}: {tip} {label} = {x:+.3f}" style="background:{col}">{html.escape(shown)}'
                   "</span>" + ("<br>" if c == "\n" else ""))
    return ('<div class="charviz-unit-text" style="font-family:monospace;font-size:1.15rem;line-height:1.55;'
            'white-space:pre-wrap;word-break:break-all;max-height:22rem;overflow-y:auto;padding:6px;'
            f'border:1px solid {PALETTE["light grey"]};border-radius:4px">' + "".join(out) + "</div>")


def scale_legend_html(lo: float, hi: float) -> str:
    """Five swatches of the unit_text_html scale with their values."""
    stops = np.linspace(lo, hi, 5)
    cells = "".join(f'<span style="background:{value_color(s, lo, hi)};padding:0 8px;margin-right:2px">{s:+.2f}</span>'
                    for s in stops)
    return f'<div style="font-size:0.95rem">{html.escape(t("hidden.legend"))} {cells}</div>'
