"""hello, step by step: the char-RNN blog figure with real numbers from a tiny RNN trained on "hello"."""

import streamlit as st

from charviz.i18n import t
from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.predict_widgets import hello_panel

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

st.title(t("hello.title"))
hello_panel(t("hello.intro"))
