"""Gradients: backpropagation through time, truncation, and why gradients vanish or explode."""

import streamlit as st

from charviz import figures
from charviz.data import show_text
from charviz.inspect import gradient_flow, long_range_recall, scalar_bptt
from charviz.ui.boot import leave_pages_folder_mode
from charviz.ui.rewind import model_for_view, rewind_slider, view_banner
from charviz.ui.session import get_workspace
from charviz.ui.sidebar import live_every

leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

MAX_STEPS = 128  # the unrolled view covers at most this many characters

st.title("Gradient flow through time")
st.markdown(
    "Training is **backpropagation through time**: the loss at step *T* reaches the hidden state of an earlier "
    "step *t* through a product of *T − t* Jacobians, one per step in between. If those factors are smaller "
    "than 1 the gradient **vanishes**; if larger, it **explodes**. That is why vanilla RNNs struggle with "
    "long-term dependencies, and why gradient clipping, LSTMs and GRUs exist."
)

# ---- 1. the scalar example ------------------------------------------------------------------------------
st.header("1 · One neuron, one weight")
st.markdown("The smallest RNN: $h_{t+1} = f(w\\,h_t)$. Then $\\partial h_T/\\partial h_t = w^{T-t}$ "
            "for a linear $f$; with tanh each factor is $w\\,\\tanh'(\\cdot) \\le w$.")
c1, c2, c3 = st.columns(3)
w = c1.slider("recurrent weight w", 0.1, 4.0, 3.0, 0.1, key="g_w")
T = c2.slider("steps back T", 2, 60, 20, key="g_T")
show_tanh = c3.toggle("also show tanh", value=True, key="g_tanh")
curves = {f"linear, w = {w:g}": scalar_bptt(w, T, "linear")}
if show_tanh:
    curves[f"tanh, w = {w:g}"] = scalar_bptt(w, T, "tanh", h0=0.1)
curves["w = 1 (neither)"] = scalar_bptt(1.0, T, "linear")
st.plotly_chart(figures.scalar_bptt_figure(curves), key="g_scalar")
g = curves[f"linear, w = {w:g}"]


def fmt(v: float) -> str:
    return f"{v:,.0f}" if 1 <= abs(v) < 1e12 and float(v).is_integer() else f"{v:.4g}"


steps_back = [k for k in (1, 2, 3, 5, 10, 20, 50) if k <= T]
rows = [("linear: $w^{T-t}$", g)] + ([("tanh", curves[f"tanh, w = {w:g}"])] if show_tanh else [])
st.markdown(  # a table, so that the numbers are read as numbers (in inline math, 59,049 reads "59, 049")
    f"| $\\partial h_T/\\partial h_t$, w = {w:g} | " + " | ".join(f"{k} step{'s' if k > 1 else ''} back"
                                                              for k in steps_back) + " |\n"
    + "|---|" + "---:|" * len(steps_back) + "\n"
    + "".join(f"| {name} | " + " | ".join(f"**{fmt(curve[T - k])}**" for k in steps_back) + " |\n"
              for name, curve in rows)
)
if show_tanh and w > 1 and abs(curves[f"tanh, w = {w:g}"][0]) < 1:
    st.caption("With tanh the neuron saturates (tanh′ ≈ 0 where |w·h| is large): the same w = "
               f"{w:g} that explodes the linear gradient makes the tanh one vanish.")
if w > 1:
    st.info(f"|w| = {w:g} > 1: the gradient **explodes**, ×{w:g} per step back. Clipping caps its norm.", icon="💥")
elif w < 1:
    st.info(f"|w| = {w:g} < 1: the gradient **vanishes**, ×{w:g} per step back: early inputs stop mattering.",
            icon="🫥")

# ---- 2. the live model -----------------------------------------------------------------------------------
st.header("2 · Your model, right now")
ws = get_workspace()
default = ws.run.trainer.val_text[:64] or ws.text[:64]
text = st.text_input("sequence to unroll (inputs = all but the last character, targets = shifted by one)",
                     value=default, key="g_text")


rewind_slider("gradients", ws.run)


