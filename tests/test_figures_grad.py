"""Gradient figures: log axes, the truncation window, the numbers they carry."""

import numpy as np

from charviz import figures
from charviz.data import Vocab
from charviz.inspect import gradient_flow, scalar_bptt
from charviz.model import seeded_model

TEXT = "hello world, hello world"


def _flow():
    vocab = Vocab.from_text(TEXT)
    return gradient_flow(seeded_model(len(vocab), 8), vocab, TEXT)


def test_scalar_figure_plots_powers_of_w_on_a_log_axis():
    fig = figures.scalar_bptt_figure({"w=3": scalar_bptt(3.0, 10)})
    assert fig.layout.yaxis.type == "log"
    y = np.asarray(fig.data[0].y, dtype=np.float64)
    np.testing.assert_allclose(y, [3.0 ** (10 - t) for t in range(11)], rtol=1e-6)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.uirevision == figures.UIREVISION


def test_gradient_flow_figure_shades_the_truncation_window():
    flow = _flow()
    fig = figures.gradient_flow_figure(flow, window=8)
    T = len(flow.chars)
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(np.asarray(fig.data[0].y, dtype=np.float64), flow.grad_norm_last, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fig.data[1].y, dtype=np.float64), flow.grad_norm_total, rtol=1e-6)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1 and rects[0].x1 == T - 8 - 0.5  # steps older than the window are shaded
    assert list(fig.layout.xaxis.ticktext)[:5] == ["h", "e", "l", "l", "o"]
    assert "␣" in fig.layout.xaxis.ticktext  # spaces drawn visibly
    assert not [s for s in figures.gradient_flow_figure(flow, window=None).layout.shapes if s.type == "rect"]


def test_zero_gradients_are_not_drawn_on_a_log_axis():
    flow = _flow()
    flow.saliency[:] = 0.0
    y = np.asarray(figures.saliency_figure(flow).data[0].y, dtype=np.float64)
    assert np.isnan(y).all()


def test_singular_values_and_parameter_figures():
    flow = _flow()
    sv_fig = figures.singular_values_figure(flow.singular_values)
    np.testing.assert_allclose(np.asarray(sv_fig.data[0].y, dtype=np.float64), flow.singular_values, rtol=1e-6)
    p_fig = figures.param_grad_figure(flow.param_grad_norms)
    assert list(p_fig.data[0].y) == list(flow.param_grad_norms)
    assert p_fig.layout.xaxis.type == "log"


def test_every_gradient_figure_is_a_valid_plotly_figure():
    import plotly.graph_objects as go

    flow = _flow()
    for fig in (
        figures.scalar_bptt_figure({"w=3": scalar_bptt(3.0, 10), "tanh": scalar_bptt(3.0, 10, "tanh")}),
        figures.gradient_flow_figure(flow, window=8),
        figures.saliency_figure(flow),
        figures.singular_values_figure(flow.singular_values, "lstm"),
        figures.param_grad_figure(flow.param_grad_norms),
    ):
        go.Figure(fig.to_dict())  # full validation: raises on any invalid property
        assert fig.layout.uirevision == figures.UIREVISION
        assert fig.layout.font.size >= 16  # readable on a projector


def test_log_axes_are_labelled_at_powers_of_ten_only():
    """No 2 and 5 labels between the decades: every decade when the labels fit along the axis (a label needs
    1.9 font sizes, 34 px at 18 px), else every few."""
    assert figures._log_axis(np.array([1e-5, 3.0]))["dtick"] == 1  # 5.5 decades, 8 labels fit in 300 px
    assert figures._log_axis(np.array([1e-25, 1e2]))["dtick"] == 4  # 27 decades (28 labels) -> every 4th
    assert figures._log_axis(np.array([1e-25, 1e2]), length_px=1000)["dtick"] == 1  # 29 fit in 1000 px
    assert figures._log_axis(np.array([0.0, np.nan]))["type"] == "log"  # nothing positive: plotly decides
    # the live figure: gradient norms spanning exactly 12 decades (1e-12 .. 1) -> a label every 2nd decade
    flow = _flow()
    flow.grad_norm_last[:] = np.logspace(-12, 0, len(flow.grad_norm_last))
    flow.grad_norm_total[:] = 1e-6
    fig = figures.gradient_flow_figure(flow, window=8)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick == 2
    flow.grad_norm_last[:] = np.logspace(-3, 0, len(flow.grad_norm_last))  # 3 decades: every one labelled
    assert figures.gradient_flow_figure(flow, window=8).layout.yaxis.dtick == 1


def test_scalar_figure_draws_three_to_the_hundred_not_inf():
    import numpy as np

    from charviz.figures import scalar_bptt_figure
    from charviz.inspect import scalar_bptt

    fig = scalar_bptt_figure({"w = 3": scalar_bptt(3.0, 100)})
    y = np.asarray(fig.data[0].y, dtype=np.float64)
    assert np.isfinite(y).all() and np.isclose(y[0], 3.0 ** 100, rtol=1e-12)
