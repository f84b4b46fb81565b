"""Pure figure builders: arrays and traces in, plotly go.Figure out (never shown, never streamlit).

Every figure is made for a projector: large fonts, titled axes, labelled colour bars, and a constant
`uirevision` so that a user's zoom survives the live redraws. Arrays are sent as float32.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charviz.data import show_char

UIREVISION = "charviz"  # constant: plotly keeps zoom/pan across redraws with the same value
FONT_SIZE = 18
TITLE_SIZE = 22
TEMPLATE = "plotly_white"
COLORS = {
    "train": "#1f77b4",
    "val": "#ff7f0e",
    "grad": "#2ca02c",
    "clipped": "#d62728",
    "reference": "#7f7f7f",
    "target": "#d62728",
}


def f32(a) -> np.ndarray:
    """float32 copy for plotly (which base64-encodes numpy arrays: small and fast)."""
    return np.asarray(a, dtype=np.float32)


def char_labels(chars) -> list[str]:
    """Visible labels for characters (space -> ␣, newline -> ⏎, tab -> ⇥)."""
    return [show_char(c) for c in chars]


# ---- training figures
# Redrawn every second while training, in the server thread that shares the GIL with the training thread:
# each figure is built in one go.Figure(data, layout) call (incremental add_*/update_* calls cost ~4x more).

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


def _line(x, y, name: str, color: str, width: float = 2, **kw) -> dict:
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name,
            "line": {"color": color, "width": width, **kw.pop("line", {})}, **kw}


def _hline(y: float, color: str, text: str, xanchor: str, log: bool = False) -> tuple[dict, dict]:
    """A dashed horizontal reference line across the plot and its label (a shape and an annotation).

    On a log axis plotly places shapes by value but annotations by log10(value).
    """
    shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": color, "dash": "dash", "width": 2}}
    label = {"xref": "paper", "x": 1 if xanchor == "right" else 0, "xanchor": xanchor,
             "y": float(np.log10(y)) if log else y, "yanchor": "bottom",
             "text": text, "showarrow": False, "font": {"size": FONT_SIZE - 2, "color": color}}
    return shape, label


def _log10_span(*arrays) -> tuple[float, float] | None:
    """log10 of the smallest and the largest positive finite magnitude in `arrays` (None: there is none)."""
    vals = np.concatenate([np.abs(np.asarray(a, dtype=np.float64)).ravel() for a in arrays])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return (float(np.log10(vals.min())), float(np.log10(vals.max()))) if vals.size else None


_EMPTY_TEMPLATE = go.layout.Template()
_AXIS = {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "zerolinewidth": 2, "ticks": "",
         "automargin": True}  # plotly_white's axes


def _layout(title: str, xtitle: str, ytitle: str, height: int, yaxis: dict | None = None, **kw) -> dict:
    """The house style as one layout dict, with the legend under the plot.

    plotly_white's look is spelled out with an empty template: validating even the cut-down template is
    three quarters of the time of building these figures (~35 ms -> ~10 ms each).
    """
    return {
        "template": _EMPTY_TEMPLATE,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "title": {"text": title, "font": {"size": TITLE_SIZE}, "x": 0.05},
        "font": {"size": FONT_SIZE, "color": "#2a3f5f"},
        "height": height,
        "margin": {"l": 80, "r": 30, "t": 60, "b": 60},
        "uirevision": UIREVISION,
        "legend": {"font": {"size": FONT_SIZE - 2}, "orientation": "h", "y": -0.25, "x": 0},
        "xaxis": {**_AXIS, "title": {"text": xtitle, "font": {"size": FONT_SIZE}, "standoff": 15}},
        "yaxis": {**_AXIS, "title": {"text": ytitle, "font": {"size": FONT_SIZE}, "standoff": 15}, **(yaxis or {})},
        **kw,
    }


def loss_figure(history: list[dict], val_history: list[dict], vocab_size: int, height: int = 440) -> go.Figure:
    """Train (per step, and smoothed) and validation loss in bits/char against steps, with log2(V) marked.

    history rows carry "step" and "bits"; val_history rows "step" and "val_bits". log2(V) is the loss of a
    uniform guess over the V characters of the vocabulary: a model that learned anything is below it.
    """
    steps, bits = _rows(history, "bits")
    data = []
    if len(steps):
        data.append(_line(steps, bits, "train (each step)", COLORS["train"], 1, opacity=0.35))
        data.append(_line(steps, smooth(bits), "train (smoothed)", COLORS["train"], 3))
    if val_history:
        vs, vb = _rows(val_history, "val_bits", applied_only=False)
        data.append(_line(vs, vb, "validation", COLORS["val"], 3, mode="lines+markers", marker={"size": 7}))
    uniform = float(np.log2(max(vocab_size, 2)))
    shape, label = _hline(uniform, COLORS["reference"], f"uniform guess: log₂({vocab_size}) = {uniform:.2f}",
                          "right")
    finite = bits[np.isfinite(bits)]
    top = max(uniform * 1.12, float(finite.max()) * 1.05 if finite.size else 0.0)
    yaxis = {"range": [0, min(top, uniform * 2.5)]}
    layout = _layout("loss", "training step", "bits per character", height, yaxis, shapes=[shape],
                     annotations=[label])
    return go.Figure(data=data, layout=layout)


def grad_norm_figure(history: list[dict], clip: float | None, height: int = 440) -> go.Figure:
    """Global gradient norm per step before and after clipping (log scale), the threshold, and clip events.

    A clip event is a step whose norm exceeded the threshold: the update used the gradient scaled down to it.
    Refused steps (non-finite loss or gradient) are marked too: they are where training paused itself.
    """
    steps, before = _rows(history, "grad_norm")
    data = [_line(steps, before, "before clipping", COLORS["grad"], 2)]
    shapes, annotations = [], []
    if clip is not None:
        _, after = _rows(history, "grad_norm_clipped")
        data.append(_line(steps, after, "after clipping (used)", COLORS["train"], 2, line={"dash": "dot"}))
        shape, label = _hline(clip, COLORS["clipped"], f"clip threshold {clip:g}", "left", log=True)
        shapes, annotations = [shape], [label]
    fired = [r for r in history if r.get("clipped")]
    if fired:
        data.append({"type": "scatter", "mode": "markers", "name": f"clipping fired ({len(fired):,}×)",
                     "x": f32([r["step"] for r in fired[-MAX_POINTS:]]),
                     "y": f32([r["grad_norm"] for r in fired[-MAX_POINTS:]]),
                     "marker": {"color": COLORS["clipped"], "symbol": "x", "size": 9}})
    refused = [r for r in history if not r.get("applied", True)]
    if refused:
        finite = before[np.isfinite(before)]
        top = float(finite.max()) if finite.size else 1.0
        ys = [r["grad_norm"] if np.isfinite(r["grad_norm"]) else top for r in refused]
        data.append({"type": "scatter", "mode": "markers", "name": "step refused (not finite)",
                     "x": f32([r["step"] for r in refused]), "y": f32(ys),
                     "marker": {"color": "black", "symbol": "triangle-down", "size": 14}})
    # whole decades, at least two, threshold included: one label per power of ten, never a clutter of 2..9
    lo, hi = _log10_span(before) or (-1.0, 1.0)
    if clip is not None:
        lo, hi = min(lo, np.log10(clip)), max(hi, np.log10(clip))
    lo, hi = np.floor(lo), np.ceil(hi + 0.15)
    yaxis = {"type": "log", "exponentformat": "power", "dtick": 1, "range": [lo, max(hi, lo + 2)]}
    layout = _layout("gradient norm", "training step", "‖gradient‖ (log scale)", height, yaxis, shapes=shapes,
                     annotations=annotations)
    return go.Figure(data=data, layout=layout)


def speed_figure(history: list[dict], height: int = 300) -> go.Figure:
    """Training throughput: characters processed per second at each step (and smoothed)."""
    steps, cps = _rows(history, "chars_per_sec", applied_only=False)
    data = [_line(steps, cps, "each step", COLORS["reference"], 1, opacity=0.4),
            _line(steps, smooth(cps), "smoothed", COLORS["reference"], 3)]
    layout = _layout("training speed", "training step", "characters / second", height, {"rangemode": "tozero"},
                     showlegend=False)
    return go.Figure(data=data, layout=layout)


# ---- prediction figures
# what the model believes comes next: the top-k bar chart, the per-time-step logits and softmax heatmaps
# (true next character boxed), and the "hello" walkthrough. Every number drawn is read from an
# inspect.Trace; these functions only choose, arrange and label. They redraw on every keystroke, so they
# are built from plain dicts in the house style without plotly's per-property validation (30-100 ms a
# figure); the tests check that every one of them is a valid plotly figure.

LOGIT_SCALE = "RdBu_r"  # diverging, centred at 0: negative blue, positive red
PROB_SCALE = "Blues"  # 0 white .. 1 dark blue
HIDDEN_SCALE = "PuOr_r"  # diverging, for tanh-range hidden states
ONEHOT_SCALE = [[0.0, "#ffffff"], [1.0, "#2ca02c"]]
TARGET_LINE = "#111111"  # the box around the true next character (visible on red, blue and white)
REST_COLOR = "#b0b0b0"
CELL_FONT = 15  # numbers printed in heatmap cells
_TEMPLATE_CACHE: dict = {}


def _template() -> dict:
    """The house template as plain JSON (made once: expanding it is the slow part of a validated figure)."""
    if TEMPLATE not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[TEMPLATE] = go.Figure(layout={"template": TEMPLATE}).layout.template.to_plotly_json()
    return _TEMPLATE_CACHE[TEMPLATE]


def _scale(name) -> list:
    """A named colour scale ('RdBu_r', ...) as the explicit [[pos, colour], ...] list plotly.js needs."""
    if not isinstance(name, str):
        return name
    if name not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[name] = [list(s) for s in go.Heatmap(colorscale=name).colorscale]
    return _TEMPLATE_CACHE[name]


def _merge(base: dict, extra: dict) -> dict:
    """base updated by extra, nested dicts merged (like fig.update_layout)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _figure(data: list, title: str, xtitle: str, ytitle: str, height: int, layout: dict | None = None):
    """go.Figure in the house style from plain dicts, unvalidated: fast enough per keystroke."""
    base = {
        "template": _template(),
        "title": {"text": title, "font": {"size": TITLE_SIZE}},
        "font": {"size": FONT_SIZE},
        "height": height,
        "margin": {"l": 70, "r": 30, "t": 70 if title else 30, "b": 60},
        "uirevision": UIREVISION,
        "legend": {"font": {"size": FONT_SIZE - 2}},
        "xaxis": {"title": {"text": xtitle, "font": {"size": FONT_SIZE}}},
        "yaxis": {"title": {"text": ytitle, "font": {"size": FONT_SIZE}}},
    }
    return go.Figure({"data": data, "layout": _merge(base, layout or {})}, _validate=False)


