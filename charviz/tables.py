"""Text views of a trace: pandas tables of the plotted numbers, and HTML for prefixes and samples.

No streamlit here; the numbers are read from an inspect.Trace, never recomputed.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from charviz.data import show_char, step_labels
from charviz.figures import COLORS, shade, text_on_shade
from charviz.i18n import t
from charviz.inspect import prediction_columns, rest_probability


def step_table(trace) -> pd.DataFrame:
    """One row per time step: the input, the true next character with its probability and loss, and the
    model's most likely guess with its probability."""
    T = len(trace.chars)
    pred = trace.predicted_ids
    p_true = trace.target_probs
    return pd.DataFrame(
        {
            t("tables.t"): np.arange(trace.offset, trace.offset + T),
            t("tables.input"): [show_char(c) for c in trace.chars],
            t("tables.true_next"): [show_char(c) if c is not None else "" for c in trace.targets],
            t("tables.p_true"): p_true,
            t("tables.loss"): trace.bits,
            t("tables.likely"): [show_char(trace.itos[int(i)]) for i in pred],
            t("tables.p_likely"): trace.probs[np.arange(T), pred] if T else np.zeros(0),
        }
    )


def matrix_table(trace, kind: str = "probs", max_cols: int = 24) -> pd.DataFrame:
    """The numbers of `figures.step_heatmap` (same rows, same columns): logits or probabilities per time
    step and candidate character; with a 'rest' column (summed probability) when the vocabulary is cut."""
    if kind not in ("probs", "logits"):
        raise ValueError("kind must be 'probs' or 'logits'")
    V = len(trace.itos)
    cols = prediction_columns(trace, max_cols)
    values = trace.probs if kind == "probs" else trace.logits
    df = pd.DataFrame(values[:, cols], index=step_labels(trace.chars, trace.offset),
                      columns=[show_char(trace.itos[i]) for i in cols])
    if len(cols) < V and kind == "probs":
        df[t("tables.rest", n=V - len(cols))] = rest_probability(trace.probs, cols)
    df.index.name = t("tables.index")
    return df


def prefix_html(prefix: str, unknown_positions) -> str:
    """The prefix with visible whitespace and the characters the model cannot read highlighted."""
    bad = set(unknown_positions)
    out = []
    for i, c in enumerate(prefix):
        shown = html.escape(show_char(c))
        if i in bad:
            out.append(f'<mark style="background:{COLORS["unknown background"]};color:{COLORS["unknown text"]};'
                       f'font-weight:700;padding:0 2px;text-decoration:underline wavy {COLORS["unknown"]}">'
                       f'{shown}</mark>')
        else:
            out.append(shown)
    return ('<div style="font-family:monospace;font-size:1.4rem;line-height:1.8;word-break:break-all">'
            + "".join(out) + "</div>")


def unknown_message(prefix: str, unknown_positions, section: str = "tables") -> str:
    """In words: which characters of the prefix the model has never seen, and what was done with them (the
    catalogue `section`'s unknown_one / unknown_one_many / unknown_many, e.g. 'gradients' for its sequence)."""
    chars = list(dict.fromkeys(prefix[i] for i in unknown_positions))
    if not chars:
        return ""
    names = ", ".join(f"'{show_char(c)}'" for c in chars)
    n = len(unknown_positions)
    key = "unknown_many" if len(chars) > 1 else "unknown_one" if n == 1 else "unknown_one_many"
    return t(f"{section}.{key}", names=names, n=n, rest=len(prefix) - n)


def sample_html(prefix: str, pairs, max_prefix: int = 200) -> str:
    """A prefix (grey; its last max_prefix characters) and its generated continuation, each generated
    character shaded by the probability the model gave it (hover shows the number).
    pairs: [(char, p)] as returned by inspect.generate."""
    shown = ("…" if len(prefix) > max_prefix else "") + prefix[-max_prefix:] if max_prefix else ""
    out = [f'<span style="color:{COLORS["muted text"]}">{html.escape(show_text_keep_lines(shown))}</span>']
    for c, p in pairs:
        out.append(f'<span title="{html.escape(show_char(c))}: p = {p:.3f}" style="background:{shade(p)};'
                   f'color:{text_on_shade(p)};border-radius:2px">{html.escape(show_char(c))}</span>'
                   + ("<br>" if c == "\n" else ""))
    return ('<div style="font-family:monospace;font-size:1.25rem;line-height:1.7;white-space:normal;'
            'word-break:break-all">' + "".join(out).replace("\n", "<br>") + "</div>")


def show_text_keep_lines(text: str) -> str:
    """Visible whitespace (␣ ⏎ ⇥) that still breaks the line after each ⏎."""
    return "".join(show_char(c) + ("\n" if c == "\n" else "") for c in text)


def sample_legend_html() -> str:
    stops = "".join(
        f'<span style="background:{shade(p)};color:{text_on_shade(p)};padding:0 6px">{p:.1f}</span>'
        for p in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    )
    return f'<div style="font-size:0.95rem">{html.escape(t("tables.legend"))} {stops}</div>'
