"""Hidden: the memory of the live model over a probe text: units x time, gates, one unit, the unit finder."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.hidden import page

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)
page()
