"""Browser: a legend under a chart never covers the x axis's title, however many rows it wraps to. Chromium draws
the loss chart (plotly.js from the plotly package) with 2 to 4 legend entries, in charts 300 to 700 px wide, in
the house style and in projector mode. Before the legend was placed in the figure's own units, plotly moved a
legend of 4 rows up onto the axis title (the layout test's rare "overlap: legendtext x xtitle" on the Train page
in projector mode at 1280x720)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import plotly
import pytest

from charviz import display
from charviz.figures import loss_figure

pytestmark = pytest.mark.browser

BOXES_JS = """async (d) => { const gd = document.getElementById('g'); gd.style.width = d.width + 'px';
    Plotly.purge(gd); await Plotly.newPlot(gd, d.fig.data, d.fig.layout);
    const box = (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right]; };
    return {legend: Array.from(gd.querySelectorAll('.legend .legendtext')).map(box),
            xtitle: box(gd.querySelector('.xtitle')), ticks: Array.from(gd.querySelectorAll('.xtick text')).map(box),
            figure: box(gd), rows: new Set(Array.from(gd.querySelectorAll('.legend .legendtext'))
                                          .map(e => Math.round(e.getBoundingClientRect().top))).size}; }"""


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


@pytest.mark.parametrize("scale", [1.0, 1.4])
def test_a_wrapped_legend_stays_under_the_axis_title(page, scale):
    hist = [{"step": i, "bits": 6.5 - 3 * (1 - math.exp(-i / 40))} for i in range(1, 210)]
    val = [{"step": i, "val_bits": 6.4 - i / 100} for i in range(0, 210, 50)]
    marks = list(range(0, 209, 5))
    page.set_content("<html><body style='margin:0'><div id=g></div></body></html>")
    page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
    display.set_font_scale_resolver(lambda: scale)
    try:
        figs = {"2 entries": loss_figure(hist, [], 96), "3 entries": loss_figure(hist, [], 96, marks=marks),
                "4 entries": loss_figure(hist, val, 96, marks=marks)}
    finally:
        display.set_font_scale_resolver(lambda: 1.0)
    rows_seen = set()
    for name, fig in figs.items():
        for width in (300, 380, 500, 700):
            b = page.evaluate(BOXES_JS, {"fig": json.loads(fig.to_json()), "width": width})
            where = (name, width, scale, b)
            assert b["legend"] and b["rows"] >= 1, where
            rows_seen.add(b["rows"])
            for leg in b["legend"]:
                assert not _overlap(leg, b["xtitle"]), where
                assert not any(_overlap(leg, tick) for tick in b["ticks"]), where
                assert leg[0] > b["xtitle"][1] and leg[1] <= b["figure"][1] + 1, where  # under the title, inside
    assert max(rows_seen) >= 3, rows_seen  # (the narrow charts did wrap the legend)
