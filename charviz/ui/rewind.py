"""Rewind in the UI: "the model at step N", chosen on a slider over the run's kept snapshots (default: now).

One chosen step per session for the main run, shared by every page that draws the model (Predict,
Gradients, Hidden, ...): a page calls `rewind_slider(page)` where the slider belongs and then, wherever it
needs the model, `model_for_view(snap)`, which returns the live model (step "now") or a frozen model rebuilt
from the kept snapshot, and says which one. Clicking a snapshot's mark on the Train page's loss chart
(`loss_chart`) chooses that step too. Training goes on meanwhile; "now" follows it again.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass

import streamlit as st

from charviz.figures import loss_figure
from charviz.i18n import t
from charviz.memo import drawn
from charviz.model import CharRNN
from charviz.snapshots import SnapshotStore
from charviz.ui.live_chart import live_chart

NOW = "now"
CHOSEN_KEY = "_rewind_chosen"  # {store uid: chosen step}; a store absent from it shows "now"
PINNED_KEY = "_rewind_pinned"  # {store uid: the chosen step's WeightSnapshot}: kept while the store thins it
MODELS_KEY = "_rewind_models"  # (store identity, step) -> frozen CharRNN, the last few


@dataclass
class View:
    """The model a page draws, and which step it is."""

    model: CharRNN
    step: int
    live: bool  # True: the model as it is now; False: a kept snapshot
    now_step: int  # the run's current step (for "step N of M")


def chosen_step(run) -> int | None:
    """The step chosen for this run (None: now). `run` is anything with .snapshots and .trainer."""
    return st.session_state.get(CHOSEN_KEY, {}).get(run.snapshots.uid)


def choose(run, step: int | None) -> None:
    """Choose `step` (None: now) for this run. The chosen snapshot is pinned in the session: while the run
    trains, the store thins its snapshots (a diamond chosen next to the latest one goes within a few steps),
    and the pages must still draw the step the user chose, not the nearest one left. A step already thinned
    away when the choice arrives is the nearest kept one (what the pages then say and draw)."""
    chosen = st.session_state.setdefault(CHOSEN_KEY, {})
    pinned = st.session_state.setdefault(PINNED_KEY, {})
    uid = run.snapshots.uid
    if step is not None and (pinned.get(uid) is None or pinned[uid].step != step):
        try:
            kept = run.snapshots.get(int(step))
        except KeyError:
            kept = run.snapshots.nearest(int(step))
        if kept is None:
            step = None
        else:
            step = kept.step
            pinned[uid] = kept
            for old in list(pinned)[:-4]:  # a few runs (main, hello, a reset's), not every one of a session
                pinned.pop(old)
    if step is None:
        chosen.pop(uid, None)
        pinned.pop(uid, None)
    else:
        chosen[uid] = int(step)


def frozen_from(store: SnapshotStore, step: int, like: CharRNN) -> CharRNN:
    """A frozen model (eval, no grad) with the weights kept at `step` (the nearest kept step if thinned)."""
    cache = st.session_state.setdefault(MODELS_KEY, {})
    pinned = st.session_state.get(PINNED_KEY, {}).get(store.uid)
    if pinned is not None and pinned.step == step:
        snap = pinned  # (thinned away from the store meanwhile, perhaps)
    else:
        snap = store.get(step) if step in store.steps else store.nearest(step)
    key = (store.uid, snap.step)
    m = cache.get(key)
    if m is None:
        m = CharRNN(like.vocab_size, like.hidden_size, like.cell)
        m.load_state_dict(snap.state)
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        m.charviz_step = snap.step
        cache[key] = m
        while len(cache) > 4:
            cache.pop(next(iter(cache)))
    return m


def model_for_view(snap, run=None) -> View:
    """The model the page should draw: the live snapshot's model, or the kept one at the chosen step."""
    if run is None:
        from charviz.ui.session import get_workspace

        run = get_workspace().run
    return view_of(run, snap.model, snap.step)


