"""Less empty space above every page, so that a page's live chart is on the first screen of a 1280x720 window
(a lecture-hall projector): Streamlit's main block starts 6rem down, under a 3.75rem header."""

from __future__ import annotations

import streamlit as st

TOP_REM = 3.75  # the header's height: the title starts just under it
CSS = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding-top: {TOP_REM}rem; padding-bottom: 3rem; }}
</style>"""


def install() -> None:
    """Call once per run, from the entry script (the rule applies to every page)."""
    st.html(CSS)
