"""The Predict page's widgets: prefix box, live prediction views, sampling.

Every number comes from charviz.inspect (forward_trace, generate) on a frozen snapshot of the model;
figures from charviz.figures, tables and HTML from charviz.tables. Nothing is computed here.
"""

from __future__ import annotations

import time

import streamlit as st

from charviz import figures, tables
from charviz.data import show_text
from charviz.display import font_scale
from charviz.escape import md, plotly_text
from charviz.i18n import t
from charviz.inspect import forward_trace, generate
from charviz.memo import drawn, shared
from charviz.ui.classroom import taking_turns
from charviz.ui.rewind import model_for_view, rewind_slider, view_banner
from charviz.ui.session import get_workspace
from charviz.ui.sidebar import live_every
from charviz.ui.status import state_words

MAX_PREFIX = 2000  # characters of the prefix the model reads (the last ones)
PREFIX_BOX = 50 * MAX_PREFIX  # the box takes this much, so a long paste is cut with a note, not dropped
MAX_COLS = 12  # heatmap columns before the rest of the vocabulary is summed (wide enough to read at 1280 px)
VIEWS = ("probs", "logits", "table")  # predict.view_<view>
LIVE = "100ms"  # the prefix box commits after this typing pause (a rerun costs ~30 ms of server time)
TITLE_CHARS = 14  # the end of the prefix quoted in the top-k title (a third of the page wide at 1280 px)
STEP_CHOICES = (10, 20, 40, 80, 120, 200)  # time steps shown in the heatmaps (the last N)
PREFIX_KEY, KEEP_KEY, SOURCE_KEY = "predict_prefix", "_predict_prefix_keep", "_predict_prefix_source"
SNAP_KEY = "_predict_snapshot"
STALE_S = 3.0  # while typing, a snapshot this old is still shown rather than waiting for the trainer
LOCK_WAIT_S = 0.03  # ... after waiting this long for the training step in progress
DEFAULT_PREFIX = {"hello": "hell", "python": "def main(", "long-range": None}


