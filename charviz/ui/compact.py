"""Less empty space above every page, so that a page's live chart is on the first screen of a 1280x720 window
(a lecture-hall projector): Streamlit's main block starts 6rem down, under a 3.75rem header."""

from __future__ import annotations

import streamlit as st

TOP_REM = 3.75  # the header's height: the title starts just under it
# Under 1280 px (laptops and projectors at 1024 or 1152 px), the main area gets the room the figures are drawn
# for (charviz.figures.style: a half-width chart about 400 px wide): a narrower sidebar and less padding beside
# the page, so that at 1024 px the main area is 90% as wide as at 1280 px (734 px of content, against 820).
NARROW_BELOW = 1280  # px of window width
NARROW_SIDEBAR_PX = 270  # Streamlit's sidebar: 300 px (a width the user dragged it to is kept)
NARROW_PAD_REM = 1.25  # Streamlit's padding beside the page: 5rem
CSS = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding-top: {TOP_REM}rem; padding-bottom: 3rem; }}
@media (max-width: {NARROW_BELOW - 1}px) {{
  [data-testid="stMainBlockContainer"] {{ padding-left: {NARROW_PAD_REM}rem; padding-right: {NARROW_PAD_REM}rem; }}
  section[data-testid="stSidebar"][data-collapsed="false"][style*="width: 300px"] {{
    width: {NARROW_SIDEBAR_PX}px !important; min-width: {NARROW_SIDEBAR_PX}px !important; }}
}}
</style>"""


def install() -> None:
    """Call once per run, from the entry script (the rule applies to every page)."""
    st.html(CSS)
