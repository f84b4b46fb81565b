"""The library stays importable without streamlit and never prints."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_charviz_does_not_import_streamlit():
    code = (
        "import sys, charviz, charviz.data, charviz.model, charviz.train, charviz.inspect, "
        "charviz.checkpoint, charviz.figures\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_streamlit_outside_ui_and_no_prints():
    for path in (ROOT / "charviz").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "charviz").parts:
            continue
        src = path.read_text()
        assert "import streamlit" not in src and "from streamlit" not in src, path
        if path.name != "bench.py":
            assert "print(" not in src, path
