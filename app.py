"""charviz: `streamlit run app.py`. Declares the pages and keeps the live training status in the sidebar."""

from pathlib import Path

import streamlit as st

from charviz.ui import (
    boot,  # torch-free: the first page does not wait for torch (see charviz/ui/boot.py)
    lang,
)

boot.leave_pages_folder_mode()  # the server's very first run may come here as an old-style `pages/` app
lang.install()  # charviz.i18n.t() answers in this session's language (?lang=ko or the sidebar's choice)
st.set_page_config(page_title="charviz", page_icon=":material/text_fields:", layout="wide")
ready = boot.start_loading()  # torch and the UI modules that need it, in the background, once per process

HERE = Path(__file__).parent

# to add a page: put it in pages/ and add a (path, title, icon) row; rows whose file is missing are skipped
PAGES = [
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/lecture.py", "Lecture", ":material/school:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/hello.py", "Hello", ":material/waving_hand:"),
    ("pages/predict.py", "Predict", ":material/online_prediction:"),
    ("pages/gradients.py", "Gradients", ":material/timeline:"),
    ("pages/race.py", "Race", ":material/sprint:"),
]

nav = st.navigation(
    [
        st.Page(path, title=lang.page_title(path, title), icon=icon, default=(i == 0))
        for i, (path, title, icon) in enumerate(PAGES)
        if (HERE / path).exists()
    ]
)
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
nav.run()
