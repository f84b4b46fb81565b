"""The house style of every charviz figure: palette, colour scales, fonts, and the one builder (`figure`).

Every figure is made for a projector: large fonts, titled axes, labelled colour bars, and a constant
`uirevision` so that a user's zoom survives the live redraws. Arrays are sent as float32.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import plotly.graph_objects as go

from charviz.data import show_char
from charviz.display import font_scale

UIREVISION = "charviz"  # constant: plotly keeps zoom/pan across redraws with the same value

# ---- fonts
FONT_SIZE = 18
TITLE_SIZE = 22
CELL_FONT = 15  # numbers printed in heatmap cells
# ---- room: the widths the figures are drawn for. Streamlit does not tell a figure its width, so text that must
# fit (titles, numbers in cells, per-character ticks) is sized for the narrowest place a chart has at 1280x720
# (the smallest window the app is made for): a chart in a half-width column is about 400 px wide there.
PLOT_W = 420  # px of plot area (inside the axes) of a chart in a column at 1280x720
TITLE_CHARS = 40  # characters of a title line (at font scale 1) before it is broken
AXIS_TITLE_CHARS = 38  # the same for axis titles
CHAR_W = 0.62  # width of a character in units of its font size (the house font, roughly; digits)


def scale_fonts(d: dict, scale: float) -> dict:
    """A copy of a figure dict (layout or trace) with every font size (font, tickfont, textfont, ...) scaled."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = scale_fonts(v, scale)
            if k.endswith("font") and isinstance(v.get("size"), int | float):
                v["size"] = round(v["size"] * scale, 1)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            v = [scale_fonts(x, scale) for x in v]
        out[k] = v
    return out


# ---- the palette: every colour a figure or a table (charviz.tables) draws comes from here
PALETTE = {
    "blue": "#1f77b4",
    "orange": "#ff7f0e",
    "green": "#2ca02c",
    "red": "#d62728",
    "purple": "#9467bd",
    "grey": "#7f7f7f",
    "light grey": "#b0b0b0",
    "dark grey": "#555555",
    "ink": "#2a3f5f",  # text and axis labels (plotly_white's)
    "grid": "#EBF0F8",  # grid and axis lines (plotly_white's)
    "black": "#111111",
    "white": "#ffffff",
    "pale red": "#ffb3b3",
    "dark red": "#a00000",
    "brown": "#8c564b",
}
_P = PALETTE
COLORS = {  # what each colour means
    "train": _P["blue"],
    "val": _P["orange"],
    "grad": _P["green"],
    "clipped": _P["red"],
    "reference": _P["grey"],
    "target": _P["red"],
    "right": _P["green"],  # a correct prediction
    "wrong": _P["red"],
    "rest": _P["light grey"],  # the summed probability of the characters not shown
    "box": _P["black"],  # the box around the true next character (visible on red, blue and white)
    "refused": _P["black"],  # a refused (non-finite) training step
    "note": _P["dark grey"],  # small annotations
    "text": _P["ink"],
    "muted text": _P["grey"],  # e.g. the prompt before a generated sample
    "on dark": _P["white"],  # text on a dark cell
    "on light": _P["black"],  # text on a light cell
    "unknown": _P["red"],  # a character the model cannot read: underline
    "unknown text": _P["dark red"],
    "unknown background": _P["pale red"],
    "ngram": _P["purple"],  # the n-gram baseline
    "snapshot": _P["brown"],  # kept snapshots (rewind)
    "outline": _P["white"],  # the edge of a marker drawn over a curve
    "rnn": _P["red"],  # the race: the vanilla RNN in red, the gated cells in blue and green
    "lstm": _P["blue"],
    "gru": _P["green"],
}
SERIES = [_P["red"], _P["blue"], _P["green"], _P["purple"], _P["orange"]]  # several curves of one kind

