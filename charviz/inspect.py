"""The one place that pulls numbers out of a model: every plotted number has its formula here.

All functions take a CharRNN and a Vocab and return numpy arrays. Where a number needs the inside of a
time step (gradients, the LSTM cell state) the model is run by hand one step at a time
(`CharRNN.cell_update`: the same weights and equations as torch's fused module, tested equal to it);
elsewhere the fused module runs. None of them touches the model's .grad, its optimizer, or its mode.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from charviz.data import Vocab
from charviz.model import CharRNN, State
from charviz.units import LN2


def _unroll(model: CharRNN, x: torch.Tensor, h0: State | None = None):
    """Run the cell by hand over x (B, T, V). Returns a dict of per-step tensors:

    states[t] the state after reading x[:, t] ((B, H), or (h, c) for lstm); hs[t] its h part (B, H);
    gi (B, T, G*H) = W_ih x_t + b_ih; gh[t] (B, G*H) = W_hh h_{t-1} + b_hh; logits (B, T, V) = head(h_t),
    the prediction for the character after x[:, t]; next_logits (B, V): the prediction after the whole input
    (head(h0) for an empty input).
    """
    B, T, _ = x.shape
    state = model.init_state(B, dtype=x.dtype) if h0 is None else h0
    h_prev = [CharRNN.hidden_of(state)]
    states, gh = [], []
    gi = model.input_gates(x)  # (B, T, G*H): the input share of every step in one matmul
    # unbind, not gi[:, t]: its backward stacks once instead of zero-filling a (B, T, G*H) tensor per step
    for gi_t in gi.unbind(1):
        gh.append(model.hidden_gates(h_prev[-1]))  # (B, G*H)
        state = model.cell_update(gi_t, gh[-1], state)
        states.append(state)
        h_prev.append(CharRNN.hidden_of(state))
    hs = h_prev[1:]
    if hs:
        logits = model.head(torch.stack(hs, dim=1))  # (B, T, V)
        next_logits = logits[:, -1]
    else:
        logits = torch.zeros(B, 0, model.vocab_size, dtype=x.dtype)
        next_logits = model.head(h_prev[0])  # (B, V)
    return {"states": states, "hs": hs, "h_prev": h_prev[:-1], "gi": gi, "gh": gh, "logits": logits,
            "next_logits": next_logits}


def _onehot(vocab: Vocab, text: str, dtype) -> torch.Tensor:
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    return F.one_hot(ids, len(vocab)).to(dtype)  # (T, V)


# ---------------------------------------------------------------------------------------------------------
# forward trace: what the model computes at every step


@dataclass
class Trace:
    """One forward pass over `text`, row t = after reading text[t]. Shapes: T = len(text), V, H."""

    text: str
    chars: list[str]  # (T,) the input characters
    onehot: np.ndarray  # (T, V) one-hot input vectors
    hidden: np.ndarray  # (T, H) hidden state h_t after reading chars[t]
    cell: np.ndarray | None  # (T, H) LSTM cell state c_t, None for rnn/gru
    logits: np.ndarray  # (T, V) head(h_t): scores for the character after chars[t]
    probs: np.ndarray  # (T, V) softmax(logits) row by row
    targets: list[str | None]  # (T,) the true next character text[t+1]; None for the last row
    target_ids: np.ndarray  # (T,) its index; -1 for the last row
    losses: np.ndarray  # (T,) -ln probs[t, target_ids[t]] in nats; nan for the last row
    next_probs: np.ndarray  # (V,) prediction for the character after the text (= probs[-1]; from h0 if empty)
    itos: tuple[str, ...] = field(default=())  # the vocabulary, column order
    offset: int = 0  # position of row 0 in the whole text (> 0 when only its last rows were traced)

    @property
    def predicted_ids(self) -> np.ndarray:
        """(T,) the model's most likely next character at every step (argmax of probs, first on ties)."""
        return self.probs.argmax(axis=1) if len(self.chars) else np.zeros(0, dtype=np.int64)

    def window(self, start: int, stop: int | None = None) -> Trace:
        """Rows start..stop-1 as a Trace of their own: offset shifted, targets and losses kept as they were
        (row stop-1 keeps its true next character), next_probs = the prediction after row stop-1."""
        T = len(self.chars)
        start, stop, _ = slice(start, stop).indices(T)
        stop = max(start, stop)
        rows = slice(start, stop)
        if stop == T:
            next_probs = self.next_probs
        elif stop > 0:
            next_probs = self.probs[stop - 1]
        else:  # an empty window before row 0: the state before it is not recorded
            next_probs = np.full(len(self.itos), np.nan)
        return Trace(
            text=self.text[rows],
            chars=self.chars[rows],
            onehot=self.onehot[rows],
            hidden=self.hidden[rows],
            cell=None if self.cell is None else self.cell[rows],
            logits=self.logits[rows],
            probs=self.probs[rows],
            targets=self.targets[rows],
            target_ids=self.target_ids[rows],
            losses=self.losses[rows],
            next_probs=next_probs,
            itos=self.itos,
            offset=self.offset + start,
        )

    @property
    def bits(self) -> np.ndarray:
        """(T,) the loss at every step in bits: -log2 p(true next) = losses / ln 2; nan for the last row."""
        return self.losses / LN2

    @property
    def target_probs(self) -> np.ndarray:
        """(T,) probability the model gave the true next character; nan for the last row."""
        out = np.full(len(self.chars), np.nan, dtype=np.float64)
        known = self.target_ids >= 0
        out[known] = self.probs[known, self.target_ids[known]]
        return out


