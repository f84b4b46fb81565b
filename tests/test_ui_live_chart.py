"""charviz.ui.live_chart without a browser: the folder Streamlit serves the frame from, and the figure's JSON.
(The chart itself, in place through redraws, is tested in a browser: tests/test_browser_live_chart.py.)"""

import json
from pathlib import Path

import plotly
import plotly.graph_objects as go

from charviz.figures.style import freeze
from charviz.ui.live_chart import _PAGE, component_dir, figure_json


def test_the_served_folder_has_the_page_and_the_packaged_plotly_js():
    folder = component_dir()
    assert (folder / "index.html").read_bytes() == _PAGE.read_bytes()
    packaged = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (folder / "plotly.min.js").stat().st_size == packaged.stat().st_size > 1_000_000
    assert component_dir() == folder  # made once per plotly version and page text


def test_figure_json_is_the_figure_and_made_once_per_frozen_figure():
    fig = freeze(go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.25, 0.125], name="loss"), {"title": {"text": "t"}}))
    spec = figure_json(fig)
    assert figure_json(fig) is spec  # a class drawing one figure shares its JSON
    back = go.Figure(json.loads(spec))
    assert list(back.data[0].y) == [0.5, 0.25, 0.125] and back.layout.title.text == "t"
