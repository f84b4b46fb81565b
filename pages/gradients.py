"""Gradients: backpropagation through time, truncation, and why gradients vanish or explode."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.gradients import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
