"""Live charts that are redrawn in place while the run trains.

st.plotly_chart in Streamlit 1.67 cannot show a chart's new data in the element it already drew: the
element's id is made from the whole figure (`compute_and_register_element_id(..., key_as_main_identity=False,
plotly_spec=...)`), and the frontend keeps each element's figure by id, so every redraw with new data is a new
element that plotly.js builds from nothing: a zoom is lost each second, the browser rebuilds each chart, and a
pointer resting on a point loses its hover (a click there then picks nothing).

`live_chart` draws the figure through a small component (charviz/ui/live_chart.html) whose key stays the same:
its frame, of height 0, puts one plotly chart into the app's page right after itself and hands it each new
figure with Plotly.react, which updates the chart it has (a zoom, the legend's hidden traces and the hover
stay). plotly.js is the copy the plotly package ships, loaded once per browser tab into the page. A click on a
point that carries customdata (a snapshot's diamond) calls `on_click(step)` once per click.

The frame's page and plotly.js are served by Streamlit from a folder made once per plotly version and page text
in the system's temporary directory (no network: nothing is downloaded).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components

_PAGE = Path(__file__).with_name("live_chart.html")
_made: dict = {}  # the declared component, and the runtime's registry it was declared for


def component_dir() -> Path:
    """The directory Streamlit serves the frame from: index.html and plotly.min.js."""
    page = _PAGE.read_bytes()
    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    tag = hashlib.sha256(page + plotly.__version__.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"charviz-live-chart-{tag}"
    if not (folder / "index.html").is_file():
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + "-"))
        shutil.copyfile(js, tmp / "plotly.min.js")
        (tmp / "index.html").write_bytes(page)  # (written last: a folder with index.html is whole)
        tmp.chmod(0o755)
        try:
            tmp.rename(folder)
        except OSError:  # another server made it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _component():
    """The component, declared from a script run: Streamlit registers a component with the server only when it
    is declared while a script runs (an import from another thread would leave it unserved, 404)."""
    from streamlit import runtime

    registry = runtime.get_instance().component_registry if runtime.exists() else None
    if "component" not in _made or _made.get("registry") is not registry:
        _made["component"] = components.declare_component("live_chart", path=str(component_dir()))
        _made["registry"] = registry
    return _made["component"]


def figure_json(fig) -> str:
    """The figure as plotly JSON, made once per figure (a FrozenFigure is drawn for a whole class)."""
    spec = fig.__dict__.get("_charviz_json")
    if spec is None:
        spec = fig.__dict__["_charviz_json"] = pio.to_json(fig.to_dict(), validate=False)
    return spec


def _clicked(key: str, on_click: Callable[[int], None]) -> None:
    value = st.session_state.get(key)
    if isinstance(value, dict) and isinstance(value.get("step"), int | float):
        on_click(int(value["step"]))


def live_chart(fig, key: str, on_click: Callable[[int], None] | None = None) -> None:
    """Draw `fig` under `key`, in place of the drawing the key had (see the module's text). `on_click(step)` is
    called once per click on a point with customdata (a click sent again by the browser is not a new one)."""
    callback = functools.partial(_clicked, key, on_click) if on_click is not None else None
    _component()(spec=figure_json(fig), clickable=on_click is not None, key=key, default=None,
                 on_change=callback)