@torch.no_grad()
def forward_trace(
    model: CharRNN, vocab: Vocab, text: str, h0: State | None = None, last_n: int | None = None
) -> Trace:
    """Run the model over `text` one character at a time and record every intermediate (numpy, float32).

    last_n: record only the last `last_n` steps (Trace.offset says where they start). The steps before are
    still read, by the fused module in one call, so the state carried into the recorded rows is the same
    and long texts stay fast. Raises ValueError naming any character that is not in the vocabulary.
    """
    if last_n is not None and len(text) > max(last_n, 0):
        cut = len(text) - max(last_n, 0)
        ids = torch.tensor(vocab.encode(text), dtype=torch.long)  # (N,), validates the whole text
        _, _, h_cut = model(ids[None, :cut], h0=h0)  # the state after text[:cut]
        tail = forward_trace(model, vocab, text[cut:], h0=h_cut)
        tail.offset = cut
        return tail
    dtype = model.head.weight.dtype
    x = _onehot(vocab, text, dtype)  # (T, V)
    T, V, H = len(text), len(vocab), model.hidden_size
    if model.cell != "lstm" and T > 0:
        # rnn/gru: the fused module's output at step t IS h_t (tested equal to the cell loop), and ~5x faster
        out, _ = model.rnn(x[None], model._to_torch_state(h0))  # (1, T, H)
        hidden = out[0]  # (T, H)
        logits = model.head(hidden)  # (T, V)
        next_logits = logits[-1]
    else:
        # lstm (its cell state c_t exists only inside the loop) and the empty text: run the cell by hand
        run = _unroll(model, x[None], h0)
        states, logits, next_logits = run["states"], run["logits"][0], run["next_logits"][0]  # (T, V), (V,)
        hidden = torch.cat([CharRNN.hidden_of(s) for s in states]) if states else torch.zeros(0, H)
    cell = None
    if model.cell == "lstm":
        cell = torch.cat([s[1] for s in states]) if states else torch.zeros(0, H)
        cell = cell.float().numpy()
    probs = torch.softmax(logits.double(), dim=-1)  # (T, V), exact enough that rows sum to 1
    target_ids = np.full(T, -1, dtype=np.int64)
    target_ids[: max(T - 1, 0)] = np.asarray(vocab.encode(text[1:]), dtype=np.int64)
    losses = np.full(T, np.nan, dtype=np.float64)
    if T > 1:
        logp = torch.log_softmax(logits.double(), dim=-1)  # (T, V)
        losses[:-1] = -logp[torch.arange(T - 1), torch.from_numpy(target_ids[:-1])].numpy()
    return Trace(
        text=text,
        chars=list(text),
        onehot=x.float().numpy().reshape(T, V),
        hidden=hidden.float().numpy().reshape(T, H),
        cell=cell,
        logits=logits.float().numpy().reshape(T, V),
        probs=probs.numpy().reshape(T, V),
        targets=[*text[1:], None] if T else [],
        target_ids=target_ids,
        losses=losses,
        next_probs=torch.softmax(next_logits.double(), dim=-1).numpy(),
        itos=vocab.itos,
    )


