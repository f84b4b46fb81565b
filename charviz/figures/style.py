"""The house style of every charviz figure: palette, colour scales, fonts, and the layout builders.

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
    "ngram": "#9467bd",
    "snapshot": "#8c564b",
}


def f32(a) -> np.ndarray:
    """float32 copy for plotly (which base64-encodes numpy arrays: small and fast)."""
    return np.asarray(a, dtype=np.float32)


def char_labels(chars) -> list[str]:
    """Visible labels for characters (space -> ␣, newline -> ⏎, tab -> ⇥)."""
    return [show_char(c) for c in chars]



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
