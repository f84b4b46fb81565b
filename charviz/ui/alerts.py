"""A message box for an error: the sentence in the reader's language, an exception's own words under it.

Python's and torch's messages exist in English only; they are technical details (charviz.errors.details), never
the message: a caption under the box shows them for whoever wants them (a lecturer, a bug report).
"""

from __future__ import annotations

import streamlit as st

from charviz.errors import details
from charviz.escape import md
from charviz.i18n import t


def alert(kind: str, text: str, about=None, icon: str | None = None) -> None:
    """st.error / st.warning / st.info (`kind`) with `text`, then a caption per technical detail inside
    `about` (the error or Msg the text was made from)."""
    getattr(st, kind)(text, icon=icon)
    for detail in details(about):
        st.caption(t("common.technical", detail=md(detail)))
