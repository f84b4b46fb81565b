"""Race: a vanilla RNN, an LSTM and a GRU learn the long-range task side by side (or a sweep over k)."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.race import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
