"""Icons that render without an emoji font: headless Chromium and many lecture-hall machines have none, and an
emoji icon in st.info / st.warning / st.error / st.toast / st.page_link then shows as an empty box. Streamlit's
Material Symbols (":material/info:") ship with its frontend."""

import ast
from pathlib import Path

from charviz.ui.pages import PAGES
from charviz.ui.status import STATE_ICONS

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("charviz/ui/*.py"), ROOT / "app.py"])


def literal_icons(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every literal `icon=` argument in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg == "icon" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                    found.append((node.lineno, k.value.value))
    return found


def test_every_icon_is_a_material_symbol():
    icons = {f"{p.relative_to(ROOT)}:{line}": icon for p in FILES for line, icon in literal_icons(p)}
    assert len(icons) > 20  # (the check sees them: the pages use many)
    assert {k: v for k, v in icons.items() if not v.startswith(":material/")} == {}
    assert all(icon.startswith(":material/") for _, _, icon in PAGES)
    assert all(":material/" in icon for icon in STATE_ICONS.values())


def test_the_check_sees_an_emoji_icon(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('st.info("x", icon="ℹ️")\nst.warning("y", icon=":material/warning:")\n', encoding="utf-8")
    assert literal_icons(probe) == [(1, "ℹ️"), (2, ":material/warning:")]
