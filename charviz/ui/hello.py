"""The Hello page's widgets: a tiny trainer of the page's own on "hello" (in session_state; the main run is
untouched), its controls, its numbers and the live blog figure.

Every number comes from charviz.hello (hello_trace, score); the figure from charviz.figures. Nothing is
computed here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from charviz import figures
from charviz.hello import BLOG_ORDER, HIDDEN_SIZES, INPUT, TARGET, hello_trace, hello_trainer, score
from charviz.i18n import t
from charviz.snapshots import SnapshotStore
from charviz.ui.rewind import choose, rewind_slider, view_banner, view_of

HELLO_KEY = "hello_trainer"
HELLO_SNAPS = "hello_snapshots"
HELLO_SEED = 3  # first weights: at hidden size 4 this untrained model guesses 'hhhh', all wrong (any seed learns)
HELLO_TRAIN_STEPS = 200  # one press of Train
HELLO_CHUNKS = 20  # redraws during one press (so the class sees the numbers move)


def _hello() -> object:
    h = st.session_state.get("hello_hidden", 4)
    tr = st.session_state.get(HELLO_KEY)
    if tr is None or tr.config.hidden_size != h:
        tr = hello_trainer(h, seed=st.session_state.get("hello_seed", HELLO_SEED))
        st.session_state[HELLO_KEY] = tr
    return tr


@dataclass
class _HelloRun:
    """The hello trainer with the snapshots of its weights (for the page's "model at step" slider)."""

    trainer: object
    snapshots: SnapshotStore


def _hello_run() -> _HelloRun:
    tr = _hello()
    run = st.session_state.get(HELLO_SNAPS)
    if run is None or run.trainer is not tr:
        run = _HelloRun(tr, SnapshotStore())
        run.snapshots.add(tr.steps, tr.model)
        st.session_state[HELLO_SNAPS] = run
    return run


def _hello_step(run: _HelloRun) -> None:
    run.trainer.step()
    run.snapshots.add(run.trainer.steps, run.trainer.model)


def _hello_new_weights() -> None:
    st.session_state["hello_seed"] = st.session_state.get("hello_seed", HELLO_SEED) + 1
    st.session_state.pop(HELLO_KEY, None)


def _hello_view(tr, slot, key: str = "hello_fig", run: _HelloRun | None = None) -> None:
    view = view_of(run, tr.model, tr.steps) if run is not None else None
    model = view.model if view is not None else tr.model
    trace = hello_trace(model, tr)
    sc = score(trace)
    with slot.container():
        if view is not None:
            view_banner(view)
        st.plotly_chart(figures.hello_figure(trace, BLOG_ORDER), theme=None, key=key,
                        config={"displayModeBar": False})
    return (view.step if view is not None else tr.steps), sc.right, sc.predicted, sc.mean_bits


def hello_panel(intro: str = "") -> None:
    """Explanation (markdown), controls and numbers on the left, the live figure on the right."""
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        st.markdown(intro, unsafe_allow_html=True)
        st.select_slider(t("hello.hidden_size"), list(HIDDEN_SIZES), value=4, key="hello_hidden",
                         help=t("hello.hidden_help"))
        train = st.button(t("hello.train", steps=HELLO_TRAIN_STEPS), type="primary", key="hello_train",
                          width="stretch")
        step = st.button(t("hello.step"), key="hello_step", width="stretch")
        st.button(t("hello.new_weights"), key="hello_reset", on_click=_hello_new_weights, width="stretch")
        hrun = _hello_run()
        if step or train:
            choose(hrun, None)  # training: show the model as it learns
        rewind_slider("hello", hrun, label=t("rewind.hello_label"))
        numbers = st.empty()
        notes = st.empty()
    tr = hrun.trainer
    slot = right.empty()
    if step:
        _hello_step(hrun)
    if train:
        per_chunk = HELLO_TRAIN_STEPS // HELLO_CHUNKS
        for i in range(HELLO_CHUNKS):  # a bounded loop: a few seconds, redrawn as it learns
            for _ in range(per_chunk):
                _hello_step(hrun)
            _show_numbers(numbers, *_hello_view(tr, slot, key=f"hello_fig_{i}"))
            time.sleep(0.05)
    else:
        _show_numbers(numbers, *_hello_view(tr, slot, run=hrun))
    notes.caption(t("hello.notes", input=INPUT, target=TARGET, order=", ".join(BLOG_ORDER),
                    index=", ".join(f"{c}={i}" for i, c in enumerate(tr.vocab.itos))))


def _show_numbers(slot, steps: int, right: int, pred: str, mean_bits: float) -> None:
    with slot.container():
        st.metric(t("hello.steps"), f"{steps:,}")
        st.metric(t("hello.right"), t("hello.right_value", right=right, total=len(TARGET)),
                  help=t("hello.right_help", pred=pred, target=TARGET))
        st.metric(t("hello.mean_loss"), t("hello.bits", value=f"{mean_bits:.3f}"))


def page() -> None:
    """Draw the Hello page: title, the explanation and the panel."""
    st.title(t("hello.title"))
    hello_panel(t("hello.intro"))
