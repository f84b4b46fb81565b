"""Predict: type a prefix and see, at every time step, what the model (as it is right now) expects next."""

import streamlit as st

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.predict_widgets import prediction_panel, sampling_panel

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

st.title("Predict the next character")
st.markdown(
    "At every time step the RNN reads one character and outputs a **logit** (a score) for every character "
    "of the vocabulary; **softmax** turns the logits into probabilities, and the loss at that step is "
    "**−ln p(true next character)**. The views below use the model as it is now, so they sharpen while it "
    "trains."
)
prediction_panel()
st.divider()
sampling_panel()