def prediction_columns(trace: Trace, max_cols: int = 24) -> np.ndarray:
    """Vocabulary indices to show as columns of a per-step view, in vocabulary order.

    All of them when V <= max_cols. Otherwise the characters that matter most for this trace: first every
    true next character and every most-likely guess, then the highest probabilities (by their maximum over
    the rows); max_cols in all. The others are summed into one 'rest' column (`rest_probability`).
    """
    V = len(trace.itos)
    if V <= max_cols:
        return np.arange(V)
    probs = trace.probs if len(trace.chars) else np.asarray(trace.next_probs)[None]
    key = probs.max(axis=0).astype(np.float64)  # (V,) in [0, 1]
    must = np.concatenate([trace.target_ids[trace.target_ids >= 0], trace.predicted_ids]).astype(np.int64)
    key[must] += 1.0  # ranks them first
    return np.sort(np.argsort(-key, kind="stable")[: max(1, max_cols)])


def rest_probability(probs, shown) -> np.ndarray:
    """The summed probability of the characters not in `shown` (indices): probs (..., V) -> (...)."""
    probs = np.asarray(probs)
    others = np.ones(probs.shape[-1], dtype=bool)
    others[np.asarray(shown, dtype=np.int64)] = False
    return probs[..., others].sum(axis=-1)


def predict_next(model: CharRNN, vocab: Vocab, prefix: str, k: int = 5) -> list[tuple[str, float]]:
    """The k most likely next characters after `prefix` with their probabilities, most likely first.

    An empty prefix gives the prediction from the initial (zero) hidden state.
    """
    p = forward_trace(model, vocab, prefix).next_probs
    order = np.argsort(-p, kind="stable")[: max(1, min(k, len(p)))]
    return [(vocab.itos[i], float(p[i])) for i in order]


@torch.no_grad()
def generate(
    model: CharRNN,
    vocab: Vocab,
    prefix: str,
    n: int,
    temperature: float = 1.0,
    seed: int | None = None,
) -> list[tuple[str, float]]:
    """Continue `prefix` by n characters. -> [(char, p)] with p the model's softmax probability of that char.

    temperature 0 picks the argmax; otherwise sample from softmax(logits / temperature). A seed makes the
    sample repeatable. An empty prefix starts from the initial hidden state.
    """
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    dtype = model.head.weight.dtype
    state = model.init_state(1, dtype=dtype)
    for t in range(len(prefix)):  # feed the prefix
        state = model.step(_onehot(vocab, prefix[t], dtype), state)
    out = []
    eye = torch.eye(len(vocab), dtype=dtype)
    for _ in range(n):
        logits = model.head(CharRNN.hidden_of(state))[0].double()  # (V,)
        probs = torch.softmax(logits, dim=-1)
        if temperature == 0:
            i = int(torch.argmax(logits))
        else:
            i = int(torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=gen))
        out.append((vocab.itos[i], float(probs[i])))
        state = model.step(eye[i : i + 1], state)
    return out


# ---------------------------------------------------------------------------------------------------------
# gradient flow: backpropagation through time, measured


