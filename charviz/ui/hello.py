"""The Hello page's widgets: a tiny trainer of the page's own on "hello" (in session_state; the main run is
untouched), its controls, its numbers and the live blog figure.

Start trains it at a fixed pace (HELLO_STEPS_PER_TICK steps every HELLO_TICK_S seconds, in the page's own
fragment: no thread), so that with the defaults of charviz.hello (a small learning rate) the class watches
the four predictions turn right over tens of seconds. Every number comes from charviz.hello (hello_trace,
score); the figure from charviz.figures. Nothing is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from charviz import figures
from charviz.hello import BLOG_ORDER, HELLO_SEED, HIDDEN_SIZES, INPUT, TARGET, hello_trace, hello_trainer, score
from charviz.i18n import t
from charviz.snapshots import SnapshotStore
from charviz.ui.rewind import choose, rewind_slider, view_banner, view_of

HELLO_KEY = "hello_trainer"
HELLO_SNAPS = "hello_snapshots"
PLAYING_KEY = "hello_playing"
HELLO_TICK_S = 0.5  # one redraw of the live figure
HELLO_STEPS_PER_TICK = 2  # 4 updates a second: the defaults learn "hello" in tens of seconds (README)
HELLO_MAX_STEPS = 1_000  # Start pauses itself here (long after the predictions are right)


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
    st.session_state[PLAYING_KEY] = False


def _set_playing(on: bool) -> None:
    """Start (on) or Pause: the same click twice is the same as once."""
    st.session_state[PLAYING_KEY] = on
    if on:
        choose(_hello_run(), None)  # training: show the model as it learns
    st.rerun()  # the whole app: the panel's timer starts or stops


def _step_from(steps: int) -> None:
    """Step: one update from the model at `steps` updates (the one the clicked button was drawn for), else none."""
    run = _hello_run()
    if run.trainer.steps == steps:
        choose(run, None)
        _hello_step(run)


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
    """Explanation (markdown), controls and numbers on the left, the live figure on the right; while Start
    is on, the whole panel is a fragment redrawn every HELLO_TICK_S seconds after HELLO_STEPS_PER_TICK
    updates."""
    playing = bool(st.session_state.get(PLAYING_KEY, False))
    st.fragment(run_every=HELLO_TICK_S if playing else None)(_panel)(intro)


def _panel(intro: str) -> None:
    playing = bool(st.session_state.get(PLAYING_KEY, False))
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        st.markdown(intro, unsafe_allow_html=True)
        st.select_slider(t("hello.hidden_size"), list(HIDDEN_SIZES), value=4, key="hello_hidden",
                         help=t("hello.hidden_help"))
        hrun = _hello_run()
        # one key per action, and per step for Step: Streamlit 1.67 can deliver a click again within the same
        # interaction, calling what the newest drawing registered for the clicked key (see charviz/ui/sidebar.py).
        # With one key, a Start replayed once the button had turned into Pause paused at once (and a body that
        # read the button saw it clicked twice); keyed so, a replay repeats its own action, a no-op. (The
        # containers keep the CSS classes .st-key-hello_train and .st-key-hello_step.)
        action = "pause" if playing else "start"
        with st.container(key="hello_train"):
            st.button(t("hello.pause") if playing else t("hello.start"), type="primary", key=f"hello_{action}",
                      width="stretch", icon=":material/pause:" if playing else ":material/play_arrow:",
                      on_click=_set_playing, args=(not playing,))
        with st.container(key="hello_step"):
            st.button(t("hello.step"), key=f"hello_step_{hrun.trainer.steps}", width="stretch", disabled=playing,
                      on_click=_step_from, args=(hrun.trainer.steps,))
        st.button(t("hello.new_weights"), key="hello_reset", on_click=_hello_new_weights, width="stretch")
        if playing:
            if hrun.trainer.steps >= HELLO_MAX_STEPS:
                st.session_state[PLAYING_KEY] = False
                st.rerun()
            for _ in range(HELLO_STEPS_PER_TICK):
                _hello_step(hrun)
        rewind_slider("hello", hrun, label=t("rewind.hello_label"))
        numbers = st.empty()
        notes = st.empty()
    tr = hrun.trainer
    _show_numbers(numbers, *_hello_view(tr, right.empty(), run=hrun))
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
