"""Lecture: the story of the app in eight chapters over the session's live model (chapter in the URL)."""

from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.lecture import chapter_view

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

chapter_view()