@dataclass
class GradFlow:
    """Gradients of one unrolled forward/backward over inputs text[:-1], targets text[1:] (T = len(text)-1)."""

    chars: list[str]  # (T,) input characters
    targets: list[str]  # (T,) target characters
    loss: np.ndarray  # (T,) L_t = -ln p(target_t) in nats (what training differentiates: d/dlogits = p - onehot)
    grad_norm_total: np.ndarray  # (T,) ||dL/dh_t||, L = sum_t L_t, every path through later steps included
    grad_norm_last: np.ndarray  # (T,) ||dL_T/dh_t||: how much of the last step's loss reaches step t
    saliency: np.ndarray  # (T,) ||dL_T/dx_t||: how much the last prediction depends on input t
    param_grad_norms: dict[str, float]  # name -> ||dL/dparam||, L = sum of step losses
    param_grads: dict[str, np.ndarray]  # name -> dL/dparam itself
    singular_values: np.ndarray  # singular values of W_hh (weight_hh_l0; stacked gates for lstm/gru)


def gradient_flow(model: CharRNN, vocab: Vocab, text: str, dtype=torch.float64) -> GradFlow:
    """Backpropagation through time on a copy of the model, unrolled step by step.

    dL/dh_t is taken with respect to the very tensor h_t that step t+1 consumes, so it includes the direct
    path (head at step t) and every path through later steps. Works on a float64 copy: the model passed in,
    its .grad and its optimizer are untouched.
    """
    if len(text) < 2:
        raise ValueError("gradient flow needs at least 2 characters (an input and its target)")
    m = copy.deepcopy(model).to(dtype)
    for p in m.parameters():  # the copy may come from a frozen (requires_grad=False) inference model
        p.grad = None
        p.requires_grad_(True)
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)  # (T+1,)
    inputs, targets = ids[:-1], ids[1:]  # (T,), (T,)
    T, V = len(inputs), len(vocab)
    # two copies of the sequence side by side: row 0 carries the summed loss, row 1 only the last step's
    # loss. Rows never interact, so one backward pass gives dL/dh_t (row 0) and dL_T/dh_t (row 1).
    x = F.one_hot(inputs, V).to(dtype).expand(2, T, V).clone().requires_grad_(True)  # (2, T, V) leaf
    with torch.enable_grad():
        run = _unroll(m, x)
        logits = run["logits"]  # (2, T, V)
        losses = F.cross_entropy(logits.reshape(2 * T, V), targets.repeat(2), reduction="none").view(2, T)
        objective = losses[0].sum() + losses[1, -1]
        grads = torch.autograd.grad(objective, [x, logits, run["gi"], *run["hs"], *run["gh"]])
    g_x, g_logits, g_gi = grads[0], grads[1][0], grads[2][0]  # row 0: (T, V), (T, V), (T, G*H)
    g_h = torch.stack(grads[3 : 3 + T], dim=1)  # (2, T, H)
    g_gh = torch.stack(grads[3 + T :])[:, 0]  # (T, G*H)
    # parameter gradients of the summed loss from the per-step gradients: every weight enters only through
    # gi = W_ih x + b_ih, gh = W_hh h_prev + b_hh and logits = W h + b, so dL/dW = sum_t delta_t^T input_t
    h_all = torch.stack(run["hs"], dim=1)[0].detach()  # (T, H)
    h_prev = torch.stack(run["h_prev"], dim=1)[0].detach()  # (T, H)
    x0 = x[0].detach()
    param_grads = {
        "rnn.weight_ih_l0": g_gi.T @ x0,
        "rnn.weight_hh_l0": g_gh.T @ h_prev,
        "rnn.bias_ih_l0": g_gi.sum(0),
        "rnn.bias_hh_l0": g_gh.sum(0),
        "head.weight": g_logits.T @ h_all,
        "head.bias": g_logits.sum(0),
    }
    w_hh = m.rnn.weight_hh_l0.detach()
    return GradFlow(
        chars=list(text[:-1]),
        targets=list(text[1:]),
        loss=losses[0].detach().numpy(),
        grad_norm_total=g_h[0].norm(dim=-1).numpy(),
        grad_norm_last=g_h[1].norm(dim=-1).numpy(),
        saliency=g_x[1].norm(dim=-1).numpy(),
        param_grad_norms={n: float(param_grads[n].norm()) for n, _ in m.named_parameters()},
        param_grads={n: g.numpy() for n, g in param_grads.items()},
        singular_values=torch.linalg.svdvals(w_hh).numpy(),
    )


