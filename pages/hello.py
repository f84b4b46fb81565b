"""hello, step by step: the char-RNN blog figure with real numbers from a tiny RNN trained on "hello"."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.hello import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
