"""Landing page: what charviz is and how to use it in a lecture."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.home import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