# ---------------------------------------------------------------------------------------------------------
# the scalar example: why gradients vanish or explode


def scalar_bptt(
    w: float,
    steps: int,
    nonlinearity: str = "linear",
    h0: float = 0.1,
    x: float = 0.0,
) -> np.ndarray:
    """The one-neuron RNN h_{t+1} = f(w * h_t + x), f = identity or tanh, unrolled for T = steps steps.

    Returns g of length steps+1 with g[t] = dh_T/dh_t = prod_{s=t}^{T-1} w * f'(w h_s + x):
    w^(T-t) exactly for the linear case (w = 3: g[T-1] = 3, g[T-2] = 9, ...), and at most that in
    absolute value for tanh, since tanh' <= 1.
    """
    if steps < 0:
        raise ValueError("steps must be >= 0")
    if nonlinearity not in ("linear", "tanh"):
        raise ValueError("nonlinearity must be 'linear' or 'tanh'")
    local = np.empty(steps, dtype=np.float64)  # local[s] = dh_{s+1}/dh_s
    h = float(h0)
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(steps):
            a = w * h + x
            if nonlinearity == "linear":
                h, local[s] = a, w
            else:
                h = np.tanh(a)
                local[s] = w * (1.0 - h * h)
        g = np.ones(steps + 1, dtype=np.float64)
        for t in range(steps - 1, -1, -1):
            g[t] = g[t + 1] * local[t]
    return g


# ---------------------------------------------------------------------------------------------------------
# long-term dependency: does the model remember the key?


@dataclass
class Recall:
    """How well a model recalls the key of the long-range task (data.long_range_text) after k fillers."""

    k: int  # filler characters between the key and its recall
    n: int  # recall positions scored
    accuracy: float  # fraction where the most likely next char after ':' is the key
    bits: float  # mean -log2 p(key) at the recall positions; a model that forgot the key scores 2 bits
    chance_bits: float  # log2(number of keys) = 2: the loss of a uniform guess over the keys


def long_range_recall(model: CharRNN, vocab: Vocab, text: str, max_lines: int = 200) -> Recall:
    """Score the recall step of every line 'KEY fillers : KEY' of a long-range text (the last max_lines)."""
    from charviz.data import LONG_RANGE_KEYS

    lines = [ln for ln in text.split("\n") if len(ln) >= 3 and ln[-2] == ":"][-max_lines:]
    if not lines:
        raise ValueError("no 'KEY ... :KEY' lines found: this is not a long-range task text")
    joined = "\n".join(lines) + "\n"
    tr = forward_trace(model, vocab, joined)
    rows = [i for i, c in enumerate(joined) if c == ":"]  # row i predicts the key that follows ':'
    tgt = tr.target_ids[rows]
    p = tr.probs[rows, tgt]
    acc = float(np.mean(tr.probs[rows].argmax(axis=1) == tgt))
    return Recall(
        k=len(lines[0].lstrip(".")) - 3,
        n=len(rows),
        accuracy=acc,
        bits=float(np.mean(-np.log2(np.maximum(p, 1e-300)))),
        chance_bits=float(np.log2(len(LONG_RANGE_KEYS))),
    )


# ---------------------------------------------------------------------------------------------------------
# inside the memory: hidden states, the LSTM cell state and the gates at every step

GATE_NAMES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}  # torch's gate order
SIGMOID_GATES = {"rnn": (), "lstm": ("i", "f", "o"), "gru": ("r", "z")}  # the gates that are in (0, 1)


