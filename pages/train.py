"""Train page: choose a text and a model, press Start, watch the loss fall and the gradients move."""

import math

import streamlit as st

from charviz.figures import grad_norm_figure, speed_figure
from charviz.inspect import generate
from charviz.ui.baseline import ngram_caption, ngram_for
from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.checkpoints import checkpoint_panel
from charviz.ui.rewind import loss_chart
from charviz.ui.session import get_workspace, reset
from charviz.ui.settings import (
    Wanted,
    live_controls,
    model_controls,
    pending_changes,
    sync_widgets,
    text_controls,
)
from charviz.ui.sidebar import diverging, live_every
from charviz.ui.status import describe

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

EXPLODING = """
**Why:** the gradient exploded. Backpropagation through time multiplies one Jacobian per time step, so
the gradient can grow like *w*<sup>T</sup> over a window of *T* steps; with a large learning rate one
update then throws the weights so far that the loss overflows. The step was refused, so the weights are
still the last finite ones.

**What to do:** turn **gradient clipping** on (a threshold of 1 to 5 is typical: large gradients are
scaled down to it) or choose a **smaller learning rate**, then press **Resume** in the sidebar.
"""

SAMPLE_EVERY_S = 3.0
SAMPLE_CHARS = 240

DIVERGING = """
**Why:** the updates are too large: each one overshoots, and the model ends up worse than a uniform guess.
If the gradient-norm chart spikes as well, the gradients are *exploding*: backpropagation through time
multiplies one Jacobian per time step, so a gradient can grow like *w*<sup>T</sup> over a window of *T* steps.

**What to do:** choose a **smaller learning rate** and/or turn **gradient clipping** on (a threshold of 1 to 5
is typical); both apply at once, while training runs.
"""

ws = get_workspace()
sync_widgets(ws, only_missing=True)

st.title("Train a character-level RNN")
st.caption("The model reads the text one character at a time and learns to predict the next one. "
           "Training runs in the background: switch pages and it keeps going.")


@st.fragment(run_every=live_every(ws))
def live_view() -> None:
    """Everything that moves while training: status line, loss, gradient norm, speed, a sample."""
    snap = get_workspace().run.snapshot()
    st.markdown(f"### {describe(snap)}")
    bad = diverging(snap.history, len(snap.vocab))
    if snap.error:
        st.error(f"Training paused itself at step {snap.step:,}: {snap.error}.", icon=":material/warning:")
        st.markdown(EXPLODING, unsafe_allow_html=True)
    elif bad is not None:
        st.warning(f"Training is diverging: the loss ({bad:,.1f} bits/char) is far above the uniform guess "
                   f"(log₂({len(snap.vocab)}) = {math.log2(len(snap.vocab)):.2f} bits/char), so the updates make the "
                   "model worse than knowing nothing.", icon=":material/warning:")
        st.markdown(DIVERGING, unsafe_allow_html=True)
    elif snap.step == 0 and snap.state != "running":
        st.info("Choose a text and a model below (or keep the defaults), then press **Start** in the sidebar.")
    c1, c2 = st.columns(2)
    run = get_workspace().run
    ngram = ngram_for(run.trainer)  # None while it is fitted (in the background, once per text)
    with c1:
        loss_chart(snap, run, ngram)
        ngram_caption(ngram)
    c2.plotly_chart(grad_norm_figure(snap.history, snap.config.clip), key="grad_chart", theme=None)


@st.fragment(run_every=SAMPLE_EVERY_S if live_every(ws) else None)
def sample_view() -> None:
    """Training speed, and a sample from the model as it is now (refreshed every few seconds)."""
    snap = get_workspace().run.snapshot()
    c3, c4 = st.columns(2)
    c3.plotly_chart(speed_figure(snap.history), key="speed_chart", theme=None)
    with c4:
        st.markdown("#### A sample from the model as it is now")
        temp = st.slider("temperature (0 = always the most likely character)", 0.0, 2.0, 0.8, 0.1,
                         key="sample_temperature")
        try:
            sample = "".join(c for c, _ in generate(snap.model, snap.vocab, "", SAMPLE_CHARS, temp, seed=snap.step))
        except RuntimeError:  # softmax of non-finite logits
            st.warning("No sample: the model's outputs are not finite numbers.")
        else:
            st.code(sample, language=None, wrap_lines=True)
            st.caption(f"{SAMPLE_CHARS} characters sampled at step {snap.step:,} (seed = step, so it is repeatable).")


st.markdown("##### Applies at once")
live_controls(ws)
live_view()
sample_view()

st.divider()
st.subheader("Text and model")
st.caption("These change the model's shape or the data it reads, so they need a new model (a reset).")
col_text, col_model = st.columns(2, gap="large")
with col_text:
    source, text, error = text_controls()
with col_model:
    config = model_controls(ws)
wanted = Wanted(source, text, config, error)
if error:
    st.error(error)

changed = pending_changes(ws, wanted)
snap = ws.run.snapshot()
if changed and wanted.error == "":
    new_text = wanted.text if wanted.text is not None else ws.text
    new_source = wanted.source if wanted.source is not None else ws.source
    if snap.step == 0 and snap.state != "running":
        reset(new_text, wanted.config, new_source)  # nothing trained yet: nothing to lose
        st.rerun()
    st.warning(f"You changed: **{', '.join(changed)}**. Applying this needs a new model, which throws away the "
               f"current one (trained for {snap.step:,} steps). Download it below first if you want to keep it.",
               icon=":material/restart_alt:")
    b1, b2 = st.columns([1, 3])
    if b1.button("Reset and apply", type="primary", key="apply_reset"):
        reset(new_text, wanted.config, new_source)
        st.rerun()
    b2.button("Keep the current model (undo my changes)", key="apply_undo", on_click=sync_widgets, args=(ws,))
st.caption(f"Now training on **{ws.source.label}**: {len(ws.text):,} characters, vocabulary of "
           f"{len(snap.vocab)} characters · {ws.config.cell.upper()} with {ws.config.hidden_size} hidden units, "
           f"window {ws.config.seq_len}, batch {ws.config.batch_size}, {ws.config.optimizer}, seed {ws.config.seed}.")

with st.expander("Save or load a checkpoint"):
    checkpoint_panel(ws, snap.step)
