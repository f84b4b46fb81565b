"""charviz: `streamlit run app.py`. Declares the pages and keeps the live training status in the sidebar."""

import streamlit as st

from charviz.ui import (
    boot,  # torch-free: the first page does not wait for torch (see charviz/ui/boot.py)
    compact,
    lang,
    memdebug,  # off unless CHARVIZ_MEMDEBUG names a folder (issue 13: what closed sessions leave behind)
    pages,
    projector,
)

memdebug.install()
boot.leave_pages_folder_mode(entry=True)  # the server's first runs may come here as an old-style `pages/` app
lang.install()  # charviz.i18n.t() answers in this session's language (?lang=ko or the sidebar's choice)
st.set_page_config(page_title="charviz", page_icon=":material/text_fields:", layout="wide")
projector.install()  # ?projector=1: larger figure text and numbers, fewer controls
compact.install()  # less space above the title: the live chart on the first screen at 1280x720
ready = boot.start_loading()  # torch and the UI modules that need it, in the background, once per process

nav = st.navigation(
    [
        st.Page(path, title=lang.page_title(path, title), icon=icon, default=(i == 0))
        for i, (path, title, icon) in enumerate(pages.available())  # the one page list: charviz/ui/pages.py
    ]
)
if not ready and nav.url_path not in ("", "home"):
    ready = boot.wait_loaded()  # every page but Home needs torch: its modules load once, in one thread
if ready:
    from charviz.ui import links
    from charviz.ui.sidebar import training_status  # importing it caps torch's threads

    links.from_url()  # a demo link sets the session's run up (once per session), before the sidebar draws it
    training_status()
    links.show_problems()
else:
    boot.loading_status()  # a new session's true status (step 0, untrained) until torch is loaded
with st.sidebar:
    lang.switch()  # English / 한국어
    projector.toggle()
nav.run()
