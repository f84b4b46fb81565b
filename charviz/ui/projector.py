"""Projector mode: figure text and the page's key numbers large enough for the back of a lecture hall, and
the controls a lecture does not need hidden. A sidebar toggle, kept in the URL (?projector=1)."""

from __future__ import annotations

import streamlit as st

from charviz import display
from charviz.i18n import t

KEY = "charviz_projector"
TOGGLE_KEY = "projector_toggle"
CUT_KEY = "projector_cut"  # an empty marker: in projector mode, everything after it on the page is hidden
SCALE = 1.4  # figure text in projector mode, relative to the house style
CSS = f"""<style>
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] p {{ font-size: 3.2rem !important; line-height: 1.2; }}
[data-testid="stMain"] [data-testid="stMetricLabel"] p {{ font-size: 1.25rem !important; }}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {{ font-size: 1.35rem; line-height: 1.5; }}
[data-testid="stMain"] [data-testid="stCaptionContainer"] {{ font-size: 1.1rem; }}
.st-key-{CUT_KEY} ~ div {{ display: none !important; }}
[data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
[data-testid="stDecoration"] {{ display: none !important; }}
</style>"""


def _from_url() -> bool:
    return str(st.query_params.get("projector", "")).strip().lower() in ("1", "true", "on", "yes")


def on() -> bool:
    """Projector mode for this session: its own choice first, then the URL's `projector`."""
    v = st.session_state.get(KEY)
    return _from_url() if v is None else bool(v)


def _sync_url(value: bool) -> None:
    if value and st.query_params.get("projector") != "1":
        st.query_params["projector"] = "1"
    elif not value and "projector" in st.query_params:
        del st.query_params["projector"]


def install() -> None:
    """Figures read the session's scale; the URL says the mode; the page gets the projector CSS."""
    display.set_font_scale_resolver(lambda: SCALE if on() else 1.0)
    if KEY not in st.session_state and "projector" in st.query_params:
        st.session_state[KEY] = _from_url()
    _sync_url(on())
    if on():
        st.html(CSS)


def _switched() -> None:
    st.session_state[KEY] = bool(st.session_state[TOGGLE_KEY])
    _sync_url(st.session_state[KEY])


def toggle() -> None:
    """The sidebar's projector switch (call inside `with st.sidebar`)."""
    st.session_state[TOGGLE_KEY] = on()
    st.toggle(t("projector.toggle"), key=TOGGLE_KEY, on_change=_switched, help=t("projector.help"))


def cut() -> None:
    """Mark where a page's lecture-unneeded controls begin: in projector mode they (and all after) are hidden."""
    st.container(key=CUT_KEY)
