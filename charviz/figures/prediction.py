"""Prediction figures: top-k next characters, per-step logits/softmax heatmaps, the hello walkthrough."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charviz.data import show_char, step_labels
from charviz.display import font_scale
from charviz.figures.style import (
    CELL_FONT,
    COLORS,
    FONT_SIZE,
    HIDDEN_SCALE,
    LOGIT_SCALE,
    ONEHOT_SCALE,
    PLOT_W,
    PROB_SCALE,
    _plain,
    _scale,
    f32,
    figure,
    fits,
    title_height,
    wrap,
)
from charviz.i18n import t
from charviz.inspect import prediction_columns, rest_probability

TOPK_TITLE_CHARS = 22  # the top-k chart is a third of the page wide


def topk_figure(probs, itos, k: int = 10, title: str = "", rest: bool = True, height: int | None = None) -> go.Figure:
    """Horizontal bars of the k most likely next characters (most likely on top) and, when some are left
    out, one grey bar with the total probability of all the others. probs (V,) sums to 1."""
    p = np.asarray(probs, dtype=np.float64)
    V = len(p)
    k = int(max(1, min(k, V)))
    order = np.argsort(-p, kind="stable")[:k]
    labels = [show_char(itos[i]) for i in order]
    values = [float(v) for v in p[order]]
    hover = [f"{t('figures.next_hover')} {_plain(itos[i])}<br>p = {p[i]:.4f}" for i in order]
    colors = [COLORS["train"]] * k
    if rest and k < V:
        labels.append(t("figures.rest", n=V - k))
        values.append(float(rest_probability(p, order)))
        hover.append(f"{t('figures.others_hover', n=V - k)}<br>p = {values[-1]:.4f}")
        colors.append(COLORS["rest"])
    n = len(labels)
    bar = {
        "type": "bar", "orientation": "h", "y": labels, "x": f32(values), "marker": {"color": colors},
        "text": [f"{v:.2f}" for v in values], "textposition": "outside", "textfont": {"size": FONT_SIZE},
        "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>", "cliponaxis": False,
    }
    top = 24
    head = title_height(wrap(title, int(TOPK_TITLE_CHARS / font_scale())))
    height = height or int(head + 94 + (44 if n <= 8 else 32) * max(n, 3))
    return figure([bar], title, t("figures.probability"), t("figures.next_char_axis", k=k, v=V), height, {
        "yaxis": {"type": "category", "tickmode": "array", "tickvals": labels, "ticktext": labels,
                  "autorange": "reversed", "tickfont": {"size": FONT_SIZE + (6 if n <= 8 else 2)}},
        "xaxis": {"range": [0, 1.18], "tickvals": [0, 0.5, 1.0]},  # a narrow chart: three ticks fit
        "showlegend": False,
        "margin": {"t": top, "l": 50},  # (the y axis's labels push it as far as they need)
    }, title_chars=TOPK_TITLE_CHARS)


SIDE_FROM = 0.70  # where the side panel (loss per step) starts, in the figure's width


def inner_ticks(lim: float, inside: float = 0.8) -> list[float]:
    """Colour-bar ticks for a symmetric range [-lim, lim]: 0 and multiples of a round step (1, 2 or 5 times a
    power of ten; two to five a side), none beyond `inside` * lim (a tick label at the bar's top end runs into
    the bar's title above it)."""
    room = inside * lim
    mag = 10 ** np.floor(np.log10(room / 2))
    step = max(m * mag for m in (1, 2, 5) if m * mag <= room / 2)  # the largest round step with 2 a side
    n = int(np.floor(room / step + 1e-9))
    return [float(round(k * step, 12)) for k in range(-n, n + 1)]


def step_heatmap(
    trace,
    kind: str = "probs",
    max_cols: int = 24,
    numbers: bool | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Per time step (rows, labelled by the input character) the logits or the softmax probabilities over
    the vocabulary (columns), with the true next character boxed.

    kind 'logits': diverging scale centred at 0; 'probs': 0..1, plus a side panel with each step's loss
    -log2 p(true next) in bits and p(true next). For a vocabulary larger than max_cols, the columns are
    `prediction_columns(trace, max_cols)`; the probability map adds one 'rest' column with the summed
    probability of the others (there is no single logit for it, so the logit map leaves it out).
    numbers: print values in the cells (None: when the grid is small enough to read).
    Hover: step and input character, candidate, logit and probability (numbers sent as float32 arrays).
    """
    if kind not in ("probs", "logits"):
        raise ValueError("kind must be 'probs' or 'logits'")
    T, V = len(trace.chars), len(trace.itos)
    cols = prediction_columns(trace, max_cols)
    has_rest = len(cols) < V
    rest_col = has_rest and kind == "probs"
    C = len(cols) + rest_col
    col_labels = [show_char(trace.itos[i]) for i in cols]
    rows = step_labels(trace.chars, trace.offset)
    logits, probs = trace.logits[:, cols], trace.probs[:, cols]  # (T, C')
    col_of = {int(v): j for j, v in enumerate(cols)}
    target_col = [col_of.get(int(i), len(cols) if rest_col else -1) if i >= 0 else -1
                  for i in trace.target_ids]  # (T,) column of the true next character, -1: none shown

    side = kind == "probs" and T > 0
    heat_end = 0.64 if side else 1.0
    cell_w = (heat_end if side else 0.85) * PLOT_W / max(C, 1)  # px a cell has in a column at 1280 px
    widest = max((len(f"{v:.1f}" if kind == "logits" else f"{v:.2f}") for v in np.ravel(
        (trace.logits if kind == "logits" else trace.probs)[:, cols])), default=4)
    cell_font = CELL_FONT
    if numbers:  # asked for: as large as fits, and none below a readable size (hover has every number)
        while cell_font > 10 and not fits(widest, cell_w, cell_font):
            cell_font -= 1
    numbers = (numbers is not False) and fits(widest, cell_w, cell_font)
    tick_font = FONT_SIZE
    while tick_font > 10 and not fits(1.3, cell_w, tick_font):  # one (wide: ⏎, ␣) character a column
        tick_font -= 1
    step_w, cand_w, rest_w = t("figures.step_hover"), t("figures.candidate_hover"), t("figures.rest_col")
    summed = not fits(len(rest_w), cell_w, tick_font)  # the 'rest' column's name does not fit: Σ
    rest_w = "Σ" if summed else rest_w
    if kind == "logits":
        lim = float(np.nanmax(np.abs(logits))) if T else 1.0
        lim = lim if np.isfinite(lim) and lim > 0 else 1.0
        scale = {"colorscale": _scale(LOGIT_SCALE), "zmid": 0.0, "zmin": -lim, "zmax": lim}
        z, other, bar_title, fmt = logits, probs, "logit", "%{z:.1f}"
        bar_ticks = {"tickvals": inner_ticks(lim)}  # none at the bar's ends: its title sits over the top end
        hovertemplate = (f"{step_w} %{{y}}<br>{cand_w} %{{x}}<br>logit = %{{z:+.3f}}<br>p = %{{customdata:.4f}}"
                         "<extra></extra>")
    else:
        scale = {"colorscale": _scale(PROB_SCALE), "zmin": 0.0, "zmax": 1.0}
        z, other, bar_title, fmt = probs, logits, "p", "%{z:.2f}"
        bar_ticks = {}
        hovertemplate = (f"{step_w} %{{y}}<br>{cand_w} %{{x}}<br>p = %{{z:.4f}}<br>logit = %{{customdata:+.3f}}"
                         "<extra></extra>")
    data = [
        {
            "type": "heatmap", "z": f32(z), "customdata": f32(other), "x": col_labels, "y": rows,
            "hovertemplate": hovertemplate, "xgap": 1, "ygap": 1,
            # with the side panel, the colour bar lies under the heatmap, as wide as it (nothing of the panel
            # is near its ticks); else at the right
            "colorbar": {"title": {"text": bar_title, "side": "top", "font": {"size": FONT_SIZE - 2}},
                         "orientation": "h", "x": 0, "xanchor": "left", "len": heat_end, "y": -0.01,
                         "yanchor": "top", "thickness": 14, "nticks": 5, "tickfont": {"size": FONT_SIZE - 4}}
            if side else {"title": {"text": bar_title, "side": "top", "font": {"size": FONT_SIZE - 2}},
                          "x": 1.01, "xanchor": "left", "thickness": 16, **bar_ticks},
            "textfont": {"size": cell_font}, **({"texttemplate": fmt} if numbers else {}), **scale,
        },
        # the legend entry for the boxes (the boxes are shapes: exactly one cell, at any size)
        {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": t("figures.true_next_legend"),
         "marker": {"symbol": "square-open", "size": 16, "color": COLORS["box"], "line": {"width": 3}}},
    ]
    if rest_col:
        data.insert(1, {
            "type": "heatmap", "z": f32(rest_probability(trace.probs, cols)[:, None]), "x": [rest_w],
            "y": rows, "showscale": False, "xgap": 1, "ygap": 1, "textfont": {"size": cell_font},
            "hovertemplate": f"{step_w} %{{y}}<br>{t('figures.others_step_hover', n=V - len(cols))}<br>"
                             f"p = %{{z:.4f}} {t('figures.in_total')}<extra></extra>",
            **({"texttemplate": fmt} if numbers else {}), **scale,
        })
        col_labels = [*col_labels, rest_w]
    shapes = [  # on category axes, category i sits at position i
        {"type": "rect", "xref": "x", "yref": "y", "x0": c - 0.5, "x1": c + 0.5, "y0": t - 0.5, "y1": t + 0.5,
         "line": {"color": COLORS["box"], "width": 3}}
        for t, c in enumerate(target_col) if c >= 0
    ]
    if title is None:
        title = t("figures.logits_title") if kind == "logits" else t("figures.probs_title")
    row = (34 if T <= 12 else 29) * font_scale() ** 0.5  # (projector mode: taller tick labels)
    height = height or int(min(1500, 190 + (64 if side else 0) + row * max(T, 4)))
    xtitle = t("figures.candidate_axis")
    if has_rest:
        xtitle += (t("layout.shown_sum" if summed else "figures.shown_rest", shown=len(cols), others=V - len(cols))
                   if rest_col else t("figures.shown_of", shown=len(cols), v=V))
    xtitle = wrap(xtitle, int(heat_end * PLOT_W / (0.62 * FONT_SIZE * font_scale())))  # over the heatmap only
    layout = {
        "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": col_labels,
                  "tickmode": "array", "tickvals": col_labels, "ticktext": col_labels, "tickangle": 0,
                  "tickfont": {"size": tick_font},
                  "range": [-0.5, C - 0.5], "domain": [0, heat_end], "side": "top", "title": {"standoff": 6},
                  "showgrid": False, "zeroline": False},
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": rows,
                  "tickmode": "array", "tickvals": rows, "ticktext": rows,
                  "range": [T - 0.5, -0.5], "showgrid": False, "zeroline": False},
        # under the plot: the legend (under the colour bar, when that is under the heatmap)
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "yanchor": "top",
                   "y": -0.01 - (80 * font_scale() / max(100, height - 200) if side else 0)},
        # room for the top axis: its tick labels and its title's lines
        "margin": {"t": int((40 + 24 * (xtitle.count("<br>") + 1)) * font_scale()),  # (Korean glyphs are tall)
                   "b": int(60 + (64 * font_scale() if side else 0))},
        "shapes": shapes,
    }
    if side:
        loss, p_true = trace.bits, trace.target_probs
        known = trace.target_ids >= 0
        data.append({
            "type": "bar", "x": f32(np.where(known, loss, np.nan)), "y": rows, "orientation": "h",
            "xaxis": "x2", "yaxis": "y", "marker": {"color": COLORS["target"]}, "cliponaxis": False,
            "text": [f"p={p_true[t]:.2f}" if known[t] else "" for t in range(T)], "textposition": "outside",
            "textfont": {"size": CELL_FONT - 2}, "showlegend": False,
            "customdata": np.stack([f32(p_true), f32(loss)], axis=1),
            "hovertext": [f"{t('figures.true_next_hover')} {_plain(trace.targets[i])}" if known[i]
                          else t("figures.next_predicted") for i in range(T)],
            "hovertemplate": f"{step_w} %{{y}}<br>%{{hovertext}}<br>p = %{{customdata[0]:.4f}}<br>"
                             f"{t('figures.loss_true_hover')}<extra></extra>",
        })
        top = float(np.nanmax(np.where(known, loss, np.nan))) if known.any() else 1.0
        panel = (1.0 - SIDE_FROM) * PLOT_W  # px; the longest bar leaves room for its "p=0.58" after it
        text_px = 6 * 0.62 * (CELL_FONT - 2) * font_scale() + 8
        bar_frac = max(0.3, (panel - text_px) / panel)
        layout["xaxis2"] = {
            "domain": [SIDE_FROM, 1.0], "anchor": "y", "side": "top", "range": [0, max(top, 0.5) / bar_frac],
            "title": {"text": wrap(t("figures.loss_true_axis"), int(panel / (0.62 * (FONT_SIZE - 2) * font_scale()))),
                      "font": {"size": FONT_SIZE - 2}, "standoff": 6},
            "tickfont": {"size": FONT_SIZE - 4}, "nticks": 3, "showgrid": False,
        }
    return figure(data, title, xtitle, t("figures.time_step_axis"), height, layout)


def hello_figure(trace, order=None, title: str = "", height: int | None = None) -> go.Figure:
    """The char-RNN blog figure with real numbers: one column per time step (labelled by its input
    character); top to bottom the one-hot input x_t, the hidden state h_t, the logits y_t and the softmax
    probabilities p_t, with the true next character boxed; under it the predicted and the target character.

    order: the characters in the order to draw the vocabulary rows (e.g. 'h', 'e', 'l', 'o'); every row is
    labelled with its character, so this only moves rows. Default: vocabulary (index) order.
    """
    itos = list(trace.itos)
    order = list(order) if order is not None and sorted(order) == sorted(itos) else itos
    perm = [itos.index(c) for c in order]
    T, H = len(trace.chars), trace.hidden.shape[1]
    V = len(itos)
    vocab_rows = [show_char(c) for c in order]
    blocks = [
        (t("figures.hello_input"), trace.onehot[:, perm], vocab_rows,
         {"colorscale": ONEHOT_SCALE, "zmin": 0, "zmax": 1, "showscale": False}, "%{z:.0f}"),
        (t("figures.hello_hidden"), trace.hidden, [f"h[{i}]" for i in range(H)],
         {"colorscale": _scale(HIDDEN_SCALE), "zmid": 0.0, "zmin": -1.0, "zmax": 1.0}, "%{z:.2f}"),
        (t("figures.hello_logits"), trace.logits[:, perm], vocab_rows,
         {"colorscale": _scale(LOGIT_SCALE), "zmid": 0.0}, "%{z:.2f}"),
        (t("figures.hello_softmax"), trace.probs[:, perm], vocab_rows,
         {"colorscale": _scale(PROB_SCALE), "zmin": 0.0, "zmax": 1.0}, "%{z:.2f}"),
    ]
    bar_titles = [None, "h", "logit", "p"]
    n_rows = [V, H, V, V]
    gap = 1.3  # in row units, between blocks (room for each block's title)
    first_gap = 3.3 * font_scale()  # above the first block: its title and the time-step labels (two lines)
    bottom = 3.3 * font_scale()  # row units under the last block for predicted vs target (three lines)
    total = sum(n_rows) + gap * (len(blocks) - 1) + first_gap + bottom
    row_px = int(27 * (1 + (font_scale() - 1) / 2))  # the whole figure (hidden 4) on a 720 px screen
    height = height or int(total * row_px + 20 + (50 if title else 0))
    data, layout, annotations, shapes = [], {}, [], []
    target_row = {c: r for r, c in enumerate(order)}
    top = 1.0
    for b, ((name, z, ylabels, scale, fmt), n) in enumerate(zip(blocks, n_rows, strict=True)):
        top -= (first_gap if b == 0 else gap) / total
        lo = top - n / total
        ax = "" if b == 0 else str(b + 1)
        what = name.split(" ")[0]
        zl = z.tolist()
        hover = [[f"t = {trace.offset + t}, input {_plain(trace.chars[t])}<br>{what} {ylabels[r]}: {zl[t][r]:+.4f}"
                  for t in range(T)] for r in range(n)]
        colorbar = {"title": {"text": bar_titles[b] or ""}, "y": (top + lo) / 2, "len": (top - lo),
                    "yanchor": "middle", "thickness": 16, "x": 1.01,
                    "nticks": 3, "tickfont": {"size": FONT_SIZE - 4}}  # a bar of four rows: three ticks fit
        data.append({
            "type": "heatmap", "z": f32(z.T), "x": np.arange(T), "y": np.arange(n), "xaxis": f"x{ax}",
            "yaxis": f"y{ax}", "texttemplate": fmt, "textfont": {"size": CELL_FONT + 2}, "xgap": 2, "ygap": 2,
            "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>", "colorbar": colorbar, **scale,
        })
        layout[f"yaxis{ax}"] = {
            "domain": [lo, top], "anchor": f"x{ax}", "tickvals": list(range(n)), "ticktext": ylabels,
            "autorange": "reversed", "showgrid": False, "zeroline": False, "title": {"text": ""},
            "tickfont": {"size": FONT_SIZE + (4 if b != 1 else 0)},
        }
        layout[f"xaxis{ax}"] = {
            "anchor": f"y{ax}", "showticklabels": b == 0, "side": "top", "showgrid": False, "zeroline": False,
            "tickvals": list(range(T)), "range": [-0.5, T - 0.5], "title": {"text": ""},
            "ticktext": [f"t={trace.offset + t}<br><b>{show_char(c)}</b>" for t, c in enumerate(trace.chars)],
            "tickfont": {"size": FONT_SIZE + 2}, "tickangle": 0,
            **({} if b == 0 else {"matches": "x"}),
        }
        annotations.append({"text": f"<b>{b + 1}. {name}</b>", "xref": "paper", "yref": "paper", "x": 0,
                            "y": top, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": FONT_SIZE}, "yshift": int(58 * font_scale()) if b == 0 else 0})
        if b >= 2:  # box the true next character in the logits and the probabilities
            shapes += [{"type": "rect", "xref": f"x{ax}", "yref": f"y{ax}", "x0": t - 0.5, "x1": t + 0.5,
                        "y0": target_row[tgt] - 0.5, "y1": target_row[tgt] + 0.5,
                        "line": {"color": COLORS["box"], "width": 3}}
                       for t, tgt in enumerate(trace.targets) if tgt is not None]
        top = lo
    # under the last block: predicted (argmax) vs target, per time step
    pred = trace.predicted_ids
    t_pred, t_target = t("figures.hello_predicted"), t("figures.hello_target")
    for i in range(T):
        tgt = trace.targets[i]
        guess = itos[int(pred[i])]
        ok = tgt is not None and guess == tgt
        mark = "" if tgt is None else (" ✓" if ok else " ✗")
        color = COLORS["reference"] if tgt is None else (COLORS["right"] if ok else COLORS["wrong"])
        text = (f"<b>{show_char(guess)}</b>{mark}<br>{trace.probs[i, pred[i]]:.2f}<br>"
                f"<b>{show_char(tgt) if tgt is not None else '?'}</b>")  # the words once, at the left
        annotations.append({"text": text, "xref": "x4", "yref": "paper", "x": i, "y": top - 0.4 / total,
                            "xanchor": "center", "yanchor": "top", "showarrow": False,
                            "font": {"size": FONT_SIZE + 2, "color": color}})
    words = [t_pred, "p", t_target]
    annotations.append({"text": "<br>".join(words), "xref": "paper", "yref": "paper", "x": 0, "xshift": -10,
                        "y": top - 0.4 / total, "xanchor": "right", "yanchor": "top", "align": "right",
                        "showarrow": False, "font": {"size": FONT_SIZE + 2, "color": COLORS["reference"]}})
    left = int(max(len(w) for w in words) * 0.62 * (FONT_SIZE + 2) * font_scale()) + 24
    layout.update(annotations=annotations, shapes=shapes,
                  margin={"l": max(80, left), "r": 90, "t": 60 if title else 10, "b": 10})
    return figure(data, title, "", "", height, layout)