# ---- colour scales
LOGIT_SCALE = "RdBu_r"  # diverging, centred at 0: negative blue, positive red
PROB_SCALE = "Blues"  # 0 white .. 1 dark blue
HIDDEN_SCALE = "PuOr_r"  # diverging, for tanh-range hidden states
ONEHOT_SCALE = [[0.0, _P["white"]], [1.0, _P["green"]]]
SHADE = (COLORS["train"], 0.08, 0.80)  # text shaded by a probability p: colour, alpha at p = 0 and at p = 1
SHADE_DARK_FROM = 0.6  # from this p on, shaded text is written light on dark


def rgba(color: str, alpha: float) -> str:
    """'#rrggbb' with an alpha, as a CSS/plotly rgba() string."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def shade(p: float) -> str:
    """Background colour for something the model gave probability p: light (unsure) to dark (sure)."""
    color, lo, hi = SHADE
    return rgba(color, lo + (hi - lo) * float(np.clip(p, 0.0, 1.0)))


def text_on_shade(p: float) -> str:
    """Text colour that reads on `shade(p)`."""
    return COLORS["on dark"] if p > SHADE_DARK_FROM else COLORS["on light"]


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


MARGIN_LABEL_CHARS = 9  # a line of a margin label (characters; wide ones count WIDE_CHAR), broken at spaces
MARGIN_LABEL_GAP = 6  # px between the plot's right edge and a margin label


def _margin_hline(y: float, color: str, text: str, log: bool = False) -> tuple[dict, dict, int]:
    """A dashed horizontal reference line across the plot with its label in the right margin, level with the
    line, where no data point can cover it (a shape, an annotation, and the right margin in px it needs).

    The label is broken into short lines (MARGIN_LABEL_CHARS) so that the margin stays narrow. On a log axis
    plotly places shapes by value but annotations by log10(value)."""
    shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
             "line": {"color": color, "dash": "dash", "width": 2}}
    text = wrap(text, MARGIN_LABEL_CHARS)
    size = FONT_SIZE - 4
    label = {"xref": "paper", "x": 1, "xanchor": "left", "xshift": MARGIN_LABEL_GAP, "align": "left",
             "y": float(np.log10(y)) if log else y, "yanchor": "middle",
             "text": text, "showarrow": False, "font": {"size": size, "color": color}}
    chars = max(text_width(line) for line in text.split("<br>"))
    return shape, label, int(chars * CHAR_W * size * font_scale()) + MARGIN_LABEL_GAP + 8


def _log10_span(*arrays) -> tuple[float, float] | None:
    """log10 of the smallest and the largest positive finite magnitude in `arrays` (None: there is none)."""
    vals = np.concatenate([np.abs(np.asarray(a, dtype=np.float64)).ravel() for a in arrays])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return (float(np.log10(vals.min())), float(np.log10(vals.max()))) if vals.size else None


# ---- the one house style: plotly_white's look spelled out in the palette (no template expansion, which is
# the slow part of a plotly figure), the legend under the plot, and one builder for every figure

WIDE_CHAR = 2.0  # a wide (East Asian) character (Hangul, CJK: 1 em) in Latin letters (about 0.5 em)


def text_width(text: str) -> float:
    """Width of `text` in Latin characters: a wide character (Hangul, CJK) counts WIDE_CHAR."""
    return sum(WIDE_CHAR if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in text)


def wrap(text: str, width: int) -> str:
    """`text` broken into lines of at most `width` characters (Latin ones: see text_width) at spaces ('<br>'
    between lines). Text with other markup than <br> is left as it is (a tag must not be cut)."""
    if not text or width <= 0 or "<" in text.replace("<br>", ""):
        return text
    out = []
    for part in text.split("<br>"):
        line = ""
        for word in part.split(" "):
            if line and text_width(line) + 1 + text_width(word) > width:
                out.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        out.append(line)
    return "<br>".join(out)


def fits(chars: int, width_px: float, size: float) -> bool:
    """Whether `chars` characters at font size `size` (scaled for projector mode) fit into `width_px`."""
    return chars * CHAR_W * size * font_scale() + 4 <= width_px


_AXIS = {"automargin": True, "gridcolor": _P["grid"], "linecolor": _P["grid"], "zerolinecolor": _P["grid"],
         "zerolinewidth": 2, "ticks": "", "title": {"standoff": 15}}
TEMPLATE = {
    "layout": {
        "paper_bgcolor": _P["white"], "plot_bgcolor": _P["white"], "hovermode": "closest", "colorway": SERIES,
        "font": {"color": COLORS["text"]}, "title": {"x": 0.05}, "hoverlabel": {"align": "left"},
        "annotationdefaults": {"arrowcolor": COLORS["text"], "arrowhead": 0, "arrowwidth": 1},
        "shapedefaults": {"line": {"color": COLORS["text"]}}, "xaxis": _AXIS,
        # the y tick labels kept clear of the x tick labels where the axes meet (a "0" on each, at the corner)
        "yaxis": {**_AXIS, "ticklabelstandoff": 8},
    },
    "data": {
        "bar": [{"marker": {"line": {"color": _P["white"], "width": 0.5}}}],
        "heatmap": [{"colorbar": {"outlinewidth": 0, "ticks": ""}}],
    },
}
LEGEND_BELOW = {"orientation": "h", "x": 0, "y": -0.25}  # the default
LEGEND_ABOVE = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}  # for figures without a title


def _merge(base: dict, extra: dict) -> dict:
    """base updated by extra, nested dicts merged (like fig.update_layout)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


