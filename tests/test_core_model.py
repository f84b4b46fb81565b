"""CharRNN: the hand-unrolled cell equals torch's fused RNN/LSTM/GRU with the same weights."""

import pytest
import torch
import torch.nn.functional as F

from charviz.model import CharRNN, seeded_model


def _random_model(cell, V=7, H=6, dtype=torch.float64, seed=0):
    return seeded_model(V, H, cell, seed, dtype, weight_range=0.8)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unrolled_step_equals_fused_module(cell):
    m = _random_model(cell)
    idx = torch.randint(0, 7, (3, 11))
    h0 = m.init_state(3)
    h0 = tuple(torch.randn_like(t) for t in h0) if cell == "lstm" else torch.randn_like(h0)
    logits, _, h_last = m(idx, h0=h0)  # fused
    state, outs = h0, []
    x = F.one_hot(idx, 7).double()
    for t in range(idx.shape[1]):
        state = m.step(x[:, t], state)
        outs.append(m.head(CharRNN.hidden_of(state)))
    torch.testing.assert_close(torch.stack(outs, 1), logits, rtol=1e-10, atol=1e-10)
    if cell == "lstm":
        torch.testing.assert_close(state[0], h_last[0])
        torch.testing.assert_close(state[1], h_last[1])
    else:
        torch.testing.assert_close(state, h_last)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_model_exposes_torch_modules_and_names(cell):
    m = CharRNN(5, 4, cell)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    assert type(m.rnn) is cls and m.rnn.batch_first and m.rnn.num_layers == 1
    assert {n for n, _ in m.rnn.named_parameters()} == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    assert isinstance(m.head, torch.nn.Linear) and m.head.out_features == 5
    if cell == "rnn":
        assert m.rnn.nonlinearity == "tanh"


def test_forward_loss_is_mean_cross_entropy_in_nats():
    m = _random_model("rnn")
    idx = torch.randint(0, 7, (2, 9))
    targets = torch.randint(0, 7, (2, 9))
    logits, loss, _ = m(idx, targets)
    assert logits.shape == (2, 9, 7)
    logp = torch.log_softmax(logits, -1)
    manual = -logp.gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(loss, manual)
    _, none_loss, _ = m(idx)
    assert none_loss is None


def test_input_is_one_hot():
    # with a one-hot input, W_ih x is exactly the column of W_ih for that character
    m = _random_model("rnn")
    idx = torch.tensor([[3]])
    _, _, h = m(idx)
    r = m.rnn
    manual = torch.tanh(r.weight_ih_l0[:, 3] + r.bias_ih_l0 + r.bias_hh_l0)
    torch.testing.assert_close(h[0], manual)


def test_bad_cell_is_refused():
    with pytest.raises(ValueError):
        CharRNN(5, 4, "transformer")
