"""The README's Python API example runs and prints what it says."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_api_example_runs():
    text = README.read_text()
    section = text.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    printed = out.getvalue()
    assert "bits/char" in printed
    assert "(4, 4)" in printed
    assert "[('o', 0.9" in printed  # the trained model predicts 'o' after 'hell'
    assert "[243.  81.  27.   9.   3.   1.]" in printed


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "pip install -r requirements.txt && streamlit run app.py" in text
    assert "pip install -r requirements-dev.txt && python -m pytest" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -q -r requirements-dev.txt" in ci and "python -m pytest" in ci


def test_readme_demo_links_set_up_without_complaint():
    from urllib.parse import parse_qsl, urlsplit

    from charviz import links

    found = re.findall(r"http://localhost:8501/[a-z]*\?[^\s)]+", README.read_text())
    assert len(found) >= 3
    for url in found:
        setup, problems = links.parse(dict(parse_qsl(urlsplit(url).query)))
        assert problems == [], url
