"""The Train page (pages/train.py calls `page()`).

Train page: choose a text and a model, press Start, watch the loss fall and the gradients move.
"""

import streamlit as st

from charviz.errors import message
from charviz.escape import md
from charviz.figures import grad_norm_figure, speed_figure
from charviz.i18n import t
from charviz.inspect import generate
from charviz.memo import drawn, recent, shared
from charviz.ui import projector
from charviz.ui.alerts import alert
from charviz.ui.baseline import ngram_caption, ngram_for
from charviz.ui.checkpoints import checkpoint_panel
from charviz.ui.classroom import read_only, read_only_settings, taking_turns
from charviz.ui.links import share_panel
from charviz.ui.live_chart import live_chart
from charviz.ui.rewind import loss_chart
from charviz.ui.session import get_workspace, reset
from charviz.ui.settings import (
    Wanted,
    budget_caption,
    budget_check,
    live_controls,
    model_controls,
    pending_changes,
    sync_widgets,
    text_controls,
)
from charviz.ui.sidebar import REFRESH_S, live_every, restore_good
from charviz.ui.status import describe
from charviz.units import uniform_bits

SAMPLE_EVERY_S = 3.0
SAMPLE_CHARS = 240
SHARED_SAMPLE_S = 0.8 * SAMPLE_EVERY_S  # a shared run's sample is remade at most this often for all


@st.fragment(run_every=REFRESH_S)
def changed_warning(changed: str) -> None:
    """What a reset would throw away, with the step count live (it follows training; the timer costs one small
    redraw a second, only while a change is pending)."""
    step = get_workspace().run.snapshot().step
    st.warning(t("train.changed", changed=changed, step=f"{step:,}"), icon=":material/restart_alt:")


