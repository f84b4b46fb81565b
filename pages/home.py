"""Landing page: what charviz is and how to use it in a lecture."""

from pathlib import Path

import streamlit as st

from charviz.config import DEFAULT_CORPUS, TrainConfig
from charviz.ui import boot

boot.leave_pages_folder_mode()  # a page opened as a new server's first request (see charviz/ui/boot.py)

ROOT = Path(__file__).resolve().parents[1]
if boot.loaded():
    from charviz.ui.session import get_workspace

    ws = get_workspace()
    source_label, config = ws.source.label, ws.config
else:  # the server's first seconds: torch is still loading, and a new session trains on the defaults
    source_label, config = DEFAULT_CORPUS, TrainConfig()

st.title("charviz: watch a character-level RNN learn")
st.markdown("#### A small recurrent network learns to predict the next character of a text, live, while you "
            "look inside it: one-hot inputs, hidden states, logits, softmax, loss and the gradients flowing back "
            "through time.")

st.subheader("How to use it")
st.markdown(
    f"""
1. **Train**: pick a text (the built-in *hello*, Python source code, a long-range memory task, or your own) and a
   model (vanilla RNN, LSTM or GRU), then press **Start** in the sidebar. The loss falls as you watch.
2. **Move around while it trains**: training runs in the background, and the sidebar on every page shows its
   step, loss in bits per character and speed. **Pause**, **Step** (one update) and **Reset** are there too.
3. **Look inside**: the other pages show what the model is doing *right now*: its next-character
   probabilities for a prefix you type, the logits and softmax at every time step, and how gradients vanish
   or explode through the unrolled steps.

Each browser tab has its own model. This one currently trains on **{source_label}**
({config.cell.upper()}, {config.hidden_size} hidden units).
"""
)

cols = st.columns(4)
links = [("pages/train.py", "Train", ":material/model_training:"),
         ("pages/hello.py", "Hello", ":material/waving_hand:"),
         ("pages/predict.py", "Predict", ":material/online_prediction:"),
         ("pages/gradients.py", "Gradients", ":material/timeline:")]
for col, (path, label, icon) in zip(cols, [lk for lk in links if (ROOT / lk[0]).exists()], strict=False):
    col.page_link(path, label=label, icon=icon)

st.subheader("What a char-level language model is made of")
st.markdown(
    """
- It reads **one character at a time** and predicts the next one (*hello*: h→e, e→l, l→l, l→o).
- The **vocabulary** is the set of distinct characters; each input is a **one-hot** vector of that size.
- At each step the output layer gives one **logit** per character; **softmax** turns them into probabilities;
  the **loss** is −log₂ p(true next character), in **bits per character**. Guessing uniformly costs log₂(V).
- Training is **backpropagation through time** over a window of steps (**truncated BPTT**): the hidden state
  is carried on to the next window, the gradient stops at the window edge.
- The gradient reaching step *t* from step *T* is a product of *T − t* Jacobians: it **explodes** or
  **vanishes**. That is why clipping, LSTMs and GRUs exist.
"""
)
