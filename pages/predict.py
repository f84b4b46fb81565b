"""Predict: type a prefix and see, at every time step, what the model (as it is right now) expects next."""

import streamlit as st

from charviz.i18n import t
from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.predict_widgets import prediction_panel, sampling_panel

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

st.title(t("predict.title"))
st.markdown(t("predict.intro"))
prediction_panel()
st.divider()
sampling_panel()
