"""The Home page (pages/home.py calls `page()`): what charviz is and how to use it in a lecture.

Torch-free: it is the first page a new server shows, while torch still loads (charviz.ui.boot).
"""

import streamlit as st

from charviz.config import DEFAULT_CORPUS, TrainConfig
from charviz.i18n import t
from charviz.ui import boot, pages
from charviz.ui.lang import page_title


def page() -> None:
    """Draw the page: what the model is made of, how to use the app, links to the other pages."""
    if boot.loaded():
        from charviz.ui.session import get_workspace

        ws = get_workspace()
        source_label, config = ws.source.label, ws.config
    else:  # the server's first seconds: torch is still loading, and a new session trains on the defaults
        source_label, config = DEFAULT_CORPUS, TrainConfig()

    st.title(t("home.title"))
    st.markdown(t("home.lead"))

    st.subheader(t("home.how_title"))
    st.markdown(t("home.how", source=source_label, cell=config.cell.upper(), hidden=config.hidden_size))

    links = [row for row in pages.available() if row[0] != pages.HOME]
    with st.container(horizontal=True, wrap=True, gap="small"):  # a row that wraps in a narrow window
        for path, title, icon in links:
            st.page_link(path, label=page_title(path, title), icon=icon, width="content")

    st.subheader(t("home.made_of_title"))
    st.markdown(t("home.made_of"))
