"""How a run's state reads on screen: the state in words, the sidebar's head and big numbers, the status line.

Torch-free (like charviz.config and charviz.ui.boot), so that the first page can draw it while torch loads.
Every page and the sidebar take a state's wording from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from charviz.config import TrainConfig

if TYPE_CHECKING:
    from charviz.run import Snapshot

STATE_WORDS = {"running": "training", "paused": "paused", "idle": "ready", "stopped": "stopped"}
# material icons render everywhere (emoji fonts are missing on some machines)
STATE_ICONS = {
    "running": ":green[:material/play_circle:]",
    "paused": ":orange[:material/pause_circle:]",
    "idle": ":gray[:material/radio_button_unchecked:]",
    "stopped": ":gray[:material/stop_circle:]",
}


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def fmt_bits(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if abs(x) < 100 else f"{x:,.0f}"


def describe(snap: Snapshot) -> str:
    """The Train page's status line: step, train and validation bits/char, and the state, in words."""
    if snap.error:
        return f"step {snap.step:,} · paused: {snap.error}"
    if snap.last is None:
        return "not started yet · press Start"
    parts = [f"step {snap.step:,}", f"{snap.last.bits:.2f} bits/char (train)"]
    if snap.val_bits is not None:
        parts.append(f"{snap.val_bits:.2f} (validation)")
    parts.append(state_words(snap.state))
    return " · ".join(parts)


def draw_head(state: str, source_label: str, config: TrainConfig) -> None:
    """The sidebar's first lines: the run's state in words, and what it trains."""
    st.markdown(f"#### {STATE_ICONS.get(state, '')} {state_words(state)}")
    st.caption(f"text: **{source_label}** · {config.cell.upper()} {config.hidden_size}")


def draw_metrics(step: int, chars_per_sec: float, bits: float | None, val_bits: float | None) -> None:
    """Step, chars/s, train and validation bits per character, as the sidebar's big numbers."""
    c1, c2 = st.columns(2)
    c1.metric("step", f"{step:,}")
    c2.metric("chars / s", f"{chars_per_sec:,.0f}")
    c1.metric("train bits/char", fmt_bits(bits))
    c2.metric("validation", fmt_bits(val_bits))