@dataclass
class MemoryTrace:
    """What the recurrent cell holds after reading each character of `text`. T = len(text), H hidden units.

    hidden (T, H): h_t; cell (T, H): the LSTM cell state c_t (None for rnn/gru); gates: name -> (T, H), in
    torch's order and with torch's equations (see `memory_trace`): LSTM i, f, g, o; GRU r, z, n; none for rnn.
    """

    text: str
    cell_type: str  # rnn | lstm | gru
    hidden: np.ndarray
    cell: np.ndarray | None
    gates: dict[str, np.ndarray]

    @property
    def chars(self) -> list[str]:
        return list(self.text)

    def view(self, name: str) -> np.ndarray:
        """(T, H) array of one view: 'h', 'c' (lstm) or a gate name."""
        if name == "h":
            return self.hidden
        if name == "c" and self.cell is not None:
            return self.cell
        if name in self.gates:
            return self.gates[name]
        raise KeyError(f"no view {name!r} for a {self.cell_type} cell")


@torch.no_grad()
def memory_trace(model: CharRNN, vocab: Vocab, text: str) -> MemoryTrace:
    """h_t, c_t and every gate of the model after each character of `text`, from h_0 = 0 (numpy float32).

    The hidden states come from torch's fused module (one call); the gates are then recomputed from the
    weights for all steps at once, with torch's equations and gate order (W = weight_ih_l0, U = weight_hh_l0,
    x_t one-hot, h_{t-1} the previous hidden state, sigma the logistic function):
      LSTM  (i|f|g|o) = W x_t + b_ih + U h_{t-1} + b_hh;  i, f, o = sigma(.), g = tanh(.);
            c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
      GRU   r = sigma(W_r x_t + b_ir + U_r h_{t-1} + b_hr),  z = sigma(W_z x_t + b_iz + U_z h_{t-1} + b_hz),
            n = tanh(W_n x_t + b_in + r * (U_n h_{t-1} + b_hn));  h_t = (1 - z) * n + z * h_{t-1}
      RNN   h_t = tanh(W x_t + b_ih + U h_{t-1} + b_hh) (no gates)
    Raises ValueError naming any character that is not in the vocabulary.
    """
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)  # (T,)
    T, H, cell_type = len(text), model.hidden_size, model.cell
    dtype = model.head.weight.dtype
    if T == 0:
        empty = np.zeros((0, H), dtype=np.float32)
        return MemoryTrace(text, cell_type, empty, empty.copy() if cell_type == "lstm" else None,
                           {g: empty.copy() for g in GATE_NAMES[cell_type]})
    x = F.one_hot(ids, len(vocab)).to(dtype)  # (T, V)
    out, _ = model.rnn(x[None])  # (1, T, H): h_t for every t
    hidden = out[0]  # (T, H)
    gates: dict[str, torch.Tensor] = {}
    cell = None
    if cell_type != "rnn":
        h_prev = torch.cat([torch.zeros(1, H, dtype=dtype), hidden[:-1]])  # (T, H): h_{t-1}
        gi = model.input_gates(x)  # (T, G*H)
        gh = model.hidden_gates(h_prev)  # (T, G*H)
        if cell_type == "lstm":
            a_i, a_f, a_g, a_o = (gi + gh).chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
            gates = {"i": i, "f": f, "g": g, "o": o}
            # c_t = f_t * c_{t-1} + i_t * g_t: a linear recurrence, run in numpy (cheap elementwise steps)
            fn, ig = f.double().numpy(), (i * g).double().numpy()  # (T, H)
            c = np.empty((T, H), dtype=np.float64)
            prev = np.zeros(H, dtype=np.float64)
            for t in range(T):
                prev = fn[t] * prev + ig[t]
                c[t] = prev
            cell = c.astype(np.float32)
        else:
            i_r, i_z, i_n = gi.chunk(3, dim=1)
            h_r, h_z, h_n = gh.chunk(3, dim=1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            gates = {"r": r, "z": z, "n": torch.tanh(i_n + r * h_n)}
    return MemoryTrace(
        text=text,
        cell_type=cell_type,
        hidden=hidden.float().numpy(),
        cell=cell,
        gates={k: v.float().numpy() for k, v in gates.items()},
    )
