"""The house style (charviz.figures.style): one builder for every figure, every colour from the palette."""

import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from charviz import figures as F
from charviz.data import Vocab
from charviz.figures import style
from charviz.inspect import forward_trace, gradient_flow, scalar_bptt
from charviz.model import seeded_model

ROOT = Path(__file__).resolve().parents[1]
# a hex colour, an rgb()/rgba() with numbers, or a named colour as a value (not a PALETTE key: _P["white"])
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\(\s*\d|(?<!\[)[\"'](black|white|red|blue|green|grey|gray)[\"']")


def _history(n=50):
    return [{"step": i, "loss": 1.0, "bits": 2.0 - i / 100, "grad_norm": 1.0 + i % 7, "grad_norm_clipped": 1.0,
             "clipped": i % 7 > 4, "chars_per_sec": 1000.0 + i, "applied": i != 30, "lr": 1e-3}
            for i in range(1, n + 1)]


def every_figure():
    text = "hello world, hello"
    vocab = Vocab.from_text(text)
    model = seeded_model(len(vocab), 8)
    flow = gradient_flow(model, vocab, text)
    trace = forward_trace(model, vocab, "hello")
    hist = _history()
    return {
        "loss": F.loss_figure(hist, [{"step": 10, "val_bits": 1.9}], len(vocab)),
        "grad_norm": F.grad_norm_figure(hist, 5.0),
        "speed": F.speed_figure(hist),
        "scalar": F.scalar_bptt_figure({"w=3": scalar_bptt(3.0, 10)}),
        "flow": F.gradient_flow_figure(flow, 4),
        "saliency": F.saliency_figure(flow),
        "sv": F.singular_values_figure(flow.singular_values),
        "params": F.param_grad_figure(flow.param_grad_norms),
        "topk": F.topk_figure(trace.next_probs, vocab.itos, 3, "next"),
        "probs": F.step_heatmap(trace, "probs"),
        "logits": F.step_heatmap(trace, "logits"),
        "hello": F.hello_figure(trace.window(0, 4)),
    }


@pytest.mark.parametrize("name", sorted(every_figure()))
def test_every_figure_is_valid_plotly_in_the_house_style(name):
    fig = every_figure()[name]
    checked = go.Figure(fig.to_dict())  # plotly's full validation (the builder skips it for speed)
    lay = checked.layout
    assert lay.template.layout.plot_bgcolor == style.PALETTE["white"]
    assert lay.template.layout.font.color == style.COLORS["text"]
    assert lay.uirevision == style.UIREVISION and lay.font.size == style.FONT_SIZE
    assert lay.legend.font.size == style.FONT_SIZE - 2
    if lay.title.text:
        assert lay.title.font.size == style.TITLE_SIZE


def test_layout_merges_nested_settings():
    lay = style.layout("t", "x", "y", 300, {"type": "log"}, legend=style.LEGEND_ABOVE)
    assert lay["yaxis"] == {"title": {"text": "y", "font": {"size": style.FONT_SIZE}}, "type": "log"}
    assert lay["legend"]["y"] == 1.02 and lay["legend"]["font"]["size"] == style.FONT_SIZE - 2


def test_no_colour_is_written_outside_the_palette():
    """Hex, rgb() and named colours appear only in style.py's PALETTE; everything else names a palette role."""
    src = (ROOT / "charviz" / "figures" / "style.py").read_text()
    start = src.index("PALETTE = {")
    palette_block = src[start: src.index("}", start)]
    offenders = []
    for path in sorted((ROOT / "charviz").rglob("*.py")):
        text = path.read_text()
        if path.name == "style.py" and path.parent.name == "figures":
            text = text.replace(palette_block, "")
        for m in COLOUR_LITERAL.finditer(text):
            offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert offenders == []


def test_shade_runs_from_light_to_dark_in_the_training_colour():
    r, g, b = (int(style.COLORS["train"][i: i + 2], 16) for i in (1, 3, 5))
    assert style.shade(0.0) == f"rgba({r},{g},{b},0.08)"
    assert style.shade(1.0) == f"rgba({r},{g},{b},0.80)"
    assert style.shade(2.0) == style.shade(1.0) and style.shade(-1) == style.shade(0.0)
    alphas = [float(style.shade(p).rsplit(",", 1)[1][:-1]) for p in np.linspace(0, 1, 11)]
    assert alphas == sorted(alphas)
    assert style.text_on_shade(0.9) == style.COLORS["on dark"] and style.text_on_shade(0.1) == style.COLORS["on light"]