TITLE_PAD = 10  # px above the title


def title_height(title: str) -> int:
    """px the figure title takes at the top of the figure (its lines at the session's font scale, with the pad):
    the title sits at the top and the plot (with any top axis or legend) starts below it."""
    if not title:
        return 0
    return int((title.count("<br>") + 1) * TITLE_SIZE * 1.3 * font_scale()) + TITLE_PAD + 4


def top_room(lay: dict, room: int) -> dict:
    """Leave `room` px between the plot and the title (for a top axis or a legend above the plot): the top
    margin is the room plus the title's height, and the title's bottom sits over the room."""
    title = lay.get("title", {}).get("text", "")
    lay["margin"] = {**lay.get("margin", {}), "t": int(room) + title_height(title)}
    if title:  # (plotly anchors a title of several lines by its first line: the others hang below it)
        below = title.count("<br>") * TITLE_SIZE * 1.3 * font_scale()
        lay["title"] = {**lay["title"], "pad": {"b": max(0, int(room - 6 + below))}}
    return lay


def layout(title: str, xtitle: str, ytitle: str, height: int, yaxis: dict | None = None,
           title_chars: int = TITLE_CHARS, **extra) -> dict:
    """The house layout as a plain dict, updated by `yaxis` and `extra` (nested dicts merged:
    `yaxis={"type": "log"}` keeps the axis title).

    Titles longer than `title_chars` (axis titles: AXIS_TITLE_CHARS) characters a line, fewer in projector
    mode, are broken into lines. The title sits at the top of the figure; margin `t` is the room between it and
    the plot (for a top x axis or a legend above the plot) and the title's height is added to it, so the title
    never covers tick labels or axis titles."""
    scale = font_scale()
    title, xtitle, ytitle = (wrap(title, int(title_chars / scale)), wrap(xtitle, int(AXIS_TITLE_CHARS / scale)),
                             wrap(ytitle, int(AXIS_TITLE_CHARS / scale)))
    base = {
        "template": TEMPLATE,
        "title": {"text": title, "font": {"size": TITLE_SIZE}, "yref": "paper", "y": 1, "yanchor": "bottom"},
        "font": {"size": FONT_SIZE},
        "height": height,
        "margin": {"l": 70, "r": 30, "t": 30, "b": 60},  # t: the room between the title and the plot
        "uirevision": UIREVISION,
        "legend": {"font": {"size": FONT_SIZE - 2}, **LEGEND_BELOW},
        "xaxis": {"title": {"text": xtitle, "font": {"size": FONT_SIZE}}},
        "yaxis": {"title": {"text": ytitle, "font": {"size": FONT_SIZE}}},
    }
    out = _merge(base, {**extra, "yaxis": yaxis or {}})
    top_room(out, out["margin"].get("t", 30))
    if scale != 1.0:  # projector mode: every text larger, the plot a little taller to make room
        out = scale_fonts(out, scale)
        out["height"] = int(out["height"] * (1 + (scale - 1) / 2))
    return out