def _plain(ch: str) -> str:
    """A character for hover text, quoted and visible."""
    return f"'{show_char(ch)}'"


def step_labels(trace) -> list[str]:
    """Row labels of a trace: 'time step: input character' (offset-aware, characters visible)."""
    return [f"{trace.offset + t}: {show_char(c)}" for t, c in enumerate(trace.chars)]


def topk_figure(probs, itos, k: int = 10, title: str = "", rest: bool = True, height: int | None = None) -> go.Figure:
    """Horizontal bars of the k most likely next characters (most likely on top) and, when some are left
    out, one grey bar with the total probability of all the others. probs (V,) sums to 1."""
    p = np.asarray(probs, dtype=np.float64)
    V = len(p)
    k = int(max(1, min(k, V)))
    order = np.argsort(-p, kind="stable")[:k]
    labels = [show_char(itos[i]) for i in order]
    values = [float(v) for v in p[order]]
    hover = [f"next {_plain(itos[i])}<br>p = {p[i]:.4f}" for i in order]
    colors = [COLORS["train"]] * k
    if rest and k < V:
        others = np.ones(V, dtype=bool)
        others[order] = False
        labels.append(f"rest ({V - k})")
        values.append(float(p[others].sum()))
        hover.append(f"the other {V - k} characters together<br>p = {values[-1]:.4f}")
        colors.append(REST_COLOR)
    n = len(labels)
    bar = {
        "type": "bar", "orientation": "h", "y": labels, "x": f32(values), "marker": {"color": colors},
        "text": [f"{v:.2f}" for v in values], "textposition": "outside", "textfont": {"size": FONT_SIZE},
        "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>", "cliponaxis": False,
    }
    top = 110 if "<br>" in title else 70
    height = height or int(top + 70 + (44 if n <= 8 else 32) * max(n, 3))
    return _figure([bar], title, "probability", f"next character (top {k} of {V})", height, {
        "yaxis": {"type": "category", "tickmode": "array", "tickvals": labels, "ticktext": labels,
                  "autorange": "reversed", "tickfont": {"size": FONT_SIZE + (6 if n <= 8 else 2)}},
        "xaxis": {"range": [0, 1.18], "tickvals": [0, 0.25, 0.5, 0.75, 1.0]},
        "showlegend": False,
        "margin": {"t": top, "l": 100},
    })


