"""The sidebar every page shows: live training status and Start/Pause, Step, Reset."""

from __future__ import annotations

import streamlit as st

from charviz.ui.session import get_run


def training_status() -> None:
    with st.sidebar:
        st.caption(get_run().snapshot().message)
