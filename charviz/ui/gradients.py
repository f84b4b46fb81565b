"""The Gradients page (pages/gradients.py calls `page()`).

Gradients: backpropagation through time, truncation, and why gradients vanish or explode.
"""

import streamlit as st

from charviz import figures, tables
from charviz.escape import md
from charviz.i18n import t
from charviz.inspect import gradient_flow, long_range_recall, scalar_bptt
from charviz.ui.classroom import taking_turns
from charviz.ui.live_chart import live_chart
from charviz.ui.rewind import model_for_view, rewind_slider, view_banner
from charviz.ui.session import get_workspace
from charviz.ui.sidebar import live_every

MAX_STEPS = 128  # the unrolled view covers at most this many characters


def recall_metrics(r) -> None:
    """Key recalled (accuracy), loss at the recall step and what forgetting costs, as three big numbers
    (r: an inspect.Recall). Also the Lecture's recall chapter."""
    c1, c2, c3 = st.columns(3)
    c1.metric(t("gradients.recalled", k=r.k), f"{r.accuracy:.0%}", help=t("gradients.recalled_help", n=r.n))
    c2.metric(t("gradients.recall_loss"), t("gradients.bits", bits=f"{r.bits:.2f}"),
              help=t("gradients.recall_loss_help"))
    c3.metric(t("gradients.forgetting"), t("gradients.bits", bits=f"{r.chance_bits:.0f}"),
              help=t("gradients.forgetting_help"))