def prediction_columns(trace, max_cols: int = 24) -> np.ndarray:
    """Vocabulary indices to show as heatmap columns, in vocabulary order.

    All of them when V <= max_cols. Otherwise the characters that matter most for this trace: first every
    true next character and every most-likely guess, then the highest probabilities (by their maximum over
    the rows); max_cols in all. The others are summed into one 'rest' column by the figures.
    """
    V = len(trace.itos)
    if V <= max_cols:
        return np.arange(V)
    probs = trace.probs if len(trace.chars) else np.asarray(trace.next_probs)[None]
    key = probs.max(axis=0).astype(np.float64)  # (V,) in [0, 1]
    must = np.concatenate([trace.target_ids[trace.target_ids >= 0], trace.predicted_ids]).astype(np.int64)
    key[must] += 1.0  # ranks them first
    return np.sort(np.argsort(-key, kind="stable")[: max(1, max_cols)])


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
    -ln p(true next) and p(true next). For a vocabulary larger than max_cols, the columns are
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
    rows = step_labels(trace)
    logits, probs = trace.logits[:, cols], trace.probs[:, cols]  # (T, C')
    col_of = {int(v): j for j, v in enumerate(cols)}
    target_col = [col_of.get(int(i), len(cols) if rest_col else -1) if i >= 0 else -1
                  for i in trace.target_ids]  # (T,) column of the true next character, -1: none shown

    if numbers is None:
        numbers = T * C <= 160
    if kind == "logits":
        lim = float(np.nanmax(np.abs(logits))) if T else 1.0
        lim = lim if np.isfinite(lim) and lim > 0 else 1.0
        scale = {"colorscale": _scale(LOGIT_SCALE), "zmid": 0.0, "zmin": -lim, "zmax": lim}
        z, other, bar_title, fmt = logits, probs, "logit", "%{z:.1f}"
        hovertemplate = "step %{y}<br>candidate %{x}<br>logit = %{z:+.3f}<br>p = %{customdata:.4f}<extra></extra>"
    else:
        scale = {"colorscale": _scale(PROB_SCALE), "zmin": 0.0, "zmax": 1.0}
        z, other, bar_title, fmt = probs, logits, "p", "%{z:.2f}"
        hovertemplate = "step %{y}<br>candidate %{x}<br>p = %{z:.4f}<br>logit = %{customdata:+.3f}<extra></extra>"
    side = kind == "probs" and T > 0
    heat_end = 0.76 if side else 1.0
    data = [
        {
            "type": "heatmap", "z": f32(z), "customdata": f32(other), "x": col_labels, "y": rows,
            "hovertemplate": hovertemplate, "xgap": 1, "ygap": 1,
            "colorbar": {"title": {"text": bar_title, "side": "top", "font": {"size": FONT_SIZE - 2}},
                         "x": heat_end + 0.005 if side else 1.01, "xanchor": "left", "thickness": 16},
            "textfont": {"size": CELL_FONT}, **({"texttemplate": fmt} if numbers else {}), **scale,
        },
        # the legend entry for the boxes (the boxes are shapes: exactly one cell, at any size)
        {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": "true next character",
         "marker": {"symbol": "square-open", "size": 16, "color": TARGET_LINE, "line": {"width": 3}}},
    ]
    if rest_col:
        others = np.ones(V, dtype=bool)
        others[cols] = False
        data.insert(1, {
            "type": "heatmap", "z": f32(trace.probs[:, others].sum(axis=1, keepdims=True)), "x": ["rest"],
            "y": rows, "showscale": False, "xgap": 1, "ygap": 1, "textfont": {"size": CELL_FONT},
            "hovertemplate": f"step %{{y}}<br>the other {V - len(cols)} characters<br>p = %{{z:.4f}} in total"
                             "<extra></extra>",
            **({"texttemplate": fmt} if numbers else {}), **scale,
        })
        col_labels = [*col_labels, "rest"]
    shapes = [  # on category axes, category i sits at position i
        {"type": "rect", "xref": "x", "yref": "y", "x0": c - 0.5, "x1": c + 0.5, "y0": t - 0.5, "y1": t + 0.5,
         "line": {"color": TARGET_LINE, "width": 3}}
        for t, c in enumerate(target_col) if c >= 0
    ]
    if title is None:
        title = "logits (scores before softmax), per time step" if kind == "logits" else \
            "softmax probabilities, per time step"
    height = height or int(min(1500, 190 + (34 if T <= 12 else 29) * max(T, 4)))
    xtitle = "candidate next character"
    if has_rest:
        xtitle += (f" ({len(cols)} shown, the other {V - len(cols)} summed in 'rest')" if rest_col
                   else f" ({len(cols)} shown of {V})")
    layout = {
        "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": col_labels,
                  "tickmode": "array", "tickvals": col_labels, "ticktext": col_labels, "tickangle": 0,
                  "tickfont": {"size": FONT_SIZE if C <= 16 else FONT_SIZE - 3},
                  "range": [-0.5, C - 0.5], "domain": [0, heat_end], "side": "top", "title": {"standoff": 6},
                  "showgrid": False, "zeroline": False},
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": rows,
                  "tickmode": "array", "tickvals": rows, "ticktext": rows,
                  "range": [T - 0.5, -0.5], "showgrid": False, "zeroline": False},
        "legend": {"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"},
        "margin": {"t": 130, "b": 50},
        "shapes": shapes,
    }
    if side:
        loss, p_true = trace.losses, trace.target_probs
        known = trace.target_ids >= 0
        data.append({
            "type": "bar", "x": f32(np.where(known, loss, np.nan)), "y": rows, "orientation": "h",
            "xaxis": "x2", "yaxis": "y", "marker": {"color": COLORS["target"]}, "cliponaxis": False,
            "text": [f"p={p_true[t]:.2f}" if known[t] else "" for t in range(T)], "textposition": "outside",
            "textfont": {"size": CELL_FONT}, "showlegend": False,
            "customdata": np.stack([f32(p_true), f32(loss)], axis=1),
            "hovertext": [f"true next {_plain(trace.targets[t])}" if known[t] else "next: predicted now"
                          for t in range(T)],
            "hovertemplate": "step %{y}<br>%{hovertext}<br>p = %{customdata[0]:.4f}<br>"
                             "loss = -ln p = %{customdata[1]:.3f} nats<extra></extra>",
        })
        top = float(np.nanmax(np.where(known, loss, np.nan))) if known.any() else 1.0
        layout["xaxis2"] = {
            "domain": [0.87, 1.0], "anchor": "y", "side": "top", "range": [0, max(top, 0.5) * 1.6],
            "title": {"text": "loss −ln p(true)", "font": {"size": FONT_SIZE - 2}, "standoff": 6},
            "tickfont": {"size": FONT_SIZE - 4}, "nticks": 3,
        }
    return _figure(data, title, xtitle, "time step: input character", height, layout)


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
        ("input x<sub>t</sub> (one-hot)", trace.onehot[:, perm], vocab_rows,
         {"colorscale": ONEHOT_SCALE, "zmin": 0, "zmax": 1, "showscale": False}, "%{z:.0f}"),
        ("hidden state h<sub>t</sub>", trace.hidden, [f"h[{i}]" for i in range(H)],
         {"colorscale": _scale(HIDDEN_SCALE), "zmid": 0.0, "zmin": -1.0, "zmax": 1.0}, "%{z:.2f}"),
        ("logits y<sub>t</sub>", trace.logits[:, perm], vocab_rows,
         {"colorscale": _scale(LOGIT_SCALE), "zmid": 0.0}, "%{z:.2f}"),
        ("softmax p<sub>t</sub>", trace.probs[:, perm], vocab_rows,
         {"colorscale": _scale(PROB_SCALE), "zmin": 0.0, "zmax": 1.0}, "%{z:.2f}"),
    ]
    bar_titles = [None, "h", "logit", "p"]
    n_rows = [V, H, V, V]
    gap = 1.3  # in row units, between blocks (room for each block's title)
    first_gap = 2.3  # above the first block: its title and the time-step labels
    bottom = 3.0  # row units under the last block for predicted vs target (three lines)
    total = sum(n_rows) + gap * (len(blocks) - 1) + first_gap + bottom
    row_px = 30
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
                    "yanchor": "middle", "thickness": 16, "x": 1.01}
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
            "ticktext": [f"t={trace.offset + t}: <b>{show_char(c)}</b>" for t, c in enumerate(trace.chars)],
            "tickfont": {"size": FONT_SIZE + 2}, "tickangle": 0,
            **({} if b == 0 else {"matches": "x"}),
        }
        annotations.append({"text": f"<b>{b + 1}. {name}</b>", "xref": "paper", "yref": "paper", "x": 0,
                            "y": top, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": FONT_SIZE}, "yshift": 34 if b == 0 else 0})
        if b >= 2:  # box the true next character in the logits and the probabilities
            shapes += [{"type": "rect", "xref": f"x{ax}", "yref": f"y{ax}", "x0": t - 0.5, "x1": t + 0.5,
                        "y0": target_row[tgt] - 0.5, "y1": target_row[tgt] + 0.5,
                        "line": {"color": TARGET_LINE, "width": 3}}
                       for t, tgt in enumerate(trace.targets) if tgt is not None]
        top = lo
    # under the last block: predicted (argmax) vs target, per time step
    pred = trace.predicted_ids
    for t in range(T):
        tgt = trace.targets[t]
        guess = itos[int(pred[t])]
        ok = tgt is not None and guess == tgt
        mark = "" if tgt is None else (" ✓" if ok else " ✗")
        color = COLORS["reference"] if tgt is None else ("#2ca02c" if ok else COLORS["target"])
        text = (f"predicted <b>{show_char(guess)}</b>{mark}<br>p = {trace.probs[t, pred[t]]:.2f}<br>"
                f"target <b>{show_char(tgt) if tgt is not None else '?'}</b>")
        annotations.append({"text": text, "xref": "x4", "yref": "paper", "x": t, "y": top - 0.4 / total,
                            "xanchor": "center", "yanchor": "top", "showarrow": False,
                            "font": {"size": FONT_SIZE + 2, "color": color}})
    layout.update(annotations=annotations, shapes=shapes,
                  margin={"l": 80, "r": 90, "t": 60 if title else 10, "b": 10})
    return _figure(data, title, "", "", height, layout)


# ---- gradient figures (backpropagation through time)
# redrawn every second while training, so built from plain dicts with `_figure` (no per-property validation);
# gradient magnitudes span 1e-25..1e2, so every gradient axis is logarithmic.

_LOG = {"type": "log", "exponentformat": "power"}


def _log_axis(*arrays) -> dict:
    """A log axis labelled at powers of ten only (plotly's default also labels 2 and 5 in between, which is
    clutter on a projector): every decade when the data spans up to 10 of them, else every few."""
    span = _log10_span(*arrays)
    if span is None:
        return dict(_LOG)
    return {**_LOG, "dtick": max(1, int(np.ceil((span[1] - span[0]) / 10)))}
_TOP_LEGEND = {"legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}}


def _positive(a) -> np.ndarray:
    """float32 copy with zeros -> nan, for log axes (a zero gradient has no place on a log scale)."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return np.where(a > 0, a, np.nan).astype(np.float32)


def _char_ticks(chars, max_ticks: int, size: int = FONT_SIZE - 2) -> dict:
    """x-axis ticks labelled by (visible) input characters, when there are few enough to read."""
    if len(chars) > max_ticks:
        return {}
    return {"tickvals": list(range(len(chars))), "ticktext": char_labels(chars), "tickfont": {"size": size}}


def scalar_bptt_figure(curves: dict[str, np.ndarray], height: int = 430) -> go.Figure:
    """|dh_T/dh_t| against t for several one-neuron RNNs (name -> g from inspect.scalar_bptt), log y."""
    palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]
    data = []
    for i, (name, g) in enumerate(curves.items()):
        T = len(g) - 1
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": name, "x": np.arange(T + 1), "y": _positive(g),
            "line": {"width": 3, "color": palette[i % len(palette)]}, "marker": {"size": 7},
            "customdata": np.stack([T - np.arange(T + 1), np.asarray(g, dtype=np.float64)], axis=1),
            "hovertemplate": "t=%{x} (T−t=%{customdata[0]})<br>∂h_T/∂h_t = %{customdata[1]:.4g}"
                             f"<extra>{name}</extra>",
        })
    line, label = _hline(1.0, COLORS["reference"], "1: gradient kept", "left")
    return _figure(data, "", "time step t (T = last step)", "|∂h_T / ∂h_t|  (log scale)", height,
                   {"yaxis": _LOG, "shapes": [line], "annotations": [label], **_TOP_LEGEND})


def gradient_flow_figure(flow, window: int | None = None, height: int = 460) -> go.Figure:
    """||dL_T/dh_t|| (last step's loss) and ||dL/dh_t|| (summed loss) against the time step, log y.

    With `window` (the training truncation length), steps more than `window` back from the end are shaded:
    truncated BPTT never sends a gradient that far.
    """
    T = len(flow.chars)
    x = np.arange(T)
    labels = [f"{t}: {show_char(c)}" for t, c in enumerate(flow.chars)]
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "‖∂L_T/∂h_t‖  (loss at the last step)", "x": x,
         "y": _positive(flow.grad_norm_last), "line": {"width": 3, "color": COLORS["clipped"]},
         "marker": {"size": 6}, "customdata": labels,
         "hovertemplate": "input %{customdata}<br>‖∂L_T/∂h_t‖ = %{y:.3g}<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": "‖∂L/∂h_t‖  (sum of all step losses)", "x": x,
         "y": _positive(flow.grad_norm_total), "line": {"width": 2, "color": COLORS["train"], "dash": "dash"},
         "customdata": labels, "hovertemplate": "input %{customdata}<br>‖∂L/∂h_t‖ = %{y:.3g}<extra></extra>"},
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
        annotations = [{"x": edge, "y": 0.02, "xref": "x", "yref": "paper", "showarrow": False,
                        "text": f"← beyond the truncation window ({window} steps) ", "xanchor": "right",
                        "yanchor": "bottom", "font": {"size": FONT_SIZE - 2, "color": "#555"}}]
    return _figure(data, "", "time step t (input character)", "gradient norm (log scale)", height,
                   {"yaxis": _log_axis(flow.grad_norm_last, flow.grad_norm_total),
                    "xaxis": _char_ticks(flow.chars, 64), "shapes": shapes,
                    "annotations": annotations, **_TOP_LEGEND})


def saliency_figure(flow, height: int = 320) -> go.Figure:
    """||dL_T/dx_t||: how much the last prediction depends on each input character (log y)."""
    T = len(flow.chars)
    bar = {"type": "bar", "x": np.arange(T), "y": _positive(flow.saliency), "marker": {"color": COLORS["grad"]},
           "customdata": [f"{t}: {show_char(c)}" for t, c in enumerate(flow.chars)],
           "hovertemplate": "input %{customdata}<br>‖∂L_T/∂x_t‖ = %{y:.3g}<extra></extra>"}
    return _figure([bar], "", "time step t (input character)", "‖∂L_T/∂x_t‖ (log)", height,
                   {"yaxis": _log_axis(flow.saliency), "xaxis": _char_ticks(flow.chars, 32)})


def singular_values_figure(sv, cell: str = "rnn", height: int = 320) -> go.Figure:
    """Singular values of W_hh, largest first, with the line at 1 that separates shrinking from growing."""
    sv = np.asarray(sv, dtype=np.float64)
    bar = {"type": "bar", "x": np.arange(1, len(sv) + 1), "y": f32(sv),
           "marker": {"color": np.where(sv > 1, COLORS["clipped"], COLORS["train"]).tolist()},
           "hovertemplate": "σ_%{x} = %{y:.3f}<extra></extra>"}
    line, label = _hline(1.0, "#333333", "σ = 1", "right")
    what = "W_hh" if cell == "rnn" else f"W_hh (all {4 if cell == 'lstm' else 3} gates stacked)"
    return _figure([bar], "", f"singular values of {what}, largest first", "σ", height,
                   {"shapes": [line], "annotations": [label]})


def param_grad_figure(norms: dict[str, float], height: int = 320) -> go.Figure:
    """Gradient norm of every weight tensor (summed loss), log x."""
    names = list(norms)
    bar = {"type": "bar", "orientation": "h", "y": names, "x": _positive([norms[n] for n in names]),
           "marker": {"color": COLORS["grad"]}, "hovertemplate": "%{y}<br>‖∂L/∂W‖ = %{x:.3g}<extra></extra>"}
    return _figure([bar], "", "‖∂L/∂W‖ (log scale)", "", height,
                   {"xaxis": _log_axis(list(norms.values())), "yaxis": {"autorange": "reversed"},
                    "margin": {"l": 150}})
