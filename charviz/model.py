"""CharRNN: one-hot character in, logits over the vocabulary out, at every time step."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from charviz.config import CELLS

# a hidden state: h (B, H) for rnn/gru, (h, c) for lstm
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class CharRNN(nn.Module):
    """One-hot input -> 1-layer rnn|lstm|gru -> linear head.

    `self.rnn` is torch's own nn.RNN/LSTM/GRU (batch_first, tanh for rnn), so the recurrent weights carry
    torch's names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0). Training runs the fused module;
    `step()` computes one time step by hand from the same weights, for introspection.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, cell: str = "rnn"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {cell!r}")
        if vocab_size < 1 or hidden_size < 1:
            raise ValueError("vocab_size and hidden_size must be positive")
        self.vocab_size, self.hidden_size, self.cell = vocab_size, hidden_size, cell
        module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = module(vocab_size, hidden_size, num_layers=1, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    # -- fused forward (training) ---------------------------------------------------------------------------

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, h0: State | None = None):
        """idx (B, T) long -> (logits (B, T, V), mean cross-entropy in nats or None, h_last)."""
        x = F.one_hot(idx, self.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        out, h_last = self.rnn(x, self._to_torch_state(h0))  # out (B, T, H)
        logits = self.head(out)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return logits, loss, self._from_torch_state(h_last)

    def _to_torch_state(self, h: State | None):
        # torch wants (num_layers, B, H); we pass states around as (B, H)
        if h is None:
            return None
        if self.cell == "lstm":
            return (h[0].unsqueeze(0), h[1].unsqueeze(0))
        return h.unsqueeze(0)

    def _from_torch_state(self, h) -> State:
        if self.cell == "lstm":
            return (h[0].squeeze(0), h[1].squeeze(0))
        return h.squeeze(0)

    # -- one step by hand (introspection) -------------------------------------------------------------------

    def init_state(self, batch_size: int = 1, dtype=None) -> State:
        """The zero state that the fused module starts from."""
        dtype = dtype or self.head.weight.dtype
        h = torch.zeros(batch_size, self.hidden_size, dtype=dtype)
        return (h, h.clone()) if self.cell == "lstm" else h

    def input_gates(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., V) one-hot inputs -> (..., G*H) = W_ih x + b_ih, the input's share of every gate.

        Computed for all time steps in one matmul (with a one-hot x it is just a column of W_ih).
        """
        return x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0

    def hidden_gates(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, H) previous hidden state -> (B, G*H) = W_hh h + b_hh, the recurrent share of every gate."""
        return torch.addmm(self.rnn.bias_hh_l0, h, self.rnn.weight_hh_l0.T)

    def cell_update(self, gi: torch.Tensor, gh: torch.Tensor, state: State) -> State:
        """The cell's equations (torch's, same gate order) given both shares of the gates. -> new state.

        gi = W_ih x + b_ih and gh = W_hh h + b_hh, both (B, G*H); state (B, H) or (h, c) for lstm.
        """
        if self.cell == "rnn":
            return torch.tanh(gi + gh)  # (B, H)
        if self.cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=1)  # input, forget, cell, output gates
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
            h = torch.sigmoid(o) * torch.tanh(c)  # (B, H)
            return (h, c)
        # gru: reset r, update z, candidate n; h' = (1 - z) * n + z * h
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        reset = torch.sigmoid(i_r + h_r)
        update = torch.sigmoid(i_z + h_z)
        cand = torch.tanh(i_n + reset * h_n)  # (B, H)
        return cand + update * (state - cand)  # (B, H) = (1 - z) * n + z * h

    def step(self, x: torch.Tensor, state: State) -> State:
        """One time step by hand from the same weights as the fused module.

        x (B, V) one-hot (or any real vector: saliency differentiates through it); state (B, H) or (h, c).
        """
        return self.cell_update(self.input_gates(x), self.hidden_gates(self.hidden_of(state)), state)

    @staticmethod
    def hidden_of(state: State) -> torch.Tensor:
        """The h part of a state (what the head reads)."""
        return state[0] if isinstance(state, tuple) else state


def seeded_model(vocab_size: int, hidden_size: int = 8, cell: str = "rnn", seed: int = 0, dtype=torch.float32,
                 weight_range: float | None = None) -> CharRNN:
    """A CharRNN with reproducible weights (for tests, scripts and notebooks): torch's default initialisation
    under `seed`, or every weight uniform in [-weight_range, weight_range] (large enough to saturate and to
    make gradients vanish or explode); in eval mode, in `dtype`."""
    torch.manual_seed(seed)
    m = CharRNN(vocab_size, hidden_size, cell).to(dtype)
    if weight_range is not None:
        with torch.no_grad():
            for p in m.parameters():
                p.uniform_(-weight_range, weight_range)
    return m.eval()
