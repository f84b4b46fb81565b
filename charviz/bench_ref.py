"""The numpy reference for `charviz.bench`: a char-RNN in the style of Karpathy's min-char-rnn.

Written for charviz from the published equations, not copied: batch 1, a tanh RNN on one-hot inputs,
a linear head and softmax, loss = sum over the T steps of -ln p(target), backpropagation through those T
steps, every gradient clipped elementwise to [-5, 5], Adagrad (lr 0.1), the hidden state carried from one
window to the next and reset when the data wraps. Defaults: H = 100, T = 25. float64, like the original.

Two implementations of the same arithmetic, chosen with `per_step`:
- per_step=True has the original's structure: column vectors, a one-hot vector x_t per step,
  np.dot(W_xh, x_t), the head and softmax of every step inside the time loop, their gradients in the
  backward loop. This is the min-char-rnn everyone knows.
- per_step=False (the default, and the faster, harder baseline) uses that W_xh @ onehot(i) is the column
  W_xh[:, i] (its gradient touches only that column), and that the head, softmax and their gradients do not
  feed the recurrence, so they run for all T steps in one matmul. Only the recurrence is a Python loop.
Both produce the same losses and gradients (up to float rounding), so they learn identically per step.
"""

from __future__ import annotations

import numpy as np

from charviz.units import LN2


