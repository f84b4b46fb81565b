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


def style(fig: go.Figure, title: str = "", xtitle: str = "", ytitle: str = "", height: int = 420) -> go.Figure:
    """The house style: readable from the back of a lecture hall."""
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "font": {"size": TITLE_SIZE}},
        font={"size": FONT_SIZE},
        height=height,
        margin={"l": 70, "r": 30, "t": 70 if title else 30, "b": 60},
        uirevision=UIREVISION,
        legend={"font": {"size": FONT_SIZE - 2}},
    )
    fig.update_xaxes(title={"text": xtitle, "font": {"size": FONT_SIZE}})
    fig.update_yaxes(title={"text": ytitle, "font": {"size": FONT_SIZE}})
    return fig


def f32(a) -> np.ndarray:
    """float32 copy for plotly (which base64-encodes numpy arrays: small and fast)."""
    return np.asarray(a, dtype=np.float32)


def char_labels(chars) -> list[str]:
    """Visible labels for characters (space -> ␣, newline -> ⏎, tab -> ⇥)."""
    return [show_char(c) for c in chars]