def page() -> None:
    """Draw the page: widgets, figures and live fragments (no math: the numbers come from charviz)."""
    ws = get_workspace()
    sync_widgets(ws, only_missing=True)

    st.title(t("train.title"))
    st.caption(t("train.caption"))

    @st.fragment(run_every=live_every(ws))
    @taking_turns  # (a watcher's redraw waits its turn)
    def live_view() -> None:
        """Everything that moves while training: status line, loss, gradient norm, speed, a sample."""
        snap = get_workspace().run.snapshot()
        st.markdown(f"### {describe(snap)}")
        bad = snap.diverging_bits
        if snap.error:
            alert("error", t("train.paused_itself", step=f"{snap.step:,}", error=message(snap.error)), snap.error,
                  icon=":material/warning:")
            st.markdown(t("train.exploding"), unsafe_allow_html=True)
        elif bad is not None:
            st.warning(t("train.diverging", bits=f"{bad:,.1f}", v=len(snap.vocab),
                         uniform=f"{uniform_bits(len(snap.vocab)):.2f}"), icon=":material/warning:")
            st.markdown(t("train.diverging_why"), unsafe_allow_html=True)
            if snap.good_step is not None:
                st.button(t("guard.restore", step=f"{snap.good_step:,}"), key="train_restore", type="primary",
                          icon=":material/history:", on_click=restore_good, args=(get_workspace(),),
                          help=t("guard.restore_help", step=f"{snap.good_step:,}"))
        elif snap.step == 0 and snap.state != "running":
            st.info(t("train.choose"))
        c1, c2 = st.columns(2)
        run = get_workspace().run
        ngram = None if read_only(ws) else ngram_for(run.trainer)  # None while fitted (once per text)
        with c1:
            loss_chart(snap, run, ngram)
            if not read_only(ws):  # (a watcher's server does not have the owner's text to fit it)
                ngram_caption(ngram)
        clip = snap.config.clip  # (drawn once per snapshot: a class watching one run shares it, charviz.memo)
        with c2:  # (redrawn in place: charviz.ui.live_chart)
            live_chart(drawn(snap, ("grad", clip), lambda: grad_norm_figure(snap.history, clip)), key="grad_chart")

    @st.fragment(run_every=live_every(ws, SAMPLE_EVERY_S))
    @taking_turns  # (a watcher's redraw waits its turn)
    def sample_view() -> None:
        """Training speed, and a sample from the model as it is now (refreshed every few seconds)."""
        now_ws = get_workspace()
        snap = now_ws.run.snapshot()
        c3, c4 = st.columns(2)
        with c3:  # (redrawn in place: charviz.ui.live_chart)
            live_chart(drawn(snap, ("speed",), lambda: speed_figure(snap.history)), key="speed_chart")
        with c4:
            st.markdown(t("train.sample_title"))
            temp = st.slider(t("train.temperature"), 0.0, 2.0, 0.8, 0.1,
                             key="sample_temperature")
            def make() -> tuple[str, int]:
                text = "".join(c for c, _ in generate(snap.model, snap.vocab, "", SAMPLE_CHARS, temp, seed=snap.step))
                return text, snap.step

            try:  # one sample per model and temperature (charviz.memo); the watchers of a shared run, who each
                # redraw every SAMPLE_EVERY_S from whichever snapshot is current, share one per SHARED_SAMPLE_S
                if read_only(now_ws):
                    sample, step = recent.get(("sample", now_ws.run.code, temp, SAMPLE_CHARS), SHARED_SAMPLE_S, make)
                else:
                    sample, step = shared.get(snap.model, ("sample", temp, SAMPLE_CHARS, snap.step), make)
            except RuntimeError:  # softmax of non-finite logits
                st.warning(t("train.no_sample"))
            else:
                st.code(sample, language=None, wrap_lines=True)
                st.caption(t("train.sample_caption", n=SAMPLE_CHARS, step=f"{step:,}"))  # (the sample's own step)

    st.markdown(t("train.applies_at_once"))
    if read_only(ws):  # watching a shared run: its settings are the owner's
        read_only_settings(ws)
    else:
        live_controls(ws)
    live_view()
    sample_view()
    if read_only(ws):
        return  # the text, model and checkpoint settings belong to the owner

    projector.cut()  # a lecture does not need what follows (settings, checkpoints, links)
    st.divider()
    st.subheader(t("train.text_and_model"))
    st.caption(t("train.text_and_model_caption"))
    col_text, col_model = st.columns(2, gap="large")
    with col_text:
        source, text, error, note = text_controls()
    with col_model:
        config = model_controls(ws)
    wanted = Wanted(source, text, config, error, note)
    estimate, over_budget = budget_check(wanted, ws)
    with col_model:
        budget_caption(estimate)
    if note:
        st.warning(note, icon=":material/content_cut:")
    if error:
        st.error(error)

    changed = pending_changes(ws, wanted)
    snap = ws.run.snapshot()
    if changed and over_budget and wanted.error == "":
        st.error(over_budget, icon=":material/memory:")
    elif changed and wanted.error == "":
        new_text = wanted.text if wanted.text is not None else ws.text
        new_source = wanted.source if wanted.source is not None else ws.source
        if snap.step == 0 and snap.state != "running":
            reset(new_text, wanted.config, new_source)  # nothing trained yet: nothing to lose
            st.rerun()
        changed_warning(", ".join(changed))
        b1, b2 = st.columns([1, 3])
        if b1.button(t("train.apply_reset"), type="primary", key="apply_reset"):
            reset(new_text, wanted.config, new_source)
            st.rerun()
        b2.button(t("train.apply_undo"), key="apply_undo", on_click=sync_widgets, args=(ws,))
    st.caption(t("train.now_training", source=md(ws.source.label), chars=f"{len(ws.text):,}", vocab=len(snap.vocab),
                 cell=ws.config.cell.upper(), hidden=ws.config.hidden_size, window=ws.config.seq_len,
                 batch=ws.config.batch_size, optimizer=ws.config.optimizer, seed=ws.config.seed))

    with st.expander(t("train.checkpoint")):
        checkpoint_panel(ws, snap.step)

    with st.expander(t("links.share_title"), icon=":material/link:"):
        share_panel(ws)