_layout = layout  # its old name (branches written before the house style was one); new code: layout


def figure(data: list, title: str, xtitle: str, ytitle: str, height: int, layout_extra: dict | None = None,
           title_chars: int = TITLE_CHARS):
    """The builder of every charviz figure: traces as plain dicts, in the house layout, unvalidated (plotly's
    per-property validation costs 30-100 ms a figure, too much for a redraw every second or every keystroke;
    the tests validate every figure instead)."""
    scale = font_scale()
    if scale != 1.0:
        data = [scale_fonts(d, scale) for d in data]
    lay = layout(title, xtitle, ytitle, height, title_chars=title_chars, **(layout_extra or {}))
    named = sum(1 for d in data if d.get("showlegend", True) is not False and d.get("name"))
    if lay["legend"].get("y") == LEGEND_BELOW["y"] and lay.get("showlegend", named > 1):
        # the legend at the figure's bottom edge, under the x axis's tick labels and title (room for one row).
        # Placed in the figure's own units (yref container): a legend that wraps to more rows in a narrow chart
        # pushes the plot up. In the plot's units (y < 0) plotly kept it inside the figure by moving it up, onto
        # the axis title (4 entries on 4 rows in a 380 px projector chart: the layout test's rare overlap)
        axis_px = (30 + 26 * (lay["xaxis"]["title"]["text"].count("<br>") + 1 if xtitle else 0)) * scale + 10
        lay["legend"] = {**lay["legend"], "yref": "container", "y": 0, "yanchor": "bottom"}
        lay["margin"] = {**lay["margin"], "b": int(axis_px + 40 * scale)}
    return go.Figure({"data": data, "layout": lay},
                     _validate=False)


_SCALES: dict = {}


def _scale(name) -> list:
    """A named colour scale ('RdBu_r', ...) as the explicit [[pos, colour], ...] list plotly.js needs."""
    if not isinstance(name, str):
        return name
    if name not in _SCALES:
        _SCALES[name] = [list(s) for s in go.Heatmap(colorscale=name).colorscale]
    return _SCALES[name]


def _plain(ch: str) -> str:
    """A character for hover text, quoted and visible."""
    return f"'{show_char(ch)}'"


class FrozenFigure(go.Figure):
    """A finished figure that many sessions draw as it is (charviz.memo.drawn: a class watching one run).

    st.plotly_chart asks each drawing for the figure's dict, which plotly makes as a deep copy of all the
    figure's data: measured 1-3 ms for a loss chart of 4,000 steps, for every watcher every second. A frozen
    figure makes that dict once and hands the same one to every drawing (Streamlit only reads it: it turns it
    into JSON). It must not be changed once frozen (`freeze` is the last thing done to it)."""

    def to_dict(self) -> dict:
        d = self.__dict__.get("_charviz_frozen_dict")
        if d is None:  # (two threads may both make it the first time: the same dict, one kept)
            d = self.__dict__["_charviz_frozen_dict"] = super().to_dict()
        return d


def freeze(value):
    """`value` as a FrozenFigure if it is a plain go.Figure (anything else is returned as it is)."""
    if type(value) is go.Figure:
        value.__class__ = FrozenFigure  # (the same object: nothing is copied)
    return value