def view_of(run, live_model: CharRNN, live_step: int) -> View:
    """model_for_view for any run-like object (.snapshots, .trainer), given its live model and step."""
    step = chosen_step(run)
    if step is None or not len(run.snapshots):
        return View(live_model, live_step, True, live_step)
    m = frozen_from(run.snapshots, step, live_model)
    return View(m, m.charviz_step, False, live_step)


def _label(v) -> str:
    return t("rewind.now") if v == NOW else t("rewind.step", step=f"{v:,}")


def _on_slide(run, key: str) -> None:
    v = st.session_state.get(key)
    choose(run, None if v in (None, NOW) else int(v))


def rewind_slider(page: str, run=None, help_text: str | None = None, label: str | None = None):
    """The "model at step N" slider over the run's kept snapshots (and "now"). Returns the chosen step or None."""
    if run is None:
        from charviz.ui.session import get_workspace

        run = get_workspace().run
    kept = run.snapshots.steps
    chosen = chosen_step(run)
    pinned = st.session_state.get(PINNED_KEY, {}).get(run.snapshots.uid)
    if chosen is not None and chosen not in kept:
        if pinned is not None and pinned.step == chosen:
            kept = sorted([*kept, chosen])  # thinned away from the store, pinned for this session: still there
        else:  # (chosen without a pin: the nearest kept one)
            near = run.snapshots.nearest(chosen)
            chosen = near.step if near is not None else None
            choose(run, chosen)
    options = [s for s in kept if s != run.trainer.steps] + [NOW]  # the live step is "now"
    key = f"rewind_slider_{page}"
    st.session_state[key] = NOW if chosen is None or chosen not in options else chosen
    st.select_slider(label or t("rewind.label"), options, format_func=_label, key=key, on_change=_on_slide,
                     args=(run, key), help=help_text or t("rewind.help", n=len(kept)))
    return chosen


def view_banner(view: View) -> None:
    """Say clearly which step the page draws."""
    if view.live:
        return
    st.warning(t("rewind.banner", step=f"{view.step:,}", now=f"{view.now_step:,}"), icon=":material/history:")


def _on_mark_click(run_ref: weakref.ref, step: int) -> None:
    """A click on a snapshot's diamond chooses its step. (The callback names its run weakly: Streamlit keeps
    widget callbacks after a reset, and a run holds a model, its optimizer and its snapshots.)"""
    run = run_ref()
    if run is not None:
        choose(run, step)


def _choose_now(run_ref: weakref.ref) -> None:
    run = run_ref()
    if run is not None:
        choose(run, None)


def loss_chart(snap, run, ngram=None, key: str = "loss_chart") -> None:
    """The Train page's loss chart with the n-gram line and the kept snapshots marked; a click on a mark shows
    that step's model on the other pages. A live chart (charviz.ui.live_chart): redrawn in place each second
    while the run trains, so a zoom, the hover and a click on a diamond survive the redraws."""
    marks = run.snapshots.steps
    # drawn once per snapshot (and marks, baseline): a class watching one shared run shares it (charviz.memo)
    fig = drawn(snap, ("loss", tuple(marks), id(ngram)), lambda: loss_figure(
        snap.history, snap.val_history, len(snap.vocab), baseline=ngram, marks=marks, restores=snap.restores))
    with st.container(key=key):  # (the CSS class .st-key-loss_chart stays)
        live_chart(fig, key=f"{key}_live", on_click=functools.partial(_on_mark_click, weakref.ref(run)))
    chosen = chosen_step(run)
    if chosen is not None:
        c1, c2 = st.columns([2, 1], vertical_alignment="center")  # (the button's label whole at 1280 px)
        c1.caption(t("rewind.chosen_caption", step=f"{chosen:,}"))
        c2.button(t("rewind.back_to_now"), key="rewind_now_train", on_click=_choose_now, args=(weakref.ref(run),))
    else:
        st.caption(t("rewind.marks_caption", n=len(marks)))
