"""Hidden: the memory of the live model over a probe text: units x time, gates, one unit, the unit finder."""

import streamlit as st

from charviz.i18n import t
from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.hidden import hidden_page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

st.title(t("hidden.title"))
st.markdown(t("hidden.intro"))
hidden_page()
