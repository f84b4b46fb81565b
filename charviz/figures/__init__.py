"""Pure figure builders: arrays and traces in, plotly go.Figure out (never shown, never streamlit).

One house style (style.py: palette, colour scales, fonts, builders) and one module per subject. Pages
import the public names from here.
"""

from charviz.figures.gradients import (
    _log_axis,
    gradient_flow_figure,
    param_grad_figure,
    saliency_figure,
    scalar_bptt_figure,
    singular_values_figure,
)
from charviz.figures.prediction import hello_figure, step_heatmap, topk_figure
from charviz.figures.race import race_grad_figure, race_loss_figure, race_recall_figure, sweep_figure
from charviz.figures.style import (
    COLORS,
    FONT_SIZE,
    PALETTE,
    TITLE_SIZE,
    UIREVISION,
    char_labels,
    f32,
    figure,
    layout,
    shade,
    text_on_shade,
)
from charviz.figures.training import MAX_POINTS, grad_norm_figure, loss_figure, smooth, speed_figure

__all__ = [
    "COLORS", "FONT_SIZE", "MAX_POINTS", "PALETTE", "TITLE_SIZE", "UIREVISION", "_log_axis", "char_labels", "f32",
    "figure", "layout", "shade", "text_on_shade",
    "grad_norm_figure", "gradient_flow_figure", "hello_figure", "loss_figure", "param_grad_figure",
    "race_grad_figure", "race_loss_figure", "race_recall_figure", "saliency_figure",
    "scalar_bptt_figure", "singular_values_figure", "smooth", "speed_figure", "step_heatmap",
    "sweep_figure", "topk_figure",
]
