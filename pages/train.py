"""Train page: choose a text and a model, press Start, watch the loss fall and the gradients move."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.train import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
