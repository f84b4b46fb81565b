"""How a run's state reads on screen: the state in words, the sidebar's head and big numbers, the status line.

Torch-free (like charviz.config and charviz.ui.boot), so that the first page can draw it while torch loads.
Every page and the sidebar take a state's wording from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from charviz.config import TrainConfig
from charviz.errors import message
from charviz.escape import md
from charviz.i18n import t

if TYPE_CHECKING:
    from charviz.run import Snapshot

STATES = ("running", "paused", "idle", "stopped")  # the catalogue's status.<state>
# material icons render everywhere (emoji fonts are missing on some machines)
STATE_ICONS = {
    "running": ":green[:material/play_circle:]",
    "paused": ":orange[:material/pause_circle:]",
    "idle": ":gray[:material/radio_button_unchecked:]",
    "stopped": ":gray[:material/stop_circle:]",
}


def state_words(state: str) -> str:
    return t(f"status.{state}") if state in STATES else state


def fmt_rate(n: float) -> str:
    """chars/s for the sidebar: in full up to 99,999, then 170k, 1.2M (a column of the sidebar holds six
    characters; '170,149' was cut to '170,…' on a quiet machine training hello)."""
    if n < 99_999.5:
        return f"{n:,.0f}"
    if n < 999_500:
        return f"{n / 1e3:.0f}k"
    return f"{n / 1e6:.1f}M"


def fmt_bits(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if abs(x) < 100 else f"{x:,.0f}"


def describe(snap: Snapshot) -> str:
    """The Train page's status line: step, train and validation bits/char, and the state, in words."""
    if snap.error:
        return t("status.error", step=f"{snap.step:,}", error=message(snap.error))
    if snap.last is None:
        return t("status.new")
    parts = [t("status.step", step=f"{snap.step:,}"), t("status.bits", bits=f"{snap.last.bits:.2f}")]
    if snap.val_bits is not None:
        parts.append(t("status.val", val=f"{snap.val_bits:.2f}"))
    parts.append(state_words(snap.state))
    return " · ".join(parts)


def draw_head(state: str, source_label: str, config: TrainConfig) -> None:
    """The sidebar's first lines: the run's state in words, and what it trains."""
    st.markdown(f"#### {STATE_ICONS.get(state, '')} {state_words(state)}")
    st.caption(t("status.head", text=md(source_label), cell=config.cell.upper(), hidden=config.hidden_size))


def draw_metrics(step: int, chars_per_sec: float, bits: float | None, val_bits: float | None) -> None:
    """Step, chars/s, train and validation bits per character, as the sidebar's big numbers."""
    c1, c2 = st.columns(2)
    c1.metric(t("status.metric_step"), f"{step:,}")
    c2.metric(t("status.chars_per_sec"), fmt_rate(chars_per_sec))
    c1.metric(t("status.train_bits"), fmt_bits(bits))
    c2.metric(t("status.validation"), fmt_bits(val_bits))
