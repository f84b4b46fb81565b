"""Predict: type a prefix and see, at every time step, what the model (as it is right now) expects next."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.predict import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