def page() -> None:
    """Draw the page: widgets, figures and live fragments (no math: the numbers come from charviz)."""
    st.title(t("gradients.title"))
    st.markdown(t("gradients.intro"))

    # ---- 1. the scalar example ------------------------------------------------------------------------------
    st.header(t("gradients.scalar_header"))
    # the text and the controls at the left, the chart at the right: the chart is on the first screen at 1280x720
    text_col, chart_col = st.columns([1, 1.5], gap="large")
    text_col.markdown(t("gradients.scalar_intro"))
    c1, c2 = text_col.columns(2)
    w = c1.slider(t("gradients.w"), 0.1, 4.0, 3.0, 0.1, key="g_w")
    T = c2.slider(t("gradients.T"), 2, 100, 20, key="g_T")  # up to the story's 3^100
    show_tanh = text_col.toggle(t("gradients.show_tanh"), value=True, key="g_tanh")
    LINEAR, TANH = t("gradients.curve_linear", w=f"{w:g}"), t("gradients.curve_tanh", w=f"{w:g}")
    curves = {LINEAR: scalar_bptt(w, T, "linear")}
    if show_tanh:
        curves[TANH] = scalar_bptt(w, T, "tanh", h0=0.1)
    curves[t("gradients.curve_one")] = scalar_bptt(1.0, T, "linear")
    chart_col.plotly_chart(figures.scalar_bptt_figure(curves), key="g_scalar", theme=None)
    g = curves[LINEAR]

    def fmt(v: float) -> str:
        return f"{v:,.0f}" if 1 <= abs(v) < 1e12 and float(v).is_integer() else f"{v:.4g}"

    steps_back = [k for k in (1, 2, 3, 5, 10, 20, 50, 100) if k <= T]
    rows = [(t("gradients.row_linear"), g)] + ([(t("gradients.row_tanh"), curves[TANH])] if show_tanh else [])
    st.markdown(  # a table, so that the numbers are read as numbers (in inline math, 59,049 reads "59, 049")
        f"| $\\partial h_T/\\partial h_t$, w = {w:g} | "
        + " | ".join(t("gradients.steps_back", k=k) if k > 1 else t("gradients.step_back") for k in steps_back) + " |\n"
        + "|---|" + "---:|" * len(steps_back) + "\n"
        + "".join(f"| {name} | " + " | ".join(f"**{fmt(curve[T - k])}**" for k in steps_back) + " |\n"
                  for name, curve in rows)
    )
    if show_tanh and w > 1 and abs(curves[TANH][0]) < 1:
        st.caption(t("gradients.saturates", w=f"{w:g}"))
    if w > 1:
        st.info(t("gradients.explodes", w=f"{w:g}"), icon=":material/trending_up:")
    elif w < 1:
        st.info(t("gradients.vanishes", w=f"{w:g}"), icon=":material/trending_down:")

    # ---- 2. the live model -----------------------------------------------------------------------------------
    st.header(t("gradients.live_header"))
    ws = get_workspace()
    default = ws.run.trainer.val_text[:64] or ws.text[:64]
    # an empty box unrolls the default sequence (shown as the box's placeholder). The box is not seeded through
    # session_state: on a new server under load its value came back empty on the rerun after Start (the
    # browser test's rare failure), and the live view then showed nothing
    box, rewind = st.columns([2, 1], vertical_alignment="bottom")  # one row: the live chart comes sooner
    text = box.text_area(t("gradients.sequence"), key="g_text", height=110,  # keeps newlines
                         placeholder=default) or default
    with rewind:
        rewind_slider("gradients", ws.run)

    @st.fragment(run_every=live_every(ws))
    @taking_turns  # (a watcher's redraw waits its turn)
    def live_flow(text: str) -> None:
        run = get_workspace().run
        snap = run.snapshot()
        view = model_for_view(snap, run)
        view_banner(view)
        known, dropped = snap.vocab.drop_unknown(text)
        if dropped:
            st.warning(md(tables.unknown_message(text, dropped, section="gradients")), icon=":material/keyboard:")
            text = known
        if len(text) > MAX_STEPS + 1:
            st.caption(t("gradients.last_steps", max=MAX_STEPS, n=len(text) - 1))
            text = text[-(MAX_STEPS + 1):]
        if len(text) < 2:
            st.info(t("gradients.too_short"), icon=":material/keyboard:")
            return
        flow = gradient_flow(view.model, snap.vocab, text)
        window = snap.config.seq_len
        st.caption(t("gradients.flow_caption", cell=snap.config.cell.upper(), hidden=snap.config.hidden_size,
                     step=f"{view.step:,}", window=window))
        first, last = float(flow.grad_norm_last[0]), float(flow.grad_norm_last[-1])
        m1, m2, m3 = st.columns(3)
        m1.metric(t("gradients.metric_last"), f"{last:.3g}")
        m2.metric(t("gradients.metric_first", n=len(flow.chars) - 1), f"{first:.3g}")
        m3.metric(t("gradients.metric_ratio"), f"{first / last:.3g}" if last > 0 else "–")
        # (redrawn in place while the run trains, so a zoom and the hover hold: charviz.ui.live_chart)
        live_chart(figures.gradient_flow_figure(flow, window), key="g_flow")
        a, b = st.columns(2)
        with a:
            st.subheader(t("gradients.saliency"))
            live_chart(figures.saliency_figure(flow), key="g_saliency")
        with b:
            st.subheader(t("gradients.singular"))
            live_chart(figures.singular_values_figure(flow.singular_values, snap.config.cell), key="g_sv")
            st.caption(t("gradients.singular_caption"))
        with st.expander(t("gradients.params")):
            st.plotly_chart(figures.param_grad_figure(flow.param_grad_norms), key="g_params", theme=None)

    live_flow(text)

    # ---- 3. long-term dependencies ---------------------------------------------------------------------------
    st.header(t("gradients.long_header"))
    st.markdown(t("gradients.long_intro"))

    @st.fragment(run_every=live_every(ws))
    @taking_turns  # (a watcher's redraw waits its turn)
    def live_recall() -> None:
        ws = get_workspace()
        if ws.source.name != "long-range":
            st.info(t("gradients.long_hint"), icon=":material/psychology:")
            return
        snap = ws.run.snapshot()
        view = model_for_view(snap, ws.run)
        view_banner(view)
        r = long_range_recall(view.model, snap.vocab, ws.run.trainer.val_text or ws.text)
        recall_metrics(r)
        if snap.config.seq_len <= r.k:
            st.warning(t("gradients.window_short", window=snap.config.seq_len, k1=r.k + 1),
                       icon=":material/content_cut:")

    live_recall()
