"""hello, step by step: the char-RNN blog figure with real numbers from a tiny RNN trained on "hello"."""

import streamlit as st

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.predict_widgets import hello_panel

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

st.title("hello, step by step")
hello_panel(
    "Vocabulary **h, e, l, o** · input **hell** · targets **ello**.\n\n"
    "Each column is one time step: the one-hot input x<sub>t</sub>; the hidden state "
    "h<sub>t</sub> = tanh(W<sub>xh</sub> x<sub>t</sub> + W<sub>hh</sub> h<sub>t−1</sub> + b<sub>h</sub>); "
    "the logits y<sub>t</sub> = W<sub>hy</sub> h<sub>t</sub> + b<sub>y</sub>; the softmax p<sub>t</sub>; "
    "the predicted vs the target character.\n\n"
    "Untrained, the predictions are wrong: press **Train** and watch them become right. "
    "(This page trains its own tiny RNN; the main model is not touched.)"
)
