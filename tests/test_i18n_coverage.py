"""Every text a page or a ui module shows comes from the catalogue: no English literal reaches a widget.

An AST check over pages/*.py, charviz/ui/*.py and app.py: the text arguments of Streamlit's display and widget
calls (the first argument, and label/help/placeholder/caption/body keywords) may hold no literal words; they
are t("...") lookups, variables, or literal punctuation/markdown (e.g. f"### {line}"). ALLOWED lists the few
literals that are not language (names of things that read the same in every language).
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("charviz/ui/*.py"), ROOT / "app.py"])
SHOWS = {  # Streamlit calls whose arguments a user reads
    "title", "header", "subheader", "markdown", "caption", "write", "text", "info", "warning", "error",
    "success", "toast", "button", "toggle", "checkbox", "slider", "select_slider", "selectbox", "radio",
    "text_input", "text_area", "number_input", "metric", "expander", "popover", "download_button",
    "file_uploader", "page_link", "segmented_control", "tabs", "link_button", "multiselect", "pills",
    "set_page_config", "latex",
}
TEXT_KEYWORDS = {"label", "help", "placeholder", "body", "value_label", "page_title"}
ALLOWED = {"charviz"}  # the app's name (page title of the browser tab)
WORD = re.compile(r"[A-Za-z]{2,}")
LATEX = re.compile(r"\\[A-Za-z]+|<[^<>]*>?")  # \partial in math, HTML markup: not words


def literal_words(node: ast.AST) -> list[str]:
    """The literal text of a str constant or the literal parts of an f-string that contain words."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts = [node.value]
    elif isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    elif isinstance(node, ast.BinOp):  # "a" + t("b")
        return literal_words(node.left) + literal_words(node.right)
    elif isinstance(node, ast.IfExp):
        return literal_words(node.body) + literal_words(node.orelse)
    else:
        return []
    return [p for p in parts if WORD.search(LATEX.sub("", p)) and p.strip() not in ALLOWED]


def shown_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWS):
            continue
        args = node.args[:1] + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        for arg in args:
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {w!r}" for w in literal_words(arg)]
    return found


def test_no_page_or_ui_module_shows_a_literal_that_is_not_in_the_catalogue():
    assert FILES and any(p.name == "train.py" for p in FILES)
    found = [f for path in FILES for f in shown_literals(path)]
    assert found == []


def test_the_check_sees_literals():  # the check itself: a literal label, an f-string and a concatenation
    src = 'st.button("Start")\nst.caption(f"step {n}")\nst.info("x" + t("a.b"))\nst.markdown(f"### {x}")\n'
    tree = ROOT / "tests" / "_i18n_probe.py"
    tree.write_text(src, encoding="utf-8")
    try:
        found = shown_literals(tree)
    finally:
        tree.unlink()
    assert [f.split(": ", 1)[1] for f in found] == ["'Start'", "'step '"]