@st.fragment(run_every=live_every(ws))
def live_flow(text: str) -> None:
    run = get_workspace().run
    snap = run.snapshot()
    view = model_for_view(snap, run)
    view_banner(view)
    unknown = snap.vocab.unknown(text)
    if unknown:
        shown = " and ".join(", ".join(f"'{show_text(c)}'" for c in unknown).rsplit(", ", 1))
        verb = "appears" if len(unknown) == 1 else "appear"
        st.warning(f"{shown} never {verb} in the training text, so the model has no input for "
                   f"{'it' if len(unknown) == 1 else 'them'}: left out of the sequence below.", icon="🔤")
        text = "".join(c for c in text if c in snap.vocab)
    if len(text) > MAX_STEPS + 1:
        st.caption(f"showing the last {MAX_STEPS} steps of {len(text) - 1}")
        text = text[-(MAX_STEPS + 1):]
    if len(text) < 2:
        st.info("Type at least two characters: an input and the character it should predict.", icon="⌨️")
        return
    flow = gradient_flow(view.model, snap.vocab, text)
    window = snap.config.seq_len
    st.caption(f"{snap.config.cell.upper()}, hidden size {snap.config.hidden_size}, step {view.step:,} · "
               f"training truncates backpropagation after {window} steps (the shaded part never gets a gradient)")
    first, last = float(flow.grad_norm_last[0]), float(flow.grad_norm_last[-1])
    m1, m2, m3 = st.columns(3)
    m1.metric("‖∂L_T/∂h_T‖ at the last step", f"{last:.3g}")
    m2.metric(f"‖∂L_T/∂h_0‖, {len(flow.chars) - 1} steps back", f"{first:.3g}")
    m3.metric("ratio (first / last)", f"{first / last:.3g}" if last > 0 else "–")
    st.plotly_chart(figures.gradient_flow_figure(flow, window), key="g_flow")
    a, b = st.columns(2)
    with a:
        st.subheader("Which inputs does the last prediction depend on?")
        st.plotly_chart(figures.saliency_figure(flow), key="g_saliency")
    with b:
        st.subheader("Singular values of the recurrent weights")
        st.plotly_chart(figures.singular_values_figure(flow.singular_values, snap.config.cell), key="g_sv")
        st.caption("Largest σ > 1 lets gradients grow along some direction; all σ < 1 makes them shrink "
                   "(for a vanilla RNN, where tanh' ≤ 1 only shrinks them further).")
    with st.expander("Gradient norm of every weight (summed loss over the sequence)"):
        st.plotly_chart(figures.param_grad_figure(flow.param_grad_norms), key="g_params")


live_flow(text)

# ---- 3. long-term dependencies ---------------------------------------------------------------------------
st.header("3 · Long-term dependencies")
st.markdown(
    "The **long-range** task (Train page) hides a key letter at the start of every line and asks for it again "
    "after *k* random filler characters: `B xzyyx…zx :B`. Predicting the letter after `:` needs a memory "
    "that survives *k + 1* steps. A model that forgot it can only guess among 4 keys: **2 bits**."
)


@st.fragment(run_every=live_every(ws))
def live_recall() -> None:
    ws = get_workspace()
    if ws.source.name != "long-range":
        st.info("Train on the **long-range** text to score recall here. Try k = 30 with a truncation window "
                "of 64: within a couple of minutes an LSTM learns to recall the key while a vanilla RNN stays "
                "near 2 bits at the recall step.", icon="🧠")
        return
    snap = ws.run.snapshot()
    view = model_for_view(snap, ws.run)
    view_banner(view)
    r = long_range_recall(view.model, snap.vocab, ws.run.trainer.val_text or ws.text)
    c1, c2, c3 = st.columns(3)
    c1.metric(f"key recalled after k = {r.k} fillers", f"{r.accuracy:.0%}", help=f"over {r.n} held-out lines")
    c2.metric("loss at the recall step", f"{r.bits:.2f} bits", help="mean −log₂ p(key) at the character after ':'")
    c3.metric("forgetting costs", f"{r.chance_bits:.0f} bits", help="a uniform guess over the 4 keys")
    if snap.config.seq_len <= r.k:
        st.warning(f"The truncation window ({snap.config.seq_len}) is shorter than the dependency (k + 1 = "
                   f"{r.k + 1}): no gradient ever connects the recall to its key, whatever the cell.", icon="✂️")


live_recall()