def read_escapes(text: str) -> str:
    r"""What the user means by a one-line prefix: '\n' -> newline, '\t' -> tab, '\\' -> backslash."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def default_prefix(source_name: str, text: str) -> str:
    """A prefix that makes sense for the text being trained on (typed with \\n escapes)."""
    fixed = DEFAULT_PREFIX.get(source_name)
    if fixed:
        return fixed
    first = text.split("\n", 1)[0]
    if 2 <= len(first) <= 16:  # e.g. a long-range line "Bxzyyxzx:B": stop before the answer
        return first[:-1]
    return text[:12].replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _restore_prefix(ws) -> None:
    """Keep the prefix across page changes (Streamlit drops a widget's state when its page is left) and
    start from a fitting default when the text being trained on changes."""
    source = (ws.source, ws.generation if ws.source.kind != "corpus" else 0)
    if st.session_state.get(SOURCE_KEY) != source:
        st.session_state[SOURCE_KEY] = source
        st.session_state[PREFIX_KEY] = default_prefix(ws.source.name if ws.source.kind == "corpus" else "",
                                                      ws.text)
    elif PREFIX_KEY not in st.session_state:
        st.session_state[PREFIX_KEY] = st.session_state.get(KEEP_KEY, "")


def current_prefix() -> str:
    """The prefix as typed (escapes read), at most its last MAX_PREFIX characters."""
    raw = st.session_state.get(KEEP_KEY, st.session_state.get(PREFIX_KEY, ""))
    return (read_escapes(raw) if st.session_state.get("predict_escapes", True) else raw)[-MAX_PREFIX:]


def latest_snapshot(run, typing: bool = False):
    """The run's snapshot. While the user types (`typing`), do not wait for the training step in progress:
    if the trainer is busy, reuse the copy taken at this page's previous redraw (at most a few seconds old,
    labelled with its step), so a keystroke never waits for training. Otherwise (the live timer) wait."""
    cached = st.session_state.get(SNAP_KEY)
    fresh_enough = cached is not None and cached[0] is run and time.monotonic() - cached[2] < STALE_S
    if not (typing and fresh_enough):
        snap = run.snapshot()
    elif run.lock.acquire(timeout=LOCK_WAIT_S):
        try:
            snap = run.snapshot()
        finally:
            run.lock.release()
    else:
        return cached[1]
    st.session_state[SNAP_KEY] = (run, snap, time.monotonic())
    return snap


def _status(snap, view) -> None:
    if not view.live:
        view_banner(view)
        return
    words = state_words(snap.state)
    st.caption(t("predict.status", step=f"{snap.step:,}", state=words, cell=snap.config.cell.upper(),
                 hidden=snap.config.hidden_size, vocab=len(snap.vocab))
               + (t("predict.status_live") if snap.state == "running" else ""))
    if snap.step == 0:
        st.info(t("predict.untrained"), icon=":material/info:")


def prediction_panel() -> None:
    """Prefix box, top-k bar chart, per-step probability / logit heatmaps and the table: a live fragment."""
    ws = get_workspace()
    _restore_prefix(ws)

    @st.fragment(run_every=live_every(ws))
    @taking_turns  # (a watcher's redraw waits its turn)
    def _panel() -> None:
        ws = get_workspace()
        typing = st.session_state.get(PREFIX_KEY) != st.session_state.get(KEEP_KEY)
        snap = latest_snapshot(ws.run, typing)
        view = model_for_view(snap, ws.run)
        vocab, model = snap.vocab, view.model
        c1, c2, c3, c4 = st.columns([3.3, 1.4, 1.4, 1.9], vertical_alignment="bottom")  # one row of controls
        raw = c1.text_input(
            t("predict.prefix"), key=PREFIX_KEY, live=LIVE, max_chars=PREFIX_BOX,
            placeholder=t("predict.prefix_placeholder"), help=t("predict.prefix_help"),
        )
        st.session_state[KEEP_KEY] = raw
        V = len(vocab)
        k = c2.slider(t("predict.top_k"), 1, min(30, V), min(10, V), key="predict_k")
        steps = c3.select_slider(t("predict.steps_shown"), STEP_CHOICES, value=20, key="predict_steps",
                                 help=t("predict.steps_shown_help"))
        with c4.popover(t("predict.more_options"), width="stretch"):
            escapes = st.checkbox(t("predict.escapes"), value=True, key="predict_escapes")
            max_cols = st.slider(t("predict.columns"), 5, max(5, min(V, 60)),
                                 min(MAX_COLS, V), key="predict_cols", help=t("predict.columns_help"))
            numbers = st.toggle(t("predict.numbers"), value=False, key="predict_numbers",
                                help=t("predict.numbers_help"))
        _status(snap, view)
        prefix = read_escapes(raw) if escapes else raw
        if len(prefix) > MAX_PREFIX:
            st.warning(t("limits.prefix_cut", n=f"{len(prefix):,}", max=f"{MAX_PREFIX:,}"),
                       icon=":material/content_cut:")
            prefix = prefix[-MAX_PREFIX:]
        known, dropped = vocab.drop_unknown(prefix)
        if dropped:
            st.html(tables.prefix_html(prefix, dropped))
            st.warning(md(tables.unknown_message(prefix, dropped)), icon=":material/warning:")
        # computed and drawn once per model and inputs: a class watching one shared run with the default prefix
        # shares them (charviz.memo); anyone's own prefix gets its own
        trace = shared.get(model, ("trace", known, steps), lambda: forward_trace(model, vocab, known, last_n=steps))
        if known:
            n_tail = int(TITLE_CHARS / font_scale())  # (projector mode: larger letters, fewer of them)
            tail = known[-n_tail:]
            title = t("predict.next_after", ellipsis="…" if len(known) > n_tail else "",
                      tail=plotly_text(show_text(tail)))
        else:
            title = t("predict.empty_prefix_title")
        left, right = st.columns([1, 1.8], gap="medium")  # the top-k chart keeps room for its labels
        left.plotly_chart(drawn(model, ("topk", known, steps, k, title),
                                lambda: figures.topk_figure(trace.next_probs, vocab.itos, k, title)),
                          theme=None, key="predict_topk", config={"displayModeBar": False})
        if not known:
            right.info(t("predict.empty_prefix"), icon=":material/info:")
            return
        if trace.offset:
            left.caption(t("predict.showing_last", shown=len(trace.chars), total=f"{len(known):,}",
                           first=f"{trace.offset:,}", last=f"{len(known) - 1:,}"))
        big = numbers or None
        # one view at a time: drawing only what is on screen keeps every keystroke fast
        view = right.segmented_control(t("predict.view"), VIEWS, default=VIEWS[0], required=True,
                                       key="predict_view", label_visibility="collapsed",
                                       format_func=lambda v: t(f"predict.view_{v}"))
        with right:
            if view == "table":
                st.markdown(t("predict.per_step"))
                st.dataframe(tables.step_table(trace), hide_index=True, width="stretch",
                             column_config=_number_format((t("tables.p_true"), t("tables.loss"),
                                                           t("tables.p_likely"))))
                which = st.radio(t("predict.matrix"), ["probs", "logits"], horizontal=True,
                                 key="predict_table_kind", format_func=lambda v: t(f"predict.matrix_{v}"))
                df = tables.matrix_table(trace, which, max_cols)
                st.dataframe(df, width="stretch", column_config=_number_format(df.columns))
            else:
                kind = "logits" if view == "logits" else "probs"
                st.plotly_chart(drawn(model, ("heatmap", known, steps, kind, max_cols, big),
                                      lambda: figures.step_heatmap(trace, kind, max_cols, numbers=big)), theme=None,
                                key=f"predict_{kind}", config={"displayModeBar": False})

    _panel()


def _number_format(columns) -> dict:
    return {c: st.column_config.NumberColumn(format="%.4f") for c in columns}


def sampling_panel() -> None:
    """Continue the prefix by n characters at temperature τ; each character shaded by its probability."""

    @st.fragment
    def _sample() -> None:
        st.subheader(t("predict.sampling_title"))
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
        n = c1.slider(t("predict.sample_n"), 10, 500, 200, 10, key="predict_sample_n")
        temp = c2.slider(t("predict.temperature"), 0.0, 2.0, 0.8, 0.05, key="predict_sample_temperature",
                         help=t("predict.temperature_help"))
        seed = c3.number_input(t("predict.seed"), 0, 2**31 - 1, 0, key="predict_sample_seed",
                               help=t("predict.seed_help"))
        go = c4.button(t("predict.generate"), type="primary", key="predict_sample_go", width="stretch")
        if go:
            run = get_workspace().run
            snap = run.snapshot()
            view = model_for_view(snap, run)
            known, _ = snap.vocab.drop_unknown(current_prefix())
            pairs = generate(view.model, snap.vocab, known, n, temp, int(seed))
            st.session_state["predict_sample_result"] = {"prefix": known, "pairs": pairs, "step": view.step,
                                                 "temperature": temp, "seed": int(seed)}
        res = st.session_state.get("predict_sample_result")
        if res is None:
            st.caption(t("predict.press_generate"))
            return
        how = t("predict.argmax") if res["temperature"] == 0 else \
            t("predict.tau_seed", tau=f"{res['temperature']:.2f}", seed=res["seed"])
        st.caption(t("predict.sample_caption", n=len(res["pairs"]), step=f"{res['step']:,}", how=how))
        st.html(tables.sample_html(res["prefix"], res["pairs"]))
        st.html(tables.sample_legend_html())

    _sample()


def page() -> None:
    """Draw the Predict page: title and the rewind slider, intro, the live prediction panel and sampling."""
    head, rewind = st.columns([2, 1], vertical_alignment="bottom")  # the charts on the first screen at 1280x720
    head.title(t("predict.title"))
    with rewind:
        rewind_slider("predict", get_workspace().run)
    st.markdown(t("predict.intro"))
    prediction_panel()
    st.divider()
    sampling_panel()