def _log_softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise log softmax of (T, V) logits, shifted by the row max so exp cannot overflow."""
    y = y - y.max(axis=1, keepdims=True)
    return y - np.log(np.exp(y).sum(axis=1, keepdims=True))


class MinCharRNN:
    """h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h); y_t = W_hy h_t + b_y; p_t = softmax(y_t).

    Shapes: W_xh (H, V), W_hh (H, H), W_hy (V, H), b_h (H,), b_y (V,). Inputs are token indices.
    """

    names = ("Wxh", "Whh", "Why", "bh", "by")

    def __init__(self, vocab_size: int, hidden_size: int = 100, seq_len: int = 25, lr: float = 0.1,
                 seed: int = 0, per_step: bool = False):
        self.per_step = per_step
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden_size
        self.vocab_size, self.hidden_size, self.seq_len, self.lr = V, H, seq_len, lr
        # small random weights, zero biases (as in the original)
        self.Wxh = rng.standard_normal((H, V)) * 0.01
        self.Whh = rng.standard_normal((H, H)) * 0.01
        self.Why = rng.standard_normal((V, H)) * 0.01
        self.bh = np.zeros(H)
        self.by = np.zeros(V)
        self.mem = [np.zeros_like(p) for p in self.params]  # Adagrad's running sum of squared gradients
        self.h = np.zeros(H)  # hidden state carried across windows
        self.pos = 0  # where the next window starts in the training data
        self.steps = 0

    @property
    def params(self) -> list[np.ndarray]:
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    # -- forward and backward over one window -----------------------------------------------------------

    def forward(self, inputs: np.ndarray, hprev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """inputs (T,) int -> hidden states hs (T+1, H) with hs[0] = hprev, and logits (T, V)."""
        T = len(inputs)
        hs = np.empty((T + 1, self.hidden_size))
        hs[0] = hprev
        xw = self.Wxh[:, inputs].T + self.bh  # (T, H): W_xh x_t + b_h for every step (column lookups)
        Whh = self.Whh
        for t in range(T):
            hs[t + 1] = np.tanh(xw[t] + Whh @ hs[t])
        logits = hs[1:] @ self.Why.T + self.by  # (T, V)
        return hs, logits

    def loss_and_grads(self, inputs, targets, hprev) -> tuple[float, list[np.ndarray], np.ndarray]:
        """One window: -> (loss = sum_t -ln p_t[target_t] in nats, [dWxh, dWhh, dWhy, dbh, dby], h_T).

        inputs, targets (T,) int; hprev (H,). Gradients are of the summed loss, before clipping.
        """
        if self.per_step:
            return self.loss_and_grads_per_step(inputs, targets, hprev)
        inputs, targets = np.asarray(inputs), np.asarray(targets)
        T = len(inputs)
        hs, logits = self.forward(inputs, hprev)  # (T+1, H), (T, V)
        logp = _log_softmax(logits)  # (T, V)
        rows = np.arange(T)
        loss = float(-logp[rows, targets].sum())
        # dL/dy_t = p_t - onehot(target_t)
        dy = np.exp(logp)  # (T, V)
        dy[rows, targets] -= 1.0
        dWhy = dy.T @ hs[1:]  # (V, H)
        dby = dy.sum(axis=0)  # (V,)
        dh_head = dy @ self.Why  # (T, H): the head's share of dL/dh_t
        # backprop through time: dh_t = head share + what flows back from step t+1
        dhraw = np.empty((T, self.hidden_size))  # dL/d(pre-activation) at every step
        dhnext = np.zeros(self.hidden_size)
        WhhT = self.Whh.T
        for t in range(T - 1, -1, -1):
            dhraw[t] = (1.0 - hs[t + 1] * hs[t + 1]) * (dh_head[t] + dhnext)
            dhnext = WhhT @ dhraw[t]
        dWhh = dhraw.T @ hs[:-1]  # (H, H)
        dbh = dhraw.sum(axis=0)  # (H,)
        dWxh = np.zeros_like(self.Wxh)
        np.add.at(dWxh.T, inputs, dhraw)  # column inputs[t] += dhraw[t]
        return loss, [dWxh, dWhh, dWhy, dbh, dby], hs[-1].copy()

    def loss_and_grads_per_step(self, inputs, targets, hprev) -> tuple[float, list[np.ndarray], np.ndarray]:
        """The same as loss_and_grads, written step by step with column vectors as in min-char-rnn."""
        V, H = self.vocab_size, self.hidden_size
        Wxh, Whh, Why, bh, by = self.Wxh, self.Whh, self.Why, self.bh[:, None], self.by[:, None]
        xs, hs, ps = {}, {}, {}
        hs[-1] = np.asarray(hprev, dtype=np.float64).reshape(H, 1)
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((V, 1))  # one-hot input
            xs[t][inputs[t]] = 1.0
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # (H, 1)
            ys = np.dot(Why, hs[t]) + by  # (V, 1) logits
            e = np.exp(ys - ys.max())
            ps[t] = e / np.sum(e)  # softmax
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby = np.zeros_like(bh), np.zeros_like(by)
        dhnext = np.zeros((H, 1))
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1.0  # dL/dy = p - onehot(target)
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(Why.T, dy) + dhnext  # head path + what flows back from step t+1
            dhraw = (1.0 - hs[t] * hs[t]) * dh  # through tanh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        grads = [dWxh, dWhh, dWhy, dbh[:, 0], dby[:, 0]]
        return float(loss), grads, hs[len(inputs) - 1][:, 0].copy()

    # -- training ----------------------------------------------------------------------------------------

    def step(self, data: np.ndarray) -> float:
        """One Adagrad update on the next window of `data` (int array). -> mean loss of the window, nats."""
        T = self.seq_len
        if self.pos + T + 1 > len(data):
            self.pos = 0  # wrap around: the carried state no longer belongs to the text
            self.h = np.zeros(self.hidden_size)
        inputs = data[self.pos : self.pos + T]
        targets = data[self.pos + 1 : self.pos + T + 1]
        loss, grads, self.h = self.loss_and_grads(inputs, targets, self.h)
        for p, g, m in zip(self.params, grads, self.mem, strict=True):
            np.clip(g, -5.0, 5.0, out=g)  # mitigate exploding gradients
            m += g * g
            p -= self.lr * g / np.sqrt(m + 1e-8)
        self.pos += T
        self.steps += 1
        return loss / T

    # -- evaluation --------------------------------------------------------------------------------------

    def heldout_bits(self, ids: np.ndarray) -> float:
        """Mean cross-entropy in bits/char of predicting ids[1:] from ids[:-1], from h = 0, state carried."""
        ids = np.asarray(ids)
        if len(ids) < 2:
            raise ValueError("need at least 2 characters")
        inputs, targets = ids[:-1], ids[1:]
        _, logits = self.forward(inputs, np.zeros(self.hidden_size))
        logp = _log_softmax(logits)
        return float(-logp[np.arange(len(targets)), targets].mean()) / LN2
