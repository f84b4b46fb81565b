"""The app's pages, in menu order: the one list that app.py navigates and the Home page links to.

To add a page: put its file in pages/ and add a (file, title, icon) row here (the title is the English
fallback; charviz.ui.lang.page_title translates it). Rows whose file is missing are skipped. Torch-free.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = "pages/home.py"
PAGES = [
    (HOME, "Home", ":material/home:"),
    ("pages/lecture.py", "Lecture", ":material/school:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/hello.py", "Hello", ":material/waving_hand:"),
    ("pages/predict.py", "Predict", ":material/online_prediction:"),
    ("pages/hidden.py", "Hidden", ":material/memory:"),
    ("pages/gradients.py", "Gradients", ":material/timeline:"),
    ("pages/race.py", "Race", ":material/sprint:"),
]


def available() -> list[tuple[str, str, str]]:
    """The rows of PAGES whose file exists."""
    return [row for row in PAGES if (ROOT / row[0]).exists()]
